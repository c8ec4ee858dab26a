"""``wallet_reconcile``: a channel's daily bill against our top-ups and refunds, every mismatch stored.

The sandbox's bill comes from its own books (SandboxTrade / SandboxRefund),
which these tests edit the way a real provider's records can differ from
ours; WeChat Pay's comes from the local stand-in, through the real adapter.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from tests.wallet.channels import test_alipay as alipay_tests
from tests.wallet.channels.test_wechatpay import (
    PUBLIC_KEY_ID,
    bill_file,
    bill_row,
    notification_body,
    payment,
    platform_headers,
    wechatpay_configure,
)
from tests.wallet.conftest import fund
from wallet.channels.sandbox import sandbox_checkout
from wallet.models import (
    MismatchKind,
    ReconciliationMismatch,
    ReconciliationRun,
    RunStatus,
    SandboxRefund,
    SandboxTrade,
    TopUpRefund,
)
from wallet.reconciliation import ReconciliationBusy, reconciliation_run
from wallet.services import notification_receive, top_up_create, top_up_refund

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime.date(2026, 12, 1)
# Late in the day on purpose: UTC is still on the same date, Shanghai about to leave it.
LATE = datetime.datetime(2026, 12, 1, 23, 50, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def late_in_the_day():
    with time_machine.travel(LATE, tick=False):
        yield


def reconcile(channel: str = "sandbox", date: str = DAY.isoformat()) -> tuple[int, str, str]:
    """Run the command as cron would; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("wallet_reconcile", "--channel", channel, "--date", date, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def kinds(run: ReconciliationRun) -> set[tuple[str, str, str, str]]:
    return {(m.kind, m.record, m.top_up_id, m.refund_id) for m in run.mismatches.all()}


def test_a_day_that_matches_is_clean_and_exits_0(staff):
    user = UserFactory()
    first, _second = fund(user, "10.00"), fund(user, "20.00")
    top_up_refund(actor=staff, top_up_id=first.id, amount=Decimal("4.00"), reason="用户申请")
    code, out, _err = reconcile()
    assert code == 0 and "no mismatch" in out
    run = ReconciliationRun.objects.get()
    assert (run.channel, run.date, run.status, run.bill_lines, run.mismatch_count) == (
        "sandbox",
        DAY,
        RunStatus.CLEAN,
        3,
        0,
    )
    assert run.finished_at is not None


@pytest.mark.parametrize("batch", [500, 2])
def test_every_kind_of_mismatch_is_found_stored_and_exits_1(staff, monkeypatch, batch):
    monkeypatch.setattr("wallet.reconciliation.BATCH", batch)  # batches of 2: the same findings
    user = UserFactory()
    matching = fund(user, "10.00")
    # The channel settled 19.00 where we credited 20.00.
    wrong_amount = fund(user, "20.00")
    SandboxTrade.objects.filter(out_trade_no=wrong_amount.id).update(amount=Decimal("19.00"))
    # Paid at the channel, but its notification never arrived: still pending here.
    unnotified = top_up_create(user=user, amount=Decimal("30.00"), channel="sandbox").top_up
    assert sandbox_checkout(token=SandboxTrade.objects.get(out_trade_no=unnotified.id).token, succeed=True)
    # The channel's books put this payment on another day.
    elsewhere = fund(user, "5.00")
    SandboxTrade.objects.filter(out_trade_no=elsewhere.id).update(paid_at=timezone.now() - datetime.timedelta(days=1))
    # A payment the channel has and we do not.
    SandboxTrade.objects.create(
        trade_no="SBX-NOT-OURS",
        out_trade_no="T-NOT-OURS",
        amount=Decimal("7.00"),
        currency="CNY",
        expires_at=timezone.now(),
        state="succeeded",
        paid_at=timezone.now(),
    )
    # Refunds: one that matches, one the bill puts on another day, one for another amount, one not ours.
    top_up_refund(actor=staff, top_up_id=matching.id, amount=Decimal("3.00"), reason="r")
    refund_elsewhere = top_up_refund(actor=staff, top_up_id=elsewhere.id, amount=Decimal("2.00"), reason="r")
    SandboxRefund.objects.filter(out_refund_no=refund_elsewhere.id).update(
        created_at=timezone.now() + datetime.timedelta(days=1)
    )
    other = fund(user, "8.00")
    refund_amount = top_up_refund(actor=staff, top_up_id=other.id, amount=Decimal("3.00"), reason="r")
    SandboxRefund.objects.filter(out_refund_no=refund_amount.id).update(amount=Decimal("2.50"))
    SandboxRefund.objects.create(
        trade=SandboxTrade.objects.get(out_trade_no=matching.id),
        out_refund_no="R-NOT-OURS",
        refund_no="SBXR-NOT-OURS",
        amount=Decimal("1.00"),
        state="succeeded",
    )
    assert TopUpRefund.objects.filter(status="succeeded").count() == 3

    code, _out, err = reconcile()

    assert code == 1 and "7 mismatch(es)" in err
    run = ReconciliationRun.objects.get()
    assert (run.status, run.mismatch_count) == (RunStatus.MISMATCHED, 7)
    assert kinds(run) == {
        (MismatchKind.AMOUNT, "payment", wrong_amount.id, ""),
        (MismatchKind.STATUS, "payment", unnotified.id, ""),
        (MismatchKind.MISSING_THERE, "payment", elsewhere.id, ""),
        (MismatchKind.MISSING_HERE, "payment", "T-NOT-OURS", ""),
        (MismatchKind.MISSING_THERE, "refund", elsewhere.id, refund_elsewhere.id),
        (MismatchKind.AMOUNT, "refund", other.id, refund_amount.id),
        (MismatchKind.MISSING_HERE, "refund", matching.id, "R-NOT-OURS"),
    }
    amount = run.mismatches.get(kind=MismatchKind.AMOUNT, record="payment")
    assert (amount.our_amount, amount.their_amount) == (Decimal("20.00"), Decimal("19.00"))
    status = run.mismatches.get(kind=MismatchKind.STATUS)
    assert (status.our_status, status.their_status, status.trade_no) == (
        "pending",
        "succeeded",
        SandboxTrade.objects.get(out_trade_no=unnotified.id).trade_no,
    )
    for mismatch in run.mismatches.all():
        assert str(mismatch) in err  # each one is named on stderr for the cron mail


def test_a_day_without_trades_on_either_side_is_clean(staff):
    fund(UserFactory(), "10.00")
    assert reconcile(date="2026-11-30")[0] == 0  # nothing that day on either side
    assert ReconciliationRun.objects.get().bill_lines == 0


def test_only_one_run_per_channel_and_day_at_a_time_and_an_abandoned_one_is_failed():
    running = ReconciliationRun.objects.create(channel="sandbox", date=DAY, status=RunStatus.RUNNING)
    with pytest.raises(ReconciliationBusy):
        reconciliation_run(channel="sandbox", date=DAY)
    code, _out, err = reconcile()
    assert code == 1 and "already running" in err
    # Its process died two hours ago: the next run takes over.
    ReconciliationRun.objects.filter(pk=running.pk).update(started_at=timezone.now() - datetime.timedelta(hours=2))
    assert reconcile()[0] == 0
    running.refresh_from_db()
    assert running.status == RunStatus.FAILED and "abandoned" in running.error


def test_a_bill_that_cannot_be_had_fails_the_run_and_exits_1(settings, stand_in, merchant_key, provider_key):
    settings.WALLET_CHANNELS = ["sandbox", "wechatpay"]
    api = wechatpay_configure(settings, stand_in, merchant_key, provider_key)
    api.routes[("GET", "/v3/bill/tradebill")] = (500, {"code": "SYSTEM_ERROR", "message": "系统错误"})
    code, _out, err = reconcile("wechatpay")
    assert code == 1 and "could not be had" in err
    run = ReconciliationRun.objects.get()
    assert run.status == RunStatus.FAILED and "500" in run.error and run.finished_at is not None


def test_wechatpay_bill_through_the_stand_in_finds_amount_missing_here_and_status(
    settings, stand_in, merchant_key, provider_key, staff
):
    settings.WALLET_CHANNELS = ["sandbox", "wechatpay"]
    api = wechatpay_configure(settings, stand_in, merchant_key, provider_key)
    api.routes[("POST", "/v3/pay/transactions/native")] = (200, {"code_url": "weixin://wxpay/bizpayurl?pr=x"})
    user = UserFactory()
    top_up = top_up_create(user=user, amount=Decimal("10.00"), channel="wechatpay", method="native").top_up
    assert top_up.pay == {"code_url": "weixin://wxpay/bizpayurl?pr=x"}
    body = notification_body(
        payment(
            out_trade_no=top_up.id,
            transaction_id="4200000000202612019999999999",
            success_time="2026-12-01T23:49:00+08:00",
        )
    )
    notification_receive(channel="wechatpay", headers=platform_headers(provider_key, PUBLIC_KEY_ID, body), body=body)
    top_up.refresh_from_db()
    assert top_up.status == "paid"
    api.routes[("POST", "/v3/refund/domestic/refunds")] = (200, {"refund_id": "5000", "status": "SUCCESS"})
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("2.00"), reason="用户申请")
    assert refund.status == "succeeded"

    raw = bill_file(
        [
            bill_row("4200000000202612019999999999", top_up.id, "SUCCESS", "9.99"),
            bill_row("4200000000202612018888888888", "T-NOT-OURS", "SUCCESS", "1.00"),
            # WeChat Pay lists the refund we moved out as abnormal (the payer's card refused it).
            bill_row("4200000000202612019999999999", top_up.id, "REFUND", "0.00", refund.id, "2.00", "ABNORMAL"),
        ]
    )
    api.files["day"] = gzip.compress(raw)
    api.routes[("GET", "/v3/bill/tradebill")] = (
        200,
        {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(raw).hexdigest(),  # noqa: S324 - WeChat Pay's choice
            "download_url": f"{stand_in.url}/v3/billdownload/file?token=day",
        },
    )
    code, _out, _err = reconcile("wechatpay")
    assert code == 1
    run = ReconciliationRun.objects.get()
    assert kinds(run) == {
        (MismatchKind.AMOUNT, "payment", top_up.id, ""),
        (MismatchKind.MISSING_HERE, "payment", "T-NOT-OURS", ""),
        (MismatchKind.STATUS, "refund", top_up.id, refund.id),
    }
    status = run.mismatches.get(kind=MismatchKind.STATUS)
    assert (status.our_status, status.their_status) == ("succeeded", "abnormal")
    assert api.calls[-2]["query"]["bill_date"] == "2026-12-01"
    assert all(call["verified"] for call in api.calls)  # each signed with our merchant key


