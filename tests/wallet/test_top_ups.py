"""Paid top-ups through the sandbox channel, driven as API.md describes the protocol."""

import datetime
import json
import time
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings

from tests.factories import UserFactory
from tests.helpers import assert_api_error
from tests.wallet.conftest import fund, sandbox_pay
from wallet.channels import channel_get
from wallet.channels.sandbox import sandbox_checkout, sandbox_sign
from wallet.errors import ChannelUnavailable
from wallet.models import (
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    NotificationOutcome,
    PaymentNotification,
    SandboxTrade,
    TopUp,
)
from wallet.selectors import wallet_audit
from wallet.services import top_up_create, top_ups_sync

pytestmark = pytest.mark.django_db

TOP_UPS = "/api/v1/wallet/top-ups/"
NOTIFY = "/api/v1/wallet/notify/sandbox/"
NOW = datetime.datetime(2026, 12, 1, 15, 59, 30, tzinfo=datetime.UTC)  # 23:59:30 in Asia/Shanghai


def _balance(user) -> Decimal:
    account = LedgerAccount.objects.filter(user=user, kind=AccountKind.WALLET).first()
    return account.balance if account else Decimal("0.00")


def _body(top_up: TopUp, *, event="payment.succeeded", amount=None, currency="CNY", trade_no=None) -> bytes:
    trade = SandboxTrade.objects.filter(out_trade_no=top_up.id).first()
    data = {
        "event": event,
        "top_up_id": top_up.id,
        "trade_no": trade_no or (trade.trade_no if trade else "SBX1"),
        "amount": amount or f"{top_up.amount:.2f}",
        "currency": currency,
        "occurred_at": "2026-12-01T10:00:00Z",
    }
    return json.dumps(data).encode()


def notify(client, body: bytes, *, t: int | None = None, secret: str | None = None, signature: str | None = None):
    header = signature if signature is not None else sandbox_sign(body, timestamp=t, secret=secret)
    return client.generic("POST", NOTIFY, body, content_type="application/json", headers={"Sandbox-Signature": header})


