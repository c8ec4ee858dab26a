"""config/gunicorn_worker.py: a worker that has just taken a connection per thread leaves the next to its sibling.

On real sockets, with gunicorn's own config and accept code; only the clock
(the pause) and the thread pool (no request is served) are stand-ins.
"""

import socket

import pytest
from gunicorn.config import Config

from config import gunicorn_worker
from config.gunicorn_worker import ACCEPT_PAUSE, ACCEPT_YIELD, BalancedThreadWorker


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(gunicorn_worker.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    clients = [socket.create_connection(server.getsockname()) for _ in range(6)]
    yield server
    for client in clients:
        client.close()
    server.close()


def _close(*workers):
    for worker in workers:
        for conn in worker.accepted:
            conn.sock.close()


def _worker(threads: int) -> BalancedThreadWorker:
    cfg = Config()
    cfg.set("threads", threads)
    worker = BalancedThreadWorker.__new__(BalancedThreadWorker)  # no arbiter: only the accepting part
    worker.cfg = cfg
    worker.nr_conns = 0
    worker._paused_until = 0.0
    worker._yield_until = 0.0
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
    _close(worker)


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


class _Server:
    """What the master's hooks read of gunicorn's arbiter: the live workers by pid."""

    def __init__(self):
        self.WORKERS = {}

    def fork(self, threads=2):
        worker = _worker(threads)
        gunicorn_worker.balance_assign(self, worker)  # pre_fork, in the master
        self.WORKERS[max(self.WORKERS, default=0) + 1] = worker
        return worker


@pytest.fixture
def shared_counts(monkeypatch):
    monkeypatch.setattr(gunicorn_worker, "_counts", None)
    gunicorn_worker.balance_setup()  # on_starting, in the master
    return gunicorn_worker._counts


def test_a_worker_holding_more_connections_than_its_sibling_leaves_it_the_next(clock, shared_counts, listener):
    server = _Server()
    first, second = server.fork(threads=8), server.fork(threads=8)
    assert {first.balance_slot, second.balance_slot} == {0, 1}
    first.accept(listener)
    # One connection against none: the first worker stops accepting for a moment, the second does not.
    assert first.nr_conns == 1 and first.worker_connections == 1
    assert second.worker_connections == 1000
    second.accept(listener)
    assert second.nr_conns == 1 and second.worker_connections == 1000  # even: it keeps accepting
    second.accept(listener)
    assert second.worker_connections == 2  # now it holds more: it yields in turn
    clock[0] += ACCEPT_YIELD * 1.5
    assert first.worker_connections == 1000  # the moment is over: accepting again
    first.accept(listener)
    assert [first.nr_conns, second.nr_conns] == [2, 2]
    assert list(shared_counts[:2]) == [2, 2]
    _close(first, second)


def test_the_least_busy_worker_never_yields_so_the_server_always_accepts(clock, shared_counts, listener):
    server = _Server()
    first, second = server.fork(threads=8), server.fork(threads=8)
    for _ in range(3):
        second.accept(listener)
    first.accept(listener)
    first.accept(listener)
    # Fewer than its sibling after each accept: it never stopped.
    assert first.nr_conns == 2 and first.worker_connections == 1000
    _close(first, second)


def test_a_worker_alone_or_without_the_shared_counts_accepts_as_before(clock, monkeypatch, listener):
    monkeypatch.setattr(gunicorn_worker, "_counts", None)
    worker = _worker(threads=8)  # no hook made the array (another config)
    worker.accept(listener)
    worker.accept(listener)
    assert worker.worker_connections == 1000
    gunicorn_worker.balance_setup()
    server = _Server()
    alone = server.fork(threads=8)
    alone.accept(listener)
    alone.accept(listener)
    assert alone.worker_connections == 1000  # no sibling to leave anything to
    _close(worker, alone)


def test_an_exited_workers_slot_counts_for_nobody_and_is_given_again(clock, shared_counts, listener):
    server = _Server()
    first, second = server.fork(threads=8), server.fork(threads=8)
    first.accept(listener)
    second.accept(listener)
    second.accept(listener)  # 2 against 1: it yields
    assert second.worker_connections == 2
    del server.WORKERS[1]
    gunicorn_worker.balance_release(first)  # child_exit, in the master
    clock[0] += ACCEPT_YIELD * 1.5
    second.accept(listener)
    assert second.worker_connections == 1000  # no live sibling: nothing to yield to
    replacement = server.fork(threads=8)
    assert replacement.balance_slot == first.balance_slot
    assert shared_counts[replacement.balance_slot] == 0
    _close(first, second, replacement)
