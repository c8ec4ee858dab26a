"""The live state of SMS codes in the shared cache, changed only by atomic operations.

Three kinds of entries, all keyed per (purpose, phone) or per limit window:

- a **code record** ``{h: HMAC of the code, a: failed attempts, t: sent at, w: start of
  the failure window}`` — never the code itself;
- a **cooldown** holding the moment the next code may be sent;
- **counters**, one per limit and clock-aligned window (the window index is in the key).

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

# KEYS[1] code record. ARGV: digest, now, ttl, expire. A new code keeps the failed
# attempts of the previous one while the failure window is open (NIST SP 800-63B).
_PUT = """
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local old = redis.call('HMGET', KEYS[1], 'a', 'w')
local a = 0
local w = ARGV[2]
if old[2] and (now - tonumber(old[2])) < ttl then
  a = tonumber(old[1]) or 0
  w = old[2]
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'a', a, 't', ARGV[2], 'w', w)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return a
"""

# Counts an attempt *before* the comparison, so concurrent guesses cannot all
# slip in under the limit. ARGV: now, ttl, max_attempts. Returns
# {} (no live code), {'x'} (burned) or {digest, attempts including this one}.
_ATTEMPT = """
local r = redis.call('HMGET', KEYS[1], 'h', 'a', 't')
if not r[1] then return {} end
if (tonumber(ARGV[1]) - tonumber(r[3])) >= tonumber(ARGV[2]) then return {} end
if tonumber(r[2]) >= tonumber(ARGV[3]) then return {'x'} end
local a = redis.call('HINCRBY', KEYS[1], 'a', 1)
return {r[1], a}
"""

# Deletes the record if it still holds this digest: exactly one caller wins.
_CONSUME = """
if redis.call('HGET', KEYS[1], 'h') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
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
        self.client.eval(_PUT, 1, self._key(key), digest, _fmt(now), ttl, ttl + SLACK)

    def check_code(self, *, key: str, digest: str, now: float, ttl: int, max_attempts: int) -> CheckResult:
        raw_key = self._key(key)
        result = self.client.eval(_ATTEMPT, 1, raw_key, _fmt(now), ttl, max_attempts)
        if not result:
            return "invalid"
        if len(result) == 1:
            return "exceeded"
        stored, attempts = result[0], int(result[1])
        stored = stored.decode() if isinstance(stored, bytes) else stored
        if attempts > max_attempts:  # lost a race with other guesses
            return "exceeded"
        if not hmac.compare_digest(stored, digest):
            return "invalid"
        return "ok" if self.client.eval(_CONSUME, 1, raw_key, digest) else "invalid"

    def use_once(self, *, key: str, ttl: int) -> bool:
        return bool(cache.add(key, 1, timeout=ttl))


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
            old = cache.get(key)
            attempts, window = 0, now
            if old and now - old["w"] < ttl:
                attempts, window = old["a"], old["w"]
            cache.set(key, {"h": digest, "a": attempts, "t": now, "w": window}, timeout=ttl + SLACK)

    def check_code(self, *, key: str, digest: str, now: float, ttl: int, max_attempts: int) -> CheckResult:
        with _lock:
            record = cache.get(key)
            if not record or now - record["t"] >= ttl:
                return "invalid"
            if record["a"] >= max_attempts:
                return "exceeded"
            if hmac.compare_digest(record["h"], digest):
                cache.delete(key)
                return "ok"
            record["a"] += 1
            cache.set(key, record, timeout=max(1, int(record["t"] + ttl + SLACK - now)))
            return "invalid"

    def use_once(self, *, key: str, ttl: int) -> bool:
        return bool(cache.add(key, 1, timeout=ttl))


def get_store() -> RedisStore | LockedStore:
    return RedisStore() if is_redis() else LockedStore()
