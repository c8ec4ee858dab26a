"""Top-up orders and payment notifications on one hot wallet through the HTTP API, against PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wallet_bench .venv/bin/python bench/wallet_top_ups.py

What it does, all in one run so the numbers are comparable:

1. migrates the database in DATABASE_URL (PostgreSQL only; created if missing),
   creates one bench user and a JWT for it;
2. starts gunicorn on 127.0.0.1 (gthread workers, production settings:
   DEBUG off) and, for each client count (8 and 32 by default), runs that
   many threaded keep-alive HTTP clients for ``--seconds`` in each mode
   (``--modes``): ``notify`` posts a fresh signed sandbox notification
   (``payment.succeeded``) to ``/api/v1/wallet/notify/sandbox/`` for one of
   the bench user's pre-made pending top-ups, so every request credits the
   same hot wallet; ``plain`` / ``keyed`` post ``{"amount": "1.00",
   "channel": "sandbox"}`` to ``/api/v1/wallet/top-ups/`` (an order, no
   credit; ``keyed`` with a fresh ``Idempotency-Key`` each);
3. runs pgbench with the same client counts on a one-row table
   (``UPDATE ... SET v = v + 1 WHERE id = 1``): the database's ceiling for
   a single hot row, which a wallet top-up (lock + insert + update in one
   transaction, plus HTTP, JWT and Django) can only approach;
4. prints both rates and their ratio, then runs ``manage.py wallet_audit``
   and fails if it is not clean.
"""

import argparse
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
BENCH_SANDBOX_SECRET = "bench-sandbox-secret"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")


