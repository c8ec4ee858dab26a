"""Alipay (支付宝) through python-alipay-sdk, RSA2: ``pip install -r requirements-pay.txt``.

Methods: ``app`` (the default: a signed ``order_string`` for the Alipay app SDK,
``alipay.trade.app.pay``), ``wap`` (``alipay.trade.wap.pay``) and ``page``
(``alipay.trade.page.pay``), both a gateway ``url`` to open. Creating a trade
needs no network call: Alipay creates it when the buyer opens the signed
request. Query, close, refund and the bill call the gateway
(``ALIPAY_GATEWAY``), whose answers the SDK verifies with Alipay's public key.

The merchant a notification must carry is ``app_id``, or ``app_id/seller_id``
when ``ALIPAY_SELLER_ID`` is set: one string, so the wallet's single merchant
check covers both ids and a mismatch is logged like any other.

Notifications are form posts signed with Alipay's key over every field but
``sign`` and ``sign_type``. Alipay retries an unanswered notification for about
25 hours; one whose ``notify_time`` is older than ``NOTIFY_MAX_AGE`` is refused
(a replayed old notification could credit nothing anyway — each is unique per
trade and event — but there is no reason to process it).
"""

from __future__ import annotations

import csv
import datetime
import functools
import importlib
import io
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl
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
from wallet.channels.settings import AlipaySettings, alipay_settings, notification_tolerance, result_url

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTIFY_MAX_AGE = datetime.timedelta(hours=48)
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Alipay's times are Beijing time in this form

_PAY_METHODS = {
    "app": ("alipay.trade.app.pay", "QUICK_MSECURITY_PAY"),
    "wap": ("alipay.trade.wap.pay", "QUICK_WAP_PAY"),
    "page": ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"),
}
_TRADE_STATES = {
    "WAIT_BUYER_PAY": TradeState.PENDING,
    "TRADE_SUCCESS": TradeState.SUCCEEDED,
    "TRADE_FINISHED": TradeState.SUCCEEDED,
    "TRADE_CLOSED": TradeState.CLOSED,
}
_SUCCESS = "10000"
# Business answers that say for sure the refund will not happen (anything else may be retried).
_REFUND_REFUSALS = {
    "ACQ.TRADE_NOT_EXIST",
    "ACQ.TRADE_STATUS_ERROR",
    "ACQ.TRADE_HAS_CLOSE",
    "ACQ.TRADE_HAS_FINISHED",
    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
    "ACQ.REFUND_FEE_ERROR",
    "ACQ.SELLER_BALANCE_NOT_ENOUGH",
    "ACQ.ONLINE_TRADE_REFUND_PERIOD_EXPIRED",
    "ACQ.INVALID_PARAMETER",
}
# The daily bill's detail file ends with this; the summary file ends with "(汇总).csv".
_BILL_DETAIL_SUFFIX = "业务明细.csv"


def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def _decimal(value: str, field: str) -> Decimal:
    try:
        return Decimal(value.strip()).quantize(Decimal("0.01"))
    except (InvalidOperation, AttributeError) as exc:
        raise ValueError(f"{field} is not an amount: {value!r}") from exc


