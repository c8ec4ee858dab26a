"""Reads about SMS codes that several callers need."""

import math
import time

import phonenumbers

from config.phones import phone_parse
from smscodes import conf, limits
from smscodes.errors import InvalidPhone, PhoneRegionNotAllowed
from smscodes.models import SmsMessage
from smscodes.store import get_store

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


def sms_resend_in(*, phone, purpose: str) -> int:
    """Seconds before another code may be sent to ``phone`` for ``purpose`` (0: now).

    What a page re-rendered after a failed submit shows on its send-code
    button, so the countdown does not restart at "send" while the server still
    refuses. Any number that cannot receive codes answers 0. One cache read.
    """
    try:
        normalized = sms_phone_normalize(phone)
    except (InvalidPhone, PhoneRegionNotAllowed):
        return 0
    until = get_store().cooldown_until(cooldown_key=limits.cooldown_key(purpose=str(purpose), phone=normalized))
    return max(0, math.ceil(until - time.time()))