def server_env(database_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789"),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        LOG_LEVEL="WARNING",
        # WhiteNoise warns that collectstatic has not run; the bench serves no static files.
        PYTHONWARNINGS="ignore:No directory at",
        PGOPTIONS="-c client_min_messages=warning",
        # The sandbox in a production-settings server, on purpose (check --deploy would warn).
        WALLET_CHANNELS="sandbox",
        WALLET_SANDBOX_SECRET=BENCH_SANDBOX_SECRET,
        # The bench piles up credits and pending orders on one wallet.
        WALLET_MAX_BALANCE="100000000.00",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def psql_args(database_url: str, dbname: str | None = None) -> list[str]:
    url = urlparse(database_url)
    return [
        "-h",
        url.hostname or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
        dbname or url.path.lstrip("/"),
    ]


def ensure_database(database_url: str) -> None:
    name = urlparse(database_url).path.lstrip("/")
    exists = subprocess.run(
        ["psql", "-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'", *psql_args(database_url, "postgres")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["psql", "-qc", f'CREATE DATABASE "{name}"', *psql_args(database_url, "postgres")], check=True)


# Makes the bench user, its wallet account and ``%(orders)d`` pending sandbox top-ups of 1.00
# (bulk: the bench measures notifications, not order creation); prints the ids, then the token.
SETUP = """
import datetime
from decimal import Decimal
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken
from accounts.models import User
from wallet.ledger import account_for_channel, account_for_wallet
from wallet.models import TopUp, new_top_up_id
user = User.objects.filter(username="wallet_bench").first() or User.objects.create_user(username="wallet_bench")
wallet, clearing = account_for_wallet(user=user), account_for_channel("sandbox")
now = timezone.now()
orders = [
    TopUp(id=new_top_up_id() + str(n), user=user, account=wallet, clearing_account=clearing, amount=Decimal("1.00"),
          currency=wallet.currency, channel="sandbox", method="page", expires_at=now + datetime.timedelta(hours=2))
    for n in range(%(orders)d)
]
TopUp.objects.bulk_create(orders, batch_size=2000)
print(",".join(order.id for order in orders))
print(str(RefreshToken.for_user(user).access_token))
"""


def sandbox_signature(body: bytes) -> str:
    t = int(time.time())
    digest = hmac.new(BENCH_SANDBOX_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def run_clients(
    port: int,
    token: str,
    clients: int,
    seconds: float,
    *,
    keyed: bool = False,
    baseline: bool = False,
    orders: "list[str] | None" = None,
) -> dict:
    """``clients`` threads posting top-ups for ``seconds``; ``keyed``: each with a fresh Idempotency-Key.

    ``baseline``: GET /healthz instead, a plain Django view that also asks
    the database and the cache: the same server's rate without the wallet.
    """
    body = None if baseline else json.dumps({"amount": "1.00", "channel": "sandbox"})
    method, url, expected = ("GET", "/healthz", 200) if baseline else ("POST", "/api/v1/wallet/top-ups/", 201)
    if orders is not None:
        url, expected = "/api/v1/wallet/notify/sandbox/", 200
    order_lock = threading.Lock()
    base_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Connection": "keep-alive"}
    ok, failed, latencies = [0] * clients, [0] * clients, [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    stop = [0.0]

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        barrier.wait()
        while time.monotonic() < stop[0]:
            headers = {**base_headers, "Idempotency-Key": f"bench-{uuid.uuid4()}"} if keyed else base_headers
            payload = body
            if orders is not None:
                with order_lock:
                    if not orders:
                        break
                    top_up_id = orders.pop()
                notification = {
                    "event": "payment.succeeded",
                    "top_up_id": top_up_id,
                    "trade_no": "SBXBENCH" + top_up_id,
                    "amount": "1.00",
                    "currency": "CNY",
                    "occurred_at": "2026-12-01T00:00:00Z",
                }
                payload = json.dumps(notification)
                headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
                headers["Sandbox-Signature"] = sandbox_signature(payload.encode())
            started = time.monotonic()
            try:
                conn.request(method, url, body=payload, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            if status == expected:
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
    all_latencies = sorted(x for chunk in latencies for x in chunk)
    p = (
        (lambda q: all_latencies[min(len(all_latencies) - 1, int(q * len(all_latencies)))] * 1000)
        if all_latencies
        else (lambda q: 0.0)
    )
    return {
        "ok": sum(ok),
        "failed": sum(failed),
        "rate": sum(ok) / elapsed,
        "p50_ms": p(0.50),
        "p99_ms": p(0.99),
        "mean_ms": statistics.fmean(all_latencies) * 1000 if all_latencies else 0.0,
    }


def run_pgbench(database_url: str, clients: int, seconds: int) -> float:
    args = psql_args(database_url)
    env = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}
    subprocess.run(
        [
            "psql",
            "-qc",
            "CREATE TABLE IF NOT EXISTS bench_hot_row (id int PRIMARY KEY, v bigint NOT NULL);"
            "INSERT INTO bench_hot_row VALUES (1, 0) ON CONFLICT DO NOTHING;",
            *args,
        ],
        check=True,
        env=env,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("UPDATE bench_hot_row SET v = v + 1 WHERE id = 1;\n")
    try:
        out = subprocess.run(
            [
                "pgbench",
                "-n",
                "-c",
                str(clients),
                "-j",
                str(min(clients, os.cpu_count() or 1)),
                "-T",
                str(seconds),
                "-f",
                script.name,
                *args,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    return float(re.search(r"tps = ([0-9.]+)", out).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="8,32", help="comma-separated client counts (default 8,32)")
    parser.add_argument(
        "--modes",
        default="notify,plain",
        help="notify (signed notifications crediting one wallet), plain / keyed (top-up orders without / with a key)",
    )
    parser.add_argument("--orders", type=int, default=40000, help="pending top-ups made for the notify mode")
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
    ensure_database(database_url)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    setup = (
        subprocess.run(
            [PYTHON, "manage.py", "shell", "-c", SETUP % {"orders": options.orders}],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()
    )
    orders, token = setup[-2].split(","), setup[-1]

    port = free_port()
    server = subprocess.Popen(
        [
            GUNICORN,
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(options.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(options.threads),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    results = []
    try:
        wait_for_port(port)
        run_clients(port, token, 4, 2)  # warm-up: connections, imports
        baseline = {
            clients: run_clients(port, token, clients, options.seconds, baseline=True)["rate"]
            for clients in [int(n) for n in options.clients.split(",")]
        }
        for mode in options.modes.split(","):
            for clients in [int(n) for n in options.clients.split(",")]:
                api = run_clients(
                    port,
                    token,
                    clients,
                    options.seconds,
                    keyed=mode == "keyed",
                    orders=orders if mode == "notify" else None,
                )
                results.append((mode, clients, api))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    pg = {clients: run_pgbench(database_url, clients, options.seconds) for clients in {c for _, c, _ in results}}

    print(
        f"\nCPUs: {os.cpu_count()}  gunicorn: {options.workers} workers x {options.threads} threads  "
        f"run: {options.seconds}s each\n"
    )
    print(f"load average (1 min) at start: {load_at_start:.1f}, at end: {os.getloadavg()[0]:.1f}\n")
    print(
        "| mode | clients | requests/s (HTTP API) | p50 ms | p99 ms | failed | pgbench hot-row updates/s | ratio "
        "| GET /healthz/s | × /healthz |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode, clients, api in results:
        ratio = api["rate"] / pg[clients]
        print(
            f"| {mode} | {clients} | {api['rate']:.0f} | {api['p50_ms']:.1f} | {api['p99_ms']:.1f} | {api['failed']} "
            f"| {pg[clients]:.0f} | {ratio:.3f} | {baseline[clients]:.0f} | {api['rate'] / baseline[clients]:.2f} |"
        )
    audit = subprocess.run([PYTHON, "manage.py", "wallet_audit"], cwd=ROOT, env=env, capture_output=True, text=True)
    print("\n" + (audit.stdout + audit.stderr).strip())
    failed = sum(api["failed"] for _, _, api in results)
    return 1 if audit.returncode or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
