"""gunicorn's production settings: ``gunicorn config.wsgi`` (gunicorn reads ./gunicorn.conf.py by itself).

Chosen by measurement on the 2-CPU machine the project is built on
(``bench/api_ratios.py``; figures in bench/README.md "API ratios"), with
PostgreSQL and Redis on the same machine. Environment variables override
each choice; a command-line option overrides both.

The hooks (``on_starting``, ``pre_fork``, ``child_exit``: Prometheus's
multiprocess files, and the workers' shared connection counts that
``config/gunicorn_worker.py`` balances by) come from ``config/gunicorn.py``,
which also explains why gunicorn's access log is off by default.
"""

import multiprocessing
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the project, whatever the current directory

from config.gunicorn import child_exit, on_starting, pre_fork  # noqa: E402,F401 - gunicorn finds the hooks here by name

_cpus = multiprocessing.cpu_count()

bind = os.environ.get("GUNICORN_BIND") or "0.0.0.0:8000"

# Threads, not sync workers: a request spends much of its time waiting on
# PostgreSQL, Redis or the password-hashing pool (accounts/password_pool.py,
# which needs other requests of the same process to keep going while a hash
# runs). With sync workers one slow login holds a whole process; with
# gthread it holds one thread, and the GIL is released while it waits.
# (gevent/eventlet would need psycopg and redis patched; not worth the risk.)
# gthread as gunicorn ships it, but for how a worker takes new connections:
# one that already holds a connection per thread lets its sibling take the
# next (config/gunicorn_worker.py). Without it one worker often took all of a
# client's keep-alive connections while the other idled: half the server.
worker_class = "config.gunicorn_worker.BalancedThreadWorker"

# One process per CPU: Python code runs on one core per process (the GIL),
# so this is the fewest processes that use every core; more processes only
# compete for the same cores, each with its own database connections and
# memory (measured: see bench/README.md "API ratios"). The password-hashing bound is per
# process, so workers x ACCOUNTS_PASSWORD_HASH_CONCURRENCY = CPUs hashes at
# once: logins can use every core, never more.
workers = int(os.environ.get("WEB_CONCURRENCY") or str(_cpus))

# Threads per worker. Fewer threads, less time lost switching the GIL
# between them: on this machine GET /me ran ~1.3x faster with 8 than with 16
# (bench/api_ratios.py, same run conditions). Enough that the logins holding a
# place in the password-hashing bound (ACCOUNTS_PASSWORD_HASH_CONCURRENCY +
# ACCOUNTS_PASSWORD_HASH_QUEUE = 1 + 2 by default, accounts/password_pool.py)
# leave most threads free for reads during a login storm (GET /me p99 within
# 2x of its p99 alone, bench/README.md). Every thread may hold a PostgreSQL
# connection (CONN_MAX_AGE): workers x threads = 16 stays well below
# max_connections (100).
threads = int(os.environ.get("GUNICORN_THREADS") or "8")

# A request that takes longer than this is a bug or a hung dependency (the
# Redis and payment-channel timeouts are 2 and 10 s): the worker is killed
# and replaced. Graceful shutdown gets as long to finish what is in flight.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or "30")
graceful_timeout = 30

# Behind a reverse proxy that keeps its upstream connections open: a few
# seconds saves a TCP handshake per request; gthread parks idle keep-alive
# connections in its poller, not on a thread.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE") or "5")

# Recycle each worker after ~1 000 000 requests, jittered so that they do not
# all restart at once: bounds slow memory growth (caches, fragmentation).
# Measured: at 10 000 a worker under full load (~750 requests/s each then)
# restarted every ~13 s, and each restart's reload showed up as p99 spikes;
# at 100 000 (~2 300 requests/s each now) every ~45 s, and each restart left
# its keep-alive clients, who reconnect at once while the new worker boots,
# on its sibling: the server ran at half speed until those connections closed
# (bench/README.md, stop 21). At full load this is a restart every ~7 minutes.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or "1000000")
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER") or "100000")

# Load the application once in the master and fork the workers from it: a
# worker (re)start is a fork, not seconds of imports, and the workers share
# the loaded code's memory. Nothing opens a connection at import time (the
# database, Redis and the password-hashing threads are made on first use in
# each worker); the fault tests run gunicorn with --preload too.
preload_app = True

# The workers' heartbeat files on tmpfs: a disk stall (containers, overlay
# filesystems) then cannot make the arbiter think a worker hung.
_SHM = "/dev/shm"  # noqa: S108 - gunicorn makes its own unpredictable files in it
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None

# Access log: off by default, because config.logs writes one structured JSON
# line per request (request id, user, route, status, duration) that this
# line would only repeat. GUNICORN_ACCESS_LOG=- turns it on (to stdout) with
# the format below: the client, the request line, status, bytes, the time
# taken in microseconds and the request id we return, so the two can be joined.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(D)sus rid=%({x-request-id}o)s "%(a)s"'

# How long a thread may keep the GIL while another wants it (Python's default
# 5 ms). A request thread coming back from PostgreSQL with a row lock held
# waits that long for the GIL when other threads of its worker are running
# Python; on one hot wallet that wait is paid four times per charge, under the
# lock. 1 ms: measured in bench/README.md "API ratios".
sys.setswitchinterval(float(os.environ.get("PYTHON_SWITCH_INTERVAL_MS") or "1") / 1000)
