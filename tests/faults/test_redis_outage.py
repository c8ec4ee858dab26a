"""Redis killed under the served app: 503 at once, fail closed, nothing half-done, recovery without restart.

Real processes only: gunicorn (2 workers) serving the production settings,
a private redis-server that the test SIGKILLs and starts again empty, and
the test database. Run with ``-s`` to see the timeline of every answer.
"""

import json
import re
import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from smscodes.models import SmsMessage
from tests.faults.conftest import LOGIN, PASSWORD
from tests.faults.servers import Timeline

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

NEW_NUMBER = "+8613900000002"  # not registered: a sign-up code goes to the (locmem) provider
# An outage answer may wait for one 2-second socket timeout (a hung Redis), never two;
# the rest is room for a loaded CI machine.
SLOW = 3.5


def _auth(access: str) -> dict:
    return {"Authorization": f"Bearer {access}"}


def _login(timeline: Timeline, label: str, password: str = PASSWORD):
    return timeline.call(label, "POST", "/api/v1/auth/login/", json={"login": LOGIN, "password": password})


def _send_code(timeline: Timeline, label: str):
    return timeline.call(label, "POST", "/api/v1/sms/codes/", json={"phone": NEW_NUMBER, "purpose": "register"})


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.json()["code"] == "service_unavailable"
    assert response.json()["message"]


class Traffic(threading.Thread):
    """Sign-ins, profile reads and code sends in a loop, recording (time, what, status, code, seconds)."""

    def __init__(self, base_url: str, access: str):
        super().__init__(daemon=True)
        self.timeline = Timeline(base_url)
        self.access = access
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for step in (self._me, self._login, self._send):
                try:
                    step()
                except Exception as exc:  # a hang past the timeout or a reset: recorded, asserted on later
                    self.timeline.rows.append((time.perf_counter() - self.timeline.started, "error", repr(exc), 0.0))

    def _me(self):
        self.timeline.call("GET /me/", "GET", "/api/v1/me/", headers=_auth(self.access))

    def _login(self):
        _login(self.timeline, "POST /auth/login/")

    def _send(self):
        _send_code(self.timeline, "POST /sms/codes/")


def _page_login(timeline: Timeline, label: str):
    form = timeline.call("GET /login/ (page)", "GET", "/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    return timeline.call(
        label,
        "POST",
        "/login/",
        data={"csrfmiddlewaretoken": token, "login": LOGIN, "password": PASSWORD},
        allow_redirects=False,
    )


