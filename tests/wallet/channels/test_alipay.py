"""The Alipay adapter through python-alipay-sdk against a local stand-in for Alipay's gateway.

The stand-in checks each request's RSA2 signature with the app's public key
(made in the test) and signs its answers with "Alipay's" key (also made here),
exactly as the real gateway does; the bill is served as Alipay serves it, a
zip of GBK CSV files.
"""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from tests.wallet.channels.conftest import KeyPair, Received, Reply
from wallet.channels.alipay import AlipayChannel
from wallet.channels.base import (
    ChannelError,
    RefundState,
    SignatureInvalid,
    TopUpRequest,
    TradeState,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 12, 1, 23, 59, 30, tzinfo=SHANGHAI)  # just before midnight, on purpose
APP_ID = "2021000000000001"
SELLER_ID = "2088000000000002"


def signed_content(params: dict[str, str], *, exclude: tuple[str, ...]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in exclude)


class AlipayGateway:
    """Answers gateway calls from ``answers[method]`` (the inner response object), signed like Alipay."""

    def __init__(self, stand_in, app_key: KeyPair, alipay_key: KeyPair) -> None:
        self.stand_in = stand_in
        self.app_key = app_key
        self.alipay_key = alipay_key
        self.answers: dict[str, dict] = {}
        self.files: dict[str, bytes] = {}
        self.calls: list[dict] = []
        stand_in.handler = self.handle

    def handle(self, request: Received) -> Reply:
        url = urlsplit(request.path)
        if url.path.startswith("/bills/"):
            return Reply(200, self.files[url.path[len("/bills/") :]], {"Content-Type": "application/oct-stream"})
        assert (request.method, url.path) == ("GET", "/gateway.do")
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        # Alipay's request rule: every parameter but sign, sorted, joined unescaped.
        verified = self.app_key.verifies(signed_content(params, exclude=("sign",)), params.get("sign", ""))
        self.calls.append({"params": params, "biz": json.loads(params["biz_content"]), "verified": verified})
        name = params["method"].replace(".", "_") + "_response"
        if not verified:
            inner = json.dumps({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"})
            return Reply(200, f'{{"{name}":{inner}}}'.encode(), {"Content-Type": "text/html;charset=utf-8"})
        inner = json.dumps(self.answers[params["method"]], ensure_ascii=False)
        body = f'{{"{name}":{inner},"sign":"{self.alipay_key.sign(inner)}"}}'
        return Reply(200, body.encode(), {"Content-Type": "text/html;charset=utf-8"})


@pytest.fixture
def gateway(settings, stand_in, merchant_key, provider_key):
    settings.ALIPAY_APP_ID = APP_ID
    settings.ALIPAY_APP_PRIVATE_KEY = merchant_key.private_pem
    settings.ALIPAY_PUBLIC_KEY = provider_key.public_base64  # as Alipay's console shows it
    settings.ALIPAY_SELLER_ID = ""
    settings.ALIPAY_GATEWAY = f"{stand_in.url}/gateway.do"
    settings.ALIPAY_RETURN_URL = "https://accounts.example.com/back/{top_up_id}/"
    settings.WALLET_PUBLIC_URL = "https://accounts.example.com"
    return AlipayGateway(stand_in, merchant_key, provider_key)


def top_up_request(method: str) -> TopUpRequest:
    return TopUpRequest(
        top_up_id="T20261201235930A7K3",
        amount=Decimal("10.00"),
        currency="CNY",
        method=method,
        description="钱包充值",
        expires_at=NOW + datetime.timedelta(minutes=30),
    )


def success(**fields) -> dict:
    return {"code": "10000", "msg": "Success", **fields}


def business_failure(sub_code: str) -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": "业务失败"}


# --- create ---------------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_app_is_the_default_and_returns_an_order_string_signed_with_the_app_key(gateway, merchant_key):
    pay = AlipayChannel().create(top_up_request(""))
    assert pay.as_dict().keys() == {"order_string"}
    params = dict(parse_qsl(pay.order_string))
    assert merchant_key.verifies(signed_content(params, exclude=("sign",)), params["sign"])
    assert (params["app_id"], params["method"], params["sign_type"]) == (APP_ID, "alipay.trade.app.pay", "RSA2")
    assert params["notify_url"] == "https://accounts.example.com/api/v1/wallet/notify/alipay/"
    assert params["timestamp"] == "2026-12-01 23:59:30"  # Beijing time, whatever the server's zone
    biz = json.loads(params["biz_content"])
    assert biz == {
        "out_trade_no": "T20261201235930A7K3",
        "total_amount": "10.00",
        "subject": "钱包充值",
        "product_code": "QUICK_MSECURITY_PAY",
        "time_expire": "2026-12-02 00:29:30",
    }
    assert gateway.stand_in.requests == []  # Alipay creates the trade when the buyer opens it


@pytest.mark.parametrize(
    ("method", "api", "product_code"),
    [("wap", "alipay.trade.wap.pay", "QUICK_WAP_PAY"), ("page", "alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY")],
)
def test_wap_and_page_return_a_signed_gateway_url(gateway, merchant_key, method, api, product_code):
    pay = AlipayChannel().create(top_up_request(method))
    assert pay.as_dict().keys() == {"url"}
    url = urlsplit(pay.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{gateway.stand_in.url}/gateway.do"
    params = dict(parse_qsl(url.query))
    assert merchant_key.verifies(signed_content(params, exclude=("sign",)), params["sign"])
    assert params["method"] == api
    assert params["return_url"] == "https://accounts.example.com/back/T20261201235930A7K3/"
    assert json.loads(params["biz_content"])["product_code"] == product_code


def test_without_alipay_return_url_the_browser_comes_back_to_the_result_page(gateway, settings):
    settings.ALIPAY_RETURN_URL = ""
    params = dict(parse_qsl(urlsplit(AlipayChannel().create(top_up_request("wap")).url).query))
    assert params["return_url"] == "https://accounts.example.com/wallet/top-ups/T20261201235930A7K3/"


def test_an_unknown_method_is_refused(gateway):
    with pytest.raises(ValueError, match="native"):
        AlipayChannel().create(top_up_request("native"))


# --- notifications --------------------------------------------------------------------------------


def notification(key: KeyPair, **overrides: str) -> dict[str, str]:
    fields = {
        "notify_time": "2026-12-01 23:59:20",
        "notify_type": "trade_status_sync",
        "notify_id": "2026120100222235920000000000000001",
        "charset": "utf-8",
        "version": "1.0",
        "app_id": APP_ID,
        "seller_id": SELLER_ID,
        "out_trade_no": "T20261201235930A7K3",
        "trade_no": "2026120122001400000000000001",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "10.00",
        "receipt_amount": "10.00",
        "subject": "钱包充值",
        "gmt_create": "2026-12-01 23:59:00",
        "gmt_payment": "2026-12-01 23:59:10",
        **overrides,
    }
    # Alipay's notification rule: every field but sign and sign_type.
    fields["sign"] = key.sign(signed_content(fields, exclude=("sign", "sign_type")))
    fields["sign_type"] = "RSA2"
    return fields


def form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


HEADERS = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@time_machine.travel(NOW, tick=False)
def test_a_good_notification_is_verified_and_parsed(gateway, provider_key):
    channel = AlipayChannel()
    parsed = channel.notification_verify(headers=HEADERS, body=form(notification(provider_key)))
    assert parsed.top_up_id == "T20261201235930A7K3"
    assert parsed.trade_no == "2026120122001400000000000001"
    assert (parsed.event, parsed.state) == ("TRADE_SUCCESS", TradeState.SUCCEEDED)
    assert (parsed.amount, parsed.currency) == (Decimal("10.00"), "CNY")
    assert parsed.merchant_id == APP_ID == channel.merchant_id
    assert parsed.occurred_at == datetime.datetime(2026, 12, 1, 23, 59, 10, tzinfo=SHANGHAI)
    assert parsed.refund_id is None


@time_machine.travel(NOW, tick=False)
def test_with_a_seller_id_set_the_merchant_is_app_id_and_seller_id(gateway, provider_key, settings):
    settings.ALIPAY_SELLER_ID = SELLER_ID
    channel = AlipayChannel()
    ours = channel.notification_verify(headers=HEADERS, body=form(notification(provider_key)))
    assert ours.merchant_id == f"{APP_ID}/{SELLER_ID}" == channel.merchant_id
    other = channel.notification_verify(headers=HEADERS, body=form(notification(provider_key, seller_id="2088999")))
    assert other.merchant_id != channel.merchant_id  # the wallet's merchant check refuses it


@time_machine.travel(NOW, tick=False)
def test_a_wait_buyer_pay_notification_is_pending(gateway, provider_key):
    body = form(notification(provider_key, trade_status="WAIT_BUYER_PAY"))
    parsed = AlipayChannel().notification_verify(headers=HEADERS, body=body)
    assert (parsed.event, parsed.state) == ("WAIT_BUYER_PAY", TradeState.PENDING)


@time_machine.travel(NOW, tick=False)
def test_a_refund_notification_names_the_refund_and_is_its_own_event(gateway, provider_key):
    body = form(
        notification(
            provider_key,
            trade_status="TRADE_CLOSED",
            out_biz_no="R20261201000001",
            refund_fee="10.00",
            gmt_refund="2026-12-01 23:59:15.123",
        )
    )
    parsed = AlipayChannel().notification_verify(headers=HEADERS, body=body)
    assert parsed.refund_id == "R20261201000001"
    assert parsed.event == "TRADE_CLOSED:R20261201000001"
    assert parsed.state == TradeState.SUCCEEDED  # a refunded trade was paid: never "closed unpaid"


@time_machine.travel(NOW, tick=False)
def test_a_notification_signed_with_another_key_is_refused(gateway, stranger_key):
    with pytest.raises(SignatureInvalid):
        AlipayChannel().notification_verify(headers=HEADERS, body=form(notification(stranger_key)))


@time_machine.travel(NOW, tick=False)
def test_a_tampered_notification_is_refused(gateway, provider_key):
    fields = notification(provider_key)
    fields["total_amount"] = "1000.00"
    with pytest.raises(SignatureInvalid):
        AlipayChannel().notification_verify(headers=HEADERS, body=form(fields))


@time_machine.travel(NOW, tick=False)
def test_a_notification_without_a_signature_or_with_garbage_is_refused(gateway, provider_key):
    fields = notification(provider_key)
    del fields["sign"]
    channel = AlipayChannel()
    with pytest.raises(SignatureInvalid):
        channel.notification_verify(headers=HEADERS, body=form(fields))
    with pytest.raises(SignatureInvalid):
        channel.notification_verify(headers=HEADERS, body=form({**notification(provider_key), "sign": "%%%"}))
    with pytest.raises(SignatureInvalid):
        channel.notification_verify(headers=HEADERS, body="app_id=中".encode())


@time_machine.travel(NOW, tick=False)
def test_a_notification_older_than_two_days_is_refused_but_alipays_retries_are_not(gateway, provider_key):
    channel = AlipayChannel()
    # Alipay retries for about 25 hours; a notify_time of yesterday still passes.
    channel.notification_verify(
        headers=HEADERS, body=form(notification(provider_key, notify_time="2026-11-30 23:00:00"))
    )
    with pytest.raises(SignatureInvalid, match="notify_time"):
        channel.notification_verify(
            headers=HEADERS, body=form(notification(provider_key, notify_time="2026-11-29 23:59:00"))
        )
    with pytest.raises(SignatureInvalid, match="notify_time"):  # from the future
        channel.notification_verify(
            headers=HEADERS, body=form(notification(provider_key, notify_time="2026-12-02 00:10:00"))
        )


@time_machine.travel(NOW, tick=False)
def test_a_verified_notification_with_an_unknown_status_is_a_value_error(gateway, provider_key):
    with pytest.raises(ValueError, match="trade_status"):
        AlipayChannel().notification_verify(
            headers=HEADERS, body=form(notification(provider_key, trade_status="SOMETHING"))
        )


def test_notification_answers_are_the_plain_text_alipay_expects(gateway):
    channel = AlipayChannel()
    ok, fail = channel.notification_answer(ok=True), channel.notification_answer(ok=False)
    assert (ok.status, ok.body, ok.content_type.split(";")[0]) == (200, b"success", "text/plain")
    assert fail.body == b"fail" and fail.status >= 400


# --- query, close, refund -------------------------------------------------------------------------


def test_query_asks_for_the_trade_and_reads_the_signed_answer(gateway):
    gateway.answers["alipay.trade.query"] = success(
        out_trade_no="T20261201235930A7K3",
        trade_no="2026120122001400000000000001",
        trade_status="TRADE_SUCCESS",
        total_amount="10.00",
        send_pay_date="2026-12-01 23:59:10",
        buyer_logon_id="138****8000",
    )
    status = AlipayChannel().query(top_up_id="T20261201235930A7K3")
    (call,) = gateway.calls
    assert call["verified"] and call["params"]["method"] == "alipay.trade.query"
    assert call["params"]["app_id"] == APP_ID
    assert call["biz"] == {"out_trade_no": "T20261201235930A7K3"}
    assert status.state == TradeState.SUCCEEDED
    assert (status.trade_no, status.amount) == ("2026120122001400000000000001", Decimal("10.00"))
    assert status.paid_at == datetime.datetime(2026, 12, 1, 23, 59, 10, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("trade_status", "state"),
    [
        ("WAIT_BUYER_PAY", TradeState.PENDING),
        ("TRADE_CLOSED", TradeState.CLOSED),
        ("TRADE_FINISHED", TradeState.SUCCEEDED),
    ],
)
def test_query_maps_alipays_trade_statuses(gateway, trade_status, state):
    gateway.answers["alipay.trade.query"] = success(trade_no="1", trade_status=trade_status, total_amount="10.00")
    assert AlipayChannel().query(top_up_id="T1").state == state


def test_query_of_a_trade_alipay_does_not_have_is_unknown(gateway):
    gateway.answers["alipay.trade.query"] = business_failure("ACQ.TRADE_NOT_EXIST")
    assert AlipayChannel().query(top_up_id="T1").state == TradeState.UNKNOWN


def test_an_answer_signed_with_another_key_is_a_channel_error(gateway, stranger_key):
    gateway.alipay_key = stranger_key
    gateway.answers["alipay.trade.query"] = success(trade_no="1", trade_status="TRADE_SUCCESS", total_amount="10.00")
    with pytest.raises(ChannelError, match="signature"):
        AlipayChannel().query(top_up_id="T1")


def test_a_request_signed_with_the_wrong_app_key_is_refused_by_the_gateway(gateway, settings, stranger_key):
    settings.ALIPAY_APP_PRIVATE_KEY = stranger_key.private_pem
    with pytest.raises(ChannelError, match="40002"):
        AlipayChannel().query(top_up_id="T1")
    assert gateway.calls[0]["verified"] is False  # the stand-in really checks


def test_an_answer_that_is_not_alipays_is_a_channel_error(gateway):
    gateway.stand_in.handler = lambda request: Reply(200, b'{"something": "else"}', {"Content-Type": "text/html"})
    with pytest.raises(ChannelError, match="unexpected"):
        AlipayChannel().query(top_up_id="T1")
    gateway.stand_in.handler = lambda request: Reply(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"})
    with pytest.raises(ChannelError, match="502"):
        AlipayChannel().query(top_up_id="T1")


def test_an_unreachable_gateway_is_a_channel_error(gateway, settings):
    gateway.stand_in.close()
    with pytest.raises(ChannelError):
        AlipayChannel().query(top_up_id="T1")


def test_close_closes_the_trade(gateway):
    gateway.answers["alipay.trade.close"] = success(out_trade_no="T1", trade_no="2026")
    AlipayChannel().close(top_up_id="T1")
    (call,) = gateway.calls
    assert call["verified"] and call["params"]["method"] == "alipay.trade.close"
    assert call["biz"] == {"out_trade_no": "T1"}


def test_close_of_a_trade_never_opened_is_fine_and_of_a_paid_one_an_error(gateway):
    gateway.answers["alipay.trade.close"] = business_failure("ACQ.TRADE_NOT_EXIST")
    AlipayChannel().close(top_up_id="T1")
    gateway.answers["alipay.trade.close"] = business_failure("ACQ.TRADE_STATUS_ERROR")
    with pytest.raises(ChannelError, match="ACQ.TRADE_STATUS_ERROR"):
        AlipayChannel().close(top_up_id="T1")


def test_refund_sends_the_amount_with_our_refund_id_as_out_request_no(gateway):
    gateway.answers["alipay.trade.refund"] = success(
        trade_no="2026120122001400000000000001", out_trade_no="T1", fund_change="Y", refund_fee="4.00"
    )
    result = AlipayChannel().refund(
        top_up_id="T1", refund_id="R1", amount=Decimal("4.00"), total=Decimal("10.00"), reason="用户申请"
    )
    (call,) = gateway.calls
    assert call["verified"] and call["params"]["method"] == "alipay.trade.refund"
    assert call["biz"] == {
        "out_trade_no": "T1",
        "refund_amount": "4.00",
        "out_request_no": "R1",
        "refund_reason": "用户申请",
    }
    assert result.state == RefundState.SUCCEEDED


def test_a_refund_that_moved_nothing_is_confirmed_by_a_refund_query(gateway):
    gateway.answers["alipay.trade.refund"] = success(trade_no="2026", fund_change="N")
    gateway.answers["alipay.trade.fastpay.refund.query"] = success(
        trade_no="2026", out_request_no="R1", refund_status="REFUND_SUCCESS", refund_amount="4.00"
    )
    result = AlipayChannel().refund(top_up_id="T1", refund_id="R1", amount=Decimal("4.00"), total=Decimal("10.00"))
    assert result.state == RefundState.SUCCEEDED
    assert [c["params"]["method"] for c in gateway.calls] == [
        "alipay.trade.refund",
        "alipay.trade.fastpay.refund.query",
    ]
    assert gateway.calls[1]["biz"] == {"out_trade_no": "T1", "out_request_no": "R1"}
    gateway.answers["alipay.trade.fastpay.refund.query"] = success(trade_no="2026", out_request_no="R1")
    result = AlipayChannel().refund(top_up_id="T1", refund_id="R1", amount=Decimal("4.00"), total=Decimal("10.00"))
    assert result.state == RefundState.PENDING


def test_refund_query_asks_about_one_refund(gateway):
    gateway.answers["alipay.trade.fastpay.refund.query"] = success(
        trade_no="2026", out_trade_no="T1", out_request_no="R1", refund_amount="4.00"
    )
    assert AlipayChannel().refund_query(top_up_id="T1", refund_id="R1").state == RefundState.SUCCEEDED
    (call,) = gateway.calls
    assert call["verified"] and call["biz"] == {"out_trade_no": "T1", "out_request_no": "R1"}
    gateway.answers["alipay.trade.fastpay.refund.query"] = business_failure("ACQ.SYSTEM_ERROR")
    with pytest.raises(ChannelError):
        AlipayChannel().refund_query(top_up_id="T1", refund_id="R1")


def test_a_refund_alipay_refuses_for_good_is_failed_and_a_system_error_is_a_channel_error(gateway):
    gateway.answers["alipay.trade.refund"] = business_failure("ACQ.SELLER_BALANCE_NOT_ENOUGH")
    result = AlipayChannel().refund(top_up_id="T1", refund_id="R1", amount=Decimal("4.00"), total=Decimal("10.00"))
    assert result.state == RefundState.FAILED
    gateway.answers["alipay.trade.refund"] = {
        "code": "20000",
        "msg": "Service Currently Unavailable",
        "sub_code": "isp.unknow-error",
    }
    with pytest.raises(ChannelError):
        AlipayChannel().refund(top_up_id="T1", refund_id="R1", amount=Decimal("4.00"), total=Decimal("10.00"))


# --- the daily bill -------------------------------------------------------------------------------

BILL_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
    "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
    "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
)


def bill_row(trade_no, top_up_id, kind, amount, refund_id="") -> str:
    cells = [trade_no, top_up_id, kind, "钱包充值", "2026-12-01 10:00:00", "2026-12-01 10:00:05", "", "", "", "",
             "138****8000", amount, amount, "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00", refund_id,
             "-0.06" if kind == "交易" else "0.02", "0.00", ""]  # fmt: skip
    return ",".join(f"{cell}\t" for cell in cells)  # Alipay pads its cells


class GbkZipInfo(zipfile.ZipInfo):
    """A zip member named in GBK without the UTF-8 flag, as Alipay's bill tool writes them."""

    def _encodeFilenameFlags(self):  # noqa: N802 - zipfile's name
        return self.filename.encode("gbk"), self.flag_bits


def alipay_bill_zip(rows: list[str]) -> bytes:
    detail = "\r\n".join(
        [
            "#支付宝业务明细查询",
            f"#账号：[{SELLER_ID}0156]",
            "#起始日期：[2026年12月01日 00:00:00]   终止日期：[2026年12月02日 00:00:00]",
            "#-----------------------------------------业务明细列表----------------------------------------",
            BILL_HEADER,
            *rows,
            "#-----------------------------------------业务明细列表结束------------------------------------",
            "#交易合计：2笔，商家实收共10.00元，商家优惠共0.00元",
            "#退款合计：1笔，商家实收共-4.00元，商家优惠共0.00元",
            "#导出时间：[2026年12月02日 09:05:12]",
        ]
    ).encode("gbk")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # Alipay's zips name their files in GBK without the UTF-8 flag.
        for name, content in ((f"{SELLER_ID}0156_20261201_业务明细.csv", detail),
                              (f"{SELLER_ID}0156_20261201_业务明细(汇总).csv", "#汇总\r\n".encode("gbk"))):  # fmt: skip
            archive.writestr(GbkZipInfo(name, date_time=(2026, 12, 2, 9, 5, 12)), content)
    return buffer.getvalue()


def test_bill_downloads_and_parses_the_days_zip(gateway):
    gateway.files["20261201.zip"] = alipay_bill_zip(
        [
            bill_row("2026120122001400000000000001", "T20261201100000AAAA", "交易", "10.00"),
            bill_row("2026120122001400000000000002", "T20261201100000BBBB", "交易", "0.01"),
            bill_row("2026120122001400000000000001", "T20261201100000AAAA", "退款", "-4.00", "R20261201000001"),
        ]
    )
    gateway.answers["alipay.data.dataservice.bill.downloadurl.query"] = success(
        bill_download_url=f"{gateway.stand_in.url}/bills/20261201.zip"
    )
    lines = AlipayChannel().bill(date=datetime.date(2026, 12, 1))
    (call,) = gateway.calls
    assert call["verified"] and call["biz"] == {"bill_type": "trade", "bill_date": "2026-12-01"}
    assert [(line.kind, line.top_up_id, line.trade_no, line.amount, line.status, line.refund_id) for line in lines] == [
        ("payment", "T20261201100000AAAA", "2026120122001400000000000001", Decimal("10.00"), "succeeded", ""),
        ("payment", "T20261201100000BBBB", "2026120122001400000000000002", Decimal("0.01"), "succeeded", ""),
        ("refund", "T20261201100000AAAA", "2026120122001400000000000001", Decimal("4.00"), "succeeded", "R20261201000001"),
    ]  # fmt: skip


def test_a_day_without_trades_has_an_empty_bill(gateway):
    gateway.answers["alipay.data.dataservice.bill.downloadurl.query"] = business_failure("isp.bill_not_exist")
    assert AlipayChannel().bill(date=datetime.date(2026, 12, 1)) == []


def test_an_unreadable_bill_is_a_channel_error(gateway):
    gateway.files["bad.zip"] = b"not a zip"
    gateway.answers["alipay.data.dataservice.bill.downloadurl.query"] = success(
        bill_download_url=f"{gateway.stand_in.url}/bills/bad.zip"
    )
    with pytest.raises(ChannelError, match="unreadable"):
        AlipayChannel().bill(date=datetime.date(2026, 12, 1))


# --- settings ---------------------------------------------------------------------------------------


def test_missing_settings_are_named_together(settings):
    settings.ALIPAY_APP_ID = ""
    settings.ALIPAY_APP_PRIVATE_KEY = ""
    settings.ALIPAY_PUBLIC_KEY = "x"
    settings.WALLET_PUBLIC_URL = ""
    with pytest.raises(ImproperlyConfigured) as caught:
        AlipayChannel()
    message = str(caught.value)
    assert "ALIPAY_APP_ID" in message and "ALIPAY_APP_PRIVATE_KEY" in message
    assert "WALLET_PUBLIC_URL" in message and "ALIPAY_PUBLIC_KEY" not in message


def test_keys_may_be_given_as_files(gateway, settings, merchant_key, provider_key, tmp_path):
    (tmp_path / "app.pem").write_text(merchant_key.private_pem)
    (tmp_path / "alipay.pem").write_text(provider_key.public_pem)
    settings.ALIPAY_APP_PRIVATE_KEY = str(tmp_path / "app.pem")
    settings.ALIPAY_PUBLIC_KEY = str(tmp_path / "alipay.pem")
    gateway.answers["alipay.trade.close"] = success()
    AlipayChannel().close(top_up_id="T1")
    assert gateway.calls[0]["verified"]


def test_a_key_that_is_not_a_key_is_improperly_configured(gateway, settings):
    settings.ALIPAY_PUBLIC_KEY = "bm90IGEga2V5"  # base64 of "not a key"
    with pytest.raises(ImproperlyConfigured, match="ALIPAY"):
        AlipayChannel()


def test_manage_py_check_names_what_an_enabled_channel_lacks(settings):
    settings.WALLET_CHANNELS = ["sandbox", "alipay"]
    settings.ALIPAY_APP_ID = ""
    errors = [e for e in run_checks() if e.id == "wallet.E001"]
    assert len(errors) == 1 and "ALIPAY_APP_ID" in errors[0].msg
    settings.WALLET_CHANNELS = ["sandbox"]
    assert not [e for e in run_checks() if e.id == "wallet.E001"]
