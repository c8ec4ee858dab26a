"""Python CPU of one charge, in-process: ``time.thread_time()`` around many WSGI calls.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charge_cpu REDIS_URL=redis://127.0.0.1:6379/11 \
        .venv/bin/python bench/charge_cpu.py [--calls 3000] [--profile]

``--profile`` prints cProfile's top functions (``SORT=cumulative``, ``TOP=60`` to change them);
its own overhead then inflates the CPU figure.

No server, no HTTP: the production settings' WSGI handler is called directly
in this thread with a ``POST /api/v1/wallet/charges/`` environ (a fresh order
number each time, the rate limit off as in bench/wallet_charges.py). Thread
CPU counts only this process's Python (and the driver's C code), not
PostgreSQL's or Redis's. The database is migrated; a bench person with a
large balance and a ``charge`` application are made if missing.
"""

import argparse
import io
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETUP_DEFAULTS = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_SECURE_COOKIES": "0",
    "LOG_LEVEL": "WARNING",
    "PYTHONWARNINGS": "ignore:No directory at",
    "WALLET_CLIENT_RATE": "0",
    "WALLET_MAX_BALANCE": "100000000.00",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument(
        "--profile", action="store_true", help="print cProfile's top functions (CPU figures then include its overhead)"
    )
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of your own (it is migrated).")
    for name, value in SETUP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from decimal import Decimal

    from django.contrib.auth.models import Permission
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    call_command("migrate", "--noinput", verbosity=0)
    from accounts.models import User
    from wallet.clients import client_application_create, client_key_issue
    from wallet.models import ClientApplication
    from wallet.services import wallet_adjust, wallet_get

    staff = User.objects.filter(username="charge_cpu_staff").first() or User.objects.create_user(
        username="charge_cpu_staff", is_staff=True
    )
    staff.user_permissions.add(Permission.objects.get(codename="adjust_balance"))
    staff = User.objects.get(pk=staff.pk)
    person = User.objects.filter(username="charge_cpu").first() or User.objects.create_user(username="charge_cpu")
    balance = wallet_get(user=person).balance
    if balance < Decimal("1000000"):
        wallet_adjust(actor=staff, user=person, amount=Decimal("1000000") - balance, reason="charge cpu funds")
    application = ClientApplication.objects.filter(name="charge cpu").first()
    if application is None:
        application, key = client_application_create(name="charge cpu", scopes=["charge"])
    else:
        _row, key = client_key_issue(application=application)
    connection.close()

    handler = get_wsgi_application()
    run = uuid.uuid4().hex[:8]
    statuses: dict[str, int] = {}

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    def call(n: int) -> None:
        body = b'{"user_id": %d, "amount": "0.01", "order_id": "cpu-%s-%d"}' % (person.pk, run.encode(), n)
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/wallet/charges/",
            "QUERY_STRING": "",
            "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Api-Key {key}",
            "HTTP_CONNECTION": "keep-alive",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        response = handler(environ, start_response)
        for _chunk in response:
            pass
        response.close()

    for n in range(options.warmup):
        call(n)
    statuses.clear()
    profiler = None
    if options.profile:
        import cProfile

        profiler = cProfile.Profile(time.thread_time)
        profiler.enable()
    cpu, wall = time.thread_time(), time.perf_counter()
    for n in range(options.warmup, options.warmup + options.calls):
        call(n)
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime")).print_stats(
            int(os.environ.get("TOP", "40"))
        )
    print(f"statuses: {statuses}")
    print(
        f"{options.calls} charges: {cpu / options.calls * 1e3:.3f} ms thread CPU, {wall / options.calls * 1e3:.3f} ms wall each"
    )
    return 0 if set(statuses) == {"201 Created"} else 1


if __name__ == "__main__":
    sys.exit(main())