def test_redis_killed_mid_traffic_answers_503_and_recovers_without_restart(stack):
    served_app, private_redis = stack.app, stack.redis
    steps = Timeline(served_app.url)
    response = _login(steps, "POST /auth/login/")
    assert response.status_code == 200, response.text
    access = response.json()["tokens"]["access"]
    assert steps.call("GET /me/", "GET", "/api/v1/me/", headers=_auth(access)).status_code == 200
    assert _send_code(steps, "POST /sms/codes/ (sign-up code)").status_code == 200

    steps.note("redis-server SIGSTOPped (hung: accepts connections, answers nothing)")
    private_redis.pause()
    # An access token's revocation is checked in the database (its device row): no cache involved.
    read = steps.call("GET /me/", "GET", "/api/v1/me/", headers=_auth(access))
    hung = _send_code(steps, "POST /sms/codes/ (hung cache)")
    private_redis.resume()
    steps.note("redis-server SIGCONTinued")
    assert read.status_code == 200, read.text
    _assert_unavailable(hung)
    assert steps.rows[-1][3] < SLOW  # one 2-second socket timeout, not a hang

    traffic = Traffic(served_app.url, access)
    traffic.start()
    time.sleep(0.6)

    steps.note("redis-server SIGKILLed")
    killed_at = time.perf_counter()
    private_redis.kill()
    # Reads with an access token go on: the database, not the cache, says whether its device is live.
    assert steps.call("GET /me/", "GET", "/api/v1/me/", headers=_auth(access)).status_code == 200
    # The lockout counter can't be read -> the login is refused (fail closed), even with the right password.
    _assert_unavailable(_login(steps, "POST /auth/login/ (right password)"))
    _assert_unavailable(_login(steps, "POST /auth/login/ (wrong password)", password="wrong-Passw0rd"))
    _assert_unavailable(_send_code(steps, "POST /sms/codes/"))
    ready = steps.call("GET /readyz", "GET", "/readyz")
    assert ready.status_code == 503 and ready.json()["cache"] == "error" and ready.json()["database"] == "ok"
    assert steps.call("GET /healthz", "GET", "/healthz").status_code == 503
    page = _page_login(steps, "POST /login/ (page)")
    assert page.status_code == 503
    assert "服务暂时不可用" in page.text and "Traceback" not in page.text
    time.sleep(0.8)

    private_redis.start()
    restarted_at = time.perf_counter()
    steps.note("redis-server started again, empty")
    me = steps.call("GET /me/ (same token)", "GET", "/api/v1/me/", headers=_auth(access))
    assert me.status_code == 200, me.text
    assert _login(steps, "POST /auth/login/").status_code == 200
    assert _send_code(steps, "POST /sms/codes/").status_code == 200
    assert steps.call("GET /readyz", "GET", "/readyz").status_code == 200
    assert _page_login(steps, "POST /login/ (page)").status_code == 302
    time.sleep(0.8)
    traffic.stopping.set()
    traffic.join(timeout=15)
    assert not traffic.is_alive()

    print("\nRedis outage, step by step:\n" + steps.render())
    outage = (killed_at - steps.started, restarted_at - steps.started)
    rows = traffic.timeline.rows
    offset = traffic.timeline.started - steps.started
    summary: dict[str, dict[str, int]] = {"before": {}, "during": {}, "after": {}}
    for at, label, answer, _took in rows:
        at += offset
        phase = "before" if at < outage[0] else "during" if at < outage[1] else "after"
        summary[phase][f"{label} -> {answer}"] = summary[phase].get(f"{label} -> {answer}", 0) + 1
    print("Background traffic (count of each answer):\n" + json.dumps(summary, indent=1, ensure_ascii=False))

    answers = [answer for _, label, answer, _ in rows]
    assert all(label != "error" for _, label, _, _ in rows), [r for r in rows if r[1] == "error"]
    assert set(answers) <= {"200", "503 service_unavailable"}, set(answers)
    assert "503 service_unavailable" in answers
    assert max(took for _, _, answer, took in steps.rows + rows if answer.startswith("503")) < SLOW
    # Recovered at once: everything sent after the restart was answered normally.
    after = [answer for at, _, answer, _ in rows if at + offset > restarted_at - steps.started]
    assert after and set(after) == {"200"}, after

    # Nothing half-done: every code the provider got was answered 200 (and stored, or the
    # recovery sends above would not have found their way); every 503 sent nothing.
    sends_answered = sum(
        1 for _, label, answer, _ in steps.rows + rows if label.startswith("POST /sms/codes/") and answer == "200"
    )
    assert SmsMessage.objects.filter(phone=NEW_NUMBER, status="sent").count() == sends_answered
    assert not SmsMessage.objects.filter(phone=NEW_NUMBER).exclude(status="sent").exists()

    # /metrics adds up both workers (Prometheus multiprocess mode): every 503 of a request is counted
    # once (the probes answer their own 503 without it).
    scraped = requests.get(served_app.url + "/metrics", timeout=10)
    assert scraped.status_code == 200
    families = {f.name: f.samples for f in text_string_to_metric_families(scraped.text)}
    unavailable = sum(s.value for s in families["dependency_unavailable"] if s.labels["dependency"] == "cache")
    refused = sum(
        1
        for _, label, answer, _ in steps.rows + rows
        if answer.startswith("503") and not label.startswith(("GET /readyz", "GET /healthz"))
    )
    assert unavailable == refused
    business = ("sms_sent", "sms_codes_checked", "logins", "login_lockouts", "dependency_unavailable")
    print("Business counters on /metrics after the run:")
    for name in business:
        for found in families.get(name, []):
            print(f"  {found.name}{json.dumps(found.labels, sort_keys=True)} {found.value:g}")

    log, records = served_app.log(), served_app.log_records()
    assert records and not [record for record in records if record.get("status") == 500]
    assert "Internal Server Error" not in log
    assert "dependency unavailable" in log
    assert PASSWORD not in log and access not in log


def test_a_logged_out_access_token_stays_refused_after_redis_restarts_empty(stack):
    served_app, private_redis = stack.app, stack.redis
    steps = Timeline(served_app.url)
    tokens = _login(steps, "POST /auth/login/").json()["tokens"]
    headers = _auth(tokens["access"])
    assert (
        steps.call(
            "POST /auth/logout/", "POST", "/api/v1/auth/logout/", json={"refresh": tokens["refresh"]}, headers=headers
        ).status_code
        == 204
    )
    assert steps.call("GET /me/", "GET", "/api/v1/me/", headers=headers).status_code == 401
    private_redis.kill()
    private_redis.start()
    steps.note("redis-server restarted empty")
    response = steps.call("GET /me/ (logged-out token)", "GET", "/api/v1/me/", headers=headers)
    print("\n" + steps.render())
    assert response.status_code == 401, "a logged-out token came back to life"
    assert response.json()["code"] == "token_invalid"
