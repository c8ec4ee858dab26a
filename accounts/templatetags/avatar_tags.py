from django import template
from django.conf import settings
from django.template.defaultfilters import filesizeformat

register = template.Library()


@register.simple_tag
def avatar_max_size() -> str:
    """``AVATAR_MAX_BYTES`` for people ("5.0 MB"), for the upload form's help text."""
    return filesizeformat(settings.AVATAR_MAX_BYTES)
