"""Costs as data grows: the same operations at 10,000 and at 1,000,000 people, side by side.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_scale .venv/bin/python bench/scale.py
    (--scales 10000,1000000 is the default; try --scales 2000,20000 first; --deadline 3000 seconds)

For each scale N, in its own database (the one in DATABASE_URL, which must be
named ``bench_scale``: it is dropped and created again, so never point it at
another):

1. migrates, then generates the data set of issue 17 in one transaction of
   ``INSERT … SELECT generate_series`` (seconds, not hours of ORM calls):
   N people, 2N security events, N SMS log rows, N paid top-ups whose N
   journal entries make 2N ledger lines (one person with N/10 of them, the
   others one each, all on the channel's clearing account opposite), N/5
   idempotency records. The ledger is written with its triggers switched off
   for the load (``session_replication_role = replica``) but with every
   invariant they keep — lines numbered 1..n, ``balance_after`` running,
   balances and line counts on the account rows, entries summing to zero,
   each top-up credited once — and ``wallet_audit`` (measured below) checks
   it; then VACUUM ANALYZE;
2. runs each operation in a fresh process (warm-up, then up to ``--repeat``
   times, at most ``--op-seconds`` each), recording the median time, the
   number of SQL queries, and the plan kind: EXPLAIN of every SELECT it
   ran, reduced to "index", or the tables read by ``Seq Scan`` and whether a
   ``Sort`` ran;
3. runs ``manage.py wallet_audit`` under ``/usr/bin/time`` (seconds, peak memory).

Then it prints one table: each operation at each scale and the ratio of the
largest scale to the smallest (the issue's goal: within 2×). The whole run
stops at ``--deadline`` seconds, printing what it measured. Never part of
the test suite; the figures go to bench/README.md.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DATABASE_NAME = "bench_scale"
PASSWORD = "Bench-pass-1"

# --- the data set --------------------------------------------------------------------------

GENERATE = r"""
SET session_replication_role = replica;  -- no triggers, no FK checks: the rows below keep every rule

INSERT INTO accounts_user (id, password, is_superuser, phone, username, nickname, gender, email, job, company,
                           avatar, avatar_thumbnail, role, is_active, is_staff, date_joined, consents_accepted)
SELECT i, '!bench', false, '+86139' || lpad(i::text, 8, '0'), 'User_' || i,
       (ARRAY['Wonder', 'Builder', 'Tiger', 'Panda', 'River'])[1 + i % 5] || ' ' || md5(i::text),
       '', 'user' || i || '@example.com', '', '', '', '', 'normal_user', true, false,
       now() - i * interval '1 minute', '{{}}'
FROM generate_series(1, {n}) AS i;
SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), {n});

INSERT INTO accounts_securityevent (kind, login, ip, user_agent, detail, created_at, user_id)
SELECT (ARRAY['login_succeeded', 'login_failed', 'logout'])[1 + i % 3], 'user_' || (1 + i % {n}), '10.0.0.1',
       'Mozilla/5.0 (bench)', '{{}}', now() - i * interval '1 second', 1 + i % {n}
FROM generate_series(1, 2 * {n}) AS i;

INSERT INTO smscodes_smsmessage (phone, purpose, backend, status, provider_message_id, error, client_ip, created_at)
SELECT '+86139' || lpad((1 + i % {n})::text, 8, '0'), 'login', (ARRAY['aliyun', 'tencent'])[1 + i % 2], 'sent',
       'pm' || i, '', '10.0.0.1', now() - i * interval '1 second'
FROM generate_series(1, {n}) AS i;

-- Ledger: after the accounts the migrations made (ids up to :base), :base + 1 is the sandbox's
-- clearing account and person p's wallet is :base + 1 + p.
-- Entry j (1..N) is top-up j: person 1 owns entries 1..H (seq j), person j - H + 1 owns entry j (seq 1).
SELECT COALESCE(max(id), 0) AS base FROM wallet_ledgeraccount \gset
INSERT INTO wallet_ledgeraccount (id, key, kind, name, currency, balance, line_count, created_at, updated_at, user_id)
VALUES (:base + 1, 'channel:sandbox', 'channel', 'sandbox', 'CNY', 0, 0, now(), now(), NULL);
INSERT INTO wallet_ledgeraccount (id, key, kind, name, currency, balance, line_count, created_at, updated_at, user_id)
SELECT :base + 1 + p, 'wallet:' || p, 'wallet', '', 'CNY',
       CASE WHEN p = 1 THEN {h} ELSE 1 END, CASE WHEN p = 1 THEN {h} ELSE 1 END, now(), now(), p
