"""The WeChat Pay adapter through wechatpayv3 (API v3) against a local stand-in for api.mch.weixin.qq.com.

The stand-in checks each request's ``Authorization`` (WECHATPAY2-SHA256-RSA2048)
with the merchant's public key made in the test and signs every answer with
the "platform" key made here; notifications carry a resource encrypted with
the API v3 key (AES-256-GCM), as WeChat Pay sends them.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import hashlib
import json
import re
import secrets
import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured

from tests.wallet.channels.conftest import KeyPair, Received, Reply
from wallet.channels.base import ChannelError, RefundState, SignatureInvalid, TopUpRequest, TradeState
from wallet.channels.wechatpay import WechatPayChannel

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 12, 1, 23, 59, 30, tzinfo=SHANGHAI)  # just before midnight, on purpose
MCH_ID = "1900000109"
APP_ID = "wxd678efh567hg6787"
API_V3_KEY = "a12d3924fd499edac8a5efc2a4b1c3d9"  # 32 characters, like the real one
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092026120100000001"
AUTHORIZATION = re.compile(
    r'^WECHATPAY2-SHA256-RSA2048 mchid="(?P<mchid>[^"]+)",nonce_str="(?P<nonce>[^"]+)",'
    r'signature="(?P<signature>[^"]+)",timestamp="(?P<timestamp>\d+)",serial_no="(?P<serial>[^"]+)"$'
)


class WechatpayApi:
    """Answers ``routes[(method, path)] = (status, json)``; every 2xx answer signed with the platform key."""

    def __init__(self, stand_in, merchant_key: KeyPair, platform_key: KeyPair, serial: str) -> None:
        self.stand_in = stand_in
        self.merchant_key = merchant_key
        self.platform_key = platform_key
        self.serial = serial
        self.routes: dict[tuple[str, str], tuple[int, dict | None]] = {}
        self.files: dict[str, bytes] = {}
        self.calls: list[dict] = []
        stand_in.handler = self.handle

    def handle(self, request: Received) -> Reply:
        match = AUTHORIZATION.match(request.headers.get("authorization", ""))
        signed = (
            f"{request.method}\n{request.path}\n{match['timestamp']}\n{match['nonce']}\n{request.body.decode()}\n"
            if match
            else ""
        )
        verified = bool(
            match
            and match["mchid"] == MCH_ID
            and match["serial"] == MERCHANT_SERIAL
            and self.merchant_key.verifies(signed, match["signature"])
        )
        self.calls.append(
            {
                "method": request.method,
                "route": request.route,
                "query": {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()},
                "json": json.loads(request.body) if request.body else None,
                "headers": request.headers,
                "verified": verified,
            }
        )
        if not verified:
            return self.reply(401, {"code": "SIGN_ERROR", "message": "签名错误"}, sign=False)
        if request.route == "/v3/billdownload/file":  # the download itself is not signed by WeChat Pay
            token = parse_qs(urlsplit(request.path).query)["token"][0]
            return Reply(200, self.files[token], {"Content-Type": "application/octet-stream"})
        status, payload = self.routes[(request.method, request.route)]
        return self.reply(status, payload)

    def reply(self, status: int, payload: dict | None, *, sign: bool = True) -> Reply:
        body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
        headers = {"Content-Type": "application/json; charset=utf-8"} if payload is not None else {}
        if sign:
            headers.update(platform_headers(self.platform_key, self.serial, body))
        return Reply(status, body, headers)


def platform_headers(key: KeyPair, serial: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce = secrets.token_hex(16)
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": key.sign(f"{timestamp}\n{nonce}\n{body.decode()}\n"),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


def wechatpay_configure(settings, stand_in, merchant_key: KeyPair, platform_key: KeyPair) -> WechatpayApi:
    """Point the adapter at ``stand_in`` in public-key mode (WeChat Pay's current way of verifying its signatures)."""
    settings.WECHATPAY_MCH_ID = MCH_ID
    settings.WECHATPAY_APP_ID = APP_ID
    settings.WECHATPAY_API_V3_KEY = API_V3_KEY
    settings.WECHATPAY_PRIVATE_KEY = merchant_key.private_pem
    settings.WECHATPAY_CERT_SERIAL_NO = MERCHANT_SERIAL
    settings.WECHATPAY_PUBLIC_KEY = platform_key.public_base64
    settings.WECHATPAY_PUBLIC_KEY_ID = PUBLIC_KEY_ID
    settings.WECHATPAY_CERT_DIR = ""
    settings.WECHATPAY_GATEWAY = stand_in.url
    settings.WECHATPAY_H5_REDIRECT_URL = ""  # the top-up's result page
    settings.WALLET_PUBLIC_URL = "https://accounts.example.com/"
    return WechatpayApi(stand_in, merchant_key, platform_key, PUBLIC_KEY_ID)


@pytest.fixture
def api(settings, stand_in, merchant_key, provider_key):
    return wechatpay_configure(settings, stand_in, merchant_key, provider_key)


@pytest.fixture
def platform_certificate(provider_key, tmp_path):
    """Certificate mode: a platform certificate for the provider key, in WECHATPAY_CERT_DIR."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(provider_key.public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=3650))  # wide: the SDK may read a clock the tests do not freeze
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(provider_key.private, hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    (tmp_path / "platform.pem").write_bytes(certificate.public_bytes(Encoding.PEM))
    return tmp_path, format(certificate.serial_number, "X")


def top_up_request(method: str) -> TopUpRequest:
    return TopUpRequest(
        top_up_id="T20261201235930A7K3",
        amount=Decimal("10.00"),
        currency="CNY",
        method=method,
        description="钱包充值",
        expires_at=NOW + datetime.timedelta(minutes=30),
        client_ip="203.0.113.7",
    )


# --- create ---------------------------------------------------------------------------------------


def test_app_is_the_default_and_returns_parameters_signed_for_the_app_sdk(api, merchant_key):
    api.routes[("POST", "/v3/pay/transactions/app")] = (200, {"prepay_id": "wx201410272009395522657a690389285100"})
    pay = WechatPayChannel().create(top_up_request(""))
    (call,) = api.calls
    assert call["verified"]
    assert call["headers"]["wechatpay-serial"] == PUBLIC_KEY_ID
    assert call["json"] == {
        "notify_url": "https://accounts.example.com/api/v1/wallet/notify/wechatpay/",
        "description": "钱包充值",
        "out_trade_no": "T20261201235930A7K3",
        "amount": {"total": 1000, "currency": "CNY"},  # fen
        "time_expire": "2026-12-02T00:29:30+08:00",
        "appid": APP_ID,
        "mchid": MCH_ID,
    }
    app = dict(pay.app or {})
    assert pay.as_dict().keys() == {"app"}
    assert (app["appid"], app["partnerid"], app["prepayid"], app["package"]) == (
        APP_ID,
        MCH_ID,
        "wx201410272009395522657a690389285100",
        "Sign=WXPay",
    )
    assert merchant_key.verifies(f"{APP_ID}\n{app['timestamp']}\n{app['noncestr']}\n{app['prepayid']}\n", app["sign"])


def test_native_returns_the_code_url(api):
    api.routes[("POST", "/v3/pay/transactions/native")] = (200, {"code_url": "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"})
    pay = WechatPayChannel().create(top_up_request("native"))
    assert pay.as_dict() == {"code_url": "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"}
    assert api.calls[0]["verified"] and api.calls[0]["route"] == "/v3/pay/transactions/native"


def test_h5_sends_the_payers_ip_and_returns_the_url_with_our_redirect(api):
    api.routes[("POST", "/v3/pay/transactions/h5")] = (
        200,
        {"h5_url": "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2016&package=2150917749"},
    )
    pay = WechatPayChannel().create(top_up_request("h5"))
    assert api.calls[0]["json"]["scene_info"] == {"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}}
    assert pay.url == (
        "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2016&package=2150917749"
        "&redirect_url=https%3A%2F%2Faccounts.example.com%2Fwallet%2Ftop-ups%2FT20261201235930A7K3%2F"
    )


def test_a_refusal_or_an_answer_signed_by_someone_else_is_a_channel_error(api, stranger_key):
    api.routes[("POST", "/v3/pay/transactions/app")] = (400, {"code": "PARAM_ERROR", "message": "参数错误"})
    with pytest.raises(ChannelError, match="PARAM_ERROR"):
        WechatPayChannel().create(top_up_request("app"))
    api.routes[("POST", "/v3/pay/transactions/app")] = (200, {"prepay_id": "wx1"})
    api.platform_key = stranger_key
    with pytest.raises(ChannelError, match="verify"):
        WechatPayChannel().create(top_up_request("app"))


def test_a_request_signed_with_the_wrong_merchant_key_is_refused_by_the_api(api, settings, stranger_key):
    settings.WECHATPAY_PRIVATE_KEY = stranger_key.private_pem
    with pytest.raises(ChannelError, match="401"):
        WechatPayChannel().query(top_up_id="T1")
    assert api.calls[0]["verified"] is False  # the stand-in really checks


# --- notifications --------------------------------------------------------------------------------


def encrypted(resource: dict, *, key: str = API_V3_KEY, associated_data: str = "transaction") -> dict:
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat Pay's
    ciphertext = AESGCM(key.encode()).encrypt(
        nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), associated_data.encode()
    )
    return {
        "original_type": associated_data,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def payment(**overrides) -> dict:
    return {
        "mchid": MCH_ID,
        "appid": APP_ID,
        "out_trade_no": "T20261201235930A7K3",
        "transaction_id": "4200000000202612010000000001",
        "trade_type": "APP",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "success_time": "2026-12-01T23:59:10+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 1000, "payer_total": 1000, "currency": "CNY", "payer_currency": "CNY"},
        **overrides,
    }


def notification_body(resource: dict, *, event: str = "TRANSACTION.SUCCESS", key: str = API_V3_KEY) -> bytes:
    associated_data = "refund" if event.startswith("REFUND") else "transaction"
    body = {
        "id": "EV-2018022511223320873",
        "create_time": "2026-12-01T23:59:20+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event,
        "summary": "支付成功",
        "resource": encrypted(resource, key=key, associated_data=associated_data),
    }
    return json.dumps(body, ensure_ascii=False).encode()


@time_machine.travel(NOW, tick=False)
def test_a_good_notification_is_verified_decrypted_and_parsed(api, provider_key):
    channel = WechatPayChannel()
    body = notification_body(payment())
    parsed = channel.notification_verify(headers=platform_headers(provider_key, PUBLIC_KEY_ID, body), body=body)
    assert parsed.top_up_id == "T20261201235930A7K3"
    assert parsed.trade_no == "4200000000202612010000000001"
    assert (parsed.event, parsed.state) == ("TRANSACTION.SUCCESS", TradeState.SUCCEEDED)
    assert (parsed.amount, parsed.currency) == (Decimal("10.00"), "CNY")  # 1000 fen
    assert parsed.merchant_id == f"{MCH_ID}/{APP_ID}" == channel.merchant_id
    assert parsed.occurred_at == datetime.datetime(2026, 12, 1, 23, 59, 10, tzinfo=SHANGHAI)


@time_machine.travel(NOW, tick=False)
def test_headers_are_read_from_django_meta_names_too(api, provider_key):
    body = notification_body(payment())
    meta = {
        "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in platform_headers(provider_key, PUBLIC_KEY_ID, body).items()
    }
    assert WechatPayChannel().notification_verify(headers=meta, body=body).state == TradeState.SUCCEEDED


@time_machine.travel(NOW, tick=False)
def test_another_merchants_or_apps_notification_does_not_match_ours(api, provider_key):
    channel = WechatPayChannel()
    body = notification_body(payment(appid="wx0000000000000000"))
    parsed = channel.notification_verify(headers=platform_headers(provider_key, PUBLIC_KEY_ID, body), body=body)
    assert parsed.merchant_id != channel.merchant_id


@time_machine.travel(NOW, tick=False)
def test_certificate_mode_verifies_with_the_platform_certificate(api, settings, provider_key, platform_certificate):
    cert_dir, serial = platform_certificate
    settings.WECHATPAY_PUBLIC_KEY = settings.WECHATPAY_PUBLIC_KEY_ID = ""
    settings.WECHATPAY_CERT_DIR = str(cert_dir)
    body = notification_body(payment(trade_state="NOTPAY"), event="TRANSACTION.NOTPAY")
    parsed = WechatPayChannel().notification_verify(headers=platform_headers(provider_key, serial, body), body=body)
    assert parsed.state == TradeState.PENDING
    assert api.stand_in.requests == []  # the certificate came from the directory, not the network


def test_certificate_mode_answers_are_verified_with_the_certificate(api, settings, platform_certificate):
    cert_dir, serial = platform_certificate
    settings.WECHATPAY_PUBLIC_KEY = settings.WECHATPAY_PUBLIC_KEY_ID = ""
    settings.WECHATPAY_CERT_DIR = str(cert_dir)
    api.serial = serial
    api.routes[("POST", "/v3/pay/transactions/out-trade-no/T1/close")] = (204, None)
    WechatPayChannel().close(top_up_id="T1")
    assert api.calls[0]["verified"]


def test_an_empty_certificate_directory_is_improperly_configured(api, settings, tmp_path):
    settings.WECHATPAY_PUBLIC_KEY = settings.WECHATPAY_PUBLIC_KEY_ID = ""
    settings.WECHATPAY_CERT_DIR = str(tmp_path)
    with pytest.raises(ImproperlyConfigured, match="WECHATPAY_CERT_DIR"):
        WechatPayChannel()


@pytest.mark.parametrize(
    ("event", "state"), [("REFUND.SUCCESS", TradeState.SUCCEEDED), ("REFUND.ABNORMAL", TradeState.FAILED)]
)
@time_machine.travel(NOW, tick=False)
def test_a_refund_notification_names_the_refund_and_is_its_own_event(api, provider_key, event, state):
    channel = WechatPayChannel()
    refund = {
        "mchid": MCH_ID,
        "out_trade_no": "T20261201235930A7K3",
        "transaction_id": "4200000000202612010000000001",
        "out_refund_no": "R20261201000001",
        "refund_id": "50000000382019052709732678859",
        "refund_status": event.split(".")[1],
        "success_time": "2026-12-01T23:59:15+08:00",
        "amount": {"total": 1000, "refund": 400, "payer_total": 1000, "payer_refund": 400},
    }
    body = notification_body(refund, event=event)
    parsed = channel.notification_verify(headers=platform_headers(provider_key, PUBLIC_KEY_ID, body), body=body)
    assert (parsed.refund_id, parsed.event, parsed.state) == ("R20261201000001", f"{event}:R20261201000001", state)
    assert parsed.merchant_id == channel.merchant_id  # a refund names only the mchid, which is ours


@time_machine.travel(NOW, tick=False)
def test_a_notification_signed_with_another_key_is_refused(api, stranger_key):
    body = notification_body(payment())
    with pytest.raises(SignatureInvalid):
        WechatPayChannel().notification_verify(headers=platform_headers(stranger_key, PUBLIC_KEY_ID, body), body=body)


@time_machine.travel(NOW, tick=False)
def test_a_tampered_notification_is_refused(api, provider_key):
    body = notification_body(payment())
    headers = platform_headers(provider_key, PUBLIC_KEY_ID, body)
    tampered = body.replace(b'"summary": "', b'"summary": "x')
    with pytest.raises(SignatureInvalid):
        WechatPayChannel().notification_verify(headers=headers, body=tampered)


@time_machine.travel(NOW, tick=False)
def test_a_resource_not_encrypted_with_our_api_v3_key_is_refused(api, provider_key):
    body = notification_body(payment(), key="0" * 32)
    with pytest.raises(SignatureInvalid, match="decrypt"):
        WechatPayChannel().notification_verify(headers=platform_headers(provider_key, PUBLIC_KEY_ID, body), body=body)


@time_machine.travel(NOW, tick=False)
def test_a_notification_older_or_newer_than_five_minutes_is_refused(api, provider_key):
    channel = WechatPayChannel()
    body = notification_body(payment())
    now = int(NOW.timestamp())
    channel.notification_verify(headers=platform_headers(provider_key, PUBLIC_KEY_ID, body, now - 300), body=body)
    for timestamp in (now - 301, now + 301):
        with pytest.raises(SignatureInvalid, match="Timestamp"):
            channel.notification_verify(
                headers=platform_headers(provider_key, PUBLIC_KEY_ID, body, timestamp), body=body
            )


@time_machine.travel(NOW, tick=False)
def test_a_notification_with_missing_headers_or_an_unknown_serial_is_refused(api, provider_key):
    channel = WechatPayChannel()
    body = notification_body(payment())
    headers = platform_headers(provider_key, PUBLIC_KEY_ID, body)
    with pytest.raises(SignatureInvalid, match="missing"):
        channel.notification_verify(headers={k: v for k, v in headers.items() if k != "Wechatpay-Nonce"}, body=body)
    with pytest.raises(SignatureInvalid, match="Serial"):
        channel.notification_verify(headers={**headers, "Wechatpay-Serial": "PUB_KEY_ID_OTHER"}, body=body)
    assert api.stand_in.requests == []  # no certificate download was attempted


def test_notification_answers_are_what_wechat_pay_expects(api):
    channel = WechatPayChannel()
    ok, fail = channel.notification_answer(ok=True), channel.notification_answer(ok=False)
    assert ok.status in (200, 204) and json.loads(ok.body)["code"] == "SUCCESS"
    assert ok.content_type == fail.content_type == "application/json"
    assert fail.status >= 400 and json.loads(fail.body)["code"] == "FAIL" and json.loads(fail.body)["message"]


# --- query, close, refund -------------------------------------------------------------------------


def test_query_asks_by_out_trade_no_and_reads_the_signed_answer(api):
    api.routes[("GET", "/v3/pay/transactions/out-trade-no/T20261201235930A7K3")] = (200, payment())
    status = WechatPayChannel().query(top_up_id="T20261201235930A7K3")
    (call,) = api.calls
    assert call["verified"] and call["method"] == "GET" and call["query"] == {"mchid": MCH_ID}
    assert (status.state, status.trade_no, status.amount) == (
        TradeState.SUCCEEDED,
        "4200000000202612010000000001",
        Decimal("10.00"),
    )
    assert status.paid_at == datetime.datetime(2026, 12, 1, 23, 59, 10, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("trade_state", "state"),
    [
        ("NOTPAY", TradeState.PENDING),
        ("USERPAYING", TradeState.PENDING),
        ("PAYERROR", TradeState.FAILED),
        ("CLOSED", TradeState.CLOSED),
        ("REFUND", TradeState.SUCCEEDED),
    ],
)
def test_query_maps_wechat_pays_trade_states(api, trade_state, state):
    api.routes[("GET", "/v3/pay/transactions/out-trade-no/T1")] = (200, payment(trade_state=trade_state))
    assert WechatPayChannel().query(top_up_id="T1").state == state


def test_query_of_an_order_wechat_pay_does_not_have_is_unknown(api):
    api.routes[("GET", "/v3/pay/transactions/out-trade-no/T1")] = (
        404,
        {"code": "ORDER_NOT_EXIST", "message": "订单不存在"},
    )
    assert WechatPayChannel().query(top_up_id="T1").state == TradeState.UNKNOWN


def test_a_server_error_or_an_unreachable_api_is_a_channel_error(api):
    api.routes[("GET", "/v3/pay/transactions/out-trade-no/T1")] = (500, {"code": "SYSTEM_ERROR", "message": "系统错误"})
    with pytest.raises(ChannelError, match="500"):
        WechatPayChannel().query(top_up_id="T1")
    api.stand_in.close()
    with pytest.raises(ChannelError):
        WechatPayChannel().query(top_up_id="T1")


def test_close_posts_our_mchid_and_accepts_no_content(api):
    api.routes[("POST", "/v3/pay/transactions/out-trade-no/T1/close")] = (204, None)
    WechatPayChannel().close(top_up_id="T1")
    (call,) = api.calls
    assert call["verified"] and call["json"] == {"mchid": MCH_ID}


def test_close_of_a_paid_order_is_a_channel_error(api):
    api.routes[("POST", "/v3/pay/transactions/out-trade-no/T1/close")] = (
        400,
        {"code": "ORDERPAID", "message": "订单已支付"},
    )
    with pytest.raises(ChannelError, match="ORDERPAID"):
        WechatPayChannel().close(top_up_id="T1")


def test_refund_sends_fen_with_our_refund_id_and_reads_the_status(api):
    api.routes[("POST", "/v3/refund/domestic/refunds")] = (
        200,
        {"refund_id": "50000000382019052709732678859", "out_refund_no": "R1", "status": "PROCESSING"},
    )
    result = WechatPayChannel().refund(
        top_up_id="T1", refund_id="R1", amount=Decimal("4.00"), total=Decimal("10.00"), reason="用户申请"
    )
    (call,) = api.calls
    assert call["verified"]
    assert call["json"] == {
        "notify_url": "https://accounts.example.com/api/v1/wallet/notify/wechatpay/",
        "out_refund_no": "R1",
        "amount": {"refund": 400, "total": 1000, "currency": "CNY"},
        "out_trade_no": "T1",
        "reason": "用户申请",
    }
    assert (result.state, result.channel_refund_id) == (RefundState.PENDING, "50000000382019052709732678859")
    api.routes[("POST", "/v3/refund/domestic/refunds")] = (200, {"refund_id": "5", "status": "SUCCESS"})
    assert WechatPayChannel().refund(
        top_up_id="T1", refund_id="R1", amount=Decimal("4"), total=Decimal("10")
    ).state == (RefundState.SUCCEEDED)


def test_refund_query_reads_a_processing_refunds_outcome(api):
    api.routes[("GET", "/v3/refund/domestic/refunds/R1")] = (
        200,
        {"refund_id": "50000000382019052709732678859", "out_refund_no": "R1", "status": "SUCCESS"},
    )
    result = WechatPayChannel().refund_query(top_up_id="T1", refund_id="R1")
    assert (result.state, result.channel_refund_id) == (RefundState.SUCCEEDED, "50000000382019052709732678859")
    assert api.calls[0]["verified"] and api.calls[0]["method"] == "GET"
    api.routes[("GET", "/v3/refund/domestic/refunds/R1")] = (200, {"refund_id": "5", "status": "ABNORMAL"})
    assert WechatPayChannel().refund_query(top_up_id="T1", refund_id="R1").state == RefundState.FAILED
    api.routes[("GET", "/v3/refund/domestic/refunds/R1")] = (
        404,
        {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"},
    )
    assert WechatPayChannel().refund_query(top_up_id="T1", refund_id="R1").state == RefundState.FAILED


def test_a_refund_wechat_pay_refuses_is_failed(api):
    api.routes[("POST", "/v3/refund/domestic/refunds")] = (403, {"code": "NOT_ENOUGH", "message": "基本账户余额不足"})
    result = WechatPayChannel().refund(top_up_id="T1", refund_id="R1", amount=Decimal("4.00"), total=Decimal("10.00"))
    assert result.state == RefundState.FAILED


# --- the daily bill -------------------------------------------------------------------------------

BILL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注"
)


def bill_row(
    transaction_id, top_up_id, state, amount, refund_id="", refund_amount="0.00", refund_state="SUCCESS"
) -> str:
    refund = state == "REFUND"
    cells = ["2026-12-01 10:00:05", APP_ID, MCH_ID, "0", "", transaction_id, top_up_id, "oUpF8uMuAJO", "APP", state,
             "OTHERS", "CNY", amount, "0.00", "5000000038201905" if refund else "0", refund_id, refund_amount, "0.00",
             "ORIGINAL" if refund else "", refund_state if refund else "", "钱包充值", "", "0.06", "0.60%", amount,
             refund_amount, ""]  # fmt: skip
    return ",".join(f"`{cell}" for cell in cells)


def bill_file(rows: list[str]) -> bytes:
    lines = [BILL_HEADER, *rows, "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额",
             "`3,`10.01,`4.00,`0.00,`0.06,`10.01,`4.00"]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n").encode()


def test_bill_gets_the_download_url_downloads_checks_the_hash_and_parses(api):
    raw = bill_file(
        [
            bill_row("4200000000202612010000000001", "T20261201100000AAAA", "SUCCESS", "10.00"),
            bill_row("4200000000202612010000000002", "T20261201100000BBBB", "SUCCESS", "0.01"),
            bill_row("4200000000202612010000000001", "T20261201100000AAAA", "REFUND", "0.00", "R1", "4.00"),
        ]
    )
    api.files["tk1"] = gzip.compress(raw)
    api.routes[("GET", "/v3/bill/tradebill")] = (
        200,
        {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(raw).hexdigest(),  # noqa: S324 - WeChat Pay's choice
            "download_url": f"{api.stand_in.url}/v3/billdownload/file?token=tk1",
        },
    )
    lines = WechatPayChannel().bill(date=datetime.date(2026, 12, 1))
    assert [call["route"] for call in api.calls] == ["/v3/bill/tradebill", "/v3/billdownload/file"]
    assert all(call["verified"] for call in api.calls)
    assert api.calls[0]["query"] == {"bill_date": "2026-12-01", "bill_type": "ALL", "tar_type": "GZIP"}
    assert [(line.kind, line.top_up_id, line.trade_no, line.amount, line.status, line.refund_id) for line in lines] == [
        ("payment", "T20261201100000AAAA", "4200000000202612010000000001", Decimal("10.00"), "succeeded", ""),
        ("payment", "T20261201100000BBBB", "4200000000202612010000000002", Decimal("0.01"), "succeeded", ""),
        ("refund", "T20261201100000AAAA", "4200000000202612010000000001", Decimal("4.00"), "succeeded", "R1"),
    ]  # fmt: skip


def test_a_bill_that_does_not_match_its_hash_is_a_channel_error(api):
    raw = bill_file([bill_row("42", "T1", "SUCCESS", "10.00")])
    api.files["tk1"] = gzip.compress(raw.replace(b"10.00", b"99.00"))
    api.routes[("GET", "/v3/bill/tradebill")] = (
        200,
        {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(raw).hexdigest(),  # noqa: S324
            "download_url": f"{api.stand_in.url}/v3/billdownload/file?token=tk1",
        },
    )
    with pytest.raises(ChannelError, match="SHA-1"):
        WechatPayChannel().bill(date=datetime.date(2026, 12, 1))


def test_a_download_url_elsewhere_is_refused_and_a_day_without_trades_is_empty(api):
    api.routes[("GET", "/v3/bill/tradebill")] = (
        200,
        {
            "hash_type": "SHA1",
            "hash_value": "0" * 40,
            "download_url": "https://evil.example.com/v3/billdownload/file?token=x",
        },
    )
    with pytest.raises(ChannelError, match="download_url"):
        WechatPayChannel().bill(date=datetime.date(2026, 12, 1))
    api.routes[("GET", "/v3/bill/tradebill")] = (400, {"code": "NO_STATEMENT_EXIST", "message": "账单文件不存在"})
    assert WechatPayChannel().bill(date=datetime.date(2026, 12, 1)) == []


# --- settings ---------------------------------------------------------------------------------------


def test_missing_settings_are_named_together(settings):
    for name in ("WECHATPAY_MCH_ID", "WECHATPAY_API_V3_KEY", "WECHATPAY_PUBLIC_KEY", "WECHATPAY_CERT_DIR"):
        setattr(settings, name, "")
    settings.WECHATPAY_PUBLIC_KEY_ID = "PUB_KEY_ID_1"
    with pytest.raises(ImproperlyConfigured) as caught:
        WechatPayChannel()
    message = str(caught.value)
    assert "WECHATPAY_MCH_ID" in message and "WECHATPAY_API_V3_KEY" in message and "WECHATPAY_PUBLIC_KEY," in message
    settings.WECHATPAY_PUBLIC_KEY_ID = ""
    with pytest.raises(ImproperlyConfigured, match="WECHATPAY_CERT_DIR"):
        WechatPayChannel()


def test_an_api_v3_key_of_the_wrong_length_is_improperly_configured(api, settings):
    settings.WECHATPAY_API_V3_KEY = "short"
    with pytest.raises(ImproperlyConfigured, match="32"):
        WechatPayChannel()
