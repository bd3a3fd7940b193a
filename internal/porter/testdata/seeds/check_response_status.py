# -*- coding: utf-8 -*-

from http import HTTPStatus
from zato.server.service import Service

class CheckResponseStatus(Service):
    name = 'my.api.check-status'

    def handle(self):

        conn = self.out.rest['External API'].conn
        response = conn.get(self.cid)

        # Check HTTP status code before using the data
        if response.status_code == HTTPStatus.OK:
            self.response.payload = response.data
        elif response.status_code == HTTPStatus.NOT_FOUND:
            self.response.payload = {'error': 'Not found'}
            self.response.status_code = HTTPStatus.NOT_FOUND
        else:
            raise Exception(f'API error: {response.status_code}')
