"""Issue 15's ratios (and issue 12's hot-wallet budget), all in one run, against a production-like server.

    .venv/bin/python bench/api_ratios.py [--seconds 10] [--database bench_speed] [--redis-db 8]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres), Redis on 127.0.0.1:6379,
``wrk`` (Debian package ``wrk``) and ``pgbench``. Everything runs on loopback
and every phase is bounded by ``--seconds`` (wrk ``-d``, pgbench ``-T``); the
server is stopped at the end whatever happens.

1. Migrates its own database (``bench_speed``, created if missing; Redis DB 8,
   its own key prefix), makes 16 people with an Argon2id password, one funded
   wallet and a client application with the ``charge`` scope.
2. Starts gunicorn exactly as production does — ``gunicorn config.wsgi``, so
   the repository's ``gunicorn.conf.py`` — with DEBUG off and the production
   settings, except ``bench/bench_settings.py`` adds one plain Django view
   (``bench/bench_urls.py``: a ``JsonResponse`` under ``/api/``, same
   middleware, no DRF). The only other changes: the per-IP login limit and the
   per-application charge rate are lifted, or they would refuse the bench.
3. With wrk (2 threads, keep-alive) on loopback, in this order:
   plain view, ``GET /api/v1/me/``, ``GET /api/v1/wallet/``, repeated in
   ``--rounds`` interleaved rounds (default 3); each read ratio is the median
   rate of its endpoint over the median of the plain view's, so drift of the
   machine's load and a phase whose 16 connections all landed on one of the
   two workers (gunicorn's workers race to accept; that phase runs at half
   rate) do not decide the figure. Every phase is printed;
   password logins at saturation (8 and 16 connections; the better counts); ``GET /me`` with few connections alone, then
   the same while password logins saturate the server (login clients honour
   ``Retry-After`` of a 429, as API.md asks: that connection waits before its
   next request; the others keep the server saturated); charges on one hot
   wallet with 32 connections, then pgbench's hot-row
   ``UPDATE … SET v = v + 1 WHERE id = 1 RETURNING v`` with 32 clients. Both
   start on a quiet database (a CHECKPOINT, no autovacuum worker running) and
   pgbench on its table freshly vacuumed (``wallet_charges.run_pgbench``).
4. Prints every ratio with its goal, the load average and the commit, then
   ``manage.py wallet_audit``; exits 1 if the audit is not clean or a charge failed.

The Argon2 ceiling is ``CPUs ÷ one verify``: one verify with the production
parameters, timed in this process (median of 40) just before the logins run.
During the 16-connection login phase the script also reads every process's
CPU from ``/proc`` (and wrk's from its own children's usage) and prints the
CPU per successful login by program: the ceiling counts only the verify, so
``verify ÷ (all the CPU a login costs)`` is the most the login ratio can reach
on that machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wallet_charges import quiet_database, run_pgbench  # noqa: E402
from wallet_top_ups import GUNICORN, PYTHON, ROOT, ensure_database, free_port, server_env, wait_for_port  # noqa: E402

PASSWORD = "Bench-Speed-Pass-42"
LOGIN_USERS = 16

SETUP = """
from decimal import Decimal
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from accounts.models import User
from wallet.clients import client_application_create, client_key_issue
from wallet.models import ClientApplication
from wallet.services import wallet_adjust, wallet_get
encoded = make_password(%(password)r)  # Argon2id, the production hasher: no upgrade on login
for n in range(%(users)d):
    user, _ = User.objects.get_or_create(username=f"bench_speed_{n}")
    user.password = encoded
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
staff = User.objects.filter(username="bench_speed_staff").first() or User.objects.create_user(
    username="bench_speed_staff", is_staff=True
)
staff.user_permissions.add(Permission.objects.get(codename="adjust_balance"))
staff = User.objects.get(pk=staff.pk)
person = User.objects.get(username="bench_speed_0")
balance = wallet_get(user=person).balance
if balance < Decimal("100000"):
    wallet_adjust(actor=staff, user=person, amount=Decimal("100000") - balance, reason="api_ratios bench funds")
application = ClientApplication.objects.filter(name="api ratios bench").first()
if application is None:
    application, key = client_application_create(name="api ratios bench", scopes=["charge"])
