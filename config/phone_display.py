"""Phone numbers as people write them, for pages and the admin.

Stored and sent as E.164 (``+8613800138000``); shown in the national
grouping a person of that region writes (``138 0013 8000``), with the
calling code only for numbers of another region (``+852 5123 4567``).
Where other people may see the screen (the header, greetings) the middle
digits are masked (``138****8000``), as Chinese apps do.
"""

import phonenumbers
from django.conf import settings


def _parse(value) -> phonenumbers.PhoneNumber | None:
    if isinstance(value, phonenumbers.PhoneNumber):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return phonenumbers.parse(text, settings.SMS_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None


def _is_home_region(number: phonenumbers.PhoneNumber) -> bool:
    return phonenumbers.region_code_for_number(number) == settings.SMS_DEFAULT_REGION


def phone_display(value) -> str:
    """``+8613800138000`` -> ``138 0013 8000``; another region keeps its ``+code``. "" for nothing."""
    number = _parse(value)
    if number is None:
        return str(value or "")
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if _is_home_region(number)
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def phone_masked(value) -> str:
    """``+8613800138000`` -> ``138****8000``: the first three and the last four digits.

    Short numbers keep only their last two digits visible; the mask always has
    four stars so it does not tell the length.
    """
    number = _parse(value)
    if number is None:
        return ""
    digits = phonenumbers.national_significant_number(number)
    masked = f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 9 else f"****{digits[-2:]}"
    if _is_home_region(number):
        return masked
    return f"+{number.country_code} {masked}"


def phone_prefix(region: str | None = None) -> str:
    """The calling code shown before the phone input (``+86``)."""
    return f"+{phonenumbers.country_code_for_region(region or settings.SMS_DEFAULT_REGION)}"
