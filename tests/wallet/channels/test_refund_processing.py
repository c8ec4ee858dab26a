"""Top-up refunds the channel is still processing: frozen until wallet_sync or a refund notification settles them.

WeChat Pay answers a refund ``PROCESSING`` and decides later (``SUCCESS``,
``CLOSED``, ``ABNORMAL``); a refund call can also time out without a readable
answer. Either way the amount stays frozen — neither spendable nor gone —
until the channel's own answer arrives, through ``wallet_sync``
(``refund_query``) or a refund notification, whichever comes first, once.
Everything runs through the real adapters against the local stand-ins (RSA
keys made in the tests), never a mock of the SDK.
"""

from __future__ import annotations

import datetime
import functools
import threading
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from tests.factories import UserFactory
from tests.wallet.channels import test_alipay as alipay_tests
from tests.wallet.channels.test_wechatpay import (
    MCH_ID,
    NOW,
    PUBLIC_KEY_ID,
    notification_body,
    payment,
    platform_headers,
    wechatpay_configure,
)
from wallet.channels.base import RefundState
from wallet.channels.sandbox import SandboxChannel
from wallet.models import (
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    PaymentNotification,
    SandboxRefund,
    TopUp,
    TopUpRefund,
)
from wallet.selectors import wallet_audit
from wallet.services import (
    notification_receive,
    top_up_create,
    top_up_refund,
    top_up_refunds_sync,
    wallet_get,
)

pytestmark = pytest.mark.django_db

TRADE = "4200000000202612010000000077"
REFUNDS = "/v3/refund/domestic/refunds"
NOTIFY = "/api/v1/wallet/notify/wechatpay/"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def api(settings, stand_in, merchant_key, provider_key, clock):
    settings.WALLET_CHANNELS = ["sandbox", "wechatpay", "alipay"]
    settings.WALLET_QUERY_AFTER = 60
    return wechatpay_configure(settings, stand_in, merchant_key, provider_key)


def post_notification(provider_key, body: bytes):
    headers = platform_headers(provider_key, PUBLIC_KEY_ID, body)
    return Client().post(NOTIFY, body, content_type="application/json", headers=headers)


def paid_top_up(api, provider_key) -> TopUp:
    """A 10.00 WeChat Pay top-up, paid and credited by its signed notification."""
    api.routes[("POST", "/v3/pay/transactions/native")] = (200, {"code_url": "weixin://wxpay/bizpayurl?pr=x"})
    top_up = top_up_create(user=UserFactory(), amount=Decimal("10.00"), channel="wechatpay", method="native").top_up
    response = post_notification(provider_key, notification_body(payment(out_trade_no=top_up.id, transaction_id=TRADE)))
    assert response.status_code == 200
    top_up.refresh_from_db()
    assert top_up.status == "paid"
    return top_up


def processing_refund(api, top_up: TopUp, staff, amount: str = "4.00") -> TopUpRefund:
    api.routes[("POST", REFUNDS)] = (200, {"refund_id": "50000000382019052709732678859", "status": "PROCESSING"})
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal(amount), reason="用户申请")
    assert refund.status == "pending"
    return refund


def refund_resource(top_up: TopUp, refund: TopUpRefund, *, status: str = "SUCCESS", fen: int = 400) -> dict:
    return {
        "mchid": MCH_ID,
        "out_trade_no": top_up.id,
        "transaction_id": TRADE,
        "out_refund_no": refund.id,
        "refund_id": "50000000382019052709732678859",
        "refund_status": status,
        "success_time": "2026-12-01T23:59:25+08:00",
        "user_received_account": "招商银行信用卡0403",
        "amount": {"total": 1000, "refund": fen, "payer_total": 1000, "payer_refund": fen},
    }


def balances(top_up: TopUp) -> tuple[Decimal, Decimal]:
    state = wallet_get(user=top_up.user)
    return state.balance, state.frozen


def settled_entries(refund: TopUpRefund) -> list[str]:
    return sorted(JournalEntry.objects.filter(reference=refund.id).values_list("kind", flat=True))


def refund_queries(api) -> list[dict]:
    return [call for call in api.calls if call["method"] == "GET" and call["route"].startswith(REFUNDS + "/")]


# --- wallet_sync asks the channel -------------------------------------------------------------------


