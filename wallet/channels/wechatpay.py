"""WeChat Pay (微信支付) API v3 through wechatpayv3: ``pip install -r requirements-pay.txt``.

Methods: ``app`` (the default: the signed parameters the WeChat app SDK takes,
``app``), ``native`` (a ``code_url`` to show as a QR code) and ``h5`` (a ``url``
to open in the phone's browser). Every request is signed with the merchant's
API key (``WECHATPAY_PRIVATE_KEY``, certificate ``WECHATPAY_CERT_SERIAL_NO``);
every answer and notification is verified with WeChat Pay's public key
(``WECHATPAY_PUBLIC_KEY`` + ``WECHATPAY_PUBLIC_KEY_ID``) or, for merchants
still on them, its platform certificates (``WECHATPAY_CERT_DIR``).

The merchant a notification must carry is ``mchid/appid`` (one string, so the
wallet's single merchant check covers both ids; a refund's resource has no
``appid`` and claims only the ``mchid``). Amounts go over the wire in fen and
come back as ``Decimal`` yuan.

The SDK checks a notification's signature and decrypts its resource (AES-256-GCM
with the API v3 key) but not its age: :meth:`notification_verify` refuses a
``Wechatpay-Timestamp`` more than ``WALLET_NOTIFICATION_TOLERANCE`` (300 s) from now itself, before the SDK runs.
"""

from __future__ import annotations

import csv
import datetime
import functools
import gzip
import hashlib
import importlib
import io
import json
import secrets
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.core.exceptions import ImproperlyConfigured

from wallet.channels.base import (
    BillLine,
    Channel,
    ChannelError,
    Notification,
    NotificationAnswer,
    PayInstructions,
    RefundResult,
    RefundState,
    SignatureInvalid,
    TopUpRequest,
    TradeState,
    TradeStatus,
)
from wallet.channels.settings import WechatpaySettings, notification_tolerance, result_url, wechatpay_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"

_TRADE_STATES = {
    "SUCCESS": TradeState.SUCCEEDED,
    "REFUND": TradeState.SUCCEEDED,  # paid, then (partly) refunded
    "NOTPAY": TradeState.PENDING,
    "USERPAYING": TradeState.PENDING,
    "PAYERROR": TradeState.FAILED,
    "CLOSED": TradeState.CLOSED,
    "REVOKED": TradeState.CLOSED,
}
_REFUND_STATES = {
    "SUCCESS": RefundState.SUCCEEDED,
    "PROCESSING": RefundState.PENDING,
    "CLOSED": RefundState.FAILED,
    "ABNORMAL": RefundState.FAILED,
}
# A refund notification's event_type → the refund's outcome (reported as the notification's state).
_REFUND_EVENTS = {
    "REFUND.SUCCESS": TradeState.SUCCEEDED,
    "REFUND.ABNORMAL": TradeState.FAILED,
    "REFUND.CLOSED": TradeState.FAILED,
}
_HEADERS = ("signature", "timestamp", "nonce", "serial", "signature-type")


def _fen(amount: Decimal) -> int:
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return int(fen)


def _yuan(fen: Any, field: str) -> Decimal:
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise ValueError(f"wechatpay: {field} is not a whole number of fen: {fen!r}")
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _time(value: Any) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(value) if value else None  # RFC 3339 with offset
    except (TypeError, ValueError):
        return None


def _headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The Wechatpay-* headers by short name, from Django's ``request.headers`` or ``META`` or a plain dict."""
    found: dict[str, str] = {}
    for key, value in headers.items():
        name = key.lower().replace("_", "-")
        if name.startswith("http-"):
            name = name[len("http-") :]
        if name.startswith("wechatpay-") and name[len("wechatpay-") :] in _HEADERS:
            found[name[len("wechatpay-") :]] = value
    return found


