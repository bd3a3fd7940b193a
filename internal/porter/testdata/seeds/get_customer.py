# -*- coding: utf-8 -*-

from zato.server.service import Service

class GetCustomer(Service):
    name = 'my.api.get-customer'

    def handle(self):

        # Get the connection by name - must match Dashboard exactly
        conn = self.out.rest['Customer API'].conn

        # Call the API - self.cid is the correlation ID for tracing
        response = conn.get(self.cid)

        # Response data is automatically parsed from JSON
        customer = response.data

        self.response.payload = customer
