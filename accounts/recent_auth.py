"""When the caller last proved who they are, and whether that is recent enough.

One rule for both doors. A JWT carries ``auth_time`` (kept through
refreshes); a browser session records it at login (``accounts.sessions``).
Sensitive changes (a phone change without the password) need an
authentication within ``ACCOUNTS_RECENT_LOGIN_SECONDS``.

What counts as a fresh authentication is decided here too: logging in,
signing up, resetting the password with a code, and changing the password
with the old one. Setting a *first* password proves nothing new, so the
authentication time stays what it was — on the API and on the pages alike.
"""

import datetime
from typing import Any

from django.utils import timezone

from accounts import conf
from accounts.sessions import session_authenticated_at


def request_authenticated_at(request: Any) -> datetime.datetime | None:
    """When the caller of this request last authenticated: the JWT's claim, or the session's login.

    ``request``: a DRF ``Request`` (token or session) or a Django ``HttpRequest`` (session).
    """
    token = getattr(request, "auth", None)
    if token is not None and hasattr(token, "get"):
        value = token.get("auth_time")
        return datetime.datetime.fromtimestamp(float(value), tz=datetime.UTC) if value is not None else None
    http = getattr(request, "_request", request)
    return session_authenticated_at(http) if hasattr(http, "session") else None


def auth_is_recent(authenticated_at: datetime.datetime | None, *, now: datetime.datetime | None = None) -> bool:
    """True when ``authenticated_at`` is within ``ACCOUNTS_RECENT_LOGIN_SECONDS`` of ``now``."""
    if authenticated_at is None:
        return False
    now = now or timezone.now()
    return (now - authenticated_at).total_seconds() <= conf.recent_login_seconds()


def auth_time_after_password_change(
    *, proved_old_password: bool, previous: datetime.datetime | None
) -> datetime.datetime | None:
    """The authentication time after a password change: now if the old password was given, else unchanged."""
    return timezone.now() if proved_old_password else previous
