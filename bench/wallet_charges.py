"""Charges on one hot wallet through the HTTP API, against PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wallet_bench .venv/bin/python bench/wallet_charges.py

What it does, all in one run so the numbers are comparable:

1. migrates the database in DATABASE_URL (PostgreSQL only; created if missing),
   creates one bench person with a large balance (a staff adjustment) and a
   client application with the ``charge`` scope and its API key;
2. starts gunicorn on 127.0.0.1 (gthread workers, production settings:
   DEBUG off, the per-application rate limit off) and, for each client count
   (32 by default), runs that many threaded keep-alive HTTP clients posting
   ``{"user_id", "amount": "0.01", "order_id": <fresh>}`` to
   ``/api/v1/wallet/charges/`` with ``Authorization: Api-Key …`` for
   ``--seconds`` — every charge queues on the same wallet row lock;
3. runs pgbench with the same client counts on a one-row table
   (``UPDATE … SET v = v + 1 WHERE id = 1 RETURNING v``): the database's
   ceiling for one hot row, which a charge (lock, three INSERTs, commit,
   plus HTTP, the key check and Django) can only approach;
4. prints both rates and their ratio (target: at least 0.25), then runs
   ``manage.py wallet_audit`` and fails if it is not clean or a request failed.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from wallet_top_ups import GUNICORN, PYTHON, ROOT, ensure_database, free_port, psql_args, server_env, wait_for_port

SETUP = """
from decimal import Decimal
from django.contrib.auth.models import Permission
from accounts.models import User
from wallet.clients import client_application_create, client_key_issue
from wallet.models import ClientApplication
from wallet.services import wallet_adjust, wallet_get
staff = User.objects.filter(username="charge_bench_staff").first() or User.objects.create_user(
    username="charge_bench_staff", is_staff=True
)
staff.user_permissions.add(Permission.objects.get(codename="adjust_balance"))
staff = User.objects.get(pk=staff.pk)
person = User.objects.filter(username="charge_bench").first() or User.objects.create_user(username="charge_bench")
balance = wallet_get(user=person).balance
if balance < Decimal("100000"):
    wallet_adjust(actor=staff, user=person, amount=Decimal("100000") - balance, reason="charge bench funds")
application = ClientApplication.objects.filter(name="charge bench").first()
if application is None:
    application, key = client_application_create(name="charge bench", scopes=["charge"])
else:
    _row, key = client_key_issue(application=application)
print(person.pk, key)
"""


def run_clients(port: int, key: str, user_id: int, clients: int, seconds: float) -> dict:
    """``clients`` threads charging 0.01 for ``seconds``, each request a new order number."""
    headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json", "Connection": "keep-alive"}
    ok, failed, latencies = [0] * clients, [0] * clients, [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    stop = [0.0]
    run = uuid.uuid4().hex[:8]

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        barrier.wait()
        n = 0
        while time.monotonic() < stop[0]:
            n += 1
            body = json.dumps({"user_id": user_id, "amount": "0.01", "order_id": f"bench-{run}-{i}-{n}"})
            started = time.monotonic()
            try:
                conn.request("POST", "/api/v1/wallet/charges/", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            if status == 201:
                ok[i] += 1
                latencies[i].append(time.monotonic() - started)
            else:
                failed[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop[0] = time.monotonic() + seconds
    began = time.monotonic()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    ordered = sorted(x for chunk in latencies for x in chunk)

    def p(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    return {
        "ok": sum(ok),
        "failed": sum(failed),
        "rate": sum(ok) / elapsed,
        "p50_ms": p(0.50),
        "p99_ms": p(0.99),
        "mean_ms": statistics.fmean(ordered) * 1000 if ordered else 0.0,
    }


def _psql(database_url: str, sql: str) -> str:
    """One psql command against the bench's database; its unaligned output."""
    env = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}
    command = ["psql", "-qtAc", sql, *psql_args(database_url)]
    return subprocess.run(command, check=True, env=env, capture_output=True, text=True).stdout.strip()