def test_a_processing_refund_stays_frozen_until_wallet_sync_finds_it_succeeded(api, provider_key, staff, clock):
    top_up = paid_top_up(api, provider_key)
    refund = processing_refund(api, top_up, staff)
    assert refund.channel_refund_id == "50000000382019052709732678859"
    assert balances(top_up) == (Decimal("6.00"), Decimal("4.00"))

    call_command("wallet_sync")  # too young: it may still be on its way, nobody asks yet
    assert refund_queries(api) == []

    clock.shift(61)
    api.routes[("GET", f"{REFUNDS}/{refund.id}")] = (200, {"refund_id": "5", "status": "PROCESSING"})
    assert top_up_refunds_sync().queried == 1
    refund.refresh_from_db()
    assert refund.status == "pending" and balances(top_up) == (Decimal("6.00"), Decimal("4.00"))
    assert top_up_refunds_sync().queried == 0  # asked a moment ago: not again before WALLET_QUERY_AFTER

    clock.shift(61)
    api.routes[("GET", f"{REFUNDS}/{refund.id}")] = (200, {"refund_id": "5", "status": "SUCCESS"})
    call_command("wallet_sync")
    (first, second) = refund_queries(api)
    assert first["verified"] and second["route"] == f"{REFUNDS}/{refund.id}"
    refund.refresh_from_db()
    top_up.refresh_from_db()
    assert (refund.status, refund.finished_at is not None) == ("succeeded", True)
    assert (top_up.status, top_up.refunded_amount) == ("partially_refunded", Decimal("4.00"))
    assert balances(top_up) == (Decimal("6.00"), Decimal("0.00"))
    assert settled_entries(refund) == [EntryKind.TOP_UP_REFUND_SETTLED]
    clearing = LedgerAccount.objects.get(key="channel:wechatpay")  # untracked: its balance is its lines' sum
    assert sum(clearing.lines.values_list("amount", flat=True)) == Decimal("-6.00")  # 10 in, 4 back out
    assert wallet_audit() == []

    clock.shift(61)
    call_command("wallet_sync")  # settled: never asked again
    assert len(refund_queries(api)) == 2


@pytest.mark.parametrize("status", ["CLOSED", "ABNORMAL"])
def test_a_processing_refund_the_channel_then_closes_goes_back_into_the_wallet(api, provider_key, staff, clock, status):
    top_up = paid_top_up(api, provider_key)
    refund = processing_refund(api, top_up, staff)
    clock.shift(61)
    api.routes[("GET", f"{REFUNDS}/{refund.id}")] = (200, {"refund_id": "5", "status": status})
    report = top_up_refunds_sync()
    assert (report.queried, report.succeeded, report.failed) == (1, 0, 1)
    refund.refresh_from_db()
    top_up.refresh_from_db()
    assert refund.status == "failed" and status in refund.error
    assert (top_up.status, top_up.refunded_amount) == ("paid", Decimal("0.00"))
    assert balances(top_up) == (Decimal("10.00"), Decimal("0.00"))
    frozen = LedgerAccount.objects.get(user=top_up.user, kind=AccountKind.FROZEN)
    assert list(frozen.lines.order_by("seq").values_list("amount", flat=True)) == [Decimal("4.00"), Decimal("-4.00")]
    assert wallet_audit() == []


@pytest.mark.parametrize(
    ("query", "outcome", "wallet"),
    [
        ((200, {"refund_id": "5", "status": "SUCCESS"}), "succeeded", Decimal("6.00")),  # it went through after all
        (
            (404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}),
            "failed",
            Decimal("10.00"),
        ),  # never arrived
    ],
)
def test_a_refund_call_without_a_readable_answer_stays_frozen_and_the_channels_answer_decides(
    api, provider_key, staff, clock, query, outcome, wallet
):
    top_up = paid_top_up(api, provider_key)
    api.routes[("POST", REFUNDS)] = (500, {"code": "SYSTEM_ERROR", "message": "系统繁忙"})
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("4.00"), reason="用户申请")
    # Putting it back now could pay it out twice (the channel may have made it): it stays frozen.
    assert refund.status == "pending" and "500" in refund.error
    assert balances(top_up) == (Decimal("6.00"), Decimal("4.00"))
    clock.shift(61)
    api.routes[("GET", f"{REFUNDS}/{refund.id}")] = query
    top_up_refunds_sync()
    refund.refresh_from_db()
    assert refund.status == outcome
    assert balances(top_up) == (wallet, Decimal("0.00"))
    assert wallet_audit() == []