else:
    _row, key = client_key_issue(application=application)
print(person.pk, key)
"""

# Counts answers by status across wrk's threads (each thread has its own Lua state).
COUNT_STATUSES = """
local threads = {}
function setup(thread) table.insert(threads, thread); thread:set("id", #threads) end
local backoff = 0
function response(status, headers, body)
  if status == %(ok)d then ok = (ok or 0) + 1 elseif status == 429 then limited = (limited or 0) + 1
  else other = (other or 0) + 1 end
  -- A client that honours Retry-After (API.md): this connection waits before its next request.
  if status == 429 and %(honour)s then backoff = 1000 * (tonumber(headers["Retry-After"]) or 1) end
end
function delay()
  local wait = backoff
  backoff = 0
  return wait
end
function done(summary, latency, requests)
  local o, l, x = 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + (t:get("ok") or 0); l = l + (t:get("limited") or 0); x = x + (t:get("other") or 0)
  end
  io.write(string.format("STATUS ok=%%d limited=%%d other=%%d\\n", o, l, x))
end
"""

LOGINS = """
local n = 0
local users = %(users)d
request = function()
  n = n + 1
  local body = string.format('{"login":"bench_speed_%%d","password":"%(password)s"}', n %% users)
  return wrk.format("POST", "/api/v1/auth/login/", {["Content-Type"] = "application/json"}, body)
end
"""

CHARGES = """
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"user_id":%(user_id)s,"amount":"0.01","order_id":"r-%(run)s-%%d-%%d"}', id, n)
  return wrk.format("POST", "/api/v1/wallet/charges/", {
    ["Content-Type"] = "application/json", ["Authorization"] = "Api-Key %(key)s"}, body)