def quiet_database(database_url: str, *, timeout: float = 60) -> None:
    """Let PostgreSQL finish what the last phase left it (autovacuum of the tables it wrote, a checkpoint).

    pgbench right after a charge phase otherwise shares the cores with that
    work: seen here, 1 350 to 3 480 tps in consecutive runs of the same bench.
    """
    _psql(database_url, "CHECKPOINT")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _psql(database_url, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'") == "0":
            return
        time.sleep(0.5)


def run_pgbench(database_url: str, clients: int, seconds: int) -> float:
    """pgbench's hot-row ``UPDATE … RETURNING`` tps, on a quiet database and a freshly vacuumed table.

    The table lives on between runs: without the VACUUM its one row drags
    every dead version of earlier runs (megabytes for one row), so the
    figure would depend on how many benches ran before.
    """
    _psql(
        database_url,
        "CREATE TABLE IF NOT EXISTS bench_hot_row (id int PRIMARY KEY, v bigint NOT NULL);"
        "INSERT INTO bench_hot_row VALUES (1, 0) ON CONFLICT DO NOTHING;",
    )
    _psql(database_url, "VACUUM FULL bench_hot_row")
    quiet_database(database_url)
    args = psql_args(database_url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("UPDATE bench_hot_row SET v = v + 1 WHERE id = 1 RETURNING v;\n")
    try:
        out = subprocess.run(
            ["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)), "-T", str(seconds)]
            + ["-f", script.name, *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    match = re.search(r"tps = ([0-9.]+)", out)
    if match is None:  # pragma: no cover - pgbench always prints it
        raise RuntimeError(out)
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clients", default="32", help="comma-separated client counts (default 32)")
    parser.add_argument("--seconds", type=int, default=15, help="duration of each run (default 15)")
    parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 1) * 2), help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    options = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (it is migrated and used for the bench).")
    if not shutil.which("pgbench"):
        sys.exit("pgbench not found (apt-get install postgresql-client).")
    load_at_start = os.getloadavg()[0]  # other processes on the machine skew every figure
    env = server_env(database_url)
    env.update(WALLET_CLIENT_RATE="0", WALLET_MAX_BALANCE="1000000.00")
    ensure_database(database_url)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    setup = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    user_id, key = setup.stdout.strip().splitlines()[-1].split()

    port = free_port()
    server = subprocess.Popen(
        [GUNICORN, "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(options.workers)]
        + ["--worker-class", "gthread", "--threads", str(options.threads), "--keep-alive", "30"]
        + ["--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    counts = [int(n) for n in options.clients.split(",")]
    results = []
    try:
        wait_for_port(port)
        run_clients(port, key, int(user_id), 4, 2)  # warm-up: connections, imports, the key's cache entry
        for clients in counts:
            results.append((clients, run_clients(port, key, int(user_id), clients, options.seconds)))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    pg = {clients: run_pgbench(database_url, clients, options.seconds) for clients in counts}

    print(
        f"\nCPUs: {os.cpu_count()}  gunicorn: {options.workers} workers x {options.threads} threads  "
        f"run: {options.seconds}s each"
    )
    print(f"load average (1 min) at start: {load_at_start:.1f}, at end: {os.getloadavg()[0]:.1f}\n")
    print("| clients | charges/s (HTTP API) | p50 ms | p99 ms | failed | pgbench UPDATE … RETURNING/s | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for clients, api in results:
        print(
            f"| {clients} | {api['rate']:.0f} | {api['p50_ms']:.1f} | {api['p99_ms']:.1f} | {api['failed']} "
            f"| {pg[clients]:.0f} | {api['rate'] / pg[clients]:.3f} |"
        )
    audit = subprocess.run([PYTHON, "manage.py", "wallet_audit"], cwd=ROOT, env=env, capture_output=True, text=True)
    print("\n" + (audit.stdout + audit.stderr).strip())
    failed = sum(api["failed"] for _, api in results)
    return 1 if audit.returncode or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
