"""The sandbox channel: a payment provider simulated inside the service (API.md, "The sandbox channel").

It plays both parts a real provider plays:

- *the provider's side* — its own books (``SandboxTrade``, ``SandboxRefund``;
  nothing else here touches them), the checkout page at ``pay.url``
  (``sandbox_checkout``), and the signed notification it sends when someone
  pays (``sandbox_notification``);
- *the adapter* the wallet talks to (:class:`SandboxChannel`), exactly like
  the Alipay and WeChat Pay adapters: create, verify a notification, query,
  close, refund, bill.

Notifications are ``POST /api/v1/wallet/notify/sandbox/`` with a JSON body
and ``Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``
keyed with ``WALLET_SANDBOX_SECRET``; ``t`` more than
``WALLET_NOTIFICATION_TOLERANCE`` seconds from now is refused.
"""

import datetime
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

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
from wallet.conf import wallet_settings
from wallet.models import SandboxRefund, SandboxTrade

SIGNATURE_HEADER = "Sandbox-Signature"
EVENTS = {"payment.succeeded": TradeState.SUCCEEDED, "payment.failed": TradeState.FAILED}
BILL_TIME_ZONE = ZoneInfo("Asia/Shanghai")


def sandbox_sign(body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> str:
    """The ``Sandbox-Signature`` header value for ``body`` (used by the sandbox and by tests)."""
    t = int(time.time()) if timestamp is None else timestamp
    key = (secret if secret is not None else wallet_settings.SANDBOX_SECRET).encode()
    digest = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted or key.lower() == "http_" + wanted.replace("-", "_"):
            return value
    return ""


def _verify_signature(headers: Mapping[str, str], body: bytes) -> None:
    secret = wallet_settings.SANDBOX_SECRET
    if not secret:
        raise SignatureInvalid("the sandbox has no secret")
    parts: dict[str, list[str]] = {}
    for item in _header(headers, SIGNATURE_HEADER).split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        raise SignatureInvalid("no timestamp") from None
    if abs(time.time() - t) > wallet_settings.NOTIFICATION_TOLERANCE:
        raise SignatureInvalid("timestamp too far from now")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise SignatureInvalid("signature does not match")


def _checkout_url(token: str) -> str:
    return wallet_settings.PUBLIC_URL.rstrip("/") + reverse("wallet:sandbox-checkout", args=[token])


class SandboxChannel(Channel):
    name = "sandbox"
    methods = ("page",)
    merchant_id = ""
    #: the notify endpoint answers this channel's errors with API.md's error bodies
    api_errors = True

    def create(self, request: TopUpRequest) -> PayInstructions:
        trade, _created = SandboxTrade.objects.get_or_create(
            out_trade_no=request.top_up_id,
            defaults={
                "trade_no": "SBX" + timezone.now().strftime("%Y%m%d") + secrets.token_hex(6).upper(),
                "amount": request.amount,
                "currency": request.currency,
                "description": request.description[:200],
                "expires_at": request.expires_at,
            },
        )
        if trade.amount != request.amount or trade.currency != request.currency:
            raise ChannelError("an order with this number and another amount exists")
        return PayInstructions(url=_checkout_url(trade.token))

    def notification_verify(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        _verify_signature(headers, body)
        data = json.loads(body)  # ValueError when it is not JSON
        if not isinstance(data, dict):
            raise ValueError("the body is not a JSON object")
        try:
            state = EVENTS[data["event"]]
            amount = Decimal(str(data["amount"]))
            occurred_at = parse_datetime(str(data.get("occurred_at") or "")) if data.get("occurred_at") else None
            return Notification(
                top_up_id=str(data["top_up_id"]),
                trade_no=str(data["trade_no"]),
                event=str(data["event"]),
                state=state,
                amount=amount,
                currency=str(data["currency"]),
                merchant_id="",
                occurred_at=occurred_at,
            )
        except (KeyError, TypeError, InvalidOperation) as exc:
            raise ValueError(f"unreadable sandbox notification: {exc!r}") from exc

    def notification_answer(self, *, ok: bool) -> NotificationAnswer:
        body = {"status": "ok"} if ok else {"status": "fail"}
        return NotificationAnswer(
            status=200 if ok else 400, body=json.dumps(body).encode(), content_type="application/json"
        )

    def query(self, *, top_up_id: str) -> TradeStatus:
        trade = SandboxTrade.objects.filter(out_trade_no=top_up_id).first()
        if trade is None:
            return TradeStatus(state=TradeState.UNKNOWN)
        return TradeStatus(
            state=TradeState(trade.state), trade_no=trade.trade_no, amount=trade.amount, paid_at=trade.paid_at
        )

    @transaction.atomic
    def close(self, *, top_up_id: str) -> None:
        trade = SandboxTrade.objects.select_for_update().filter(out_trade_no=top_up_id).first()
        if trade is None:
            return  # nothing was created there: nothing to close
        if trade.state == TradeState.SUCCEEDED:
            raise ChannelError("the trade was paid")
        if trade.state != TradeState.CLOSED:
            trade.state = TradeState.CLOSED
            trade.finished_at = timezone.now()
            trade.save(update_fields=["state", "finished_at"])

    @transaction.atomic
    def refund(
        self, *, top_up_id: str, refund_id: str, amount: Decimal, total: Decimal, reason: str = ""
    ) -> RefundResult:
        existing = SandboxRefund.objects.filter(out_refund_no=refund_id).first()
        if existing is not None:  # a retry of the same refund: the same answer
            return RefundResult(state=RefundState(existing.state), channel_refund_id=existing.refund_no)
        # Refusals are answers ("no money left"), as a real provider's business errors are:
        # the wallet puts the frozen amount back. Only an unreadable answer is a ChannelError.
        trade = SandboxTrade.objects.select_for_update().filter(out_trade_no=top_up_id).first()
        if trade is None or trade.state != TradeState.SUCCEEDED:
            return RefundResult(state=RefundState.FAILED, error="no paid trade with this number")
        if total != trade.amount:
            return RefundResult(state=RefundState.FAILED, error="the total does not match the trade")
        refunded = trade.refunds.filter(state=RefundState.SUCCEEDED).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        if refunded + amount > trade.amount:
            return RefundResult(state=RefundState.FAILED, error="the refunds would exceed the trade amount")
        refund = SandboxRefund.objects.create(
            trade=trade,
            out_refund_no=refund_id,
            refund_no="SBXR" + secrets.token_hex(8).upper(),
            amount=amount,
            state=RefundState.SUCCEEDED,
        )
        return RefundResult(state=RefundState.SUCCEEDED, channel_refund_id=refund.refund_no)

    def refund_query(self, *, top_up_id: str, refund_id: str) -> RefundResult:
        """What the sandbox's own books say about refund ``refund_id`` (none: it never arrived)."""
        refund = SandboxRefund.objects.filter(out_refund_no=refund_id, trade__out_trade_no=top_up_id).first()
        if refund is None:
            return RefundResult(state=RefundState.FAILED, error="the sandbox has no such refund")
        return RefundResult(state=RefundState(refund.state), channel_refund_id=refund.refund_no)

    def bill(self, *, date: datetime.date) -> list[BillLine]:
        start = datetime.datetime.combine(date, datetime.time.min, tzinfo=BILL_TIME_ZONE)
        end = start + datetime.timedelta(days=1)
        lines = [
            BillLine(
                kind="payment",
                top_up_id=trade.out_trade_no,
                trade_no=trade.trade_no,
                amount=trade.amount,
                status="succeeded",
            )
            for trade in SandboxTrade.objects.filter(paid_at__gte=start, paid_at__lt=end).order_by("paid_at")
        ]
        refunds = SandboxRefund.objects.filter(created_at__gte=start, created_at__lt=end, state=RefundState.SUCCEEDED)
        lines += [
            BillLine(
                kind="refund",
                top_up_id=refund.trade.out_trade_no,
                trade_no=refund.trade.trade_no,
                amount=refund.amount,
                status="succeeded",
                refund_id=refund.out_refund_no,
            )
            for refund in refunds.select_related("trade").order_by("created_at")
        ]
        return lines


# --- The provider's side: its checkout ----------------------------------------------------


def sandbox_trade_for_token(token: str) -> SandboxTrade | None:
    return SandboxTrade.objects.filter(token=token).first()


@transaction.atomic
def sandbox_checkout(*, token: str, succeed: bool) -> tuple[SandboxTrade, bytes] | None:
    """Someone pressed 支付成功 / 支付失败 on the checkout page: record it in the sandbox's books.

    Returns the trade and the notification body the sandbox then sends, or
    None when the trade cannot be paid any more (paid, closed or expired —
    as a real checkout refuses). A failed attempt may be followed by a
    successful one, as with a real provider.
    """
    trade = SandboxTrade.objects.select_for_update().filter(token=token).first()
    if trade is None or trade.state in (TradeState.SUCCEEDED, TradeState.CLOSED):
        return None
    now = timezone.now()
    if now >= trade.expires_at:
        return None
    if succeed:
        trade.state, trade.paid_at, trade.finished_at = TradeState.SUCCEEDED, now, now
    else:
        trade.state = TradeState.FAILED
    trade.save(update_fields=["state", "paid_at", "finished_at"])
    return trade, sandbox_notification(trade=trade, event="payment.succeeded" if succeed else "payment.failed")


def sandbox_notification(*, trade: SandboxTrade, event: str) -> bytes:
    """The raw JSON body the sandbox sends for ``event`` on ``trade`` (sign with :func:`sandbox_sign`)."""
    body = {
        "event": event,
        "top_up_id": trade.out_trade_no,
        "trade_no": trade.trade_no,
        "amount": f"{trade.amount:.2f}",
        "currency": trade.currency,
        "occurred_at": timezone.now().astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return json.dumps(body, separators=(",", ":")).encode()