@functools.lru_cache(maxsize=4)
def _client(conf: WechatpaySettings) -> Any:
    """One SDK client per configuration: in certificate mode it keeps the platform certificates it loaded."""
    try:
        sdk = importlib.import_module("wechatpayv3")
    except ImportError as exc:
        raise ImproperlyConfigured(
            "The wechatpay channel needs wechatpayv3: pip install -r requirements-pay.txt"
        ) from exc
    if conf.cert_dir:
        _check_certificates(conf.cert_dir)
    try:
        client = sdk.WeChatPay(
            wechatpay_type=sdk.WeChatPayType.APP,
            mchid=conf.mch_id,
            private_key=conf.private_key,
            cert_serial_no=conf.cert_serial_no,
            appid=conf.app_id,
            apiv3_key=conf.api_v3_key,
            notify_url=conf.notify_url,
            cert_dir=conf.cert_dir or None,
            timeout=(conf.timeout, conf.timeout),
            public_key=conf.public_key or None,
            public_key_id=conf.public_key_id or None,
        )
    except Exception as exc:  # the SDK raises bare Exception for an unreadable key
        raise ImproperlyConfigured(f"wechatpay: {exc} (WECHATPAY_PRIVATE_KEY / WECHATPAY_PUBLIC_KEY)") from exc
    # The SDK's gateway is fixed; ours is a setting (a proxy, or a stand-in in tests).
    client._core._gate_way = conf.gateway
    return client


def _check_certificates(cert_dir: str) -> None:
    """At least one valid platform certificate, else the SDK would fetch some from its built-in gateway."""
    x509 = importlib.import_module("cryptography.x509")
    now = datetime.datetime.now(datetime.UTC)
    for path in Path(cert_dir).glob("*.pem"):
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            continue
        if cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return
    raise ImproperlyConfigured(f"WECHATPAY_CERT_DIR ({cert_dir}) holds no valid platform certificate (*.pem).")


