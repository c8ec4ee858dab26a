"""The live state of SMS codes in the shared cache, changed only by atomic operations.

Four kinds of entries, all keyed per (purpose, phone), per client or per limit window:

- a **code record** ``{h: HMAC of the code, t: sent at}`` — never the code itself;
- a **cooldown** holding the moment the next code may be sent;
- **counters**, one per limit and clock-aligned window (the window index is in the key);
- **wrong-guess counters** (``GuessLimits``): per client for the live code
  ``{n: failures, w: start of the failure window}``, carried over to the next
  code while the window is open; per client and number per day; per number per
  day over every client.

With Redis every operation is one Lua script (one round trip, atomic on the server).
Any other cache gets the same semantics from a process lock around get/set calls,
which is atomic for the local-memory cache (it lives in one process); a
multi-process deployment needs Redis (docs/ARCHITECTURE.md), as every limit does.

Validity is decided from the timestamps stored in the entries against the
caller's clock, not from the cache's own expiry (which is only garbage
collection): tests can travel in time the same way with both caches.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass
from typing import Any, Literal

from django.core.cache import cache, caches
from django_redis.cache import RedisCache

# Entries outlive their deadline a little so the timestamp check, not the cache
# expiry, decides at the boundary.
SLACK = 5


@dataclass(frozen=True)
class Counter:
    key: str
    limit: int
    window_end: float  # when the current window ends (for retry_after)
    ttl: int


@dataclass(frozen=True)
class Reservation:
    ok: bool
    blocked_by: Literal["cooldown", "limit", None] = None
    until: float = 0.0  # when it may be retried (cooldown end or window end)


CheckResult = Literal["ok", "invalid", "exceeded"]


@dataclass(frozen=True)
class GuessLimits:
    """Where wrong guesses are counted, and how many each counter allows (0: no limit).

    ``client_key``: this client's failures against this number and purpose, in a
    window of ``window`` seconds from its first failure (the code's lifetime), so
    a new code does not reset them; at most ``client_max``.
    ``client_day_key`` / ``number_day_key``: failures per client and number, and
    per number over every client, in the current day (the day is in the key); at
    most ``client_day_max`` / ``number_day_max``. ``day_ttl``: their expiry.
    """

    client_key: str
    client_max: int
    window: int
    client_day_key: str
    client_day_max: int
    number_day_key: str
    number_day_max: int
    day_ttl: int


def is_redis() -> bool:
    return isinstance(caches["default"], RedisCache)  # ``cache`` itself is a proxy


# --- Redis ----------------------------------------------------------------------------

# KEYS[1] cooldown, KEYS[2..] counters. ARGV: now, cooldown_until, cooldown_ttl,
# then limit, ttl for each counter. Checks everything first, then counts: a refused
# request uses up nothing.
_RESERVE = """
local now = tonumber(ARGV[1])
local cool = redis.call('GET', KEYS[1])
if cool and tonumber(cool) > now then return {1, cool} end
for i = 2, #KEYS do
  local j = i - 1
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= tonumber(ARGV[2 + 2 * j]) then return {2, tostring(j)} end
end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
for i = 2, #KEYS do
  local j = i - 1
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[3 + 2 * j])
end
return {0}
"""

# Gives back what _RESERVE took (the send failed). ARGV[1]: the cooldown value we set.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
for i = 2, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 0
"""

# KEYS[1] code record. ARGV: digest, now, expire. The wrong guesses made against the
# previous code stay with each client (GuessLimits), not with the record.
_PUT = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', ARGV[1], 't', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 0
"""

# One guess, atomically: refused while any of its counters is full, consumed when
# right (exactly one concurrent caller wins the DEL), counted everywhere when
# wrong. Comparing the HMAC digests here rather than in Python keeps it one
# round trip; the compared values are keyed HMACs of the guesses, so their
# comparison time tells an attacker nothing about the code.
# KEYS: code record, client window {n, w}, client-day counter, number-day counter.
# ARGV: digest, now, ttl, client_max, client_day_max, number_day_max, day_ttl,
# consume ('0': a right code is only checked and stays usable).
_GUESS = """
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local r = redis.call('HMGET', KEYS[1], 'h', 't')
if not r[1] or (now - tonumber(r[2])) >= ttl then return 'invalid' end
local number_max = tonumber(ARGV[6])
if number_max > 0 and tonumber(redis.call('GET', KEYS[4]) or '0') >= number_max then return 'exceeded' end
local client_day_max = tonumber(ARGV[5])
if client_day_max > 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= client_day_max then return 'exceeded' end
local cw = redis.call('HMGET', KEYS[2], 'n', 'w')
local open = cw[2] and (now - tonumber(cw[2])) < ttl
local n = 0
if open then n = tonumber(cw[1]) or 0 end
if n >= tonumber(ARGV[4]) then return 'exceeded' end
if r[1] == ARGV[1] then
  if ARGV[8] ~= '0' then redis.call('DEL', KEYS[1]) end
  return 'ok'
end
if open then
  redis.call('HINCRBY', KEYS[2], 'n', 1)
else
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'n', 1, 'w', ARGV[2])
  redis.call('EXPIRE', KEYS[2], ttl + 5)
