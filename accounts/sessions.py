"""Browser sessions: log in with a recorded time, and end sessions that were revoked.

``session_login`` replaces ``django.contrib.auth.login`` in page views: it
records the sign-in as a ``browser`` device and stores two times, which serve
two rules:

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
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from accounts.device_state import ENDED, device_record, device_seen, seen_is_stale, state_key
from accounts.models import Device
from config.origin import Origin

SESSION_AUTH_TIME_KEY = "_auth_time"
SESSION_STARTED_KEY = "_started_at"
# The signed-in device (accounts.models.Device) this browser session is, and
# when the middleware last told the database it was seen.
SESSION_DEVICE_KEY = "_device"
SESSION_DEVICE_SEEN_KEY = "_device_seen"
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
    _device_start(request, user)


def _device_start(request: HttpRequest, user: Any) -> None:
    # The session needs its key before the device can point at it.
    if request.session.session_key is None:
        request.session.save()
    device = device_record(
        user=user,
        kind=Device.Kind.BROWSER,
        origin=Origin.from_request(request),
        session_key=request.session.session_key or "",
    )
    request.session[SESSION_DEVICE_KEY] = device.pk
    request.session[SESSION_DEVICE_SEEN_KEY] = time.time()


def session_device_id(request: HttpRequest) -> str | None:
    """The signed-in device this browser session is (None for sessions made otherwise, e.g. ``force_login``)."""
    session = getattr(request, "session", None)
    value = session.get(SESSION_DEVICE_KEY) if session is not None else None
    return str(value) if value else None


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
    """This browser changed its own credentials (a revocation): its session goes on, as newly started.

    The revocation ended every device, this one too: the session goes on as a new device.
    """
    request.session[SESSION_STARTED_KEY] = time.time()
    if request.user.is_authenticated:
        _device_start(request, request.user)


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
            if user.is_authenticated and (session_is_revoked(request, user) or not _session_device_live(request)):
                logout(request)
        return self.get_response(request)


def _session_device_live(request: HttpRequest) -> bool:
    """False once this session's device has ended (normally its session is deleted then already).

    One cache read per page request; the database is asked on a miss, and
    ``last_seen_at`` written when the session last did so ``SEEN_INTERVAL`` ago.
    """
    device_id = session_device_id(request)
    if device_id is None:
        return True
    state = cache.get(state_key(device_id))
    if state == ENDED:
        return False
    seen = float(request.session.get(SESSION_DEVICE_SEEN_KEY, 0))
    if state is None or seen_is_stale(seen):
        if not device_seen(device_id, ip=Origin.from_request(request).ip or None):
            return False
        request.session[SESSION_DEVICE_SEEN_KEY] = time.time()
    return True
