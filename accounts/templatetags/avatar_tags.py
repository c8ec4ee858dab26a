from django import template
from django.template.defaultfilters import filesizeformat

from accounts import conf
from accounts.sessions import AVATAR_ERROR_SESSION_KEY

register = template.Library()


@register.simple_tag
def avatar_max_size() -> str:
    """``AVATAR_MAX_BYTES`` for people ("5.0 MB"), for the upload form's help text."""
    return filesizeformat(conf.avatar_max_bytes())


@register.simple_tag(takes_context=True)
def avatar_error(context) -> str:
    """The error of the last avatar upload, once: reading it clears it (like a Django message).

    Kept apart from ``messages`` because base.html shows those at the top of
    the page, far from the form on a phone; this one belongs next to it.
    """
    request = context.get("request")
    session = getattr(request, "session", None)
    return session.pop(AVATAR_ERROR_SESSION_KEY, "") if session is not None else ""