def test_a_refund_the_channel_reports_processing_after_a_lost_answer_is_only_asked_about(
    api, provider_key, staff, clock
):
    top_up = paid_top_up(api, provider_key)
    api.routes[("POST", REFUNDS)] = (502, {"code": "SYSTEM_ERROR", "message": "系统繁忙"})
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("4.00"), reason="用户申请")
    assert refund.status == "pending" and refund.error
    posts = sum(1 for call in api.calls if call["route"] == REFUNDS)
    for _ in range(2):
        clock.shift(61)
        api.routes[("GET", f"{REFUNDS}/{refund.id}")] = (200, {"refund_id": "5001", "status": "PROCESSING"})
        top_up_refunds_sync()
    refund.refresh_from_db()
    assert (refund.status, refund.channel_refund_id, refund.error) == ("pending", "5001", "")
    assert sum(1 for call in api.calls if call["route"] == REFUNDS) == posts  # never sent twice
    assert len(refund_queries(api)) == 2


def test_a_channel_that_cannot_be_asked_leaves_the_refund_frozen_for_the_next_run(api, provider_key, staff, clock):
    top_up = paid_top_up(api, provider_key)
    refund = processing_refund(api, top_up, staff)
    clock.shift(61)
    api.routes[("GET", f"{REFUNDS}/{refund.id}")] = (503, {"code": "SYSTEM_ERROR", "message": "系统繁忙"})
    assert top_up_refunds_sync().queried == 1
    refund.refresh_from_db()
    assert refund.status == "pending" and balances(top_up) == (Decimal("6.00"), Decimal("4.00"))
    clock.shift(61)
    api.routes[("GET", f"{REFUNDS}/{refund.id}")] = (200, {"refund_id": "5", "status": "SUCCESS"})
    assert top_up_refunds_sync().succeeded == 1


# --- refund notifications -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "status", "outcome", "wallet"),
    [
        ("REFUND.SUCCESS", "SUCCESS", "succeeded", Decimal("6.00")),
        ("REFUND.ABNORMAL", "ABNORMAL", "failed", Decimal("10.00")),
        ("REFUND.CLOSED", "CLOSED", "failed", Decimal("10.00")),
    ],
)
def test_a_refund_notification_settles_a_processing_refund_exactly_once(
    api, provider_key, staff, clock, event, status, outcome, wallet
):
    top_up = paid_top_up(api, provider_key)
    refund = processing_refund(api, top_up, staff)
    body = notification_body(refund_resource(top_up, refund, status=status), event=event)
    for _ in range(3):  # WeChat Pay retries until it hears success
        response = post_notification(provider_key, body)
        assert (response.status_code, response.json()["code"]) == (200, "SUCCESS")
    refund.refresh_from_db()
    assert refund.status == outcome
    assert balances(top_up) == (wallet, Decimal("0.00"))
    assert len(settled_entries(refund)) == 1
    stored = PaymentNotification.objects.filter(event=f"{event}:{refund.id}").order_by("pk")
    assert list(stored.values_list("outcome", flat=True)) == ["applied", "duplicate", "duplicate"]
    assert all(n.top_up_id == top_up.pk and n.verified for n in stored)

    clock.shift(61)
    top_up_refunds_sync()  # settled already: the channel is not asked
    assert refund_queries(api) == []
    assert wallet_audit() == []


def test_a_refund_notification_for_another_amount_is_a_mismatch_and_moves_nothing(api, provider_key, staff):
    top_up = paid_top_up(api, provider_key)
    refund = processing_refund(api, top_up, staff)
    response = post_notification(
        provider_key, notification_body(refund_resource(top_up, refund, fen=300), event="REFUND.SUCCESS")
    )
    assert response.status_code == 500 and response.json()["code"] == "FAIL"  # WeChat Pay retries; staff look
    refund.refresh_from_db()
    assert refund.status == "pending" and balances(top_up) == (Decimal("6.00"), Decimal("4.00"))
    stored = PaymentNotification.objects.get(event=f"REFUND.SUCCESS:{refund.id}")
    assert stored.outcome == "mismatch" and "3.00" in stored.error


def test_a_refund_notification_for_a_refund_we_did_not_make_changes_nothing(api, provider_key, staff):
    top_up = paid_top_up(api, provider_key)
    refund = processing_refund(api, top_up, staff)
    resource = {**refund_resource(top_up, refund), "out_refund_no": "CONSOLE-1"}  # made in the merchant console
    response = post_notification(provider_key, notification_body(resource, event="REFUND.SUCCESS"))
    assert response.status_code == 200
    refund.refresh_from_db()
    assert refund.status == "pending"
    assert PaymentNotification.objects.get(event="REFUND.SUCCESS:CONSOLE-1").outcome == "ignored"
    assert wallet_audit() == []


