"""Every limit of the project: one rate syntax, one atomic counter, hashed keys.

A rate is written ``"<count>/<period>"``: ``"5/h"``, ``"30/m"``, ``"10/s"``,
``"100/d"``, or with a multiplier ``"5/15m"``. A count of 0 (``"0/h"``)
switches the limit off. API throttles, the per-IP login limit, the SMS caps
and the account lockout all use it.

``ratelimit_hit(scope="login-ip", key=ip, rate="30/m")`` counts a hit and
tells whether it is within the limit. Windows are aligned to the clock (a
``/h`` window is a clock hour, a ``/d`` window a UTC day), so every process
agrees on the window without asking the cache, and ``retry_after`` is exact.
The counter is bumped atomically (``counter_incr``: INCR + EXPIRE NX in one
Redis round trip; ``add``/``incr`` elsewhere), so concurrent processes never
lose a hit the way a get-then-set would. Keys hold a keyed hash of what they
count (a phone number, an address), never the value itself.

What this module does not do: the SMS send checks a cooldown and four caps
and takes them all or none, which needs one Lua script
(``smscodes.store``); that script builds its keys and windows with
``ratelimit_key`` / ``window_of`` from here.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache, caches
from django.utils.crypto import salted_hmac
from rest_framework.throttling import BaseThrottle

from config import conf
from config.http import client_ip

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")


@dataclass(frozen=True)
class Rate:
    """``limit`` hits per ``period`` seconds; a limit of 0 or less means "no limit"."""

    limit: int
    period: int

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def __str__(self) -> str:
        for unit, seconds in sorted(_UNITS.items(), key=lambda item: -item[1]):
            if self.period % seconds == 0:
                multiplier = self.period // seconds
                return f"{self.limit}/{multiplier if multiplier != 1 else ''}{unit}"
        return f"{self.limit}/{self.period}s"  # pragma: no cover - every period is a whole number of seconds


def rate_parse(text: str | Rate) -> Rate:
    """``"5/m"``, ``"20/h"``, ``"10/d"``, ``"3/15m"`` -> Rate; ValueError for anything else."""
    if isinstance(text, Rate):
        return text
    match = _RATE.match(str(text))
    if match is None:
        raise ValueError(f"Not a rate: {text!r} (expected e.g. '5/h', '30/m', '3/15m')")
    count, multiplier, unit = match.groups()
    period = int(multiplier or 1) * _UNITS[unit]
    if period <= 0:
        raise ValueError(f"Not a rate: {text!r} (the period must be positive)")
    return Rate(limit=int(count), period=period)


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the current window ends


def key_hash(value: str, *, salt: str = "config.ratelimit") -> str:
    """A keyed hash of ``value`` for cache keys: phone numbers and addresses never sit in the cache in clear."""
    return salted_hmac(salt, value, algorithm="sha256").hexdigest()[:24]


def window_of(rate: Rate, now: float) -> tuple[int, float]:
    """The index of the clock-aligned window holding ``now``, and when that window ends."""
    index = int(now // rate.period)
    return index, float((index + 1) * rate.period)


def ratelimit_key(*, scope: str, key: str, rate: Rate, now: float) -> str:
    """The cache key of the counter of ``key`` in ``scope`` for the window holding ``now``."""
    index, _end = window_of(rate, now)
    return f"rl:{scope}:{rate.period}:{index}:{key_hash(key)}"


# counter_incr_and_get in one command: a MULTI/EXEC pipeline of INCRBY, EXPIRE and the GETs cost
# the password login's thread as much Python as three separate commands (every command queued is
# packed, answered QUEUED and parsed); one script is one command and one reply. KEYS[1] is the
# counter, the other keys are read; ARGV: the amount, the counter's timeout.
_INCR_AND_GET_LUA = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2], 'NX')
local values = {count}
for i = 2, #KEYS do
  values[i] = redis.call('GET', KEYS[i])
end
return values
"""
_incr_and_get_script: Any = None  # redis-py's Script (EVALSHA, loading the script again if Redis lost it)


def counter_incr_and_get(key: str, *, timeout: int, amount: int = 1, peek: Sequence[str] = ()) -> tuple[int, list[Any]]:
    """``counter_incr``, and the cached values of the keys ``peek`` (None when absent), in one Redis round trip.

    For a hot path that counts a hit and reads a few keys before deciding
    (the password login: its IP's count, its account's lock and failures).
    With Redis one script, atomic on the server; elsewhere the same calls one
    after the other.
    """
    global _incr_and_get_script
    backend = caches["default"]
    if type(backend).__module__.startswith("django_redis"):
        client = backend.client  # type: ignore[attr-defined]
        redis_client = client.get_client(write=True)
        if _incr_and_get_script is None:
            _incr_and_get_script = redis_client.register_script(_INCR_AND_GET_LUA)
        keys = [client.make_key(key), *(client.make_key(other) for other in peek)]
        count, *values = _incr_and_get_script(keys=keys, args=[amount, timeout], client=redis_client)
        return int(count), [None if value is None else client.decode(value) for value in values]
    count = counter_incr(key, timeout=timeout, amount=amount)
    return count, [cache.get(other) for other in peek]


