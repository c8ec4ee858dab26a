"""``{% load phone_tags %}``: ``{{ user.phone|phone_display }}``, ``{{ user.phone|phone_masked }}``."""

from django import template

from config import phone_display as display

register = template.Library()


@register.filter
def phone_display(value) -> str:
    return display.phone_display(value)


@register.filter
def phone_masked(value) -> str:
    return display.phone_masked(value)


@register.filter
def user_label(user) -> str:
    """What the header and greetings call a person: nickname, username, or the masked number."""
    return user.nickname or user.username or display.phone_masked(user.phone) or str(user)
