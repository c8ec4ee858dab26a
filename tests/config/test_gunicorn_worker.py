"""config/gunicorn_worker.py: a worker that has just taken a connection per thread leaves the next to its sibling.

On real sockets, with gunicorn's own config and accept code; only the clock
(the pause) and the thread pool (no request is served) are stand-ins.
"""

import socket

import pytest
from gunicorn.config import Config

from config import gunicorn_worker
from config.gunicorn_worker import ACCEPT_PAUSE, BalancedThreadWorker


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(gunicorn_worker.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    clients = [socket.create_connection(server.getsockname()) for _ in range(4)]
    yield server
    for client in clients:
        client.close()
    server.close()


def _worker(threads: int) -> BalancedThreadWorker:
    cfg = Config()
    cfg.set("threads", threads)
    worker = BalancedThreadWorker.__new__(BalancedThreadWorker)  # no arbiter: only the accepting part
    worker.cfg = cfg
    worker.nr_conns = 0
    worker._paused_until = 0.0
    worker.worker_connections = cfg.worker_connections
    worker.accepted = []
    worker.enqueue_req = worker.accepted.append
    return worker


def test_a_worker_full_of_connections_pauses_once_then_accepts_as_gthread_does(clock, listener):
    worker = _worker(threads=2)
    worker.accept(listener)
    assert worker.nr_conns == 1 and worker.worker_connections == 1000  # room left: accepting
    worker.accept(listener)
    # A connection per thread: gthread's loop (nr_conns < worker_connections) stops accepting.
    assert worker.nr_conns == 2 and worker.worker_connections == 2
    clock[0] += ACCEPT_PAUSE / 2
    assert worker.worker_connections == 2
    clock[0] += ACCEPT_PAUSE
    assert worker.worker_connections == 1000  # the pause is over: accepting again
    worker.accept(listener)
    worker.accept(listener)
    # Beyond its threads it accepts without pausing again: a burst is delayed once, not per connection.
    assert worker.nr_conns == 4 and worker.worker_connections == 1000
    assert len(worker.accepted) == 4
    for conn in worker.accepted:
        conn.sock.close()


def test_a_paused_worker_polls_until_its_pause_ends_not_a_whole_second(clock, monkeypatch):
    worker = _worker(threads=2)
    worker._accepting = False
    worker._paused_until = clock[0] + 0.02
    waited = []
    monkeypatch.setattr(
        gunicorn_worker.ThreadWorker, "wait_for_and_dispatch_events", lambda self, timeout: waited.append(timeout)
    )
    worker.wait_for_and_dispatch_events(1.0)
    worker._paused_until = 0.0
    worker.wait_for_and_dispatch_events(1.0)
    assert waited[0] == pytest.approx(0.021) and waited[1] == 1.0
