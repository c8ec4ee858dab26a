"""Reads about SMS codes that several callers need."""

import phonenumbers

from config.phones import phone_parse
from smscodes import conf
from smscodes.errors import InvalidPhone, PhoneRegionNotAllowed
from smscodes.models import SmsMessage

_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def sms_phone_normalize(raw) -> str:
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


def sms_message_list(*, phone: str):
    """The send log of one number (E.164), newest first."""
    return SmsMessage.objects.filter(phone=phone).order_by("-created_at", "-id")