class WechatPayChannel(Channel):
    name = "wechatpay"
    methods = ("app", "native", "h5")

    def __init__(self) -> None:
        self.conf: WechatpaySettings = wechatpay_settings()
        self._client = _client(self.conf)
        self.merchant_id = f"{self.conf.mch_id}/{self.conf.app_id}"

    # --- requests ------------------------------------------------------------------------------

    def _answer(self, what: str, call: Any, *, ok: tuple[int, ...] = (200,), binary: bool = False) -> tuple[int, Any]:
        """Run one SDK call; the answer's signature is checked by the SDK. Raises ChannelError.

        Returns the status and the JSON object (or, with ``binary``, the bytes of a download)."""
        try:
            status, message = call()
        except Exception as exc:  # requests' errors, or the SDK's bare "failed to verify the signature"
            raise ChannelError(f"wechatpay {what}: {type(exc).__name__}: {exc}") from exc
        data: Any = {} if message in ("", b"") else message  # 204 No Content
        if isinstance(message, str) and message:
            try:
                data = json.loads(message)
            except ValueError as exc:
                raise ChannelError(f"wechatpay {what}: HTTP {status}, not JSON") from exc
            if not isinstance(data, dict):
                raise ChannelError(f"wechatpay {what}: HTTP {status}, not a JSON object")
        if status not in ok and status < 500 and isinstance(data, dict):
            return status, data  # a business answer (4xx with a code) for the caller to read
        if status not in ok:
            raise ChannelError(f"wechatpay {what}: HTTP {status} {message!r:.200}")
        if not binary and not isinstance(data, dict):
            raise ChannelError(f"wechatpay {what}: HTTP {status}, not a JSON answer")
        return status, data

    @staticmethod
    def _refused(what: str, status: int, data: Mapping[str, Any]) -> ChannelError:
        return ChannelError(f"wechatpay {what}: HTTP {status} {data.get('code')} {data.get('message')}")

    # --- Channel ----------------------------------------------------------------------------------

    def create(self, request: TopUpRequest) -> PayInstructions:
        sdk = importlib.import_module("wechatpayv3")
        method = request.method or self.methods[0]
        pay_types = {"app": sdk.WeChatPayType.APP, "native": sdk.WeChatPayType.NATIVE, "h5": sdk.WeChatPayType.H5}
        if method not in pay_types:
            raise ValueError(f"wechatpay has no method {method!r}")
        scene_info = None
        if method == "h5":  # WeChat Pay wants the payer's IP for H5 payments
            scene_info = {"payer_client_ip": request.client_ip or "127.0.0.1", "h5_info": {"type": "Wap"}}
        status, data = self._answer(
            "pay",
            lambda: self._client.pay(
                description=request.description.encode()[:127].decode(errors="ignore") or request.top_up_id,
                out_trade_no=request.top_up_id,
                amount={"total": _fen(request.amount), "currency": request.currency},
                time_expire=request.expires_at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
                scene_info=scene_info,
                pay_type=pay_types[method],
            ),
        )
        if status != 200:
            raise self._refused("pay", status, data)
        if method == "native":
            return PayInstructions(code_url=str(data["code_url"]))
        if method == "h5":
            url = str(data["h5_url"])
            redirect = result_url(self.conf.h5_redirect_url, request.top_up_id)
            url += ("&" if "?" in url else "?") + "redirect_url=" + quote(redirect, safe="")
            return PayInstructions(url=url)
        prepay_id = str(data["prepay_id"])
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        # The app SDK's signature: appid, timestamp, nonce and prepay id, one per line.
        signature = self._client.sign([self.conf.app_id, timestamp, nonce, prepay_id])
        return PayInstructions(
            app={
                "appid": self.conf.app_id,
                "partnerid": self.conf.mch_id,
                "prepayid": prepay_id,
                "package": "Sign=WXPay",
                "noncestr": nonce,
                "timestamp": timestamp,
                "sign": signature,
            }
        )

    def notification_verify(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        found = _headers(headers)
        if not all(found.get(name) for name in ("signature", "timestamp", "nonce", "serial")):
            raise SignatureInvalid("wechatpay: the Wechatpay-Signature/Timestamp/Nonce/Serial headers are missing")
        try:
            age = abs(time.time() - int(found["timestamp"]))
        except ValueError as exc:
            raise SignatureInvalid("wechatpay: Wechatpay-Timestamp is not a number") from exc
        if age > notification_tolerance():
            raise SignatureInvalid(f"wechatpay: Wechatpay-Timestamp is {age:.0f} s from now")
        if self.conf.public_key_id and found["serial"] != self.conf.public_key_id:
            # Otherwise the SDK would go and download platform certificates for the unknown serial.
            raise SignatureInvalid(f"wechatpay: unknown Wechatpay-Serial {found['serial']!r}")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SignatureInvalid("wechatpay: the body is not UTF-8") from exc
        sdk_headers = {
            "Wechatpay-Signature": found["signature"],
            "Wechatpay-Timestamp": found["timestamp"],
            "Wechatpay-Nonce": found["nonce"],
            "Wechatpay-Serial": found["serial"],
            "Wechatpay-Signature-Type": found.get("signature-type") or SIGNATURE_TYPE,
        }
        try:
            # None when the signature does not verify or the resource does not decrypt with our key.
            data = self._client.callback(sdk_headers, text)
        except ValueError as exc:  # verified, but the body is not JSON
            raise ValueError(f"wechatpay: {exc}") from exc
        except Exception as exc:  # the SDK raises bare Exception for an algorithm it does not know
            raise SignatureInvalid(f"wechatpay: {exc}") from exc
        if not data:
            raise SignatureInvalid("wechatpay: the signature does not verify or the resource does not decrypt")
        return _notification(data, app_id=self.conf.app_id)

    def notification_answer(self, *, ok: bool) -> NotificationAnswer:
        # WeChat Pay: 200/204 means received; any 4xx/5xx with a FAIL body makes it retry later.
        if ok:
            body = json.dumps({"code": "SUCCESS", "message": "成功"}, ensure_ascii=False).encode()
            return NotificationAnswer(status=200, body=body, content_type="application/json")
        body = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False).encode()
        return NotificationAnswer(status=500, body=body, content_type="application/json")

    def query(self, *, top_up_id: str) -> TradeStatus:
        status, data = self._answer("query", lambda: self._client.query(out_trade_no=top_up_id))
        if status == 404 or data.get("code") == "ORDER_NOT_EXIST":
            return TradeStatus(state=TradeState.UNKNOWN)
        if status != 200:
            raise self._refused("query", status, data)
        trade_state = data.get("trade_state", "")
        if trade_state not in _TRADE_STATES:
            raise ChannelError(f"wechatpay query: unknown trade_state {trade_state!r}")
        amount = data.get("amount") or {}
        try:
            total = _yuan(amount["total"], "amount.total") if "total" in amount else None
        except ValueError as exc:
            raise ChannelError(str(exc)) from exc
        return TradeStatus(
            state=_TRADE_STATES[trade_state],
            trade_no=data.get("transaction_id", ""),
            amount=total,
            paid_at=_time(data.get("success_time")),
        )

    def close(self, *, top_up_id: str) -> None:
        status, data = self._answer("close", lambda: self._client.close(out_trade_no=top_up_id), ok=(200, 204))
        if status not in (200, 204) and data.get("code") != "ORDER_CLOSED":  # closing twice is fine
            raise self._refused("close", status, data)

    def refund(
        self, *, top_up_id: str, refund_id: str, amount: Decimal, total: Decimal, reason: str = ""
    ) -> RefundResult:
        status, data = self._answer(
            "refund",
            lambda: self._client.refund(
                out_refund_no=refund_id,
                amount={"refund": _fen(amount), "total": _fen(total), "currency": "CNY"},
                out_trade_no=top_up_id,
                reason=reason[:80] or None,
            ),
        )
        if status != 200:
            # A 4xx is WeChat Pay refusing this refund for good (not enough balance, bad amount, …).
            return RefundResult(state=RefundState.FAILED, error=f"{data.get('code')} {data.get('message')}"[:500])
        return self._refund_result(data)

    def refund_query(self, *, top_up_id: str, refund_id: str) -> RefundResult:
        status, data = self._answer("query_refund", lambda: self._client.query_refund(out_refund_no=refund_id))
        if status == 404 or data.get("code") == "RESOURCE_NOT_EXISTS":
            # Never arrived: no money left us. (wallet_sync asks only after WALLET_QUERY_AFTER,
            # so this is not a refund still on its way in.)
            return RefundResult(state=RefundState.FAILED, error="wechatpay has no such refund")
        if status != 200:
            raise self._refused("query_refund", status, data)
        return self._refund_result(data)

    @staticmethod
    def _refund_result(data: Mapping[str, Any]) -> RefundResult:
        refund_status = str(data.get("status", ""))
        if refund_status not in _REFUND_STATES:
            # Unreadable is not "failed": the money stays frozen until the channel is asked again.
            raise ChannelError(f"wechatpay refund: unknown status {refund_status!r}")
        state = _REFUND_STATES[refund_status]
        error = f"wechatpay refund {refund_status}" if state == RefundState.FAILED else ""
        return RefundResult(state=state, channel_refund_id=str(data.get("refund_id", "")), error=error)

    def bill(self, *, date: datetime.date) -> list[BillLine]:
        status, data = self._answer(
            "tradebill", lambda: self._client.trade_bill(bill_date=date.isoformat(), bill_type="ALL", tar_type="GZIP")
        )
        if status != 200:
            if data.get("code") == "NO_STATEMENT_EXIST":  # no trade that day
                return []
            raise self._refused("tradebill", status, data)
        url = str(data.get("download_url", ""))
        if not url.startswith(self.conf.gateway + "/"):
            # The SDK signs the download with our key: only ever send that to our own gateway.
            raise ChannelError(f"wechatpay tradebill: download_url {url!r} is not at {self.conf.gateway}")
        # The download is not signed by WeChat Pay: the SHA-1 it gave with the URL vouches for it.
        _, content = self._answer("billdownload", lambda: self._client.download_bill(url), binary=True)
        if not isinstance(content, bytes):
            raise ChannelError("wechatpay billdownload: expected the gzip file")
        try:
            return _bill_lines(content, hash_type=data.get("hash_type", ""), hash_value=data.get("hash_value", ""))
        except (OSError, EOFError, UnicodeDecodeError, KeyError, IndexError) as exc:
            raise ChannelError(f"wechatpay bill: unreadable file: {exc}") from exc