def test_the_date_defaults_to_yesterday_in_shanghai_and_must_be_a_date():
    # 01:00 on 2 December in Shanghai is 17:00 on 1 December in UTC, whose "yesterday" would be 30 November.
    with time_machine.travel(datetime.datetime(2026, 12, 2, 1, 0, tzinfo=SHANGHAI), tick=False):
        call_command("wallet_reconcile", "--channel", "sandbox", stdout=io.StringIO())
    assert ReconciliationRun.objects.get().date == DAY
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("wallet_reconcile", "--channel", "sandbox", "--date", "1 Dec", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not enabled"):
        call_command("wallet_reconcile", "--channel", "paypal", "--date", "2026-12-01", stdout=io.StringIO())


def test_staff_read_runs_and_their_mismatches_in_the_admin_and_change_nothing(client, staff):
    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="wallet", codename__in=["view_reconciliationrun", "view_reconciliationmismatch"]
        )
    )
    SandboxTrade.objects.create(
        trade_no="SBX-NOT-OURS",
        out_trade_no="T-NOT-OURS",
        amount=Decimal("7.00"),
        currency="CNY",
        expires_at=timezone.now(),
        state="succeeded",
        paid_at=timezone.now(),
    )
    reconcile()
    run = ReconciliationRun.objects.get()
    client.force_login(staff)
    listing = client.get(reverse("admin:wallet_reconciliationrun_changelist"))
    assert listing.status_code == 200 and "sandbox" in listing.content.decode()
    assert "对账记录" in listing.content.decode() and "发现差异" in listing.content.decode()  # Chinese first
    page = client.get(reverse("admin:wallet_reconciliationrun_change", args=[run.pk]))
    text = page.content.decode()
    assert page.status_code == 200 and "T-NOT-OURS" in text
    assert f"?run__id__exact={run.pk}" in text
    mismatches = client.get(reverse("admin:wallet_reconciliationmismatch_changelist") + f"?run__id__exact={run.pk}")
    assert mismatches.status_code == 200 and "T-NOT-OURS" in mismatches.content.decode()
    assert client.get(reverse("admin:wallet_reconciliationrun_add")).status_code == 403
    assert client.post(reverse("admin:wallet_reconciliationrun_delete", args=[run.pk])).status_code == 403
    assert ReconciliationMismatch.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_hosts_starting_the_same_run_at_once_one_runs_one_is_told_it_is_busy(
    settings, stand_in, merchant_key, provider_key
):
    settings.WALLET_CHANNELS = ["sandbox", "wechatpay"]
    api = wechatpay_configure(settings, stand_in, merchant_key, provider_key)
    raw = bill_file([])
    api.files["day"] = gzip.compress(raw)
    api.routes[("GET", "/v3/bill/tradebill")] = (
        200,
        {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(raw).hexdigest(),  # noqa: S324 - WeChat Pay's choice
            "download_url": f"{stand_in.url}/v3/billdownload/file?token=day",
        },
    )
    answer = api.handle
    release = threading.Event()

    def slow_bill(request):  # the first run holds its "running" row while the bill downloads
        if request.route == "/v3/bill/tradebill":
            release.wait(timeout=10)
        return answer(request)

    stand_in.handler = slow_bill
    barrier = threading.Barrier(2)

    def host(_):
        try:
            barrier.wait(timeout=10)
            return reconciliation_run(channel="wechatpay", date=DAY).status
        except ReconciliationBusy:
            release.set()  # the loser lets the winner's bill arrive
            return "busy"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(host, range(2)))
    assert outcomes == ["busy", RunStatus.CLEAN]
    assert list(ReconciliationRun.objects.values_list("status", flat=True)) == [RunStatus.CLEAN]