def counter_incr(key: str, *, timeout: int, amount: int = 1) -> int:
    """Add ``amount`` to the counter ``key`` and return its new value.

    The counter expires ``timeout`` seconds after its first hit. With Redis it
    is one round trip (INCRBY and EXPIRE NX in a pipeline); elsewhere
    ``cache.add`` then ``cache.incr``, which are atomic in the local-memory
    cache too. Never a get-then-set, which loses hits under concurrency.
    """
    backend = caches["default"]
    if type(backend).__module__.startswith("django_redis"):
        client = backend.client.get_client(write=True)  # type: ignore[attr-defined]
        redis_key = backend.client.make_key(key)  # type: ignore[attr-defined]
        pipe = client.pipeline(transaction=True)
        pipe.incrby(redis_key, amount)
        pipe.expire(redis_key, timeout, nx=True)
        count, _ = pipe.execute()
        return int(count)
    if cache.add(key, amount, timeout=timeout):
        return amount
    try:
        return int(cache.incr(key, amount))
    except ValueError:  # expired between add and incr: this hit starts a new one
        cache.add(key, amount, timeout=timeout)
        return amount


def _result(count: int, rate: Rate, window_end: float, now: float) -> RateLimitResult:
    retry_after = max(1, math.ceil(window_end - now))
    return RateLimitResult(allowed=count <= rate.limit, count=count, limit=rate.limit, retry_after=retry_after)


def ratelimit_hit(
    *, scope: str, key: str, rate: Rate | str, cost: int = 1, now: float | None = None
) -> RateLimitResult:
    """Count ``cost`` hits of ``key`` in ``scope``; ``allowed`` is False once the limit is passed.

    Every hit counts, refused ones too (a client hammering a closed door keeps
    it closed until the window ends). A disabled rate allows everything and
    costs no cache round trip. Otherwise one round trip.
    """
    rate = rate_parse(rate)
    now = time.time() if now is None else now
    if not rate.enabled:
        return RateLimitResult(allowed=True, count=0, limit=0, retry_after=0)
    _index, end = window_of(rate, now)
    count = counter_incr(ratelimit_key(scope=scope, key=key, rate=rate, now=now), timeout=rate.period + 1, amount=cost)
    return _result(count, rate, end, now)


def ratelimit_hit_and_get(
    *, scope: str, key: str, rate: Rate | str, peek: Sequence[str], cost: int = 1
) -> tuple[RateLimitResult, list[Any]]:
    """``ratelimit_hit``, and the cached values of ``peek`` read in the same round trip (``counter_incr_and_get``)."""
    rate = rate_parse(rate)
    now = time.time()
    if not rate.enabled:
        return RateLimitResult(allowed=True, count=0, limit=0, retry_after=0), [cache.get(other) for other in peek]
    _index, end = window_of(rate, now)
    count, values = counter_incr_and_get(
        ratelimit_key(scope=scope, key=key, rate=rate, now=now), timeout=rate.period + 1, amount=cost, peek=peek
    )
    return _result(count, rate, end, now), values


def ratelimit_get(*, scope: str, key: str, rate: Rate | str, now: float | None = None) -> RateLimitResult:
    """Where ``key`` stands in ``scope`` without counting a hit (``allowed``: one more would pass)."""
    rate = rate_parse(rate)
    now = time.time() if now is None else now
    if not rate.enabled:
        return RateLimitResult(allowed=True, count=0, limit=0, retry_after=0)
    _index, end = window_of(rate, now)
    count = int(cache.get(ratelimit_key(scope=scope, key=key, rate=rate, now=now)) or 0)
    return RateLimitResult(
        allowed=count < rate.limit, count=count, limit=rate.limit, retry_after=max(1, math.ceil(end - now))
    )


def ratelimit_reset(*, scope: str, key: str, rate: Rate | str, now: float | None = None) -> None:
    """Forget the hits of ``key`` in the current window of ``scope``."""
    rate = rate_parse(rate)
    now = time.time() if now is None else now
    cache.delete(ratelimit_key(scope=scope, key=key, rate=rate, now=now))


# --- The API throttle built on it --------------------------------------------------------


def throttle_rate(scope: str) -> Rate | None:
    """The rate of a throttle scope: ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]`` (None: not throttled)."""
    text = conf.throttle_rates().get(scope)
    return rate_parse(text) if text else None


def throttle_scope_key(scope: str) -> str:
    """The ``ratelimit_hit`` scope of a throttle scope: the API throttle and any other door share it."""
    return f"throttle:{scope}"


def throttle_identity(*, ip: str = "", user_pk: object = None) -> str:
    """Who a throttle counts: the user when given, else the client IP."""
    return f"user:{user_pk}" if user_pk is not None else f"ip:{ip}"


class ScopedRateThrottle(BaseThrottle):
    """Like DRF's ScopedRateThrottle, but counted atomically with ``ratelimit_hit``.

    A view sets ``throttle_scope`` (or the class fixes ``scope``); the rate is
    ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]``. Authenticated callers
    are counted per user, anonymous ones per client IP (``config.http.client_ip``).
    """

    per_ip_only = False
    scope: str | None = None

    def __init__(self) -> None:
        self._wait: int | None = None

    def identity(self, request: Any) -> str:
        user = getattr(request, "user", None)
        if not self.per_ip_only and user is not None and user.is_authenticated:
            return throttle_identity(user_pk=user.pk)
        return throttle_identity(ip=client_ip(getattr(request, "_request", request)))

    def allow_request(self, request: Any, view: Any) -> bool:
        scope = self.scope or getattr(view, "throttle_scope", None)
        rate = throttle_rate(scope) if scope else None
        if scope is None or rate is None:
            return True
        result = ratelimit_hit(scope=throttle_scope_key(scope), key=self.identity(request), rate=rate)
        self._wait = result.retry_after
        return result.allowed

    def wait(self) -> int | None:
        return self._wait


class IPRateThrottle(ScopedRateThrottle):
    """The same, always per client IP: a budget shared by anonymous and signed-in callers of one network."""

    per_ip_only = True
