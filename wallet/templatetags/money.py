"""``{% load money %}``: amounts on the pages as people read them (``¥12.50``), never "12.50 CNY"."""

from decimal import Decimal

from django import template

from wallet.amounts import money_display

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "CNY") -> str:
    """``{{ wallet.balance|money:wallet.currency }}`` → ``¥12.50``."""
    if amount is None:
        return ""
    return money_display(Decimal(amount), currency or "CNY")


@register.filter
def money_signed(amount: Decimal | None, currency: str = "CNY") -> str:
    """A ledger line: ``+¥10.00`` / ``-¥5.00``."""
    if amount is None:
        return ""
    return money_display(Decimal(amount), currency or "CNY", signed=True)
