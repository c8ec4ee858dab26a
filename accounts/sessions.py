"""Browser sessions: log in with a recorded time, and end sessions that were revoked.

``session_login`` replaces ``django.contrib.auth.login`` in page views: it also
stores when the person authenticated, which serves two rules:

- "recent login" (a phone change needs a login within
  ``ACCOUNTS_RECENT_LOGIN_SECONDS``): ``session_authenticated_at(request)``;
- revocation: ``SessionRevocationMiddleware`` logs out a session that started
  before ``user.tokens_valid_after`` (logout everywhere, password reset or
  change, deactivation), the same rule JWTs follow.
"""

import datetime
import time

from django.contrib.auth import SESSION_KEY, login, logout

SESSION_AUTH_TIME_KEY = "_auth_time"


def session_login(request, user) -> None:
    """Log ``user`` in on this browser session (new session key) and record the time."""
    login(request, user, backend="accounts.backends.AccountBackend")
    request.session[SESSION_AUTH_TIME_KEY] = time.time()


def session_authenticated_at(request) -> datetime.datetime | None:
    """When this session's user last authenticated (None for sessions made otherwise)."""
    value = request.session.get(SESSION_AUTH_TIME_KEY)
    if value is None:
        return None
    return datetime.datetime.fromtimestamp(float(value), tz=datetime.UTC)


def session_is_revoked(request, user) -> bool:
    valid_after = getattr(user, "tokens_valid_after", None)
    if valid_after is None:
        return False
    started = request.session.get(SESSION_AUTH_TIME_KEY)
    # A session without a recorded login time (made before this rule, or by
    # force_login) cannot prove it is newer: it ends too.
    return started is None or float(started) < valid_after.timestamp()


class SessionRevocationMiddleware:
    """Log out browser sessions started before the user's ``tokens_valid_after``.

    Goes after AuthenticationMiddleware. Anonymous requests cost nothing: the
    user is loaded only when the session holds a logged-in user id, and such a
    request loads that user anyway.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and SESSION_KEY in session:
            user = request.user
            if user.is_authenticated and session_is_revoked(request, user):
                logout(request)
        return self.get_response(request)
