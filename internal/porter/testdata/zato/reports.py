# -*- coding: utf-8 -*-

# stdlib
import csv
import xml.etree.ElementTree as ET
from io import StringIO

# Zato
from zato.server.service import Service

# ################################################################################################################################

class CSVToJSON(Service):
    """ Turns a CSV upload into records.
    """
    name = 'reports.csv-to-json'

    def handle(self):
        data = self.request.raw_request.decode('utf-8')
        records = []
        for row in csv.DictReader(StringIO(data)):
            records.append({'sku': row['sku'], 'quantity': int(row['qty'])})
        self.response.payload = {'records': records, 'count': len(records)}

# ################################################################################################################################

class OrdersToCSV(Service):
    """ Writes orders as CSV.
    """
    name = 'reports.orders-to-csv'

    def handle(self):
        out = StringIO()
        writer = csv.writer(out)
        writer.writerow(['id', 'total'])
        for order in self.request.payload['orders']:
            writer.writerow([order['id'], '%.2f' % order['total']])
        self.response.payload = out.getvalue()
        self.response.content_type = 'text/csv'

# ################################################################################################################################

class OrdersToXML(Service):
    """ Maps orders from JSON to XML.
    """
    name = 'reports.orders-to-xml'

    def handle(self):
        root = ET.Element('orders')
        for order in self.request.payload['orders']:
            elem = ET.SubElement(root, 'order', id=str(order['id']))
            ET.SubElement(elem, 'total').text = '%.2f' % order['total']
        self.response.payload = ET.tostring(root, encoding='unicode')
        self.response.content_type = 'application/xml'

# ################################################################################################################################

class ParseInvoice(Service):
    """ Maps an XML invoice to JSON.
    """
    name = 'reports.parse-invoice'

    def handle(self):
        ns = {'inv': 'urn:example:invoice'}
        root = ET.fromstring(self.request.raw_request)
        lines = []
        for line in root.findall('inv:line', ns):
            lines.append({'sku': line.get('sku'), 'amount': line.findtext('inv:amount', namespaces=ns)})
        self.response.payload = {'number': root.findtext('inv:number', namespaces=ns), 'lines': lines}

# ################################################################################################################################
