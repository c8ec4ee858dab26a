"""The interface every payment channel implements (sandbox, alipay, wechatpay).

The wallet services speak only this interface. An adapter turns it into the
provider's protocol: it signs requests, verifies signatures, and parses the
provider's answers into the small value objects below. Adapters never touch
the database and never credit anything: they report what the channel says,
and ``wallet.services`` decides.

Amounts are ``Decimal`` yuan with two places everywhere in this interface;
an adapter converts to the provider's unit (WeChat Pay's fen) itself.
"""

from __future__ import annotations

import abc
import datetime
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal


class ChannelError(Exception):
    """The channel could not be reached or refused a request (network, 5xx, business error)."""


class SignatureInvalid(Exception):
    """A notification's signature or timestamp does not verify."""


class TradeState(enum.StrEnum):
    """What the channel says about a trade, reduced to what the wallet needs."""

    PENDING = "pending"  # created, not paid yet (WAIT_BUYER_PAY, NOTPAY, USERPAYING)
    SUCCEEDED = "succeeded"  # paid (TRADE_SUCCESS, TRADE_FINISHED, SUCCESS)
    FAILED = "failed"  # the payment failed (PAYERROR, sandbox payment.failed)
    CLOSED = "closed"  # closed unpaid (TRADE_CLOSED, CLOSED, REVOKED)
    UNKNOWN = "unknown"  # the channel has no such trade


class RefundState(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class PayInstructions:
    """What the client needs to pay (the top-up's ``pay`` object in API.md).

    Exactly one of the fields is set, depending on channel and method.
    """

    url: str | None = None  # sandbox, alipay wap/page, wechatpay h5
    order_string: str | None = None  # alipay app
    code_url: str | None = None  # wechatpay native
    app: Mapping[str, str] | None = None  # wechatpay app (signed parameters)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class TopUpRequest:
    """What the wallet asks a channel to create."""

    top_up_id: str  # our order number: out_trade_no at the channel
    amount: Decimal
    currency: str
    method: str  # "app", "wap", "page", "native", "h5"; the sandbox ignores it
    description: str
    expires_at: datetime.datetime
    client_ip: str = ""


@dataclass(frozen=True)
class Notification:
    """A verified notification, parsed. Only :meth:`Channel.notification_verify` makes one."""

    top_up_id: str  # out_trade_no
    trade_no: str  # the channel's own trade number
    event: str  # the provider's event name, part of the uniqueness key (e.g. "payment.succeeded", "TRADE_SUCCESS")
    state: TradeState
    amount: Decimal
    currency: str
    merchant_id: str  # app_id / mchid as the notification states it ("" when the channel has none: sandbox)
    occurred_at: datetime.datetime | None = None
    refund_id: str | None = None  # set for a refund notification (our out_refund_no)
    #: what a refund notification says this one refund moved (None when the channel states only a
    #: cumulative figure, as Alipay's refund_fee): checked against our refund when given
    refund_amount: Decimal | None = None


@dataclass(frozen=True)
class NotificationAnswer:
    """The HTTP answer a channel expects (Alipay: ``success`` as text; WeChat Pay: JSON; sandbox: JSON)."""

    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class TradeStatus:
    """The answer of an active query."""

    state: TradeState
    trade_no: str = ""
    amount: Decimal | None = None
    paid_at: datetime.datetime | None = None


@dataclass(frozen=True)
class RefundResult:
    """The channel's answer about one refund.

    ``FAILED`` only when the channel says for sure that no money left (a
    refusal, CLOSED, ABNORMAL, no such refund): the wallet then puts the
    frozen amount back. An answer that cannot be read is a ChannelError, never
    ``FAILED``: the money stays frozen until the channel is asked again.
    """

    state: RefundState
    channel_refund_id: str = ""
    error: str = ""  # why it failed, in the channel's words (kept on the refund for staff)


@dataclass(frozen=True)
class BillLine:
    """One line of the channel's daily bill (payments and refunds)."""

    kind: str  # "payment" or "refund"
    top_up_id: str
    trade_no: str
    amount: Decimal
    status: str  # "succeeded" for a payment / refund the channel settled
    refund_id: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


class Channel(abc.ABC):
    """One payment channel. Instances are cheap and stateless; settings come from ``wallet.conf``."""

    #: the name in ``WALLET_CHANNELS`` and in ``/api/v1/wallet/notify/<name>/``
    name: str
    #: the methods this channel accepts; the first one is the default
    methods: tuple[str, ...]
    #: the merchant id a notification must carry (app_id / mchid); "" when the channel has none
    merchant_id: str = ""

    @abc.abstractmethod
    def create(self, request: TopUpRequest) -> PayInstructions:
        """Create the trade at the channel and return how the client pays. Raises ChannelError."""

    @abc.abstractmethod
    def notification_verify(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify the signature (and timestamp) of a raw notification and parse it.

        Raises SignatureInvalid when it does not verify, ValueError when it is
        verified but cannot be parsed. Checking it against the order (amount,
        currency, merchant) is the service's job, not the adapter's.
        """

    @abc.abstractmethod
    def notification_answer(self, *, ok: bool) -> NotificationAnswer:
        """The body the channel expects: success (stop retrying) or failure (retry later)."""

    @abc.abstractmethod
    def query(self, *, top_up_id: str) -> TradeStatus:
        """Ask the channel about a trade (active query). Raises ChannelError."""

    @abc.abstractmethod
    def close(self, *, top_up_id: str) -> None:
        """Close an unpaid trade at the channel. Raises ChannelError (e.g. it was paid meanwhile)."""

    @abc.abstractmethod
    def refund(
        self, *, top_up_id: str, refund_id: str, amount: Decimal, total: Decimal, reason: str = ""
    ) -> RefundResult:
        """Send ``amount`` of a paid trade back to the payer. Raises ChannelError."""

    def refund_query(self, *, top_up_id: str, refund_id: str) -> RefundResult:
        """Ask the channel about a refund still pending here (WeChat Pay's PROCESSING, a lost answer).

        ``wallet_sync`` calls it for refunds left frozen. ``FAILED`` only when
        the channel says for sure no money left; ``PENDING`` when it cannot say
        yet. Raises ChannelError. Not abstract, so an adapter without it still
        works: by default the channel cannot be asked, which leaves the refund
        pending for staff.
        """
        raise ChannelError(f"{self.name} cannot be asked about a refund")

    @abc.abstractmethod
    def bill(self, *, date: datetime.date) -> list[BillLine]:
        """The channel's bill for one day (Asia/Shanghai): every payment and refund it settled."""
