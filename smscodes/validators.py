"""Checks of what a caller hands to the code services: the number and the purpose."""

import phonenumbers
from django.utils.translation import gettext as _

from config.errors import InvalidInput
from config.phones import phone_parse
from smscodes import conf
from smscodes.errors import InvalidPhone, PhoneRegionNotAllowed
from smscodes.models import Purpose

_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def sms_phone_validate(raw: object) -> str:
    """The E.164 form of a mobile number a code may be sent to.

    Accepts any format phonenumbers understands with ``SMS_DEFAULT_REGION``.
    Raises ``InvalidPhone`` (not a number, or not a mobile number) or
    ``PhoneRegionNotAllowed`` (its country is outside ``SMS_ALLOWED_REGIONS``).
    """
    number = phone_parse(raw) if isinstance(raw, str) else None
    if number is None:
        raise InvalidPhone()
    if phonenumbers.region_code_for_number(number) not in conf.allowed_regions():
        raise PhoneRegionNotAllowed()
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidPhone()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sms_purpose_validate(purpose: object) -> str:
    """``purpose`` if it is one of ``Purpose``; otherwise InvalidInput on ``purpose``."""
    if not isinstance(purpose, str) or purpose not in Purpose.values:
        raise InvalidInput(fields={"purpose": [_("Unknown purpose.")]})
    return purpose
