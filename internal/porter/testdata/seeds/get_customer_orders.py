# -*- coding: utf-8 -*-

from zato.server.service import Service

class GetCustomerOrders(Service):
    name = 'my.api.get-customer-orders'

    def handle(self):

        # Parameters - customer_id goes in path, status goes in query string
        params = {
            'customer_id': '12345',
            'status': 'pending'
        }

        conn = self.out.rest['Orders API'].conn

        # Zato substitutes {customer_id} in the path
        # and appends ?status=pending to the query string
        response = conn.get(self.cid, params=params)

        self.response.payload = response.data
