# -*- coding: utf-8 -*-

from __future__ import absolute_import, division, print_function, unicode_literals

# stdlib
from httplib import NOT_FOUND, OK

# Zato
from zato.server.service import Integer, Service

# ################################################################################################################################

ROOMS = {1: {'floor_no': 2, 'name': 'Garden'}, 2: {'floor_no': 5, 'name': 'Sky'}}

# ################################################################################################################################

class Get(Service):
    """ Returns a room by its ID.
    """
    class SimpleIO:
        input_required = (Integer('id'),)
        output_required = ('id', 'floor_no')
        output_optional = ('name',)
        skip_empty_keys = True

    @staticmethod
    def get_name():
        return 'legacy.get-room'

    def handle(self):
        room_id = self.request.input.id
        room = ROOMS.get(room_id)
        if room is None:
            self.response.status_code = NOT_FOUND
            self.response.payload = {'error': 'No such room'}
            return

        self.response.payload.id = room_id
        for key, value in room.iteritems():
            setattr_ok = True
            if key == 'floor_no':
                self.response.payload.floor_no = value
            elif key == 'name':
                self.response.payload.name = value
        self.response.status_code = OK

# ################################################################################################################################