def _notification(data: Mapping[str, Any], *, app_id: str) -> Notification:
    """The parsed form of a verified notification (the SDK put the decrypted resource in ``resource``)."""
    event = str(data.get("event_type", ""))
    resource = data.get("resource")
    if not isinstance(resource, dict):
        raise ValueError("wechatpay: the notification has no resource")
    for field in ("mchid", "out_trade_no", "transaction_id"):
        if not resource.get(field):
            raise ValueError(f"wechatpay: the resource has no {field}")
    amount = resource.get("amount") or {}
    merchant = f"{resource['mchid']}/{resource.get('appid', '')}"
    if event in _REFUND_EVENTS:
        if not resource.get("out_refund_no"):
            raise ValueError("wechatpay: the refund resource has no out_refund_no")
        refund_id = str(resource["out_refund_no"])
        return Notification(
            top_up_id=str(resource["out_trade_no"]),
            trade_no=str(resource["transaction_id"]),
            event=f"{event}:{refund_id}",  # each refund of a trade is its own event
            state=_REFUND_EVENTS[event],
            amount=_yuan(amount.get("total"), "amount.total"),
            currency=str(amount.get("currency", "CNY")),
            # A refund's resource names no appid: it claims only the mchid, so only that can contradict us.
            merchant_id=merchant if resource.get("appid") else f"{resource['mchid']}/{app_id}",
            occurred_at=_time(resource.get("success_time")),
            refund_id=refund_id,
            refund_amount=_yuan(amount.get("refund"), "amount.refund"),
        )
    trade_state = str(resource.get("trade_state", ""))
    if trade_state not in _TRADE_STATES:
        raise ValueError(f"wechatpay: unknown trade_state {trade_state!r}")
    return Notification(
        top_up_id=str(resource["out_trade_no"]),
        trade_no=str(resource["transaction_id"]),
        event=event or f"TRANSACTION.{trade_state}",
        state=_TRADE_STATES[trade_state],
        amount=_yuan(amount.get("total"), "amount.total"),
        currency=str(amount.get("currency", "")),
        merchant_id=merchant,
        occurred_at=_time(resource.get("success_time")),
    )