end
"""


def _lua(text: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(text)
    return handle.name


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(text)
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[match.group(2)]
    return float(match.group(1)) * factor


def wrk(port: int, path: str, *, seconds: float, connections: int, headers=(), scripts=(), start=True):
    """Runs wrk (2 threads, ``--latency``); returns a Popen when ``start`` is False, else the parsed result."""
    lua = None
    if scripts:
        lua = _lua("\n".join(scripts))
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s"]
    command += ["--latency"]
    for header in headers:
        command += ["-H", header]
    if lua:
        command += ["-s", lua]
    command.append(f"http://127.0.0.1:{port}{path}")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    process.lua = lua  # type: ignore[attr-defined]
    return wrk_result(process) if start else process


def wrk_result(process) -> dict:
    out, _ = process.communicate(timeout=120)
    if process.lua:
        os.unlink(process.lua)
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    duration = re.search(r"requests in ([0-9.]+\w+),", out)
    statuses = re.search(r"STATUS ok=(\d+) limited=(\d+) other=(\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if rate is None or duration is None or p99 is None or p50 is None:
        raise RuntimeError(f"wrk said:\n{out}")
    seconds = _duration_ms(duration.group(1)) / 1000
    result = {
        "rate": float(rate.group(1)),
        "p50_ms": _duration_ms(p50.group(1)),
        "p99_ms": _duration_ms(p99.group(1)),
        "seconds": seconds,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }
    if statuses:
        ok, limited, other = (int(x) for x in statuses.groups())
        result.update(ok=ok, limited=limited, other=other, ok_rate=ok / seconds)
    return result


def cpu_seconds_by_process() -> dict[str, tuple[str, float]]:
    """CPU seconds (user + system) used so far by every process of the machine, by pid, with its
    program: ``server`` (gunicorn), ``postgres``, ``redis`` or ``other``; and ``wrk``: the children this
    process has waited for. Linux ``/proc``."""
    tick = os.sysconf("SC_CLK_TCK")
    readings: dict[str, tuple[str, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                text = stat.read()
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        fields = text[text.rindex(")") + 2 :].split()
        name = text[text.index("(") + 1 : text.rindex(")")]
        if "gunicorn" in command:
            program = "server"
        elif name.startswith("postgres") or command.startswith("postgres"):
            program = "postgres"
        elif name.startswith("redis"):
            program = "redis"
        else:
            program = "other"
        readings[entry.name] = (program, (int(fields[11]) + int(fields[12])) / tick)
    # wrk starts and ends between two readings: its CPU is this process's children's.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    readings["wrk"] = ("wrk", children.ru_utime + children.ru_stime)
    return readings


def cpu_used(before: dict[str, tuple[str, float]], after: dict[str, tuple[str, float]]) -> dict[str, float]:
    """The CPU seconds each program used between two ``cpu_seconds_by_process`` readings.

    A process that started in between counts whole. One that ended in between
    (a PostgreSQL backend closed at CONN_MAX_AGE) is missed: the figures are at
    least what was used."""
    used: dict[str, float] = {}
    for pid, (program, seconds) in after.items():
        used[program] = used.get(program, 0.0) + seconds - (before[pid][1] if pid in before else 0.0)
    return used


def argon2_verify_seconds(runs: int = 40) -> float:
    """One verify with the production hasher's parameters, in this process (median of ``runs``)."""
    import argon2

    # The production hasher's parameters, read from its source (importing it would need Django's settings).
    source = (ROOT / "accounts" / "hashers.py").read_text()
    time_cost = int(re.search(r"time_cost = (\d+)", source).group(1))  # type: ignore[union-attr]
    memory_cost = eval(re.search(r"memory_cost = ([0-9 *]+)", source).group(1))  # noqa: S307 # type: ignore[union-attr]
    hasher = argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)
    encoded = hasher.hash(PASSWORD)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        hasher.verify(encoded, PASSWORD)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def login_token(port: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"login": "bench_speed_0", "password": PASSWORD})
    connection.request("POST", "/api/v1/auth/login/", body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = json.loads(response.read())
    if response.status != 200:
        raise RuntimeError(f"bench login failed: {response.status} {data}")
    return data["tokens"]["access"]


def commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of each phase (default 10)")
    parser.add_argument("--database", default="bench_speed", help="PostgreSQL database (default bench_speed)")
    parser.add_argument("--redis-db", type=int, default=8, help="Redis database number (default 8)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections for reads and logins")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of plain, /me, /wallet (default 3)")
    parser.add_argument("--calm-connections", type=int, default=4, help="wrk connections for GET /me under storm")
    parser.add_argument(
        "--phases",
        default="reads,logins,storm,charges",
        help="comma-separated subset of reads,logins,storm,charges to run while iterating (default: all; "
        "only a full run is a measurement of record: ratios whose phases were skipped are not printed)",
    )
    options = parser.parse_args()
    phases = {phase.strip() for phase in options.phases.split(",") if phase.strip()}
    unknown = phases - {"reads", "logins", "storm", "charges"}
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    for tool in ("wrk", "pgbench", "psql"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt-get install wrk postgresql-client).")

    seconds, conns = options.seconds, options.connections
    database_url = f"postgres://postgres@127.0.0.1:5432/{options.database}"
    load_start = os.getloadavg()
    env = server_env(database_url)
    env.update(
        REDIS_URL=f"redis://127.0.0.1:6379/{options.redis_db}",
        CACHE_KEY_PREFIX="bench-speed",
        DJANGO_SETTINGS_MODULE="bench_settings",
        PYTHONPATH=str(ROOT / "bench"),
        LOG_LEVEL="INFO",  # as in production: one request line per request
        ACCOUNTS_LOGIN_IP_RATE="100000000/m",  # every login of the bench comes from 127.0.0.1
        WALLET_CLIENT_RATE="0",
        WALLET_MAX_BALANCE="1000000.00",
    )
    for name in (
        "WEB_CONCURRENCY",
        "GUNICORN_THREADS",
        "ACCOUNTS_PASSWORD_HASH_CONCURRENCY",
        "ACCOUNTS_PASSWORD_HASH_QUEUE",
        "ACCOUNTS_PASSWORD_HASH_NICE",
    ):
        if name in os.environ:
            env[name] = os.environ[name]
    ensure_database(database_url)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    setup = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", SETUP % {"password": PASSWORD, "users": LOGIN_USERS}],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    user_id, key = setup.stdout.strip().splitlines()[-1].split()

    port = free_port()
    log = tempfile.NamedTemporaryFile("w", prefix="api-ratios-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115 - open for the server's life
    server = subprocess.Popen(
        [GUNICORN, "config.wsgi", "--bind", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    figures: dict[str, dict] = {}
    try:
        wait_for_port(port)
        token = login_token(port)
        bearer = f"Authorization: Bearer {token}"
        for path in ("/api/v1/bench/plain/", "/api/v1/me/", "/api/v1/wallet/"):  # warm every worker and thread
            wrk(port, path, seconds=3, connections=conns, headers=[bearer])
        if "reads" in phases:
            # Interleaved rounds, ratios of medians: one phase whose connections all landed on one
            # worker (gunicorn's workers race to accept them) halves its rate; the median drops it.
            for n in range(1, options.rounds + 1):
                for name, path in (
                    ("plain", "/api/v1/bench/plain/"),
                    ("me", "/api/v1/me/"),
                    ("wallet", "/api/v1/wallet/"),
                ):
                    figures[f"{name}_{n}"] = wrk(port, path, seconds=seconds, connections=conns, headers=[bearer])

        verify = argon2_verify_seconds()
        login_lua = [
            COUNT_STATUSES % {"ok": 200, "honour": "true"},
            LOGINS % {"users": LOGIN_USERS, "password": PASSWORD},
        ]
        # Saturation: the most logins/s the server gives, with as many clients as the hashing bound admits
        # (workers x (1 + queue) = 10 by default) and with more (some refused, waiting out Retry-After).
        if "logins" in phases:
            figures["logins_few"] = wrk(port, "/api/v1/auth/login/", seconds=seconds, connections=8, scripts=login_lua)
            before = cpu_seconds_by_process()
            figures["logins"] = wrk(port, "/api/v1/auth/login/", seconds=seconds, connections=conns, scripts=login_lua)
            figures["logins"]["cpu"] = cpu_used(before, cpu_seconds_by_process())

        calm = options.calm_connections
        if "storm" in phases:
            figures["me_alone"] = wrk(port, "/api/v1/me/", seconds=seconds, connections=calm, headers=[bearer])
            storm = wrk(
                port, "/api/v1/auth/login/", seconds=seconds + 2, connections=conns, scripts=login_lua, start=False
            )
            time.sleep(1)  # the storm is on before the reads start, and lasts after they end
            figures["me_storm"] = wrk(port, "/api/v1/me/", seconds=seconds, connections=calm, headers=[bearer])
            figures["storm"] = wrk_result(storm)

        if "charges" in phases:
            quiet_database(database_url)  # as for pgbench below: not sharing the cores with autovacuum
            charge_lua = [
                COUNT_STATUSES % {"ok": 201, "honour": "false"},
                CHARGES % {"user_id": user_id, "key": key, "run": uuid.uuid4().hex[:8]},
            ]
            figures["charges"] = wrk(
                port, "/api/v1/wallet/charges/", seconds=seconds, connections=32, scripts=charge_lua
            )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    pgbench = run_pgbench(database_url, 32, max(1, round(seconds))) if "charges" in phases else 0.0
    load_end = os.getloadavg()

    cpus = os.cpu_count() or 1
    ceiling = cpus / verify
    rows = []
    if "reads" in phases:

        def median_rate(name: str) -> float:
            return statistics.median(figures[f"{name}_{n}"]["rate"] for n in range(1, options.rounds + 1))

        plain, me, wallet = median_rate("plain"), median_rate("me"), median_rate("wallet")
        rows += [
            ("GET /api/v1/me/ req/s ÷ plain view req/s (medians)", me / plain, ">= 0.50", "ge", 0.50),
            ("GET /api/v1/wallet/ req/s ÷ plain view req/s (medians)", wallet / plain, ">= 0.50", "ge", 0.50),
        ]
    if "logins" in phases:
        rows.append(
            (
                "password logins/s at saturation ÷ (CPUs ÷ one Argon2 verify)",
                max(figures["logins"]["ok_rate"], figures["logins_few"]["ok_rate"]) / ceiling,
                ">= 0.90",
                "ge",
                0.90,
            )
        )
    if "storm" in phases:
        rows.append(
            (
                "p99 of GET /me while logins saturate ÷ its p99 alone",
                figures["me_storm"]["p99_ms"] / figures["me_alone"]["p99_ms"],
                "<= 2",
                "le",
                2.0,
            )
        )
    if "charges" in phases:
        rows.append(
            (
                "hot-wallet charges/s (32 clients) ÷ pgbench hot-row UPDATE … RETURNING tps",
                figures["charges"]["ok_rate"] / pgbench,
                ">= 0.25",
                "ge",
                0.25,
            )
        )
    print(f"\napi_ratios  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  commit {commit()}")
    print(f"CPUs {cpus}  load average at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}", end="")
    print(f"  at end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    overrides = " ".join(
        f"{k}={env[k]}"
        for k in sorted(env)
        if k in os.environ and k.startswith(("WEB_", "GUNICORN_", "ACCOUNTS_PASSWORD_HASH"))
    )
    print(
        f"server: gunicorn config.wsgi with gunicorn.conf.py {overrides}; wrk -t 2, {seconds:g} s a phase, loopback\n"
    )
    print("| ratio (same server, same run) | measured | goal | met |")
    print("|---|---:|---|---|")
    for label, value, goal, how, bound in rows:
        met = value >= bound if how == "ge" else value <= bound
        print(f"| {label} | {value:.2f} | {goal} | {'yes' if met else 'NO'} |")
    print("\n| phase | req/s | p50 ms | p99 ms | notes |")
    print("|---|---:|---:|---:|---|")
    reads = [
        (f"{name}_{n}", f"{label}, {conns} conns (round {n})")
        for n in range(1, options.rounds + 1)
        for name, label in (("plain", "plain view"), ("me", "GET /api/v1/me/"), ("wallet", "GET /api/v1/wallet/"))
    ]
    for name, label in (
        *reads,
        ("logins_few", "POST /auth/login/, 8 conns"),
        ("logins", f"POST /auth/login/, {conns} conns"),
        ("me_alone", f"GET /me alone, {options.calm_connections} conns"),
        ("me_storm", f"GET /me during the login storm, {options.calm_connections} conns"),
        ("storm", f"the login storm, {conns} conns"),
        ("charges", "POST /wallet/charges/, 32 conns, one wallet"),
    ):
        if name not in figures:
            continue
        result = figures[name]
        notes = ""
        if "ok" in result:
            notes = f"{result['ok_rate']:.1f}/s succeeded; 429: {result['limited']}; other: {result['other']}"
        elif result["non_2xx"]:
            notes = f"non-2xx: {result['non_2xx']}"
        print(f"| {label} | {result['rate']:.1f} | {result['p50_ms']:.1f} | {result['p99_ms']:.1f} | {notes} |")
    print(f"\nOne Argon2id verify (production parameters): {verify * 1000:.1f} ms; ceiling {ceiling:.1f} logins/s")
    if "logins" in phases:
        # Where the CPU of the 16-connection login phase went, per successful login. The ceiling
        # counts only the verify; everything else a login costs (the server's Python, PostgreSQL's
        # write and commit, Redis, the 429s, wrk) comes out of the same CPUs, so on this machine the
        # ratio can reach at most verify ÷ (all of it) even with the CPUs fully busy. (A process that
        # ended during the phase is missed, so "all" is a floor and that bound generous.)
        result = figures["logins"]
        logins = result["ok_rate"] * result["seconds"]
        per_login = {program: used / logins * 1000 for program, used in result["cpu"].items() if logins}
        total = sum(per_login.values())
        shares = ", ".join(f"{program} {ms:.1f}" for program, ms in sorted(per_login.items(), key=lambda x: -x[1]))
        busy = sum(result["cpu"].values()) / (result["seconds"] * cpus)
        print(
            f"CPU per successful login ({conns} conns, ms): {shares}; all {total:.1f}, CPUs {busy:.0%} busy. "
            f"The most this machine allows: verify ÷ all = {verify * 1000 / total:.2f} of the ceiling"
            if total
            else "CPU per successful login: no login succeeded"
        )
    if "charges" in phases:
        print(f"pgbench hot-row UPDATE … RETURNING, 32 clients: {pgbench:.0f} tps")
    audit = subprocess.run([PYTHON, "manage.py", "wallet_audit"], cwd=ROOT, env=env, capture_output=True, text=True)
    print((audit.stdout + audit.stderr).strip())
    print(f"server log: {log.name}")
    return 1 if audit.returncode or figures.get("charges", {}).get("other") else 0


if __name__ == "__main__":
    raise SystemExit(main())
