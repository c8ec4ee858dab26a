"""gunicorn's ``gthread`` worker, with connections shared fairly between the workers.

Every worker polls the same listening socket, and whichever wakes first
accepts. When a client (a proxy, an app, a load generator) opens its
keep-alive connections in a burst, one worker often takes all of them while
its sibling idles: with one core each, the server then runs at half speed
for as long as those connections live (measured on this project's 2-core
machine: the same run of 16 connections at ~2 700 or ~1 200 requests/s,
depending only on where they landed).

So a worker that has just taken as many connections as it has threads
stops accepting for ``ACCEPT_PAUSE``: a sibling with free threads takes the
next connections of the burst. Once only: after the pause the worker accepts
as gthread does, however many connections come (a burst of 100 waits 50 ms
in the kernel's backlog, not one pause per connection), until it holds fewer
connections than threads again.

That pause leaves a smaller burst to chance: four connections can still all
land on one worker (measured: 2 of 14 phases of 4 connections, at half the
requests/s, four request threads sharing one GIL). So the workers also
publish how many connections each holds, in a small array of shared memory
that the gunicorn master makes before forking them (``balance_setup``,
``balance_assign``, ``balance_release``: the hooks in config/gunicorn.py).
A worker that has just accepted and now holds more connections than the
least busy of its siblings stops accepting for ``ACCEPT_YIELD``: that
sibling, polling the same socket, takes the next one. The least busy worker
never yields, so the server never stops accepting, whatever the rate of new
connections. Without the hooks (one worker, another gunicorn config) no
array exists and nothing changes. Everything else is gthread's own.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

#: How long a worker with all its threads' worth of connections leaves the next accept to its siblings.
ACCEPT_PAUSE = 0.05  # seconds: a burst of connections arrives within a few milliseconds
#: How long a worker holding more connections than a sibling leaves the next accept to it.
ACCEPT_YIELD = 0.002  # seconds: the sibling is already awake on the same socket

#: Slots of the shared array: more than any number of workers this server runs at once.
BALANCE_SLOTS = 64
_FREE = -1  # a slot no live worker holds

# One slot per live worker: how many connections it holds. Made by the master before the first
# fork (``balance_setup``), so every worker maps the same memory; None when no hook made it.
_counts: Any = None


def balance_setup() -> None:
    """In the gunicorn master, before any worker is forked (``on_starting``)."""
    global _counts
    _counts = multiprocessing.RawArray("i", [_FREE] * BALANCE_SLOTS)


def balance_assign(server: Any, worker: Any) -> None:
    """In the master, just before ``worker`` is forked (``pre_fork``): a slot no live worker holds."""
    if _counts is None:
        return
    taken = {getattr(other, "balance_slot", None) for other in server.WORKERS.values()}
    slot = next((n for n in range(BALANCE_SLOTS) if n not in taken), None)
    worker.balance_slot = slot
    if slot is not None:
        _counts[slot] = 0


def balance_release(worker: Any) -> None:
    """In the master, once ``worker`` has exited (``child_exit``): its slot counts for nobody."""
    slot = getattr(worker, "balance_slot", None)
    if _counts is not None and slot is not None:
        _counts[slot] = _FREE


class BalancedThreadWorker(ThreadWorker):
    balance_slot: int | None = None  # set by the master before the fork (balance_assign)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._paused_until = 0.0
        self._yield_until = 0.0
        super().__init__(*args, **kwargs)

    # gthread's run loop accepts while ``nr_conns < worker_connections``; a full worker (or one that
    # yields to a sibling) reads a lower limit. gthread reads it on every turn of that loop, so this is
    # also where the worker publishes its count, however the count last changed.
    @property  # an attribute in gthread, read the same way
    def worker_connections(self) -> int:
        self._publish()
        now = time.monotonic()
        if now < self._yield_until or (self.nr_conns >= self.cfg.threads and now < self._paused_until):
            return self.nr_conns
        return self._worker_connections

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._worker_connections = value

    def accept(self, listener: Any) -> None:
        super().accept(listener)
        self._publish()
        if self.nr_conns == self.cfg.threads:  # just became full: once, not on every accept beyond
            self._paused_until = time.monotonic() + ACCEPT_PAUSE
        least = self._least_busy_sibling()
        if least is not None and self.nr_conns > least:
            self._yield_until = time.monotonic() + ACCEPT_YIELD

    def _publish(self) -> None:
        if _counts is not None and self.balance_slot is not None:
            _counts[self.balance_slot] = self.nr_conns

    def _least_busy_sibling(self) -> int | None:
        """The fewest connections a live sibling holds (None without siblings or without the shared array)."""
        if _counts is None or self.balance_slot is None:
            return None
        others = [count for slot, count in enumerate(_counts) if slot != self.balance_slot and count != _FREE]
        return min(others) if others else None

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        # Paused: wake up when the pause ends, not after gthread's one-second poll.
        remaining = max(self._paused_until, self._yield_until) - time.monotonic()
        if not self._accepting and remaining > 0:
            timeout = min(timeout, remaining + 0.001)
        super().wait_for_and_dispatch_events(timeout)