def test_a_late_notification_contradicting_a_settled_refund_is_kept_for_staff_and_moves_nothing(
    api, provider_key, staff, clock
):
    top_up = paid_top_up(api, provider_key)
    refund = processing_refund(api, top_up, staff)
    clock.shift(61)
    api.routes[("GET", f"{REFUNDS}/{refund.id}")] = (200, {"refund_id": "5", "status": "SUCCESS"})
    top_up_refunds_sync()
    body = notification_body(refund_resource(top_up, refund, status="ABNORMAL"), event="REFUND.ABNORMAL")
    assert post_notification(provider_key, body).status_code == 200
    refund.refresh_from_db()
    assert refund.status == "succeeded" and balances(top_up) == (Decimal("6.00"), Decimal("0.00"))
    stored = PaymentNotification.objects.get(event=f"REFUND.ABNORMAL:{refund.id}")
    assert stored.outcome == "ignored" and "succeeded here" in stored.error
    assert wallet_audit() == []


def test_a_forged_refund_notification_is_refused(api, provider_key, stranger_key, staff):
    top_up = paid_top_up(api, provider_key)
    refund = processing_refund(api, top_up, staff)
    body = notification_body(refund_resource(top_up, refund), event="REFUND.SUCCESS")
    response = post_notification(stranger_key, body)
    assert response.status_code == 500
    refund.refresh_from_db()
    assert refund.status == "pending"
    assert PaymentNotification.objects.filter(outcome="signature_invalid").count() == 1


# --- Alipay and the sandbox -------------------------------------------------------------------------


@pytest.fixture
def gateway(settings, stand_in, merchant_key, provider_key, clock):
    settings.WALLET_CHANNELS = ["sandbox", "alipay"]
    settings.WALLET_QUERY_AFTER = 60
    settings.ALIPAY_APP_ID = alipay_tests.APP_ID
    settings.ALIPAY_APP_PRIVATE_KEY = merchant_key.private_pem
    settings.ALIPAY_PUBLIC_KEY = provider_key.public_pem
    settings.ALIPAY_SELLER_ID = ""
    settings.ALIPAY_GATEWAY = f"{stand_in.url}/gateway.do"
    settings.WALLET_PUBLIC_URL = "https://accounts.example.com"
    return alipay_tests.AlipayGateway(stand_in, merchant_key, provider_key)


def alipay_paid(provider_key) -> tuple[TopUp, dict]:
    top_up = top_up_create(user=UserFactory(), amount=Decimal("10.00"), channel="alipay").top_up
    fields = alipay_tests.notification(provider_key, out_trade_no=top_up.id)
    notification_receive(channel="alipay", headers=alipay_tests.HEADERS, body=alipay_tests.form(fields))
    top_up.refresh_from_db()
    assert top_up.status == "paid"
    return top_up, fields


def test_alipay_a_refund_without_an_answer_is_settled_by_the_fastpay_refund_query(gateway, provider_key, staff, clock):
    top_up, fields = alipay_paid(provider_key)
    gateway.answers["alipay.trade.refund"] = alipay_tests.business_failure("ACQ.SYSTEM_ERROR")  # retry later
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("4.00"), reason="用户申请")
    assert refund.status == "pending" and balances(top_up) == (Decimal("6.00"), Decimal("4.00"))

    clock.shift(61)
    # Alipay has no data for it yet: not made (yet), nothing is assumed.
    gateway.answers["alipay.trade.fastpay.refund.query"] = alipay_tests.success(out_request_no=refund.id)
    top_up_refunds_sync()
    refund.refresh_from_db()
    assert refund.status == "pending"

    clock.shift(61)
    gateway.answers["alipay.trade.fastpay.refund.query"] = alipay_tests.success(
        trade_no=fields["trade_no"], out_request_no=refund.id, refund_amount="4.00", refund_status="REFUND_SUCCESS"
    )
    assert top_up_refunds_sync().succeeded == 1
    queries = [c for c in gateway.calls if c["params"]["method"] == "alipay.trade.fastpay.refund.query"]
    assert [q["biz"] for q in queries] == [{"out_trade_no": top_up.id, "out_request_no": refund.id}] * 2
    assert all(q["verified"] for q in queries)
    refund.refresh_from_db()
    assert refund.status == "succeeded" and balances(top_up) == (Decimal("6.00"), Decimal("0.00"))
    assert wallet_audit() == []


