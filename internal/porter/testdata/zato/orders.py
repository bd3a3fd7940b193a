# -*- coding: utf-8 -*-

"""
Orders API: places orders and tells their status.
"""

# stdlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, ROUND_HALF_UP
from traceback import format_exc
from uuid import uuid4

# Zato
from zato.common.exception import BadRequest, NotFound
from zato.common.typing_ import list_, optional
from zato.server.service import Model, Service

# ################################################################################################################################

VAT_RATE = Decimal('0.23')
Currency = 'EUR'

# ################################################################################################################################

@dataclass(init=False)
class OrderLine(Model):
    sku: str
    quantity: int
    unit_price: str

@dataclass(init=False)
class PlaceOrderRequest(Model):
    customer_id: int
    lines: list_[OrderLine]
    note: optional[str] = None

@dataclass(init=False)
class PlaceOrderResponse(Model):
    order_id: str
    net: str
    vat: str
    gross: str
    placed_at: str

# ################################################################################################################################

def money(value):
    """ Rounds an amount to cents, half up, as invoices do.
    """
    return value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)

# ################################################################################################################################

class PlaceOrder(Service):
    """ Places an order and returns its totals.
    """
    name = 'orders.place'

    class SimpleIO:
        input = PlaceOrderRequest
        output = PlaceOrderResponse

    def get_net(self, lines):
        net = Decimal('0')
        for line in lines:
            if line.quantity <= 0:
                raise BadRequest(self.cid, f'Invalid quantity for {line.sku}: {line.quantity}')
            net += Decimal(line.unit_price) * line.quantity
        return net

    def handle(self):

        request = self.request.input # type: PlaceOrderRequest

        net = self.get_net(request.lines)
        vat = money(net * VAT_RATE)

        response = PlaceOrderResponse()
        response.order_id = uuid4().hex
        response.net = str(money(net))
        response.vat = str(vat)
        response.gross = '{} {}'.format(money(net + vat), Currency)
        response.placed_at = datetime.utcnow().isoformat()

        self.response.payload = response

# ################################################################################################################################

class GetOrderStatus(Service):
    """ Returns the status of an order, asking the order store.
    """
    name = 'orders.get-status'

    class SimpleIO:
        input_required = 'order_no',
        output_optional = 'status', 'reason'

    def handle(self):

        order_no = self.request.input.order_no
        attempts = 0

        try:
            attempts += 1
            result = self.invoke(LookupOrder, {'order_no': order_no})
        except NotFound as e:
            self.response.status_code = 404
            self.response.payload = {'reason': str(e)}
            return
        except Exception:
            self.logger.error('Lookup of %s failed: %s', order_no, format_exc())
            raise
        else:
            self.response.payload = {'status': result['status']}
        finally:
            self.logger.info('Looked up %s in %d attempt(s)', order_no, attempts)

# ################################################################################################################################

class LookupOrder(Service):
    """ The order store.
    """
    name = 'orders.lookup'

    statuses = {'1': 'shipped', '2': 'pending'}

    def handle(self):
        order_no = self.request.payload['order_no']
        if order_no == 'boom':
            raise Exception('The order store is down')
        if order_no not in self.statuses:
            raise NotFound(self.cid, 'No such order: %s' % order_no)
        self.response.payload = {'status': self.statuses[order_no]}

# ################################################################################################################################
