# -*- coding: utf-8 -*-

from __future__ import absolute_import, division, print_function, unicode_literals

# Zato
from zato.server.service import Service

class WSXBroadcast(Service):

    def handle(self):

        # Channel to invoke
        name = 'My WSX API Channel'

        # Get a handle to the channel object
        channel = self.wsx.channel[name]

        # Message to send
        data = 'Hello from Zato'

        # Broadcast this message to all clients connected to that channel
        channel.broadcast(data)