def test_alipay_a_refund_it_never_got_is_sent_again_under_the_same_number(gateway, provider_key, staff, clock):
    top_up, fields = alipay_paid(provider_key)
    gateway.answers["alipay.trade.refund"] = alipay_tests.business_failure("ACQ.SYSTEM_ERROR")
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("4.00"), reason="用户申请")
    assert refund.status == "pending"
    clock.shift(61)
    # Alipay: "no data" means not made; the documented remedy is the same call with the same out_request_no.
    gateway.answers["alipay.trade.fastpay.refund.query"] = alipay_tests.success(out_request_no=refund.id)
    gateway.answers["alipay.trade.refund"] = alipay_tests.success(trade_no=fields["trade_no"], fund_change="Y")
    assert top_up_refunds_sync().succeeded == 1
    methods = [c["params"]["method"] for c in gateway.calls[-2:]]
    assert methods == ["alipay.trade.fastpay.refund.query", "alipay.trade.refund"]
    refunds = [c["biz"] for c in gateway.calls if c["params"]["method"] == "alipay.trade.refund"]
    assert refunds[0] == refunds[1] and refunds[1]["out_request_no"] == refund.id  # the same request again
    refund.refresh_from_db()
    assert refund.status == "succeeded" and balances(top_up) == (Decimal("6.00"), Decimal("0.00"))
    assert wallet_audit() == []


def test_alipay_a_refund_notification_settles_a_pending_refund_once(gateway, provider_key, staff):
    top_up, fields = alipay_paid(provider_key)
    gateway.answers["alipay.trade.refund"] = alipay_tests.business_failure("ACQ.SYSTEM_ERROR")
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("4.00"), reason="用户申请")
    notice = alipay_tests.notification(
        provider_key,
        out_trade_no=top_up.id,
        trade_no=fields["trade_no"],
        out_biz_no=refund.id,
        refund_fee="4.00",
        gmt_refund="2026-12-01 23:59:25.000",
    )
    for _ in range(2):
        answer = notification_receive(channel="alipay", headers=alipay_tests.HEADERS, body=alipay_tests.form(notice))
        assert answer.body == b"success"
    refund.refresh_from_db()
    assert refund.status == "succeeded" and balances(top_up) == (Decimal("6.00"), Decimal("0.00"))
    assert len(settled_entries(refund)) == 1
    assert wallet_audit() == []


def test_sandbox_refund_query_reads_its_own_books(staff, clock, monkeypatch, settings):
    from tests.wallet.conftest import fund

    settings.WALLET_QUERY_AFTER = 60
    top_up = fund(UserFactory(), "10.00")
    done = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("3.00"), reason="r")
    channel = SandboxChannel()
    assert channel.refund_query(top_up_id=top_up.id, refund_id=done.id).state == RefundState.SUCCEEDED
    assert channel.refund_query(top_up_id=top_up.id, refund_id="R-NONE").state == RefundState.FAILED

    # A refund whose call never reached the sandbox (lost on the way): its books have none, so back it goes.
    from wallet.channels.base import ChannelError

    def lost(self, **kwargs):
        raise ChannelError("connection reset")

    monkeypatch.setattr(SandboxChannel, "refund", lost)
    lost_refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("2.00"), reason="r")
    assert lost_refund.status == "pending"
    monkeypatch.undo()
    clock.shift(datetime.timedelta(seconds=61))
    assert top_up_refunds_sync().failed == 1
    lost_refund.refresh_from_db()
    assert lost_refund.status == "failed" and not SandboxRefund.objects.filter(out_refund_no=lost_refund.id).exists()
    assert balances(top_up) == (Decimal("7.00"), Decimal("0.00"))
    assert wallet_audit() == []


# --- the race: a refund notification and wallet_sync at the same moment (PostgreSQL, real threads) ---


