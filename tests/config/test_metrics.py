"""Prometheus metrics at /metrics: who may read them, and what one flow counts."""

from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from config import metrics
from smscodes.backends import locmem
from tests.factories import UserFactory
from tests.helpers import CONSENT
from tests.smscodes.utils import last_code_for
from tests.wallet.charges_helpers import fund, new_application
from wallet.charges import charge_create, charge_refund
from wallet.services import notification_receive

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
PASSWORD = "Secret-pass-42"


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    settings.SMS_BACKEND = "locmem"
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """The change of several samples between two moments (the registry is per process, shared by tests)."""

    def __init__(self, *keys: tuple):
        self.keys = keys
        self.before = {key: sample(key[0], **dict(key[1:])) for key in keys}

    def __getitem__(self, key: tuple) -> float:
        return sample(key[0], **dict(key[1:])) - self.before[key]


def scrape(client, **extra) -> dict[str, list]:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.content.decode())}


# --- access -----------------------------------------------------------------------------


def test_metrics_answer_loopback_only_by_default(client):
    assert client.get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403


def test_metrics_answer_the_allowed_networks_and_the_bearer_secret(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "not-an-address"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    settings.METRICS_TOKEN = "scrape-secret-1"
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-1", **outside).status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-2", **outside).status_code == 403
    assert client.get("/metrics", **outside).status_code == 403