FROM generate_series(1, {n} - {h} + 1) AS p;
SELECT setval(pg_get_serial_sequence('wallet_ledgeraccount', 'id'), :base + {n} - {h} + 2);

CREATE TEMP TABLE bench_entry AS
SELECT j, md5('e' || j)::uuid AS entry_id,
       CASE WHEN j <= {h} THEN 1 ELSE j - {h} + 1 END AS person,
       CASE WHEN j <= {h} THEN j ELSE 1 END AS seq,
       now() - ({n} - j) * interval '1 second' AS at
FROM generate_series(1, {n}) AS j;

INSERT INTO wallet_journalentry (id, kind, reference, description, reason, origin, created_at, actor_id)
SELECT entry_id, 'top_up', 'T' || lpad(j::text, 12, '0'), '', '', '{{}}', at, NULL FROM bench_entry;
INSERT INTO wallet_ledgerline (id, seq, amount, balance_after, created_at, account_id, entry_id)
SELECT md5('w' || j)::uuid, seq, 1.00, seq * 1.00, at, :base + 1 + person, entry_id FROM bench_entry;
INSERT INTO wallet_ledgerline (id, seq, amount, balance_after, created_at, account_id, entry_id)
SELECT md5('c' || j)::uuid, NULL, -1.00, NULL, at, :base + 1, entry_id FROM bench_entry;
INSERT INTO wallet_topup (id, amount, currency, channel, method, status, trade_no, pay, refunded_amount, created_at,
                          expires_at, paid_at, updated_at, account_id, clearing_account_id, credit_entry_id, user_id)
SELECT 'T' || lpad(j::text, 12, '0'), 1.00, 'CNY', 'sandbox', '', 'paid', 'SBX' || j, '{{}}', 0, at,
       at + interval '15 minutes', at, at, :base + 1 + person, :base + 1, entry_id, person
FROM bench_entry;

INSERT INTO wallet_idempotencyrecord (key, fingerprint, created_at, user_id)
SELECT 'k' || i, 'f', now() - (i % 48) * interval '1 hour', 1 + i % {n}
FROM generate_series(1, {n} / 5) AS i;