def _create(user_client, amount="10.00", **extra):
    response = user_client.post(TOP_UPS, {"amount": amount, "channel": "sandbox", **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- Creating -----------------------------------------------------------------------------


def test_creating_a_top_up_credits_nothing_and_returns_a_checkout_url(user, user_client):
    body = _create(user_client, "10")
    assert body["status"] == "pending" and body["amount"] == "10.00" and body["currency"] == "CNY"
    assert body["id"].startswith("T") and len(body["id"]) == 19
    assert body["channel"] == "sandbox" and body["paid_at"] is None and body["refunded_amount"] == "0.00"
    assert body["pay"]["url"].startswith("http://testserver/wallet/sandbox/")
    token = body["pay"]["url"].rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 40  # unguessable
    assert body["created_at"].endswith("Z") and body["expires_at"].endswith("Z")
    assert _balance(user) == Decimal("0.00")
    assert not JournalEntry.objects.exists()


def test_top_up_needs_a_known_enabled_channel(user_client, settings):
    assert_api_error(user_client.post(TOP_UPS, {"amount": "10", "channel": "paypal"}), 400, "channel_unavailable")
    settings.WALLET_CHANNELS = "alipay"
    assert_api_error(user_client.post(TOP_UPS, {"amount": "10", "channel": "sandbox"}), 400, "channel_unavailable")
    assert_api_error(user_client.post(TOP_UPS, {"amount": "10"}), 400, "validation_error", fields=["channel"])


def test_sandbox_is_off_in_production_without_its_secret(settings):
    settings.WALLET_CHANNELS = "sandbox"
    settings.WALLET_SANDBOX_SECRET = ""
    with pytest.raises(ChannelUnavailable):
        channel_get("sandbox")


def test_sandbox_is_off_by_default_in_production(settings):
    settings.DEBUG = False
    settings.TESTING = False
    del settings.WALLET_CHANNELS
    with pytest.raises(ChannelUnavailable):
        channel_get("sandbox")


@pytest.mark.parametrize("amount", ["0", "-1", "0.001", "5000.01", "abc", "1e3"])
def test_top_up_refuses_bad_amounts(user_client, amount):
    assert_api_error(
        user_client.post(TOP_UPS, {"amount": amount, "channel": "sandbox"}), 400, "validation_error", fields=["amount"]
    )
    assert not TopUp.objects.exists()


def test_pending_top_ups_count_against_the_balance_limit(user, user_client, settings):
    settings.WALLET_MAX_BALANCE = "100.00"
    fund(user, "50.00")
    _create(user_client, "30.00")
    error = assert_api_error(
        user_client.post(TOP_UPS, {"amount": "20.01", "channel": "sandbox"}), 400, "validation_error", fields=["amount"]
    )
    assert "20.00" in error["fields"]["amount"][0]
    _create(user_client, "20.00")


def test_an_unknown_method_is_refused(user_client):
    assert_api_error(
        user_client.post(TOP_UPS, {"amount": "1", "channel": "sandbox", "method": "qr"}),
        400,
        "validation_error",
        fields=["method"],
    )


def test_the_same_idempotency_key_replays_the_same_top_up(user, user_client):
    first = user_client.post(
        TOP_UPS, {"amount": "10", "channel": "sandbox"}, format="json", headers={"Idempotency-Key": "k"}
    )
    again = user_client.post(
        TOP_UPS, {"amount": "10.00", "channel": "sandbox"}, format="json", headers={"Idempotency-Key": "k"}
    )
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert TopUp.objects.count() == 1
    other = user_client.post(
        TOP_UPS, {"amount": "11", "channel": "sandbox"}, format="json", headers={"Idempotency-Key": "k"}
    )
    assert_api_error(other, 422, "idempotency_key_reused")


def test_top_ups_are_listed_newest_first_and_private(user, user_client):
    first = _create(user_client, "1")
    second = _create(user_client, "2")
    fund(UserFactory(), "3")
    results = user_client.get(TOP_UPS).json()["results"]
    assert [r["id"] for r in results] == [second["id"], first["id"]]
    other = TopUp.objects.exclude(user=user).get()
    assert_api_error(user_client.get(f"{TOP_UPS}{other.id}/"), 404, "not_found")


# --- Paying through the sandbox -----------------------------------------------------------


def test_sandbox_end_to_end_through_the_api_and_the_checkout_page(user, user_client, client):
    body = _create(user_client, "12.50")
    checkout = body["pay"]["url"].removeprefix("http://testserver")
    page = client.get(checkout)
    assert page.status_code == 200
    assert (
        "12.50" in page.content.decode() and "支付成功" in page.content.decode() and "支付失败" in page.content.decode()
    )
    response = client.post(checkout, {"outcome": "succeeded"})
    assert response.status_code == 302 and response["Location"] == f"/wallet/top-ups/{body['id']}/"
    paid = user_client.get(f"{TOP_UPS}{body['id']}/").json()
    assert paid["status"] == "paid" and paid["paid_at"] and "pay" not in paid
    assert user_client.get("/api/v1/wallet/").json()["balance"] == "12.50"
    line = user_client.get("/api/v1/wallet/transactions/").json()["results"][0]
    assert (line["kind"], line["amount"], line["balance_after"], line["reference"]) == (
        "top_up",
        "12.50",
        "12.50",
        body["id"],
    )
    notification = PaymentNotification.objects.get()
    assert notification.verified and notification.outcome == NotificationOutcome.APPLIED
    assert wallet_audit() == []


def test_a_signed_notification_credits_once_and_duplicates_answer_ok(user, user_client, client):
    top_up = TopUp.objects.get(pk=_create(user_client)["id"])
    body = _body(top_up, trade_no="SBX-OWN-1")
    for _ in range(3):
        response = notify(client, body)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert _balance(user) == Decimal("10.00")
    assert list(PaymentNotification.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "applied",
        "duplicate",
        "duplicate",
    ]
    top_up.refresh_from_db()
    assert (top_up.status, top_up.trade_no) == ("paid", "SBX-OWN-1")
    assert wallet_audit() == []


def test_bad_signature_is_refused_and_stored(user, user_client, client):
    top_up = TopUp.objects.get(pk=_create(user_client)["id"])
    body = _body(top_up)
    assert_api_error(notify(client, body, secret="not-the-secret"), 401, "signature_invalid")
    assert_api_error(notify(client, body, signature=""), 401, "signature_invalid")
    assert_api_error(notify(client, body, signature="t=abc,v1=00"), 401, "signature_invalid")
    assert _balance(user) == Decimal("0.00")
    stored = PaymentNotification.objects.order_by("pk")
    assert [n.outcome for n in stored] == ["signature_invalid"] * 3
    assert bytes(stored[0].body) == body and "Sandbox-Signature" in stored[0].headers


@time_machine.travel(NOW, tick=False)
def test_a_timestamp_more_than_300_seconds_away_is_refused(user, client):
    top_up = top_up_create(user=user, amount=Decimal("10"), channel="sandbox").top_up
    body = _body(top_up)
    now = int(time.time())
    assert_api_error(notify(client, body, t=now - 301), 401, "signature_invalid")
    assert_api_error(notify(client, body, t=now + 301), 401, "signature_invalid")
    assert _balance(user) == Decimal("0.00")
    assert notify(client, body, t=now - 300).status_code == 200
    assert _balance(user) == Decimal("10.00")


def test_a_wrong_amount_or_currency_is_a_mismatch_and_credits_nothing(user, user_client, client):
    top_up = TopUp.objects.get(pk=_create(user_client)["id"])
    assert_api_error(notify(client, _body(top_up, amount="10.01")), 400, "notification_mismatch")
    assert_api_error(notify(client, _body(top_up, currency="USD")), 400, "notification_mismatch")
    assert _balance(user) == Decimal("0.00")
    mismatches = PaymentNotification.objects.filter(outcome=NotificationOutcome.MISMATCH)
    assert mismatches.count() == 2 and "amount 10.01" in mismatches.order_by("pk")[0].error
    # the right one still credits afterwards
    assert notify(client, _body(top_up)).status_code == 200
    assert _balance(user) == Decimal("10.00")


def test_a_notification_for_an_unknown_order_is_not_found_and_stored(client):
    body = json.dumps(
        {
            "event": "payment.succeeded",
            "top_up_id": "T20261201000000XXXX",
            "trade_no": "SBX9",
            "amount": "1.00",
            "currency": "CNY",
        }
    ).encode()
    assert_api_error(notify(client, body), 404, "not_found")
    assert PaymentNotification.objects.get().outcome == NotificationOutcome.UNKNOWN_ORDER


def test_an_unreadable_verified_notification_is_a_validation_error(client):
    assert_api_error(notify(client, b"not json"), 400, "validation_error")
    assert_api_error(notify(client, b'{"event": "payment.refunded"}'), 400, "validation_error")
    assert set(PaymentNotification.objects.values_list("outcome", flat=True)) == {"invalid"}


def test_notify_for_a_disabled_channel_is_channel_unavailable(client):
    response = client.post("/api/v1/wallet/notify/paypal/", b"{}", content_type="application/json")
    assert_api_error(response, 400, "channel_unavailable")


def test_failed_then_succeeded_credits_once(user, user_client, client):
    top_up = TopUp.objects.get(pk=_create(user_client)["id"])
    assert notify(client, _body(top_up, event="payment.failed")).status_code == 200
    top_up.refresh_from_db()
    assert top_up.status == "failed"
    assert notify(client, _body(top_up, event="payment.succeeded")).status_code == 200
    top_up.refresh_from_db()
    assert top_up.status == "paid" and _balance(user) == Decimal("10.00")
    assert wallet_audit() == []


def test_a_late_failed_after_succeeded_changes_nothing(user, user_client, client):
    top_up = TopUp.objects.get(pk=_create(user_client)["id"])
    assert notify(client, _body(top_up, event="payment.succeeded")).status_code == 200
    assert notify(client, _body(top_up, event="payment.failed")).status_code == 200
    top_up.refresh_from_db()
    assert top_up.status == "paid" and _balance(user) == Decimal("10.00")
    assert PaymentNotification.objects.order_by("-pk").first().outcome == NotificationOutcome.IGNORED


def test_a_late_notification_for_a_closed_order_that_was_paid_is_credited(user, user_client, client):
    top_up = TopUp.objects.get(pk=_create(user_client)["id"])
    TopUp.objects.filter(pk=top_up.pk).update(status="closed")
    assert notify(client, _body(top_up)).status_code == 200
    top_up.refresh_from_db()
    assert top_up.status == "paid" and _balance(user) == Decimal("10.00")


def test_a_second_payment_under_another_trade_number_is_a_mismatch_for_staff(user, user_client, client):
    top_up = TopUp.objects.get(pk=_create(user_client)["id"])
    assert notify(client, _body(top_up, trade_no="SBX-A")).status_code == 200
    assert_api_error(notify(client, _body(top_up, trade_no="SBX-B")), 400, "notification_mismatch")
    assert _balance(user) == Decimal("10.00")


def test_a_paid_top_up_is_credited_even_above_max_balance(user, user_client, client, settings):
    """The limit is checked with pending top-ups counted when ordering; paid money is never dropped."""
    settings.WALLET_MAX_BALANCE = "20.00"
    top_up = TopUp.objects.get(pk=_create(user_client, "20.00")["id"])
    settings.WALLET_MAX_BALANCE = "10.00"  # lowered meanwhile
    assert notify(client, _body(top_up)).status_code == 200
    assert _balance(user) == Decimal("20.00")


def test_a_notification_costs_at_most_8_statements(user, user_client, client, django_assert_max_num_queries):
    top_up = TopUp.objects.get(pk=_create(user_client)["id"])
    body = _body(top_up)
    with django_assert_max_num_queries(8):
        assert notify(client, body).status_code == 200
    with django_assert_max_num_queries(8):
        assert notify(client, body).status_code == 200  # the duplicate
    assert _balance(user) == Decimal("10.00")


def test_get_wallet_costs_at_most_two_queries_and_shows_frozen(user, user_client, django_assert_max_num_queries):
    fund(user, "22.5")
    with django_assert_max_num_queries(2):
        body = user_client.get("/api/v1/wallet/").json()
    assert (body["balance"], body["frozen"], body["max_balance"]) == ("22.50", "0.00", "5000.00")


# --- Active query and wallet_sync ---------------------------------------------------------


def test_an_active_query_credits_a_paid_top_up_without_a_notification(user, user_client):
    body = _create(user_client)
    trade = SandboxTrade.objects.get(out_trade_no=body["id"])
    assert sandbox_checkout(token=trade.token, succeed=True) is not None  # the notification is "lost"
    assert user_client.get(f"{TOP_UPS}{body['id']}/").json()["status"] == "paid"
    assert _balance(user) == Decimal("10.00")
    assert not PaymentNotification.objects.exists()
    assert wallet_audit() == []


def test_wallet_sync_credits_a_late_paid_top_up_and_closes_an_expired_one(user):
    with time_machine.travel(NOW, tick=False) as traveller:
        paid = top_up_create(user=user, amount=Decimal("5"), channel="sandbox").top_up
        expired = top_up_create(user=user, amount=Decimal("7"), channel="sandbox").top_up
        trade = SandboxTrade.objects.get(out_trade_no=paid.id)
        sandbox_checkout(token=trade.token, succeed=True)  # paid, notification lost
        traveller.shift(datetime.timedelta(seconds=61))
        report = top_ups_sync()
        assert (report.queried, report.credited, report.closed) == (2, 1, 0)
        traveller.shift(datetime.timedelta(seconds=1800))
        call_command("wallet_sync")
    expired.refresh_from_db()
    paid.refresh_from_db()
    assert (paid.status, expired.status) == ("paid", "closed")
    assert SandboxTrade.objects.get(out_trade_no=expired.id).state == "closed"
    assert _balance(user) == Decimal("5.00")
    assert wallet_audit() == []


def test_wallet_sync_leaves_fresh_top_ups_alone(user):
    with time_machine.travel(NOW, tick=False):
        top_up_create(user=user, amount=Decimal("5"), channel="sandbox")
        assert top_ups_sync().queried == 0


def test_the_checkout_refuses_to_pay_an_expired_trade(user, client):
    with time_machine.travel(NOW, tick=False) as traveller:
        top_up = top_up_create(user=user, amount=Decimal("5"), channel="sandbox").top_up
        traveller.shift(datetime.timedelta(seconds=1801))
        trade = SandboxTrade.objects.get(out_trade_no=top_up.id)
        assert sandbox_checkout(token=trade.token, succeed=True) is None


def test_the_checkout_page_of_an_unknown_token_is_404(client):
    assert client.get("/wallet/sandbox/not-a-token/").status_code == 404


def test_deploy_check_warns_when_the_sandbox_is_enabled(settings):
    from wallet.checks import sandbox_enabled_check

    assert [w.id for w in sandbox_enabled_check(None)] == ["wallet.W001"]
    settings.WALLET_CHANNELS = ""
    assert sandbox_enabled_check(None) == []


@override_settings(WALLET_SANDBOX_SECRET="another-secret")
def test_the_sandbox_signs_with_the_configured_secret(user):
    top_up = top_up_create(user=user, amount=Decimal("3"), channel="sandbox").top_up
    sandbox_pay(top_up)
    assert _balance(user) == Decimal("3.00")
    assert JournalEntry.objects.filter(kind=EntryKind.TOP_UP, reference=top_up.id).count() == 1
