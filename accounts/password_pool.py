"""A per-process bound on password hashing, so that a login storm cannot starve other requests.

One Argon2 verify is ~20 ms of one core's CPU, and a gunicorn worker serves
many requests at once on threads. Unbounded, a burst of logins puts as many
hashes on the CPUs as there are threads, and every other request (``GET
/api/v1/me/``…) waits behind them. So every password hash of this process
(``accounts.hashers``: verify on login, hash on sign-up and password change)
runs here:

- at most ``ACCOUNTS_PASSWORD_HASH_CONCURRENCY`` at once (default 1 per
  process; gunicorn.conf.py runs one worker per core, so the server hashes
  on every core when logins are all there is to do);
- on threads of their own at CPU niceness ``ACCOUNTS_PASSWORD_HASH_NICE``
  (Linux niceness is per thread): when other requests want the CPU they get
  it first, when there are only logins the hashes use all of it. argon2-cffi
  releases the GIL while hashing, so the request's thread just waits;
- at most ``ACCOUNTS_PASSWORD_HASH_QUEUE`` more may wait for a turn (each
  wait is bounded by that many hashes); a hash beyond that is refused at once
  with ``RateLimited`` (429 rate_limited, ``Retry-After: 1``) instead of
  queueing into a timeout. The refusal counts towards nothing: no lockout,
  no failed-login event — the password was never looked at.

A login takes its place in the bound first of all (``password_hash_turn``,
around ``user_login_password``), before it reads the user row or counts
towards the per-IP limit: refusing it then costs almost nothing. The hashes
of that login run within the place it holds, and it gives the place back as
soon as it has hashed (its writes and tokens need no place).

The admission is a non-blocking semaphore: whether a request is refused
depends only on how many are in, never on a clock
(``tests/accounts/test_password_pool.py`` holds it to show so).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from accounts import conf
from config import metrics
from config.errors import RateLimited

T = TypeVar("T")

RETRY_AFTER = 1  # seconds: a hash takes tens of milliseconds, the queue drains within one

_inside = threading.local()  # set on the pool's own threads: a hasher calling itself runs in place


class _Pool:
    def __init__(self, *, concurrency: int, queue: int, nice: int) -> None:
        self.admission = threading.BoundedSemaphore(concurrency + queue)
        self.executor = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="password-hash", initializer=_hashing_thread, initargs=(nice,)
        )
        self.pid = os.getpid()


def _hashing_thread(nice: int) -> None:
    _inside.active = True
    if nice:
        # Linux: the niceness of this thread only. Elsewhere (or where forbidden) the bound still holds.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def pool() -> _Pool:
    """This process's pool, made on first use (after gunicorn forked the worker: threads do not survive a fork)."""
    global _pool
    current = _pool
    if current is None or current.pid != os.getpid():
        with _pool_lock:
            current = _pool
            if current is None or current.pid != os.getpid():
                current = _Pool(
                    concurrency=conf.password_hash_concurrency(),
                    queue=conf.password_hash_queue(),
                    nice=conf.password_hash_nice(),
                )
                _pool = current
    return current


def pool_reset() -> None:
    """Forget the pool, so the next hash builds one from the current settings (tests)."""
    global _pool
    with _pool_lock:
        old, _pool = _pool, None
    if old is not None and old.pid == os.getpid():
        old.executor.shutdown(wait=True)


def _admit(current: _Pool) -> None:
    if not current.admission.acquire(blocking=False):
        raise RateLimited(retry_after=RETRY_AFTER)


@contextmanager
def password_hash_turn(*, method: str = "password") -> Iterator[Callable[[], None]]:
    """Hold a place in the bound for the hashes of one flow; RateLimited at once (counted as a login) when full.

    Yields ``done``: call it once the flow has hashed, so that its remaining
    work (writes, tokens) does not keep the place from the next login. The
    place is given back at the end of the block anyway.
    """
    if getattr(_inside, "holds", False) or getattr(_inside, "active", False):
        yield lambda: None
        return
    current = pool()
    try:
        _admit(current)
    except RateLimited:
        metrics.login_attempted(method=method, outcome="rate_limited")
        raise
    _inside.holds = True
    held = [True]

    def done() -> None:
        if held[0]:
            held[0] = False
            _inside.holds = False
            current.admission.release()

    try:
        yield done
    finally:
        done()


def password_hash_run(function: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``function(*args)`` on a hashing thread, within the bound; RateLimited at once when the bound is full."""
    if getattr(_inside, "active", False):
        return function(*args, **kwargs)
    current = pool()
    if getattr(_inside, "holds", False):  # inside password_hash_turn: its place is this hash's
        return current.executor.submit(function, *args, **kwargs).result()
    _admit(current)
    try:
        return current.executor.submit(function, *args, **kwargs).result()
    finally:
        current.admission.release()
