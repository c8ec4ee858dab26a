"""gunicorn settings for production: ``gunicorn config.wsgi -c config/gunicorn.py``.

- No access log: ``config.logs`` writes one structured line per request,
  with its request id, user and duration, which gunicorn's line lacks.
- Prometheus multiprocess mode: every worker writes its samples to files in
  ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` adds them up, so a scrape
  sees the whole server whichever worker answers it. Without the variable a
  private directory is made for this server; it is emptied at start (old
  files would add a previous run's counts) and a dead worker's files are
  marked as such.

``GUNICORN_BIND`` (default ``0.0.0.0:8000``), ``WEB_CONCURRENCY`` (workers,
default 4) and ``GUNICORN_TIMEOUT`` (seconds, default 30) tune it; any
command-line option still wins.
"""

import os
import shutil
import tempfile

# Set before prometheus_client is imported (here, or in a worker forked from
# this process): it chooses between in-memory and file storage at import.
metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="accounts-prometheus-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir

from prometheus_client import multiprocess  # noqa: E402 - must follow the variable above

from config.gunicorn_worker import balance_assign, balance_release, balance_setup  # noqa: E402

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = None


def on_starting(server):
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir, exist_ok=True)
    balance_setup()  # the workers' shared connection counts (config/gunicorn_worker.py)


def pre_fork(server, worker):
    balance_assign(server, worker)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
    balance_release(worker)