def _bill_lines(content: bytes, *, hash_type: str, hash_value: str) -> list[BillLine]:
    """The payments and refunds of a gzip'd ``tradebill`` (ALL), checked against WeChat Pay's SHA-1.

    The CSV (UTF-8): a header row (交易时间, …, 微信订单号, 商户订单号, …, 交易状态,
    …), rows whose every cell starts with a backquote, then a summary header
    (总交易单数, …) and its row. It is decompressed as it is read (one
    decompressed copy never sits in memory) and hashed on the way; nothing is
    returned unless the whole file matches the hash.
    """
    if hash_type.upper() != "SHA1" or not hash_value:
        raise ChannelError(f"wechatpay bill: unexpected hash {hash_type!r}")
    digest = hashlib.sha1()  # noqa: S324 - WeChat Pay's choice, checked not trusted alone
    lines: list[BillLine] = []
    columns: dict[str, int] | None = None
    summary = False

    def hashed_text(raw: io.BufferedIOBase) -> Iterator[str]:
        while chunk := raw.readline(1 << 16):
            digest.update(chunk)
            yield chunk.decode("utf-8-sig")

    with gzip.GzipFile(fileobj=io.BytesIO(content)) as raw:
        for row in csv.reader(hashed_text(raw)):
            cells = [cell.strip().lstrip("`") for cell in row]
            if summary or not cells or not cells[0]:
                continue
            if columns is None:
                columns = {name: i for i, name in enumerate(cells)}
            elif cells[0] == "总交易单数":  # the summary follows
                summary = True
            else:
                line = _bill_line(cells, columns)
                if line is not None:
                    lines.append(line)
    if not secrets.compare_digest(digest.hexdigest(), hash_value.lower()):
        raise ChannelError("wechatpay bill: the file does not match its SHA-1")
    return lines


def _bill_line(cells: list[str], columns: Mapping[str, int]) -> BillLine | None:
    state = cells[columns["交易状态"]]
    if state == "SUCCESS":
        return BillLine(
            kind="payment",
            top_up_id=cells[columns["商户订单号"]],
            trade_no=cells[columns["微信订单号"]],
            amount=_bill_amount(cells[columns["订单金额"]]),
            status="succeeded",
            extra={"paid_at": cells[columns["交易时间"]], "fee": cells[columns["手续费"]]},
        )
    if state == "REFUND":
        refund_state = cells[columns["退款状态"]]
        return BillLine(
            kind="refund",
            top_up_id=cells[columns["商户订单号"]],
            trade_no=cells[columns["微信订单号"]],
            amount=_bill_amount(cells[columns["申请退款金额"]] or cells[columns["退款金额"]]),
            status="succeeded" if refund_state == "SUCCESS" else refund_state.lower(),
            refund_id=cells[columns["商户退款单号"]],
            extra={"refunded_at": cells[columns["交易时间"]], "channel_refund_id": cells[columns["微信退款单号"]]},
        )
    return None  # REVOKED and the like: no money moved


def _bill_amount(value: str) -> Decimal:
    try:
        return abs(Decimal(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ChannelError(f"wechatpay bill: {value!r} is not an amount") from exc