SET session_replication_role = DEFAULT;
"""


def psql(*args: str, dbname: str = DATABASE_NAME, **kwargs) -> subprocess.CompletedProcess:
    url = urlparse(os.environ["DATABASE_URL"])
    connection = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    return subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", *connection, dbname, *args], check=True, text=True, **kwargs
    )


def env() -> dict:
    values = dict(os.environ)
    values.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=values.get("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789"),
        DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        LOG_LEVEL="WARNING",
        PYTHONWARNINGS="ignore:No directory at",
        PGOPTIONS="-c client_min_messages=warning",
        WALLET_CHANNELS="sandbox",
        WALLET_SANDBOX_SECRET="bench-sandbox-secret",
    )
    values.pop("REDIS_URL", None)  # the local-memory cache: the bench measures the database
    values.pop("DJANGO_SETTINGS_MODULE", None)
    return values


def people() -> int:
    """How many generated people the bench database holds (0 when it does not exist)."""
    try:
        out = psql("-Atc", "SELECT count(*) FROM accounts_user WHERE email LIKE '%@example.com'", capture_output=True)
    except subprocess.CalledProcessError:
        return 0
    return int(out.stdout.strip() or 0)


def build(n: int) -> float:
    """Drop, create, migrate and fill the bench database for ``n`` people; returns the seconds it took."""
    started = time.monotonic()
    psql("-c", f'DROP DATABASE IF EXISTS "{DATABASE_NAME}"', dbname="postgres")
    psql("-c", f'CREATE DATABASE "{DATABASE_NAME}"', dbname="postgres")
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env(), check=True)
    psql("-1", "-f", "-", input=GENERATE.format(n=n, h=max(n // 10, 1)), stdout=subprocess.DEVNULL)
    psql("-c", "VACUUM ANALYZE")
    return time.monotonic() - started


# --- the operations (run in a child process with Django set up) -----------------------------


def measure(n: int, repeat: int, op_seconds: float) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.signals import request_started
    from django.db import reset_queries

    # Django empties the query log when a request starts; the bench counts a request's queries.
    request_started.disconnect(reset_queries)
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.errors import InvalidCredentials
    from accounts.models import User
    from accounts.services import user_login_password
    from accounts.services.common import username_clean
    from config.origin import Origin

    override_settings(
        # The bench measures the database, not PBKDF2; and pages without collectstatic's manifest.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ).enable()
    hot = User.objects.get(pk=1)  # N/10 ledger lines
    someone = User.objects.get(pk=n // 2)
    for person in (hot, someone):
        person.set_password(PASSWORD)
        person.save(update_fields=["password"])
    staff = User.objects.filter(username="bench_admin").first() or User.objects.create_superuser(
        username="bench_admin", password=PASSWORD
    )
    admin = Client()
    admin.force_login(staff)

    def api_as(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        return client

    hot_api, someone_api = api_as(hot), api_as(someone)
    counter = iter(range(10**9))

    def origin() -> Origin:
        k = next(counter)
        return Origin(ip=f"10.{k // 65536 % 256}.{k // 256 % 256}.{k % 256}", user_agent="bench")

    def get(client, url, params=None):
        def run():
            response = client.get(url, params or {})
            assert response.status_code == 200, (url, response.status_code)

        return run

    def login_username():
        user_login_password(login=someone.username.upper(), password=PASSWORD, origin=origin())

    def login_unknown():
        try:
            user_login_password(login=f"nobody_{next(counter)}", password=PASSWORD, origin=origin())
        except InvalidCredentials:
            return
        raise AssertionError("an unknown username logged in")

    def login_phone():
        user_login_password(login=str(someone.phone)[3:], password=PASSWORD, origin=origin())

    def registration_check():
        assert username_clean(f"Fresh_{next(counter)}") is not None

    phone = str(someone.phone)[3:]  # 139…, as support types it
    nickname = someone.nickname.split()[1][:8]  # part of the md5 in "Tiger 3f2a…": a substring search
    hot_phone = str(hot.phone)
    operations = [
        ("password login by username (other case)", login_username),
        ("failed login, unknown username", login_unknown),
        ("registration's username check", registration_check),
        ("GET /api/v1/wallet/transactions/ (N/10-line person)", get(hot_api, "/api/v1/wallet/transactions/")),
        ("admin user list", get(admin, "/admin/accounts/user/")),
        ("admin user search: phone", get(admin, "/admin/accounts/user/", {"q": phone})),
        ("admin user search: nickname", get(admin, "/admin/accounts/user/", {"q": nickname})),
        ("admin user search: email", get(admin, "/admin/accounts/user/", {"q": someone.email.upper()})),
        ("admin security events", get(admin, "/admin/accounts/securityevent/")),
        ("admin SMS log", get(admin, "/admin/smscodes/smsmessage/")),
        ("admin SMS log, backend filter", get(admin, "/admin/smscodes/smsmessage/", {"backend__exact": "aliyun"})),
        ("admin ledger lines", get(admin, "/admin/wallet/ledgerline/")),
        ("admin journal entries", get(admin, "/admin/wallet/journalentry/")),
        ("admin top-ups", get(admin, "/admin/wallet/topup/")),
        ("admin security-event search", get(admin, "/admin/accounts/securityevent/", {"q": someone.username})),
        ("admin ledger search by owner's phone", get(admin, "/admin/wallet/ledgerline/", {"q": hot_phone})),
        ("login by phone (flat)", login_phone),
        ("GET /api/v1/me/ (flat)", get(someone_api, "/api/v1/me/")),
        ("GET /api/v1/wallet/ (flat)", get(someone_api, "/api/v1/wallet/")),
    ]

    def plan_kind(queries) -> str:
        marks: list[str] = []
        with connection.cursor() as cursor:
            for query in queries:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute("EXPLAIN " + sql)
                for (line,) in cursor.fetchall():
                    text = line.strip().lstrip("->").strip()
                    if text.startswith("Seq Scan on "):
                        marks.append("seq " + text.split()[3])
                    elif text.startswith(("Sort ", "Incremental Sort ")):
                        marks.append("sort")
        return ", ".join(sorted(set(marks))) or "index"

    results = {}
    for name, operation in operations:
        operation()  # warm-up (caches, first-use groups…)
        with CaptureQueriesContext(connection) as captured:
            operation()
        queries = list(captured.captured_queries)  # now: the property reads the log as it is when asked
        times = []
        deadline = time.monotonic() + op_seconds
        while len(times) < repeat and time.monotonic() < deadline:
            started = time.perf_counter()
            operation()
            times.append((time.perf_counter() - started) * 1000)
        results[name] = {
            "ms": round(statistics.median(times), 1),
            "queries": len(queries),
            "plan": plan_kind(queries),
        }
        print(f"  {name}: {results[name]}", file=sys.stderr, flush=True)
    return results


def audit() -> dict:
    """``manage.py wallet_audit`` in its own process: seconds and peak memory (``/usr/bin/time``)."""
    run = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", PYTHON, "manage.py", "wallet_audit"],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
    )
    seconds, peak_kb = run.stderr.strip().splitlines()[-1].split()
    return {
        "ms": round(float(seconds) * 1000),
        "queries": None,
        "plan": f"{int(peak_kb) // 1024} MB peak",
        "rc": run.returncode,
    }


# --- the run -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="10000,1000000", help="comma-separated numbers of people")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per operation (the median is shown)")
    parser.add_argument("--op-seconds", type=float, default=20.0, help="at most this long timing one operation")
    parser.add_argument("--deadline", type=float, default=3600.0, help="stop after this many seconds in all")
    parser.add_argument(
        "--reuse", action="store_true", help="measure a scale again on the data already there when it is that size"
    )
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # the child: measure scale N
    args = parser.parse_args()

    if urlparse(os.environ.get("DATABASE_URL", "")).path.lstrip("/") != DATABASE_NAME:
        sys.exit(f"DATABASE_URL must name the database {DATABASE_NAME!r} (it is dropped and created again)")
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat, args.op_seconds)))
        return

    started = time.monotonic()
    scales = [int(value) for value in args.scales.split(",")]
    measured: dict[int, dict] = {}
    for n in scales:
        if time.monotonic() - started > args.deadline:
            print(f"deadline reached before scale {n}", file=sys.stderr)
            break
        if args.reuse and people() == n:
            seconds = None
            print(f"scale {n}: load average {os.getloadavg()[0]:.1f}; reusing the data", file=sys.stderr, flush=True)
        else:
            print(f"scale {n}: load average {os.getloadavg()[0]:.1f}; building…", file=sys.stderr, flush=True)
            seconds = build(n)
            print(f"scale {n}: built in {seconds:.0f} s; measuring…", file=sys.stderr, flush=True)
        remaining = max(args.deadline - (time.monotonic() - started), 60)
        try:
            child = subprocess.run(
                [
                    PYTHON,
                    __file__,
                    "--measure",
                    str(n),
                    "--repeat",
                    str(args.repeat),
                    "--op-seconds",
                    str(args.op_seconds),
                ],
                cwd=ROOT,
                env=env(),
                capture_output=True,
                text=True,
                timeout=remaining,
            )
        except subprocess.TimeoutExpired:
            print(f"scale {n}: deadline reached while measuring", file=sys.stderr)
            break
        sys.stderr.write(child.stderr)
        if child.returncode:
            sys.exit(f"scale {n}: measuring failed")
        results = json.loads(child.stdout.strip().splitlines()[-1])
        results["manage.py wallet_audit"] = audit()
        if seconds is not None:
            results["(build: migrate + generate + analyze)"] = {
                "ms": round(seconds * 1000),
                "queries": None,
                "plan": "",
            }
        measured[n] = results
        print(f"scale {n}: done; load average {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)

    report(measured)


def report(measured: dict[int, dict]) -> None:
    if not measured:
        return
    scales = sorted(measured)
    names = list(dict.fromkeys(name for n in scales for name in measured[n]))
    head = " | ".join(f"{n:,} ms | q | plan" for n in scales)
    print(f"| operation | {head} | ratio |")
    print("|---|" + "---:|---:|---|" * len(scales) + "---:|")
    for name in names:
        cells = []
        for n in scales:
            row = measured[n].get(name)
            if row is None:
                cells.append("— | — | —")
                continue
            queries = "" if row["queries"] is None else row["queries"]
            cells.append(f"{row['ms']} | {queries} | {row['plan']}")
        first, last = measured[scales[0]].get(name), measured[scales[-1]].get(name)
        ratio = f"{last['ms'] / first['ms']:.1f}×" if first and last and first["ms"] and len(scales) > 1 else ""
        print(f"| {name} | {' | '.join(cells)} | {ratio} |")
    audits = [measured[n]["manage.py wallet_audit"].get("rc") for n in scales]
    print(f"\nwallet_audit exit codes: {audits} (0: the generated ledger is consistent)")


if __name__ == "__main__":
    main()
