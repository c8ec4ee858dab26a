"""One stack of real processes for the fault tests: a private redis-server, a proxy before PostgreSQL, gunicorn.

The app runs in its own processes and reads the test database, so the tests
are transactional (what they write is committed, and flushed afterwards).
The processes are started once for this folder (a gunicorn start is the slow
part); each test starts on a healthy stack (``/readyz`` 200) and must leave it
so. It needs PostgreSQL (pytest-django's SQLite test database lives in this
process's memory): these tests run in CI's PostgreSQL + Redis pass.
"""

import shutil
import time
from dataclasses import dataclass

import pytest
import requests
from django.contrib.auth.hashers import make_password
from django.db import connection

from tests.conftest import _skip_or_fail, uses_postgres
from tests.faults.servers import AppServer, PrivateRedis, TcpProxy, database_url

APP_NAME = "accounts-fault-test"  # the app's connections, as pg_stat_activity names them
LOGIN = "+8613900000001"
PASSWORD = "Fault-test-pass-1"


@dataclass
class FaultStack:
    app: AppServer
    redis: PrivateRedis
    db_proxy: TcpProxy

    def wait_until_ready(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.app.url + "/readyz", timeout=3).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError("the stack did not become ready")


@pytest.fixture(scope="package")
def fault_stack(django_db_setup, tmp_path_factory):
    if not uses_postgres():
        _skip_or_fail("needs PostgreSQL (set DATABASE_URL)", "REQUIRE_SERVICES")
    if not shutil.which("redis-server"):
        _skip_or_fail("redis-server is not installed", "REQUIRE_SERVICES")
    directory = tmp_path_factory.mktemp("faults")
    settings_dict = connection.settings_dict  # the test database's, once django_db_setup has run
    target = (settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432))
    redis = PrivateRedis(directory)
    redis.start()
    proxy = TcpProxy(target)
    app = AppServer(
        database_url=database_url(settings_dict, host="127.0.0.1", port=proxy.port, app_name=APP_NAME),
        redis_url=redis.url,
        log_path=directory / "gunicorn.log",
    )
    try:
        app.start()
        yield FaultStack(app=app, redis=redis, db_proxy=proxy)
    finally:
        app.stop()
        proxy.close()
        redis.stop()


@pytest.fixture
def stack(fault_stack, transactional_db):
    """The stack, healthy, and a committed account it can log in (``LOGIN`` / ``PASSWORD``)."""
    from accounts.models import User

    user = User.objects.create_user(phone=LOGIN, password=None)
    # A hasher the served app knows (the suite's fast MD5 one is not in its settings).
    user.password = make_password(PASSWORD, hasher="argon2")
    user.save(update_fields=["password"])
    fault_stack.wait_until_ready()
    yield fault_stack
    fault_stack.wait_until_ready()