def test_alipay_through_the_stand_in_end_to_end_pay_notify_refund_and_a_clean_bill(
    settings, stand_in, merchant_key, provider_key, staff
):
    """Alipay from order to bill: the service creates the order, the notification (signed by "Alipay")
    credits it through the wallet's merchant check, staff refund part of it, and the day's zip matches."""
    settings.WALLET_CHANNELS = ["sandbox", "alipay"]
    settings.ALIPAY_SELLER_ID = alipay_tests.SELLER_ID
    gateway = alipay_tests.AlipayGateway(stand_in, merchant_key, provider_key)
    settings.ALIPAY_APP_ID = alipay_tests.APP_ID
    settings.ALIPAY_APP_PRIVATE_KEY = merchant_key.private_pem
    settings.ALIPAY_PUBLIC_KEY = provider_key.public_pem
    settings.ALIPAY_GATEWAY = f"{stand_in.url}/gateway.do"
    settings.WALLET_PUBLIC_URL = "https://accounts.example.com"
    top_up = top_up_create(user=UserFactory(), amount=Decimal("10.00"), channel="alipay").top_up
    assert "order_string" in top_up.pay
    fields = alipay_tests.notification(
        provider_key,
        out_trade_no=top_up.id,
        notify_time="2026-12-01 23:49:30",
        gmt_payment="2026-12-01 23:49:10",
    )
    answer = notification_receive(channel="alipay", headers=alipay_tests.HEADERS, body=alipay_tests.form(fields))
    assert answer.body == b"success"
    top_up.refresh_from_db()
    assert top_up.status == "paid" and top_up.trade_no == fields["trade_no"]

    gateway.answers["alipay.trade.refund"] = alipay_tests.success(trade_no=fields["trade_no"], fund_change="Y")
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("4.00"), reason="用户申请")
    assert refund.status == "succeeded"
    assert gateway.calls[-1]["biz"]["out_request_no"] == refund.id

    gateway.files["day.zip"] = alipay_tests.alipay_bill_zip(
        [
            alipay_tests.bill_row(fields["trade_no"], top_up.id, "交易", "10.00"),
            alipay_tests.bill_row(fields["trade_no"], top_up.id, "退款", "-4.00", refund.id),
        ]
    )
    gateway.answers["alipay.data.dataservice.bill.downloadurl.query"] = alipay_tests.success(
        bill_download_url=f"{stand_in.url}/bills/day.zip"
    )
    code, out, _err = reconcile("alipay")
    assert code == 0 and "no mismatch" in out
    assert ReconciliationRun.objects.get().bill_lines == 2
