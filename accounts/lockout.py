"""Per-account login lockout and the per-IP login throttle, in the shared cache.

Why not django-axes: it answers lockouts with its own response (not the API
error body with ``retry_after``), hooks into ``authenticate()``, and its
database handler writes an AccessAttempt row per attempt, which the login's
3-query budget cannot pay for. Two small cache counters give the exact rule:

- failures for one account are counted in a window that starts at the first
  failure and lasts ``ACCOUNTS_LOCKOUT_SECONDS``; the failure that reaches
  ``ACCOUNTS_LOGIN_MAX_FAILURES`` locks the account for
  ``ACCOUNTS_LOCKOUT_SECONDS`` (a lock key holding its end time, so
  ``retry_after`` is exact). While locked every attempt is refused, even with
  the right password. A success clears the count.
- the account key is the user's id, or, for a login naming no account, the
  normalised login itself: unknown accounts lock exactly like real ones, so
  the lockout does not reveal which accounts exist.
- client IPs: ``ACCOUNTS_LOGIN_IP_RATE`` (``"30/m"``) password logins, with
  ``config.ratelimit.ratelimit_hit`` (clock-aligned window, atomic counter).

Counters use ``config.ratelimit.counter_incr`` (atomic), so concurrent
processes never lose a failure.
"""

import math
import time

from django.core.cache import cache

from accounts import conf
from accounts.errors import AccountLocked
from config import metrics
from config.errors import RateLimited
from config.ratelimit import counter_incr, key_hash, ratelimit_hit, ratelimit_hit_and_get


def lockout_key(*, user=None, login: str = "") -> str:
    return f"user:{user.pk}" if user is not None else f"login:{login.strip().lower()}"


def _fail_key(key: str) -> str:
    return f"login-fail:{key_hash(key)}"


def _lock_key(key: str) -> str:
    return f"login-lock:{key_hash(key)}"


def lockout_check(key: str) -> None:
    """Raise AccountLocked (with ``retry_after``) while ``key`` is locked."""
    until = cache.get(_lock_key(key))
    # The stored end time decides, not only the key's TTL: they agree in
    # production, and tests that move the clock cannot move Redis's.
    if until is not None and until > time.time():
        raise AccountLocked(retry_after=max(1, math.ceil(until - time.time())))


def lockout_until(key: str) -> float | None:
    """When the lock on ``key`` ends (a UNIX time), or None when it is not locked; for display."""
    until = cache.get(_lock_key(key))
    return until if until is not None and until > time.time() else None


def lockout_record_failure(key: str) -> bool:
    """Count one failed login; True when this failure locked the account."""
    rate = conf.lockout_rate()
    window = rate.period
    fail_key = _fail_key(key)
    count = counter_incr(fail_key, timeout=window)
    if count >= rate.limit:
        cache.set(_lock_key(key), time.time() + window, timeout=window)
        cache.delete(fail_key)
        metrics.login_locked_out()
        return True
    return False


def lockout_clear(key: str) -> None:
    cache.delete_many([_fail_key(key), _lock_key(key)])


def login_gate(*, client_ip: str, key: str) -> bool:
    """``login_ip_throttle(client_ip)`` then ``lockout_check(key)``, in one cache round trip (the password login's).

    Returns whether failures are being counted for ``key``: only then does a
    success have anything to clear (``lockout_clear``), which saves the login
    another round trip in the usual case.
    """
    peek = [_lock_key(key), _fail_key(key)]
    if client_ip:
        result, (until, failures) = ratelimit_hit_and_get(
            scope="login-ip", key=client_ip, rate=conf.login_ip_rate(), peek=peek
        )
        if not result.allowed:
            metrics.login_attempted(method="password", outcome="rate_limited")
            raise RateLimited(retry_after=result.retry_after)
    else:
        values = cache.get_many(peek)
        until, failures = values.get(peek[0]), values.get(peek[1])
    # The stored end time decides, as in lockout_check.
    if until is not None and until > time.time():
        raise AccountLocked(retry_after=max(1, math.ceil(until - time.time())))
    return failures is not None


def login_ip_throttle(client_ip: str) -> None:
    """Count one password login from ``client_ip``; RateLimited past ACCOUNTS_LOGIN_IP_RATE."""
    if not client_ip:
        return
    result = ratelimit_hit(scope="login-ip", key=client_ip, rate=conf.login_ip_rate())
    if not result.allowed:
        metrics.login_attempted(method="password", outcome="rate_limited")
        raise RateLimited(retry_after=result.retry_after)
