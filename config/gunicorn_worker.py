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
connections than threads again. Everything else is gthread's own.
"""

from __future__ import annotations

import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

#: How long a worker with all its threads' worth of connections leaves the next accept to its siblings.
ACCEPT_PAUSE = 0.05  # seconds: a burst of connections arrives within a few milliseconds


class BalancedThreadWorker(ThreadWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._paused_until = 0.0
        super().__init__(*args, **kwargs)

    # gthread's run loop accepts while ``nr_conns < worker_connections``; a full worker reads a lower limit.
    @property  # an attribute in gthread, read the same way
    def worker_connections(self) -> int:
        if self.nr_conns >= self.cfg.threads and time.monotonic() < self._paused_until:
            return self.nr_conns
        return self._worker_connections

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._worker_connections = value

    def accept(self, listener: Any) -> None:
        super().accept(listener)
        if self.nr_conns == self.cfg.threads:  # just became full: once, not on every accept beyond
            self._paused_until = time.monotonic() + ACCEPT_PAUSE

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        # Paused: wake up when the pause ends, not after gthread's one-second poll.
        remaining = self._paused_until - time.monotonic()
        if not self._accepting and remaining > 0:
            timeout = min(timeout, remaining + 0.001)
        super().wait_for_and_dispatch_events(timeout)