end
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[7])
redis.call('INCR', KEYS[4])
redis.call('EXPIRE', KEYS[4], ARGV[7])
return 'invalid'
"""


def _fmt(value: float) -> str:
    return repr(float(value))


class RedisStore:
    def __init__(self) -> None:
        backend: Any = caches["default"]  # django-redis' cache: its client is not in Django's stubs
        self.backend = backend
        self.client = backend.client.get_client(write=True)

    def _key(self, key: str) -> str:
        return str(self.backend.client.make_key(key))

    def reserve(self, *, cooldown_key: str, cooldown_until: float, cooldown_ttl: int, now: float, counters):
        keys = [self._key(cooldown_key), *(self._key(c.key) for c in counters)]
        args = [_fmt(now), _fmt(cooldown_until), cooldown_ttl]
        for c in counters:
            args += [c.limit, c.ttl]
        result = self.client.eval(_RESERVE, len(keys), *keys, *args)
        if int(result[0]) == 0:
            return Reservation(ok=True)
        if int(result[0]) == 1:
            return Reservation(ok=False, blocked_by="cooldown", until=float(result[1]))
        return Reservation(ok=False, blocked_by="limit", until=counters[int(result[1]) - 1].window_end)

    def release(self, *, cooldown_key: str, cooldown_until: float, counters) -> None:
        keys = [self._key(cooldown_key), *(self._key(c.key) for c in counters)]
        self.client.eval(_RELEASE, len(keys), *keys, _fmt(cooldown_until))

    def cooldown_until(self, *, cooldown_key: str) -> float:
        """When the cooldown set by ``reserve`` ends (0 when there is none); one GET."""
        value = self.client.get(self._key(cooldown_key))
        return float(value) if value else 0.0

    def put_code(self, *, key: str, digest: str, now: float, ttl: int) -> None:
        self.client.eval(_PUT, 1, self._key(key), digest, _fmt(now), ttl + SLACK)

    def check_code(
        self, *, key: str, digest: str, now: float, ttl: int, limits: GuessLimits, consume: bool = True
    ) -> CheckResult:
        keys = [self._key(k) for k in (key, limits.client_key, limits.client_day_key, limits.number_day_key)]
        args = [digest, _fmt(now), ttl, limits.client_max, limits.client_day_max, limits.number_day_max]
        result = self.client.eval(_GUESS, len(keys), *keys, *args, limits.day_ttl, "1" if consume else "0")
        text = result.decode() if isinstance(result, bytes) else str(result)
        return "ok" if text == "ok" else "exceeded" if text == "exceeded" else "invalid"

    def use_once(self, *, key: str, ttl: int) -> bool:
        return bool(cache.add(key, 1, timeout=ttl))

    def was_used(self, *, key: str) -> bool:
        return cache.get(key) is not None


# --- Any other cache (local memory) -----------------------------------------------------

_lock = threading.Lock()


class LockedStore:
    """The same operations as RedisStore, atomic within this process."""

    def reserve(self, *, cooldown_key: str, cooldown_until: float, cooldown_ttl: int, now: float, counters):
        with _lock:
            values = cache.get_many([cooldown_key, *(c.key for c in counters)])
            if values.get(cooldown_key, 0) > now:
                return Reservation(ok=False, blocked_by="cooldown", until=values[cooldown_key])
            for c in counters:
                if values.get(c.key, 0) >= c.limit:
                    return Reservation(ok=False, blocked_by="limit", until=c.window_end)
            updates = {c.key: values.get(c.key, 0) + 1 for c in counters}
            if cooldown_ttl > 0:
                updates[cooldown_key] = cooldown_until
            cache.set_many(updates, timeout=max([cooldown_ttl, *(c.ttl for c in counters)]))
            return Reservation(ok=True)

    def release(self, *, cooldown_key: str, cooldown_until: float, counters) -> None:
        with _lock:
            values = cache.get_many([cooldown_key, *(c.key for c in counters)])
            updates = {c.key: values[c.key] - 1 for c in counters if values.get(c.key, 0) > 0}
            if values.get(cooldown_key) == cooldown_until:
                updates[cooldown_key] = 0
            if updates:
                cache.set_many(updates, timeout=max(c.ttl for c in counters) if counters else 60)

    def cooldown_until(self, *, cooldown_key: str) -> float:
        return float(cache.get(cooldown_key) or 0)

    def put_code(self, *, key: str, digest: str, now: float, ttl: int) -> None:
        with _lock:
            cache.set(key, {"h": digest, "t": now}, timeout=ttl + SLACK)

    def check_code(
        self, *, key: str, digest: str, now: float, ttl: int, limits: GuessLimits, consume: bool = True
    ) -> CheckResult:
        with _lock:
            record = cache.get(key)
            if not record or now - record["t"] >= ttl:
                return "invalid"
            counts = cache.get_many([limits.client_key, limits.client_day_key, limits.number_day_key])
            if 0 < limits.number_day_max <= counts.get(limits.number_day_key, 0):
                return "exceeded"
            if 0 < limits.client_day_max <= counts.get(limits.client_day_key, 0):
                return "exceeded"
            window: dict[str, float] = counts.get(limits.client_key) or {}
            open_window = bool(window) and now - window["w"] < ttl
            failures = int(window["n"]) if open_window else 0
            if failures >= limits.client_max:
                return "exceeded"
            if hmac.compare_digest(record["h"], digest):
                if consume:
                    cache.delete(key)
                return "ok"
            # One write for the three (the window's own start time, not its expiry, closes it).
            cache.set_many(
                {
                    limits.client_key: {"n": failures + 1, "w": window["w"] if open_window else now},
                    limits.client_day_key: counts.get(limits.client_day_key, 0) + 1,
                    limits.number_day_key: counts.get(limits.number_day_key, 0) + 1,
                },
                timeout=max(limits.day_ttl, ttl + SLACK),
            )
            return "invalid"

    def use_once(self, *, key: str, ttl: int) -> bool:
        return bool(cache.add(key, 1, timeout=ttl))

    def was_used(self, *, key: str) -> bool:
        return cache.get(key) is not None


def get_store() -> RedisStore | LockedStore:
    return RedisStore() if is_redis() else LockedStore()
