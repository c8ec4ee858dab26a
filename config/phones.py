"""Phone number parsing shared by every door (API, pages, admin search)."""

import phonenumbers
from django.conf import settings


def phone_parse(raw: str, *, region: str | None = None) -> phonenumbers.PhoneNumber | None:
    """Parse a number typed in any common format, or None if it is not a valid number.

    ``13800138000``, ``+86 138 0013 8000``, ``008613800138000`` and
    ``+8613800138000`` are the same number. The international ``00`` prefix is
    rewritten to ``+`` first because phonenumbers only understands it when the
    default region uses ``00`` as its exit code.
    """
    if raw is None:
        return None
    text = str(raw).strip()
    if not text or len(text) > 32:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region or settings.SMS_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def phone_to_e164(raw: str, *, region: str | None = None) -> str | None:
    number = phone_parse(raw, region=region)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if number else None


def looks_like_phone(text: str) -> bool:
    """True for strings made of digits and phone punctuation (used to refuse such usernames)."""
    stripped = str(text).strip()
    return (
        bool(stripped)
        and all(ch.isdigit() or ch in "+-() ." for ch in stripped)
        and any(ch.isdigit() for ch in stripped)
    )
