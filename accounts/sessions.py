"""Browser sessions: log in with a recorded time, and end sessions that were revoked.

``session_login`` replaces ``django.contrib.auth.login`` in page views: it also
stores two times, which serve two rules:

- "recently authenticated" (``accounts.recent_auth``): when the person last
  proved who they are, ``SESSION_AUTH_TIME_KEY``;
- revocation: ``SessionRevocationMiddleware`` logs out a session that started
  (``SESSION_STARTED_KEY``) before ``user.tokens_valid_after`` (logout
  everywhere, password reset or change, deactivation), the same rule JWTs
  follow with their ``iat``.

The two differ when a session is renewed without a new proof (setting a first
password): it starts again, but its authentication stays as old as it was.
"""

import datetime
import time
from typing import Any

from django.contrib.auth import SESSION_KEY, login, logout
from django.http import HttpRequest, HttpResponse

SESSION_AUTH_TIME_KEY = "_auth_time"
SESSION_STARTED_KEY = "_started_at"
# The error of the last avatar upload, shown once in the avatar block of /account/
# (set by accounts.views, read and cleared by the ``avatar_error`` template tag).
AVATAR_ERROR_SESSION_KEY = "avatar_error"


def session_login(request: HttpRequest, user: Any, *, authenticated_at: datetime.datetime | None = None) -> None:
    """Log ``user`` in on this browser session (new session key) and record the times.

    ``authenticated_at``: when they last proved who they are; now unless given
    (``accounts.recent_auth.auth_time_after_password_change`` gives an older one).
    """
    now = time.time()
    login(request, user, backend="accounts.backends.AccountBackend")
    request.session[SESSION_STARTED_KEY] = now
    request.session[SESSION_AUTH_TIME_KEY] = authenticated_at.timestamp() if authenticated_at is not None else now


def session_authenticated_at(request: HttpRequest) -> datetime.datetime | None:
    """When this session's user last authenticated (None for sessions made otherwise)."""
    value = request.session.get(SESSION_AUTH_TIME_KEY)
    if value is None:
        return None
    return datetime.datetime.fromtimestamp(float(value), tz=datetime.UTC)


def session_is_revoked(request: HttpRequest, user: Any) -> bool:
    valid_after = getattr(user, "tokens_valid_after", None)
    if valid_after is None:
        return False
    # Sessions made before the start time was recorded started when they authenticated.
    started = request.session.get(SESSION_STARTED_KEY, request.session.get(SESSION_AUTH_TIME_KEY))
    # A session without a recorded login time (made before this rule, or by
    # force_login) cannot prove it is newer: it ends too.
    return started is None or float(started) < valid_after.timestamp()


def session_keep_after_revocation(request: HttpRequest) -> None:
    """This browser changed its own credentials (a revocation): its session goes on, as newly started."""
    request.session[SESSION_STARTED_KEY] = time.time()


class SessionRevocationMiddleware:
    """Log out browser sessions started before the user's ``tokens_valid_after``.

    Goes after AuthenticationMiddleware. Anonymous requests cost nothing: the
    user is loaded only when the session holds a logged-in user id, and such a
    request loads that user anyway.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and SESSION_KEY in session:
            user = request.user
            if user.is_authenticated and session_is_revoked(request, user):
                logout(request)
        return self.get_response(request)
