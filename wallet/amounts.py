"""Parsing money amounts from requests without ever going through a float.

Parsing (this module) only turns input into a ``Decimal``; the rules (greater
than zero, cents, limits) are the services' job, so every door shares them.
"""

import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

# ASCII digits, an optional fraction; no sign, spaces, exponent or separators.
_PLAIN = re.compile(r"[0-9]{1,16}(?:\.[0-9]{1,16})?")
_SIGNED = re.compile(r"-?[0-9]{1,16}(?:\.[0-9]{1,16})?")

INVALID_AMOUNT = _("Enter an amount such as 10 or 12.50.")


class AmountParseError(ValueError):
    pass


def parse_amount(raw, *, signed: bool = False) -> Decimal:
    """``raw`` (a str, int or Decimal — never a float or bool) as a finite Decimal.

    Strings must be plain decimals (``"10"``, ``"12.50"``): no spaces,
    thousands separators, exponents, ``NaN`` or ``Infinity``. JSON numbers
    arrive as ``Decimal`` (see ``config.parsers``) or ``int``.
    """
    if isinstance(raw, (bool, float)):
        raise AmountParseError(INVALID_AMOUNT)
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise AmountParseError(INVALID_AMOUNT)
        return raw
    if isinstance(raw, str) and (_SIGNED if signed else _PLAIN).fullmatch(raw):
        try:
            return Decimal(raw)
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
            raise AmountParseError(INVALID_AMOUNT) from exc
    raise AmountParseError(INVALID_AMOUNT)


# Symbols people read instead of ISO codes ("¥12.50", not "12.50 CNY").
_SYMBOLS = {"CNY": "¥"}


def money_display(amount: Decimal, currency: str = "CNY", *, signed: bool = False) -> str:
    """``amount`` as people read it: ``¥1,234.50``, ``-¥5.00`` (``+¥5.00`` when ``signed``).

    Display only: parsing (above) accepts no separators or symbols.
    """
    sign = "-" if amount < 0 else ("+" if signed and amount > 0 else "")
    digits = f"{abs(amount):,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"
