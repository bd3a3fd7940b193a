# -*- coding: utf-8 -*-

from zato.server.service import Service

class CallWithHeaders(Service):
    name = 'my.api.call-with-headers'

    def handle(self):

        headers = {
            'X-Request-ID': self.cid,
            'X-Client-Version': '2.0',
            'Accept-Language': 'en-US'
        }

        conn = self.out.rest['External API'].conn

        response = conn.get(self.cid, headers=headers)

        self.response.payload = response.data
