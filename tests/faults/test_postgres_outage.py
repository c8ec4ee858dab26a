"""PostgreSQL connections cut, then PostgreSQL unreachable, under the served app: never a 500, recovery without restart.

The app reaches the test database through ``TcpProxy``: ``pg_terminate_backend``
ends its server connections (a failover, an admin, a restart), and closing the
proxy makes the database unreachable (refused connections) until it opens again.
"""

import pytest
from django.db import connection

from smscodes.models import SmsMessage
from tests.faults.conftest import APP_NAME, LOGIN, PASSWORD
from tests.faults.servers import Timeline

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# An outage answer may wait for one 2-second socket timeout (a hung Redis), never two;
# the rest is room for a loaded CI machine.
SLOW = 3.5


def _terminate_app_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s", [APP_NAME]
        )
        return cursor.fetchone()[0]


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.json()["code"] == "service_unavailable"


def test_postgres_connections_cut_then_unreachable_answers_503_and_recovers(stack):
    served_app, db_proxy = stack.app, stack.db_proxy
    steps = Timeline(served_app.url)

    def login(label="POST /auth/login/"):
        return steps.call(label, "POST", "/api/v1/auth/login/", json={"login": LOGIN, "password": PASSWORD})

    def me(label="GET /me/"):
        return steps.call(label, "GET", "/api/v1/me/", headers={"Authorization": f"Bearer {access}"})

    response = login()
    assert response.status_code == 200, response.text
    access = response.json()["tokens"]["access"]
    for _ in range(4):  # both workers hold a connection
        assert me().status_code == 200

    terminated = _terminate_app_connections()
    steps.note(f"pg_terminate_backend: {terminated} app connections ended")
    assert terminated >= 1
    answers = [me().status_code for _ in range(4)]
    assert 500 not in answers
    assert answers[-1] == 200 and login().status_code == 200

    db_proxy.close()
    steps.note("PostgreSQL unreachable (proxy closed, connections cut)")
    sms_rows = SmsMessage.objects.count()
    for label in ("GET /me/", "GET /me/ (again)"):
        _assert_unavailable(me(label))
    _assert_unavailable(login())
    _assert_unavailable(
        steps.call("POST /sms/codes/", "POST", "/api/v1/sms/codes/", json={"phone": LOGIN, "purpose": "login"})
    )
    ready = steps.call("GET /readyz", "GET", "/readyz")
    assert ready.status_code == 503 and ready.json()["database"] == "error" and ready.json()["cache"] == "ok"
    page = steps.call("GET /account/ (page)", "GET", "/account/", allow_redirects=False)
    assert page.status_code in (302, 503), page.status_code  # anonymous: the login redirect needs no database
    assert SmsMessage.objects.count() == sms_rows

    db_proxy.open()
    steps.note("PostgreSQL reachable again")
    assert me("GET /me/ (same token)").status_code == 200
    assert login().status_code == 200
    assert steps.call("GET /readyz", "GET", "/readyz").status_code == 200
    print("\nPostgreSQL faults, step by step:\n" + steps.render())

    assert max(took for _, _, answer, took in steps.rows if answer.startswith("503")) < SLOW
    log, records = served_app.log(), served_app.log_records()
    assert records and not [record for record in records if record.get("status") == 500]
    assert "Internal Server Error" not in log
    assert any(record.get("dependency") == "database" for record in records)
