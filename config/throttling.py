"""Per-endpoint throttles for the few places where abuse costs us something.

No global throttle: every request would pay a cache round trip for it, and
the expensive paths already have their own rules (SMS limits, login lockout).
This covers what those rules do not: probing which numbers are registered
through the send-code endpoint, guessing codes across many numbers, and
burning CPU with avatar uploads.
"""

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from config.http import client_ip
from config.ratelimit import parse_rate, rate_limit_hit


class ScopedRateThrottle(BaseThrottle):
    """Like DRF's ScopedRateThrottle, but counted atomically (``config.ratelimit``).

    A view sets ``throttle_scope``; the rate is
    ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]``. Authenticated callers
    are counted per user, anonymous ones per client IP.
    """

    def __init__(self):
        self._wait = None

    def allow_request(self, request, view):
        scope = getattr(view, "throttle_scope", None)
        rate = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get(scope) if scope else None
        if not rate:
            return True
        limit, period = parse_rate(rate)
        user = getattr(request, "user", None)
        who = f"user:{user.pk}" if user is not None and user.is_authenticated else f"ip:{client_ip(request)}"
        result = rate_limit_hit(f"throttle:{scope}:{who}", limit=limit, period=period)
        self._wait = result.retry_after
        return result.allowed

    def wait(self):
        return self._wait
