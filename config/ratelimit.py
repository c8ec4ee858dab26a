"""Fixed-window counters in the shared cache.

``rate_limit_hit("login-ip:1.2.3.4", rate="30/m")`` counts one hit and tells
whether it is within the limit. The counter is bumped atomically
(``counter_incr``), so concurrent processes never lose a hit the way a
get-then-set would.
Windows are aligned to the clock, which makes ``retry_after`` exact without
asking the cache for a TTL.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache, caches

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"5/m"``, ``"20/h"``, ``"10/d"``, ``"3/15m"`` -> (limit, period in seconds)."""
    count, _, period = rate.partition("/")
    multiplier = int(period[:-1] or 1)
    return int(count), multiplier * _UNITS[period[-1]]


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the current window ends


def _window(period: int, now: float) -> tuple[int, int]:
    index = int(now // period)
    retry_after = max(1, int((index + 1) * period - now))
    return index, retry_after


def counter_incr(key: str, *, timeout: int) -> int:
    """Add one to the counter ``key`` and return its new value.

    The counter expires ``timeout`` seconds after its first hit. With Redis it
    is one round trip (INCR and EXPIRE NX in a pipeline); elsewhere
    ``cache.add`` then ``cache.incr``, which are atomic in the local-memory
    cache too. Never a get-then-set, which loses hits under concurrency.
    """
    backend = caches["default"]
    if type(backend).__module__.startswith("django_redis"):
        client = backend.client.get_client(write=True)
        redis_key = backend.client.make_key(key)
        pipe = client.pipeline(transaction=True)
        pipe.incr(redis_key)
        pipe.expire(redis_key, timeout, nx=True)
        count, _ = pipe.execute()
        return int(count)
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this hit starts a new one
        cache.add(key, 1, timeout=timeout)
        return 1


def rate_limit_hit(key: str, *, limit: int, period: int, now: float | None = None) -> RateLimitResult:
    """Count one hit on ``key``; ``allowed`` is False once ``limit`` is passed."""
    index, retry_after = _window(period, time.time() if now is None else now)
    count = counter_incr(f"rl:{key}:{period}:{index}", timeout=period + 1)
    return RateLimitResult(allowed=count <= limit, count=count, limit=limit, retry_after=retry_after)