def test_behind_a_trusted_proxy_the_client_address_decides(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxied = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client.get("/metrics", **proxied).status_code == 403


# --- what is counted ----------------------------------------------------------------------


def test_requests_are_counted_by_url_pattern_and_database_statements_are_timed(user_client, user):
    key = ("http_requests_total", ("method", "GET"), ("route", "/api/v1/me/"), ("status", "200"))
    queries = ("db_queries_total", ("alias", "default"), ("outcome", "ok"))
    delta = Delta(key, queries)
    assert user_client.get("/api/v1/me/").status_code == 200
    assert delta[key] == 1
    assert delta[queries] >= 1
    assert sample("http_request_duration_seconds_count", method="GET", route="/api/v1/me/") >= 1


def test_business_counters_after_one_sign_up_and_login_flow(api_client, client, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 3
    keys = (
        ("sms_sent_total", ("backend", "locmem"), ("purpose", "register"), ("outcome", "sent")),
        ("sms_sent_total", ("backend", "locmem"), ("purpose", "register"), ("outcome", "cooldown")),
        ("sms_codes_checked_total", ("purpose", "register"), ("outcome", "invalid")),
        ("sms_codes_checked_total", ("purpose", "register"), ("outcome", "verified")),
        ("logins_total", ("method", "password"), ("outcome", "succeeded")),
        ("logins_total", ("method", "password"), ("outcome", "failed")),
        ("logins_total", ("method", "password"), ("outcome", "locked")),
        ("logins_total", ("method", "code"), ("outcome", "failed")),
        ("login_lockouts_total",),
    )
    delta = Delta(*keys)
    send = {"phone": PHONE, "purpose": "register"}
    assert api_client.post("/api/v1/sms/codes/", send).status_code == 200
    assert api_client.post("/api/v1/sms/codes/", send).status_code == 429  # cooldown
    code = last_code_for(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    assert api_client.post("/api/v1/sms/codes/verify/", {**send, "code": wrong}).status_code == 400
    register = {"phone": PHONE, "code": code, "password": PASSWORD, "consent": CONSENT}
    assert api_client.post("/api/v1/auth/register/", register).status_code == 201
    assert api_client.post("/api/v1/auth/login/", {"login": PHONE, "password": PASSWORD}).status_code == 200
    for _ in range(3):  # the third failure locks the account
        api_client.post("/api/v1/auth/login/", {"login": PHONE, "password": "Wrong-pass-1"})
    assert api_client.post("/api/v1/auth/login/", {"login": PHONE, "password": PASSWORD}).status_code == 429
    assert api_client.post("/api/v1/auth/login/code/", {"phone": PHONE, "code": "123456"}).status_code == 400

    assert [delta[key] for key in keys] == [1, 1, 1, 1, 1, 3, 1, 1, 1]
    families = scrape(client)
    sent = [
        s for s in families["sms_sent"] if s.labels == {"backend": "locmem", "purpose": "register", "outcome": "sent"}
    ]
    assert sent and sent[0].value >= 1
    assert {"logins", "login_lockouts", "sms_codes_checked", "http_requests", "db_queries"} <= set(families)


def test_the_wallet_counters_are_ready_for_the_wallet_code_to_call():
    keys = (
        ("wallet_top_ups_total", ("channel", "alipay"), ("status", "paid")),
        ("wallet_notifications_total", ("channel", "alipay"), ("outcome", "bad_signature")),
        ("wallet_notifications_total", ("channel", "alipay"), ("outcome", "credited")),
        ("wallet_notifications_total", ("channel", "alipay"), ("outcome", "other")),
        ("wallet_charges_total", ("application", "game")),
        ("wallet_charged_amount_total", ("application", "game"), ("currency", "CNY")),
        ("wallet_refunds_total", ("application", "game")),
        ("wallet_reconciliation_mismatches_total", ("channel", "alipay"), ("kind", "amount")),
    )
    delta = Delta(*keys)
    metrics.top_up_recorded(channel="alipay", status="paid")
    metrics.notification_received(channel="alipay", outcome="bad_signature")
    metrics.notification_received(channel="alipay", outcome="applied")  # the wallet's own name for it
    metrics.notification_received(channel="alipay", outcome="typo")  # an unknown outcome mints no new series
    metrics.charge_recorded(application="game", amount=Decimal("12.50"), currency="CNY")
    metrics.refund_recorded(application="game")
    metrics.reconciliation_mismatch_found(channel="alipay", kind="amount")
    assert [delta[key] for key in keys] == [1, 1, 1, 1, 1, 12.5, 1, 1]


@pytest.mark.redis
def test_redis_round_trips_are_counted_by_command(user_client):
    from django.core.cache import cache

    key = ("cache_commands_total", ("command", "GET"), ("outcome", "ok"))
    script = ("cache_commands_total", ("command", "EVAL"), ("outcome", "ok"))
    delta = Delta(key, script)
    assert user_client.get("/api/v1/me/").status_code == 200  # the deny-list read
    cache.get("anything")
    assert delta[key] == 2
    assert user_client.post("/api/v1/sms/codes/", {"phone": PHONE, "purpose": "register"}).status_code == 200
    assert delta[script] >= 2  # the reservation and the stored code are Lua scripts


@pytest.mark.django_db(transaction=True)  # the counters move after the commit, as in production
def test_the_wallet_services_count_top_ups_notifications_charges_and_refunds():
    keys = (
        ("wallet_top_ups_total", ("channel", "sandbox"), ("status", "pending")),
        ("wallet_top_ups_total", ("channel", "sandbox"), ("status", "paid")),
        ("wallet_notifications_total", ("channel", "sandbox"), ("outcome", "credited")),
        ("wallet_notifications_total", ("channel", "sandbox"), ("outcome", "bad_signature")),
        ("wallet_charges_total", ("application", "Metrics shop")),
        ("wallet_refunds_total", ("application", "Metrics shop")),
    )
    delta = Delta(*keys)
    user = UserFactory()
    fund(user, "20.00")
    with pytest.raises(Exception):  # noqa: B017 - the error class is the wallet's; the count is what matters
        notification_receive(channel="sandbox", headers={"Sandbox-Signature": "t=1,v1=00"}, body=b"{}")
    application, _key = new_application("Metrics shop")
    charge = charge_create(application=application, user_id=user.pk, amount=Decimal("5.00"), order_id="m-1").charge
    charge_refund(application=application, charge_id=charge.pk, amount=Decimal("1.00"))
    assert [delta[key] for key in keys] == [1, 1, 1, 1, 1, 1]
