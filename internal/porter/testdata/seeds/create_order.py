# -*- coding: utf-8 -*-

from zato.server.service import Service

class CreateOrder(Service):
    name = 'my.api.create-order'

    def handle(self):

        # Data to send - will be serialized to JSON automatically
        payload = {
            'customer_id': '12345',
            'items': [
                {'sku': 'ABC-001', 'quantity': 2},
                {'sku': 'XYZ-999', 'quantity': 1}
            ]
        }

        conn = self.out.rest['Orders API'].conn

        # POST the data - Zato converts the dict to JSON
        response = conn.post(self.cid, payload)

        self.response.payload = response.data