def _beijing(value: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(value.strip(), _TIME_FORMAT).replace(tzinfo=SHANGHAI)
    except (ValueError, AttributeError):
        return None


@functools.lru_cache(maxsize=4)
def _client(conf: AlipaySettings) -> tuple[Any, Any]:
    """One SDK client per configuration: loading the RSA keys costs pycryptodome ~0.2 s of CPU."""
    try:
        sdk = importlib.import_module("alipay")
        exceptions = importlib.import_module("alipay.exceptions")
        utils = importlib.import_module("alipay.utils")
    except ImportError as exc:
        raise ImproperlyConfigured(
            "The alipay channel needs python-alipay-sdk: pip install -r requirements-pay.txt"
        ) from exc
    try:
        client = sdk.AliPay(
            appid=conf.app_id,
            app_notify_url=conf.notify_url,
            app_private_key_string=conf.app_private_key,
            alipay_public_key_string=conf.alipay_public_key,
            sign_type="RSA2",
            config=utils.AliPayConfig(timeout=conf.timeout),
        )
    except (ValueError, IndexError, TypeError) as exc:
        raise ImproperlyConfigured(f"ALIPAY_APP_PRIVATE_KEY or ALIPAY_PUBLIC_KEY is not an RSA key: {exc}") from exc
    # The SDK knows only Alipay's two gateways (production, sandbox); ours is a setting.
    client._gateway = conf.gateway
    return client, exceptions


class AlipayChannel(Channel):
    name = "alipay"
    methods = ("app", "wap", "page")

    def __init__(self) -> None:
        self.conf: AlipaySettings = alipay_settings()
        self._client, self._exceptions = _client(self.conf)
        self.merchant_id = f"{self.conf.app_id}/{self.conf.seller_id}" if self.conf.seller_id else self.conf.app_id

    # --- requests ------------------------------------------------------------------------------

    def _stamp(self) -> str:
        # The SDK stamps requests with the server's local time; Alipay expects Beijing time.
        return datetime.datetime.now(SHANGHAI).strftime(_TIME_FORMAT)

    def _call(self, method: str, biz_content: dict[str, str]) -> dict[str, Any]:
        """One gateway call; the answer's signature checked by the SDK. Raises ChannelError."""
        try:
            answer = self._client.server_api(method, biz_content, timestamp=self._stamp())
        except self._exceptions.AliPayValidationError as exc:
            raise ChannelError(f"{method}: the answer's signature does not verify") from exc
        except self._exceptions.AliPayException as exc:
            raise ChannelError(f"{method}: {exc}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:  # network, HTTP 5xx, not JSON
            raise ChannelError(f"{method}: {type(exc).__name__}: {exc}") from exc
        except (AttributeError, KeyError, TypeError) as exc:  # JSON, but not shaped like an Alipay answer
            raise ChannelError(f"{method}: unexpected answer: {type(exc).__name__}: {exc}") from exc
        if not isinstance(answer, dict):
            raise ChannelError(f"{method}: unexpected answer {answer!r}")
        return answer

    @staticmethod
    def _refused(method: str, answer: Mapping[str, Any]) -> ChannelError:
        return ChannelError(
            f"{method}: {answer.get('code')} {answer.get('msg')} {answer.get('sub_code', '')} {answer.get('sub_msg', '')}".strip()
        )

    # --- Channel ----------------------------------------------------------------------------------

    def create(self, request: TopUpRequest) -> PayInstructions:
        method = request.method or self.methods[0]
        if method not in _PAY_METHODS:
            raise ValueError(f"alipay has no method {method!r}")
        api, product_code = _PAY_METHODS[method]
        biz_content = {
            "out_trade_no": request.top_up_id,
            "total_amount": _money(request.amount),
            "subject": request.description[:256],
            "product_code": product_code,
            "time_expire": request.expires_at.astimezone(SHANGHAI).strftime(_TIME_FORMAT),
        }
        extra: dict[str, str] = {"timestamp": self._stamp()}
        if method != "app":  # the app SDK returns to the app by itself
            extra["return_url"] = result_url(self.conf.return_url, request.top_up_id)
        signed = self._client.client_api(api, biz_content, **extra)
        if method == "app":
            return PayInstructions(order_string=signed)
        return PayInstructions(url=f"{self.conf.gateway}?{signed}")

    def notification_verify(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        fields = _form_fields(body)
        signature = fields.pop("sign", "")
        if not signature or fields.get("sign_type", "RSA2") != "RSA2":
            raise SignatureInvalid("alipay: no RSA2 signature")
        try:
            verified = self._client.verify(dict(fields), signature)
        except (ValueError, TypeError, self._exceptions.AliPayException) as exc:  # bad base64, odd sign_type
            raise SignatureInvalid(f"alipay: {exc}") from exc
        if not verified:
            raise SignatureInvalid("alipay: the signature does not verify")
        notified_at = _beijing(fields.get("notify_time", ""))
        now = datetime.datetime.now(SHANGHAI)
        if notified_at is None or not (
            now - NOTIFY_MAX_AGE <= notified_at <= now + datetime.timedelta(seconds=notification_tolerance())
        ):
            raise SignatureInvalid(f"alipay: notify_time {fields.get('notify_time')!r} is not recent")
        status = fields.get("trade_status", "")
        if status not in _TRADE_STATES:
            raise ValueError(f"alipay: unknown trade_status {status!r}")
        for field in ("out_trade_no", "trade_no", "total_amount", "app_id"):
            if not fields.get(field):
                raise ValueError(f"alipay: the notification has no {field}")
        merchant = fields["app_id"]
        if self.conf.seller_id:
            merchant = f"{merchant}/{fields.get('seller_id', '')}"
        # A refund also notifies (TRADE_SUCCESS after a partial one, TRADE_CLOSED after a full one)
        # with out_biz_no = our refund id; each refund is its own event.
        refund_id = fields.get("out_biz_no") if fields.get("refund_fee") or fields.get("gmt_refund") else None
        return Notification(
            top_up_id=fields["out_trade_no"],
            trade_no=fields["trade_no"],
            event=f"{status}:{refund_id}" if refund_id else status,
            state=TradeState.SUCCEEDED if refund_id else _TRADE_STATES[status],
            amount=_decimal(fields["total_amount"], "total_amount"),
            currency=fields.get("trans_currency") or "CNY",
            merchant_id=merchant,
            occurred_at=_beijing(fields.get("gmt_payment", "")) or notified_at,
            refund_id=refund_id,
        )

    def notification_answer(self, *, ok: bool) -> NotificationAnswer:
        # Alipay stops retrying when, and only when, the body is exactly "success".
        if ok:
            return NotificationAnswer(status=200, body=b"success", content_type="text/plain; charset=utf-8")
        return NotificationAnswer(status=400, body=b"fail", content_type="text/plain; charset=utf-8")

    def query(self, *, top_up_id: str) -> TradeStatus:
        answer = self._call("alipay.trade.query", {"out_trade_no": top_up_id})
        if answer.get("code") != _SUCCESS:
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":  # the buyer never opened it
                return TradeStatus(state=TradeState.UNKNOWN)
            raise self._refused("alipay.trade.query", answer)
        status = answer.get("trade_status", "")
        if status not in _TRADE_STATES:
            raise ChannelError(f"alipay.trade.query: unknown trade_status {status!r}")
        return TradeStatus(
            state=_TRADE_STATES[status],
            trade_no=answer.get("trade_no", ""),
            amount=_decimal(answer["total_amount"], "total_amount") if answer.get("total_amount") else None,
            paid_at=_beijing(answer.get("send_pay_date", ""))
            if _TRADE_STATES[status] == TradeState.SUCCEEDED
            else None,
        )

    def close(self, *, top_up_id: str) -> None:
        answer = self._call("alipay.trade.close", {"out_trade_no": top_up_id})
        # A trade the buyer never opened does not exist at Alipay: nothing to close.
        if answer.get("code") != _SUCCESS and answer.get("sub_code") != "ACQ.TRADE_NOT_EXIST":
            raise self._refused("alipay.trade.close", answer)

    def refund(
        self, *, top_up_id: str, refund_id: str, amount: Decimal, total: Decimal, reason: str = ""
    ) -> RefundResult:
        biz_content = {"out_trade_no": top_up_id, "refund_amount": _money(amount), "out_request_no": refund_id}
        if reason:
            biz_content["refund_reason"] = reason[:256]
        answer = self._call("alipay.trade.refund", biz_content)
        if answer.get("code") != _SUCCESS:
            if answer.get("sub_code") in _REFUND_REFUSALS:
                return RefundResult(
                    state=RefundState.FAILED, error=f"{answer.get('sub_code')} {answer.get('sub_msg', '')}"[:500]
                )
            raise self._refused("alipay.trade.refund", answer)
        if answer.get("fund_change") == "Y":
            return RefundResult(state=RefundState.SUCCEEDED, channel_refund_id=answer.get("trade_no", ""))
        # fund_change=N: this call moved nothing, e.g. a retry of a refund already made; ask about it.
        return self.refund_query(top_up_id=top_up_id, refund_id=refund_id)

    def refund_query(self, *, top_up_id: str, refund_id: str) -> RefundResult:
        found = self._call(
            "alipay.trade.fastpay.refund.query", {"out_trade_no": top_up_id, "out_request_no": refund_id}
        )
        if found.get("code") != _SUCCESS:
            raise self._refused("alipay.trade.fastpay.refund.query", found)
        # Alipay: a refund it returns data for, with refund_status empty or REFUND_SUCCESS, was made.
        if found.get("refund_amount") and found.get("refund_status", "REFUND_SUCCESS") == "REFUND_SUCCESS":
            return RefundResult(state=RefundState.SUCCEEDED, channel_refund_id=found.get("trade_no", ""))
        return RefundResult(state=RefundState.PENDING)  # not (yet) made: staff decide, nothing is assumed

    def bill(self, *, date: datetime.date) -> list[BillLine]:
        answer = self._call(
            "alipay.data.dataservice.bill.downloadurl.query", {"bill_type": "trade", "bill_date": date.isoformat()}
        )
        if answer.get("code") != _SUCCESS:
            if answer.get("sub_code") == "isp.bill_not_exist":  # no trade that day
                return []
            raise self._refused("alipay.data.dataservice.bill.downloadurl.query", answer)
        url = answer.get("bill_download_url", "")
        if not url.startswith(("https://", "http://")):
            raise ChannelError(f"alipay bill: unexpected download URL {url!r}")
        # Spooled to disk past 8 MB so a big day does not sit in memory twice.
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
            try:
                with urllib.request.urlopen(url, timeout=self.conf.timeout) as response:  # noqa: S310 - Alipay's https URL
                    while chunk := response.read(64 * 1024):
                        spool.write(chunk)
            except (urllib.error.URLError, OSError) as exc:
                raise ChannelError(f"alipay bill download: {exc}") from exc
            spool.seek(0)
            try:
                return list(_bill_lines(spool))
            except (zipfile.BadZipFile, UnicodeDecodeError, KeyError) as exc:
                raise ChannelError(f"alipay bill: unreadable file: {exc}") from exc


def _form_fields(body: bytes) -> dict[str, str]:
    """The notification's form fields, decoded with the charset it declares (utf-8 unless told)."""
    try:
        text = body.decode("ascii")  # form encoding is ASCII; anything else is not Alipay's
    except UnicodeDecodeError as exc:
        raise SignatureInvalid("alipay: the body is not form-encoded") from exc
    charset = dict(parse_qsl(text, encoding="latin-1")).get("charset", "utf-8")
    try:
        return dict(parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict"))
    except (LookupError, UnicodeDecodeError) as exc:
        raise SignatureInvalid(f"alipay: the body is not {charset}") from exc


def _member_name(info: zipfile.ZipInfo) -> str:
    # Alipay names the files in GBK without the zip's UTF-8 flag, which Python reads as cp437.
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _bill_lines(file: Any) -> Iterator[BillLine]:
    """The payments and refunds of Alipay's trade bill: a zip whose ``…业务明细.csv`` (GBK) lists them.

    The CSV opens with ``#`` comment lines, then the header row (支付宝交易号,
    商户订单号, 业务类型, …), the rows (cells padded with tabs and spaces), and
    ``#`` summary lines. Amounts of refund rows are negative.
    """
    with zipfile.ZipFile(file) as archive:
        detail = next(
            (
                info
                for info in archive.infolist()
                if _member_name(info).endswith(_BILL_DETAIL_SUFFIX) and "汇总" not in _member_name(info)
            ),
            None,
        )
        if detail is None:
            raise KeyError(f"no *{_BILL_DETAIL_SUFFIX} in the zip")
        with archive.open(detail) as raw, io.TextIOWrapper(raw, encoding="gb18030", newline="") as text:
            columns: dict[str, int] | None = None
            for row in csv.reader(text):
                cells = [cell.strip() for cell in row]
                if not cells or not cells[0] or cells[0].startswith("#"):
                    continue
                if columns is None:
                    if cells[0] == "支付宝交易号":
                        columns = {name: i for i, name in enumerate(cells)}
                    continue
                kind = cells[columns["业务类型"]]
                if kind not in ("交易", "退款"):
                    continue
                yield BillLine(
                    kind="payment" if kind == "交易" else "refund",
                    top_up_id=cells[columns["商户订单号"]],
                    trade_no=cells[columns["支付宝交易号"]],
                    amount=abs(_decimal(cells[columns["订单金额（元）"]], "订单金额")),
                    status="succeeded",
                    refund_id=cells[columns["退款批次号/请求号"]] if kind == "退款" else "",
                    extra={
                        "finished_at": cells[columns["完成时间"]],
                        "received": cells[columns["商家实收（元）"]],
                        "fee": cells[columns["服务费（元）"]],
                    },
                )
