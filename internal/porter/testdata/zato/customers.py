# -*- coding: utf-8 -*-

# stdlib
import hmac
import re
from base64 import b64encode
from hashlib import sha256
from json import dumps

# Zato
from zato.server.service import Integer, List, Service

# ################################################################################################################################

class BaseCustomerService(Service):
    """ Shared helpers of the customer services.
    """
    segments = ('retail', 'business', 'vip')

    def normalise_phone(self, phone):
        digits = re.sub(r'\D', '', phone)
        if not 9 <= len(digits) <= 12:
            return None
        return '+' + digits

    @staticmethod
    def sign(data, key):
        return hmac.new(key.encode('utf-8'), data.encode('utf-8'), sha256).hexdigest()

# ################################################################################################################################

class RegisterCustomer(BaseCustomerService):
    """ Registers a customer and returns a signed confirmation.
    """
    name = 'customers.register'

    input = 'name', 'phone', '-segment', Integer('-priority')
    output = 'customer_ref', 'phone', 'segment', 'signature', Integer('priority'), List('-warnings')

    def before_handle(self):
        self.logger.info('Registering a customer (%s)', self.cid)

    @property
    def secret(self):
        return 'my-secret'

    def handle(self):

        input = self.request.input
        warnings = []

        phone = self.normalise_phone(input.phone)
        if phone is None:
            warnings.append(f'Invalid phone number: {input.phone!r}')

        segment = input.segment or 'retail'
        for known in self.segments:
            if known == segment:
                break
        else:
            warnings.append('Unknown segment %s, using retail' % segment)
            segment = 'retail'

        customer_ref = 'C-' + sha256(input.name.encode('utf-8')).hexdigest()[:8]
        document = dumps({'customer_ref': customer_ref, 'segment': segment})
        signature = b64encode(self.sign(document, self.secret).encode()).decode()

        self.logger.info('Customer %s has priority %3d', customer_ref, input.priority)

        self.response.payload = {
            'customer_ref': customer_ref,
            'phone': phone or '',
            'segment': segment,
            'signature': signature,
            'priority': input.priority,
            'warnings': warnings,
        }

# ################################################################################################################################