def _next_job(jobs: list, lock: threading.Lock):
    with lock:
        job = jobs.pop()
    return job()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_refund_notification_racing_wallet_sync_settles_the_refund_once(api, provider_key, staff, clock):
    from tests.wallet.test_concurrency import run_parallel

    top_up = paid_top_up(api, provider_key)
    for _round in range(3):  # one race per refund: 4 notifications (WeChat Pay retries) against 4 hosts' wallet_sync
        refund = processing_refund(api, top_up, staff, amount="1.00")
        clock.shift(61)
        api.routes[("GET", f"{REFUNDS}/{refund.id}")] = (200, {"refund_id": "5", "status": "SUCCESS"})
        body = notification_body(refund_resource(top_up, refund, fen=100), event="REFUND.SUCCESS")
        jobs = [functools.partial(post_notification, provider_key, body), top_up_refunds_sync] * 4
        outcomes = run_parallel(8, functools.partial(_next_job, jobs, threading.Lock()))
        reports = [o for o in outcomes if hasattr(o, "queried")]
        assert [o.status_code for o in outcomes if o not in reports] == [200] * 4
        assert sum(report.queried for report in reports) <= 1  # SKIP LOCKED + queried_at: at most one host asks
        refund.refresh_from_db()
        assert refund.status == "succeeded"
        assert settled_entries(refund) == [EntryKind.TOP_UP_REFUND_SETTLED]
        stored = PaymentNotification.objects.filter(event=f"REFUND.SUCCESS:{refund.id}")
        assert stored.count() == 4 and stored.filter(outcome="applied").count() <= 1
    top_up.refresh_from_db()
    assert (top_up.status, top_up.refunded_amount) == ("partially_refunded", Decimal("3.00"))
    assert balances(top_up) == (Decimal("7.00"), Decimal("0.00"))
    assert wallet_audit() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_wallet_sync_on_several_hosts_at_once_asks_about_each_refund_once(api, provider_key, staff, clock):
    from tests.wallet.test_concurrency import run_parallel

    top_up = paid_top_up(api, provider_key)
    refunds = [processing_refund(api, top_up, staff, amount="1.00") for _ in range(6)]
    clock.shift(61)
    for refund in refunds:
        api.routes[("GET", f"{REFUNDS}/{refund.id}")] = (200, {"refund_id": "5", "status": "SUCCESS"})
    reports = run_parallel(4, top_up_refunds_sync)
    assert sum(report.queried for report in reports) == 6
    assert sum(report.succeeded for report in reports) == 6
    assert sorted(call["route"] for call in refund_queries(api)) == sorted(f"{REFUNDS}/{r.id}" for r in refunds)
    assert balances(top_up) == (Decimal("4.00"), Decimal("0.00"))
    assert wallet_audit() == []


# --- staff asking now (admin) ------------------------------------------------------------------------


def test_staff_can_ask_the_channel_now_from_the_admin_but_not_too_early(staff, clock, monkeypatch, client):
    from django.contrib.messages import get_messages

    from tests.wallet.conftest import fund
    from wallet.channels.base import ChannelError
    from wallet.errors import WalletPermissionDenied
    from wallet.services import top_up_refund_check

    top_up = fund(UserFactory(), "10.00")

    def lost(self, **kwargs):
        raise ChannelError("read timed out")

    monkeypatch.setattr(SandboxChannel, "refund", lost)
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("2.00"), reason="r")
    monkeypatch.undo()
    assert refund.status == "pending"
    client.force_login(staff)
    changelist = "/admin/wallet/topuprefund/"
    ask = {"action": "ask_the_channel", "_selected_action": [refund.id]}

    response = client.post(changelist, ask, headers={"Accept-Language": "en"})
    assert response.status_code == 302
    assert "ask again in a minute" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    response = client.post(changelist, ask)  # zh-hans, the default
    assert "请一分钟后再查询。" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    refund.refresh_from_db()
    assert refund.status == "pending"

    clock.shift(61)
    response = client.post(changelist, ask)
    refund.refresh_from_db()
    assert refund.status == "failed" and refund.queried_at is not None  # the sandbox never got it: back
    assert balances(top_up) == (Decimal("10.00"), Decimal("0.00"))
    assert wallet_audit() == []

    viewer = UserFactory(is_staff=True)
    with pytest.raises(WalletPermissionDenied):
        top_up_refund_check(actor=viewer, refund_id=refund.id)
    with pytest.raises(WalletPermissionDenied):
        top_up_refund_check(actor=top_up.user, refund_id=refund.id)
    assert "ask_the_channel" in client.get(changelist).content.decode()
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_topuprefund"))
    client.force_login(viewer)
    page = client.get(changelist)
    assert page.status_code == 200 and "ask_the_channel" not in page.content.decode()
