"""Every change to a wallet: paid top-ups, notifications, staff refunds and adjustments.

Money enters a wallet only in :func:`_top_up_credit` (a verified channel
confirmation: a notification or an active query) and :func:`wallet_adjust`
(staff); it leaves by a client application's charge (``wallet.charges``) and
:func:`top_up_refund` (back to the channel). Each locks its rows through
``wallet.lock_objects`` and writes one journal entry through
``wallet.ledger.ledger_post``.

Calls to a channel (network) run outside the database transactions that
record their outcome: a slow channel never holds a row lock.

Idempotency: a request with an ``Idempotency-Key`` stores its fingerprint
and a link to what it made (the journal entry or the top-up) in the same
transaction; a retry returns that object again (``replayed=True``) and the
door renders it as the first time. No API body is stored here.
"""

import datetime
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import AlsoRead
from config import metrics
from config.errors import ServiceError
from config.origin import Origin
from config.sql import Prepared
from wallet import lock_objects
from wallet.amounts import money_display
from wallet.channels import channel_get
from wallet.channels.base import (
    Channel,
    ChannelError,
    Notification,
    NotificationAnswer,
    RefundResult,
    RefundState,
    SignatureInvalid,
    TopUpRequest,
    TradeState,
    TradeStatus,
)
from wallet.conf import wallet_settings
from wallet.errors import (
    ChannelFailed,
    ChannelUnavailable,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidInput,
    NotFound,
    NotificationMismatch,
    NotificationSignatureInvalid,
    RefundNotAllowed,
    WalletPermissionDenied,
)
from wallet.ledger import account_for_channel, account_for_wallet, account_system, ledger_post
from wallet.models import (
    CENT,
    PAID_STATUSES,
    ZERO,
    AccountKind,
    EntryKind,
    IdempotencyRecord,
    JournalEntry,
    LedgerAccount,
    LedgerLine,
    NotificationOutcome,
    PaymentNotification,
    TopUp,
    TopUpRefund,
    TopUpRefundStatus,
    TopUpStatus,
    new_refund_id,
    new_top_up_id,
)
from wallet.types import Person

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY_MAX_LENGTH = 255
IDEMPOTENCY_TTL = timedelta(hours=24)
#: the wallet page and the API ask a channel about a pending top-up at most this often
ACTIVE_QUERY_INTERVAL = timedelta(seconds=3)


# --- Reading a wallet --------------------------------------------------------------------


@dataclass(frozen=True)
class WalletState:
    """What ``GET /api/v1/wallet/`` shows."""

    balance: Decimal
    frozen: Decimal
    currency: str
    max_balance: Decimal
    updated_at: datetime.datetime

    @property
    def account_balance(self) -> Decimal:  # pragma: no cover - alias for templates
        return self.balance


# Compiled once (config.sql.Prepared): GET /api/v1/wallet/ is a hot read.
_wallet_accounts = Prepared(
    LedgerAccount,
    lambda user_id: LedgerAccount.objects.filter(
        user_id=user_id, kind__in=[AccountKind.WALLET, AccountKind.FROZEN]
    ).values_list("kind", "balance", "currency", "updated_at"),
)


def _wallet_columns() -> dict[str, Subquery]:
    def column(kind: str, name: str) -> Subquery:
        return Subquery(LedgerAccount.objects.filter(user_id=OuterRef("pk"), kind=kind).order_by().values(name)[:1])

    return {
        "_wallet_balance": column(AccountKind.WALLET, "balance"),
        "_wallet_currency": column(AccountKind.WALLET, "currency"),
        "_wallet_updated_at": column(AccountKind.WALLET, "updated_at"),
        "_frozen_balance": column(AccountKind.FROZEN, "balance"),
        "_frozen_updated_at": column(AccountKind.FROZEN, "updated_at"),
    }


# ``GET /api/v1/wallet/`` with an access token: the balance is read in the token check's own
# statement (``wallet.api.WalletView``), one round trip instead of two.
WALLET_WITH_USER = AlsoRead(name="wallet", annotations=_wallet_columns)


def _wallet_state(
    wallet: tuple[Decimal, str, datetime.datetime], frozen: tuple[Decimal, datetime.datetime] | None
) -> WalletState:
    """The wallet account's (balance, currency, updated_at) and the frozen one's (balance, updated_at), shown."""
    balance, currency, updated = wallet
    return WalletState(
        balance=balance,
        frozen=frozen[0] if frozen is not None else ZERO,
        currency=currency,
        max_balance=wallet_settings.MAX_BALANCE,
        updated_at=max(updated, frozen[1]) if frozen is not None else updated,
    )


def wallet_state(*, user: Person) -> WalletState:
    """What ``GET /api/v1/wallet/`` shows: from the columns read with ``user`` (``WALLET_WITH_USER``)
    when they came and the wallet exists, else ``wallet_get`` (one query)."""
    balance = getattr(user, "_wallet_balance", None)
    if balance is None:
        return wallet_get(user=user)
    frozen = user._frozen_balance
    return _wallet_state(
        (balance, user._wallet_currency, user._wallet_updated_at),
        (frozen, user._frozen_updated_at) if frozen is not None else None,
    )


def wallet_get(*, user: Person) -> WalletState:
    """``user``'s balance and frozen funds in one query (the wallet account is created on first use).

    Only the four columns shown, as plain values: ``GET /api/v1/wallet/`` is a hot read.
    """
    found, _names, _alias = _wallet_accounts.rows(user.pk)
    rows = {kind: (balance, currency, updated_at) for kind, balance, currency, updated_at in found}
    wallet = rows.get(AccountKind.WALLET)
    if wallet is None:
        account = account_for_wallet(user=user)
        wallet = (account.balance, account.currency, account.updated_at)
    frozen = rows.get(AccountKind.FROZEN)
    return _wallet_state(wallet, (frozen[0], frozen[2]) if frozen is not None else None)


def _origin_record(origin: Origin | None) -> dict[str, str]:
    """What a journal entry keeps of who asked (the actor is its own column)."""
    return {"ip": origin.ip, "user_agent": origin.user_agent} if origin is not None else {}


# --- Shared checks -----------------------------------------------------------------------


def _check_amount(amount: Decimal, *, maximum: Decimal, signed: bool = False, field: str = "amount") -> Decimal:
    """Amount rules shared by every operation; returns the amount with two decimals."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidInput(fields={field: [_("Enter an amount such as 10 or 12.50.")]})
    if amount == 0 or (amount < 0 and not signed):
        message = _("The amount must not be zero.") if signed else _("The amount must be greater than zero.")
        raise InvalidInput(fields={field: [message]})
    if abs(amount) > maximum:  # before quantize(): 1E+309 would overflow it
        raise InvalidInput(fields={field: [_("The amount must be at most %(max)s.") % {"max": maximum}]})
    if amount != amount.quantize(CENT):
        raise InvalidInput(fields={field: [_("The amount can have at most two decimal places.")]})
    return amount.quantize(CENT)


def _check_key(key: str | None) -> str:
    key = key or ""
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise InvalidInput(
            fields={
                "Idempotency-Key": [
                    _("The Idempotency-Key must be at most %(n)d characters.") % {"n": IDEMPOTENCY_KEY_MAX_LENGTH}
                ]
            }
        )
    if "\x00" in key:  # PostgreSQL cannot store NUL in text
        raise InvalidInput(fields={"Idempotency-Key": [_("The Idempotency-Key must not contain NUL characters.")]})
    return key


def _fingerprint(**request: object) -> str:
    canonical = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class _KeyStoredMeanwhile(Exception):
    """A same-key request committed its record after our lookup's snapshot was taken."""


def _record_lookup(*, user: Person, key: str, fingerprint: str) -> IdempotencyRecord | None:
    record = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if record is not None and record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return record


def _record_store(
    *, user: Person, key: str, fingerprint: str, entry: JournalEntry | None = None, top_up: TopUp | None = None
) -> None:
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives the conflict
            IdempotencyRecord.objects.create(user=user, key=key, fingerprint=fingerprint, entry=entry, top_up=top_up)
    except IntegrityError as exc:
        # Only the unique (user, key) can fail: a same-key request committed
        # while we waited for the wallet lock (its lookup ran before).
        raise _KeyStoredMeanwhile() from exc


# --- Ledger results (adjustments) -------------------------------------------------------


@dataclass(frozen=True)
class LedgerResult:
    """A balance change: the person's wallet line of the entry (``line.entry`` is the entry)."""

    line: LedgerLine
    replayed: bool = False

    @property
    def entry(self) -> JournalEntry:
        return self.line.entry

    @property
    def balance(self) -> Decimal:
        return self.line.balance_after  # type: ignore[return-value]


@transaction.atomic
def _ledger_change(*, user: Person, kind: str, amount: Decimal, counter: LedgerAccount, **entry: Any) -> LedgerResult:
    """Lock the wallet, check the balance rules, post ``amount`` against ``counter``; atomically.

    (Money leaving for a purchase is a client application's charge: ``wallet.charges``.)
    """
    wallet = lock_objects.wallet_account_lock(user=user)
    new_balance = wallet.balance + amount
    if new_balance < 0:
        # Named with the shortfall: "余额不足，还差 ¥2.50。" tells the person (or staff) what to do.
        message = InsufficientFunds.short_by(-new_balance, wallet.currency).message
        raise InvalidInput(fields={"amount": [message]})
    if amount > 0 and new_balance > wallet_settings.MAX_BALANCE:
        raise InvalidInput(
            fields={
                "amount": [
                    _("The balance cannot exceed %(max)s.")
                    % {"max": money_display(wallet_settings.MAX_BALANCE, wallet.currency)}
                ]
            }
        )
    posted = ledger_post(kind=kind, lines=[(wallet, amount), (counter, -amount)], **entry)
    return LedgerResult(line=posted.line_for(wallet))


def wallet_adjust(*, actor: Person, user: Person, amount: Decimal, reason: str) -> LedgerResult:
    """A staff correction of ``user``'s balance by a signed ``amount``, against the adjustments account.

    ``actor`` must be active staff with the ``wallet.adjust_balance``
    permission. The balance never goes below zero nor above
    WALLET_MAX_BALANCE. Raises WalletPermissionDenied, InvalidInput.
    """
    if not (actor and actor.is_active and actor.is_staff and actor.has_perm("wallet.adjust_balance")):
        raise WalletPermissionDenied()
    amount = _check_amount(amount, maximum=wallet_settings.MAX_BALANCE, signed=True)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(fields={"reason": [_("A reason is required.")]})
    if len(reason) > 500:
        raise InvalidInput(fields={"reason": [_("At most 500 characters.")]})
    adjustments = account_system(AccountKind.ADJUSTMENTS)
    return _ledger_change(
        user=user,
        kind=EntryKind.ADJUSTMENT,
        amount=amount,
        counter=adjustments,
        reference="",
        actor=actor,
        reason=reason,
    )


# --- Top-ups -----------------------------------------------------------------------------


_ModelT = TypeVar("_ModelT", TopUp, TopUpRefund)


def _with_fresh_id(model: type[_ModelT], new_id: Callable[[], str], **fields: Any) -> _ModelT:
    """Insert a row whose readable id (time to the second + 4 random characters) is unique.

    Two orders in the same second share the prefix; on the rare clash of the
    random part the insert is retried with a new id inside a savepoint.
    """
    for attempt in range(5):
        candidate = new_id()
        try:
            with transaction.atomic():
                return model.objects.create(pk=candidate, **fields)
        except IntegrityError:
            if attempt == 4 or not model.objects.filter(pk=candidate).exists():
                raise  # not an id clash
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class TopUpResult:
    top_up: TopUp
    replayed: bool = False


def _pending_total(*, user: Person) -> Decimal:
    return TopUp.objects.filter(user=user, status=TopUpStatus.PENDING).aggregate(s=Sum("amount"))["s"] or ZERO


def top_up_create(
    *,
    user: Person,
    amount: Decimal,
    channel: str,
    method: str = "",
    idempotency_key: str | None = None,
    origin: Origin | None = None,
) -> TopUpResult:
    """Create a pending top-up of ``amount`` through ``channel`` and ask the channel for a trade.

    Nothing is credited: that happens once the channel confirms payment.
    Rules: 0 < amount <= WALLET_MAX_TOP_UP with at most two decimals; the
    balance plus every pending top-up plus this one at most
    WALLET_MAX_BALANCE (checked under the wallet lock, so two concurrent
    requests cannot both squeeze in); ``method`` one of the channel's (its
    first by default). With ``idempotency_key`` a retry returns the first
    top-up (``replayed=True``).

    The order is committed first, then the channel is called outside the
    transaction; if the channel fails the top-up is marked ``failed`` and
    ChannelFailed is raised. Raises InvalidInput, ChannelUnavailable,
    ChannelFailed, IdempotencyKeyReused, IdempotencyInProgress.
    """
    adapter = channel_get(channel)
    amount = _check_amount(amount, maximum=wallet_settings.MAX_TOP_UP)
    method = method or adapter.methods[0]
    if method not in adapter.methods:
        raise InvalidInput(
            fields={"method": [_("Choose one of: %(methods)s.") % {"methods": ", ".join(adapter.methods)}]}
        )
    key = _check_key(idempotency_key)
    fingerprint = _fingerprint(op="top_up", amount=amount, channel=channel, method=method)
    clearing = account_for_channel(channel)
    try:
        with transaction.atomic():
            wallet = lock_objects.wallet_account_lock(user=user)
            if key:
                record = _record_lookup(user=user, key=key, fingerprint=fingerprint)
                if record is not None:
                    if record.top_up_id is None:
                        raise IdempotencyKeyReused()
                    return TopUpResult(top_up=record.top_up, replayed=True)  # type: ignore[arg-type]  # top_up_id checked
            pending = _pending_total(user=user)
            if wallet.balance + pending + amount > wallet_settings.MAX_BALANCE:
                room = max(wallet_settings.MAX_BALANCE - wallet.balance - pending, ZERO)
                raise InvalidInput(
                    fields={
                        "amount": [
                            _("The balance cannot exceed %(max)s: you can top up at most %(room)s now.")
                            % {
                                "max": money_display(wallet_settings.MAX_BALANCE, wallet.currency),
                                "room": money_display(room, wallet.currency),
                            }
                        ]
                    }
                )
            now = timezone.now()
            top_up = _with_fresh_id(
                TopUp,
                new_top_up_id,
                user=user,
                account=wallet,
                clearing_account=clearing,
                amount=amount,
                currency=wallet.currency,
                channel=channel,
                method=method,
                created_at=now,
                updated_at=now,
                expires_at=now + timedelta(seconds=wallet_settings.TOP_UP_TTL),
            )
            if key:
                _record_store(user=user, key=key, fingerprint=fingerprint, top_up=top_up)
    except _KeyStoredMeanwhile:
        record = _record_lookup(user=user, key=key, fingerprint=fingerprint)
        if record is None or record.top_up_id is None:
            raise IdempotencyInProgress() from None
        return TopUpResult(top_up=record.top_up, replayed=True)  # type: ignore[arg-type]  # top_up_id checked

    try:
        pay = adapter.create(
            TopUpRequest(
                top_up_id=top_up.id,
                amount=top_up.amount,
                currency=top_up.currency,
                method=method,
                description=_("Wallet top-up"),
                expires_at=top_up.expires_at,
                client_ip=origin.ip if origin is not None else "",
            )
        )
    except ChannelError as exc:
        logger.warning("top-up %s: channel %s refused to create the trade: %s", top_up.id, channel, exc)
        TopUp.objects.filter(pk=top_up.pk, status=TopUpStatus.PENDING).update(
            status=TopUpStatus.FAILED, updated_at=timezone.now()
        )
        metrics.top_up_recorded(channel=channel, status=TopUpStatus.FAILED)
        raise ChannelFailed() from exc
    top_up.pay = pay.as_dict()
    TopUp.objects.filter(pk=top_up.pk).update(pay=top_up.pay)
    metrics.top_up_recorded(channel=channel, status=TopUpStatus.PENDING)
    return TopUpResult(top_up=top_up)


def top_up_get(*, user: Person, top_up_id: str, query: bool = True) -> TopUp:
    """``user``'s top-up ``top_up_id``; while pending, first ask its channel (active query).

    A channel saying "paid" credits it here exactly as a notification would
    (:func:`top_up_apply_status`). The channel is asked at most every few
    seconds per top-up, and a channel that does not answer is not an error
    here. Raises NotFound (also for another person's top-up).
    """
    top_up = TopUp.objects.filter(pk=top_up_id, user=user).first()
    if top_up is None:
        raise NotFound()
    now = timezone.now()
    due = top_up.queried_at is None or now - top_up.queried_at >= ACTIVE_QUERY_INTERVAL
    if query and top_up.status == TopUpStatus.PENDING and due:
        top_up = top_up_query(top_up=top_up)
    return top_up


def top_up_query(*, top_up: TopUp) -> TopUp:
    """Ask ``top_up``'s channel about it and apply the answer (credit, fail, close). Returns it fresh."""
    TopUp.objects.filter(pk=top_up.pk).update(queried_at=timezone.now())
    try:
        status = channel_get(top_up.channel).query(top_up_id=top_up.id)
    except (ChannelError, ChannelUnavailable) as exc:  # not answering (or since disabled): ask again later
        logger.warning("top-up %s: active query failed: %s", top_up.id, exc)
        return TopUp.objects.get(pk=top_up.pk)
    return top_up_apply_status(top_up_id=top_up.id, status=status)


@transaction.atomic
def top_up_apply_status(*, top_up_id: str, status: TradeStatus) -> TopUp:
    """Apply what an active query answered: credit once when paid (checking the amount), or fail/close."""
    top_up = lock_objects.top_up_lock(top_up_id=top_up_id)
    if status.state == TradeState.SUCCEEDED:
        if status.amount is not None and status.amount != top_up.amount:
            logger.error("top-up %s: channel reports %s paid, order is %s", top_up.id, status.amount, top_up.amount)
            return top_up
        if not top_up.is_paid:
            _top_up_credit(top_up, trade_no=status.trade_no, paid_at=status.paid_at)
    elif status.state in (TradeState.FAILED, TradeState.CLOSED) and top_up.status == TopUpStatus.PENDING:
        _top_up_set(top_up, status=TopUpStatus.FAILED if status.state == TradeState.FAILED else TopUpStatus.CLOSED)
    return top_up


def _top_up_set(top_up: TopUp, **fields: Any) -> None:
    fields["updated_at"] = timezone.now()
    for name, value in fields.items():
        setattr(top_up, name, value)
    TopUp.objects.filter(pk=top_up.pk).update(**fields)
    if "status" in fields:  # every status change of an order passes here; counted once it is committed
        status, channel = str(fields["status"]), top_up.channel
        transaction.on_commit(lambda: metrics.top_up_recorded(channel=channel, status=status))


def _top_up_credit(top_up: TopUp, *, trade_no: str, paid_at: datetime.datetime | None) -> JournalEntry:
    """THE credit of a top-up: clearing -> wallet, once. Requires ``top_up`` from ``top_up_lock``.

    Deliberately no balance limit here: the limit was checked (with pending
    top-ups counted) when the order was made, and paid money is never dropped.
    """
    assert not top_up.is_paid, "a top-up is credited once"
    entry = ledger_post(
        kind=EntryKind.TOP_UP,
        lines=[(top_up.account, top_up.amount), (top_up.clearing_account, -top_up.amount)],
        reference=top_up.id,
    )
    now = timezone.now()
    fields = {"status": TopUpStatus.PAID, "credit_entry": entry, "paid_at": paid_at or now, "pay": {}}
    if trade_no and not top_up.trade_no:
        fields["trade_no"] = trade_no
    _top_up_set(top_up, **fields)
    return entry


# --- Notifications -----------------------------------------------------------------------


def _clean_headers(headers: Mapping[str, str]) -> dict[str, str]:
    # JSON in PostgreSQL cannot hold NUL; a header is kept readable otherwise as received.
    return {str(k).replace("\x00", ""): str(v).replace("\x00", "") for k, v in headers.items()}


def _store_notification(
    *, channel: str, headers: Mapping[str, str], body: bytes, remote_addr: str, outcome: str, **fields: Any
) -> PaymentNotification:
    stored = PaymentNotification.objects.create(
        channel=channel[:20],
        headers=_clean_headers(headers),
        body=body,
        remote_addr=remote_addr[:64],
        outcome=outcome,
        **fields,
    )
    # Every notification passes here exactly once, so this is the one place it is counted
    # (after the commit: a rolled-back one was not received as far as the books go).
    transaction.on_commit(lambda: metrics.notification_received(channel=channel, outcome=outcome))
    return stored


def notification_receive(
    *, channel: str, headers: Mapping[str, str], body: bytes, remote_addr: str = ""
) -> NotificationAnswer:
    """Handle one notification from ``channel``: store it, verify it, apply it at most once.

    Every notification is stored (raw headers and body), whatever happens.
    A verified one is checked against its order (amount, currency,
    merchant) and applied with the order row locked, in the same
    transaction that records it: ``succeeded`` credits the wallet exactly
    once (also after a ``failed`` or for a closed order: paid money is
    never dropped), ``failed``/``closed`` end a pending order and change
    nothing otherwise. A second notification with the same channel + trade
    number + event is a duplicate: answered as success, nothing applied.

    Returns the channel's success answer. Raises ChannelUnavailable (unknown
    or disabled channel: nothing stored, there is no one to store it for),
    NotificationSignatureInvalid, InvalidInput (verified but unreadable),
    NotFound (unknown order), NotificationMismatch. A successful
    notification costs 6 SQL statements.
    """
    adapter = channel_get(channel)
    base: dict[str, Any] = {"channel": channel, "headers": headers, "body": body, "remote_addr": remote_addr}
    try:
        notification = adapter.notification_verify(headers=headers, body=body)
    except SignatureInvalid as exc:
        _store_notification(**base, outcome=NotificationOutcome.SIGNATURE_INVALID, error=str(exc)[:500])
        raise NotificationSignatureInvalid() from exc
    except ValueError as exc:
        _store_notification(**base, verified=True, outcome=NotificationOutcome.INVALID, error=str(exc)[:500])
        raise InvalidInput(_("The notification could not be read.")) from exc

    try:
        error = _notification_apply(adapter=adapter, notification=notification, base=base)
    except IntegrityError:
        # The same event was applied by a request that committed while we
        # waited for the order lock: this one is its duplicate.
        _store_notification(**base, **_parsed(notification), verified=True, outcome=NotificationOutcome.DUPLICATE)
        error = None
    if error is not None:
        raise error
    return adapter.notification_answer(ok=True)


def _parsed(notification: Notification) -> dict:
    return {
        "top_up_ref": notification.top_up_id[:64],
        "trade_no": notification.trade_no[:64],
        "event": notification.event[:64],
        "amount": notification.amount
        if notification.amount.is_finite() and abs(notification.amount) < 10**12
        else None,
        "currency": notification.currency[:3],
    }


def _mismatch(adapter: Channel, top_up: TopUp, notification: Notification) -> str:
    if notification.amount != top_up.amount:
        return f"amount {notification.amount} != order {top_up.amount}"
    if notification.currency != top_up.currency:
        return f"currency {notification.currency} != order {top_up.currency}"
    if notification.merchant_id != adapter.merchant_id:
        return f"merchant {notification.merchant_id!r} != ours {adapter.merchant_id!r}"
    if top_up.channel != adapter.name:
        return f"order is for channel {top_up.channel}"
    if top_up.trade_no and notification.trade_no != top_up.trade_no and notification.state == TradeState.SUCCEEDED:
        return f"trade {notification.trade_no} != the order's paid trade {top_up.trade_no}"
    return ""


@transaction.atomic
def _notification_apply(*, adapter: Channel, notification: Notification, base: dict[str, Any]) -> ServiceError | None:
    """Lock the order, decide, record the notification and (maybe) credit — one transaction.

    Returns the error to raise once the transaction has committed (so the
    stored notification survives it). Statements: lock (1), duplicate check
    (2), notification INSERT (3), and for a credit the entry and lines INSERTs
    (4, 5) and the order UPDATE (6).
    """
    parsed = _parsed(notification)
    try:
        top_up = lock_objects.top_up_lock(top_up_id=notification.top_up_id)
    except TopUp.DoesNotExist:
        _store_notification(**base, **parsed, verified=True, outcome=NotificationOutcome.UNKNOWN_ORDER)
        return NotFound(_("No such top-up."))

    stored = {**base, **parsed, "verified": True, "top_up": top_up}
    # A fresh statement after the lock: it sees an earlier copy committed while we waited.
    if PaymentNotification.objects.filter(
        channel=adapter.name, trade_no=parsed["trade_no"], event=parsed["event"], outcome=NotificationOutcome.APPLIED
    ).exists():
        _store_notification(**stored, outcome=NotificationOutcome.DUPLICATE)
        return None
    problem = _mismatch(adapter, top_up, notification)
    if problem:
        logger.error("notification for top-up %s from %s does not match: %s", top_up.id, adapter.name, problem)
        _store_notification(**stored, outcome=NotificationOutcome.MISMATCH, error=problem[:500])
        return NotificationMismatch()
    if notification.refund_id:
        return _refund_notification_apply(top_up=top_up, notification=notification, stored=stored)

    # Paid money is never dropped: "succeeded" credits whatever the order's
    # status (pending, failed, closed) unless it is credited already;
    # "failed"/"closed" only end a pending order.
    succeeded = notification.state == TradeState.SUCCEEDED and not top_up.is_paid
    ended = notification.state in (TradeState.FAILED, TradeState.CLOSED) and top_up.status == TopUpStatus.PENDING
    applies = succeeded or ended
    outcome = NotificationOutcome.APPLIED if applies else NotificationOutcome.IGNORED
    _store_notification(**stored, outcome=outcome)
    if outcome == NotificationOutcome.APPLIED:
        if notification.state == TradeState.SUCCEEDED:
            _top_up_credit(top_up, trade_no=notification.trade_no, paid_at=notification.occurred_at)
        else:
            new = TopUpStatus.FAILED if notification.state == TradeState.FAILED else TopUpStatus.CLOSED
            _top_up_set(top_up, status=new, trade_no=top_up.trade_no or notification.trade_no)
    return None


# --- wallet_sync ---------------------------------------------------------------------------


@dataclass
class SyncReport:
    queried: int = 0
    credited: int = 0
    closed: int = 0
    failed: int = 0


def top_ups_sync(*, batch: int = 100) -> SyncReport:
    """Ask channels about pending top-ups whose notification is late; close the expired ones.

    Safe on several hosts at once: each top-up is claimed with
    ``SELECT … FOR UPDATE SKIP LOCKED`` and its ``queried_at`` bumped in that
    short transaction, so two hosts never work on the same one and a host
    does not ask again for ``WALLET_QUERY_AFTER`` seconds. Expired ones are
    asked once more before closing (a payment made at the last second is
    credited, not dropped), then closed at the channel and here.
    """
    report = SyncReport()
    now = timezone.now()
    late = now - timedelta(seconds=wallet_settings.QUERY_AFTER)
    with transaction.atomic():
        claimed = list(
            TopUp.objects.select_for_update(skip_locked=True)
            .filter(status=TopUpStatus.PENDING, created_at__lte=late)
            .filter(Q(queried_at__isnull=True) | Q(queried_at__lte=late) | Q(expires_at__lte=now))
            .order_by("created_at")[:batch]
        )
        TopUp.objects.filter(pk__in=[t.pk for t in claimed]).update(queried_at=now)
    for top_up in claimed:
        report.queried += 1
        try:
            adapter = channel_get(top_up.channel)
            status = adapter.query(top_up_id=top_up.id)
        except Exception as exc:  # one channel being down must not stop the others
            logger.warning("wallet_sync: query of %s failed: %s", top_up.id, exc)
            continue
        fresh = top_up_apply_status(top_up_id=top_up.id, status=status)
        if fresh.is_paid and not top_up.is_paid:
            report.credited += 1
        elif fresh.status != TopUpStatus.PENDING:
            report.failed += 1
        elif fresh.expires_at <= now:
            try:
                adapter.close(top_up_id=top_up.id)
            except ChannelError as exc:  # e.g. paid meanwhile: the next run's query credits it
                logger.warning("wallet_sync: closing %s failed: %s", top_up.id, exc)
                continue
            if top_up_close(top_up_id=top_up.id):
                report.closed += 1
    return report


@transaction.atomic
def top_up_close(*, top_up_id: str) -> bool:
    """Mark a pending top-up closed (after the channel closed it). False if it was not pending."""
    top_up = lock_objects.top_up_lock(top_up_id=top_up_id)
    if top_up.status != TopUpStatus.PENDING:
        return False
    _top_up_set(top_up, status=TopUpStatus.CLOSED, pay={})
    return True


# --- Top-up refunds by staff ---------------------------------------------------------------


def top_up_refund(*, actor: Person, top_up_id: str, amount: Decimal | None = None, reason: str) -> TopUpRefund:
    """Send ``amount`` (default: all still refundable) of a paid top-up back to its channel.

    ``actor`` needs ``wallet.refund_top_up``. The amount must be at most
    what is still unrefunded of the top-up and what is left in the wallet
    (spent money cannot go back). Three steps: freeze it (wallet -> frozen,
    the refund recorded ``pending``) in one transaction; ask the channel
    outside any transaction; then, in another, move it out (frozen ->
    channel clearing, ``succeeded``) or back (frozen -> wallet, ``failed``)
    when the channel says for sure that it refused. A channel that answers
    "pending" (WeChat Pay's PROCESSING) or does not answer readably leaves it
    frozen: ``wallet_sync`` asks the channel later
    (:func:`top_up_refunds_sync`) and a refund notification settles it
    (:func:`notification_receive`), whichever comes first, once.
    Raises WalletPermissionDenied, InvalidInput, RefundNotAllowed, NotFound.
    """
    if not (actor and actor.is_active and actor.is_staff and actor.has_perm("wallet.refund_top_up")):
        raise WalletPermissionDenied(_("You do not have permission to refund top-ups."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(fields={"reason": [_("A reason is required.")]})
    if len(reason) > 500:
        raise InvalidInput(fields={"reason": [_("At most 500 characters.")]})
    refund = _top_up_refund_freeze(actor=actor, top_up_id=top_up_id, amount=amount, reason=reason)
    top_up = refund.top_up
    try:
        adapter = channel_get(top_up.channel)
    except (ChannelUnavailable, ImproperlyConfigured) as exc:
        # Never sent (the channel is gone or unconfigured): no money left, it goes back into the wallet.
        logger.warning("top-up refund %s: channel %s unavailable: %s", refund.id, top_up.channel, exc)
        failed = RefundResult(state=RefundState.FAILED, error=str(exc)[:500] or _("The channel is not available."))
        return top_up_refund_finish(refund_id=refund.id, result=failed)
    try:
        result = adapter.refund(
            top_up_id=top_up.id, refund_id=refund.id, amount=refund.amount, total=top_up.amount, reason=reason
        )
    except ChannelError as exc:
        # No readable answer (a timeout, a 5xx): the channel may have made the refund all the
        # same, so putting the money back could pay it out twice. It stays frozen, and
        # wallet_sync asks the channel about it (top_up_refunds_sync) until it knows.
        logger.warning("top-up refund %s: no answer from the channel, left frozen: %s", refund.id, exc)
        TopUpRefund.objects.filter(pk=refund.pk, status=TopUpRefundStatus.PENDING).update(error=str(exc)[:500])
        refund.refresh_from_db()
        return refund
    return top_up_refund_finish(refund_id=refund.id, result=result)


@transaction.atomic
def _top_up_refund_freeze(*, actor: Person, top_up_id: str, amount: Decimal | None, reason: str) -> TopUpRefund:
    try:
        top_up = lock_objects.top_up_lock(top_up_id=top_up_id)
    except TopUp.DoesNotExist:
        raise NotFound() from None
    if not top_up.is_paid:
        raise RefundNotAllowed(_("Only a paid top-up can be refunded."))
    wallet, frozen = lock_objects.wallet_and_frozen_lock(user=top_up.user)
    in_flight = top_up.refunds.filter(status=TopUpRefundStatus.PENDING).aggregate(s=Sum("amount"))["s"] or ZERO
    refundable = min(top_up.amount - top_up.refunded_amount - in_flight, wallet.balance)
    if amount is None:
        amount = refundable
    amount = _check_amount(amount, maximum=max(top_up.amount, CENT))
    if amount > refundable:
        raise RefundNotAllowed(
            _("At most %(max)s of this top-up can be refunded (what is still unspent).") % {"max": refundable},
            fields={"amount": [_("At most %(max)s.") % {"max": refundable}]},
        )
    entry = ledger_post(
        kind=EntryKind.TOP_UP_REFUND,
        lines=[(wallet, -amount), (frozen, amount)],
        reference=top_up.id,
        description=_("Refund to %(channel)s") % {"channel": top_up.channel},
        actor=actor,
        reason=reason,
    )
    return _with_fresh_id(
        TopUpRefund, new_refund_id, top_up=top_up, amount=amount, reason=reason, actor=actor, freeze_entry=entry
    )


@transaction.atomic
def top_up_refund_finish(*, refund_id: str, result: RefundResult, error: str = "") -> TopUpRefund:
    """Apply the channel's answer to a pending refund: out to the channel, or back into the wallet. Once.

    Locks the top-up (with its wallet) before the refund row, the order every
    writer of a top-up's refunds uses (the freeze, a refund notification), so
    wallet_sync and a notification settling the same refund queue instead of
    deadlocking; the second sees it finished and changes nothing.
    """
    top_up_id = TopUpRefund.objects.values_list("top_up_id", flat=True).get(pk=refund_id)
    top_up = lock_objects.top_up_lock(top_up_id=top_up_id)
    refund = TopUpRefund.objects.select_for_update().get(pk=refund_id)
    refund.top_up = top_up
    if refund.status != TopUpRefundStatus.PENDING:
        return refund
    if result.state == RefundState.PENDING:
        if result.channel_refund_id:
            # The channel has it (WeChat Pay's PROCESSING with its refund id): an earlier
            # unanswered call's error no longer applies, so wallet_sync only asks, never re-sends.
            refund.channel_refund_id, refund.error = result.channel_refund_id, ""
            refund.save(update_fields=["channel_refund_id", "error"])
        return refund
    _top_up_refund_apply(top_up, refund, result=result, error=error)
    return refund


def _top_up_refund_apply(top_up: TopUp, refund: TopUpRefund, *, result: RefundResult, error: str = "") -> None:
    """Settle a pending ``refund`` (locked, as is ``top_up``): one balanced entry, out or back."""
    assert refund.status == TopUpRefundStatus.PENDING and result.state != RefundState.PENDING
    wallet, frozen = lock_objects.wallet_and_frozen_lock(user=top_up.user)
    now = timezone.now()
    if result.state == RefundState.SUCCEEDED:
        entry = ledger_post(
            kind=EntryKind.TOP_UP_REFUND_SETTLED,
            lines=[(frozen, -refund.amount), (top_up.clearing_account, refund.amount)],
            reference=refund.id,
            actor=refund.actor,
            reason=refund.reason,
        )
        refunded = top_up.refunded_amount + refund.amount
        _top_up_set(
            top_up,
            refunded_amount=refunded,
            status=TopUpStatus.REFUNDED if refunded == top_up.amount else TopUpStatus.PARTIALLY_REFUNDED,
        )
        refund.status = TopUpRefundStatus.SUCCEEDED
        refund.error = ""
    else:
        entry = ledger_post(
            kind=EntryKind.TOP_UP_REFUND,
            lines=[(frozen, -refund.amount), (wallet, refund.amount)],
            reference=refund.id,
            description=_("Refund failed: back in the wallet"),
            actor=refund.actor,
            reason=refund.reason,
        )
        refund.status = TopUpRefundStatus.FAILED
        refund.error = (result.error or error or _("The channel refused the refund."))[:500]
    refund.channel_refund_id = result.channel_refund_id or refund.channel_refund_id
    refund.finish_entry = entry
    refund.finished_at = now
    refund.save(update_fields=["status", "error", "channel_refund_id", "finish_entry", "finished_at"])


# --- Refunds the channel is still processing (wallet_sync) -----------------------------------


@dataclass
class RefundSyncReport:
    queried: int = 0
    succeeded: int = 0
    failed: int = 0


def top_up_refunds_sync(*, batch: int = 100) -> RefundSyncReport:
    """Ask the channels about top-up refunds still frozen; settle those they have decided.

    ``wallet_sync`` calls it after :func:`top_ups_sync` (its own small
    function, so a batched sync loop can call it as is). Only refunds older
    than ``WALLET_QUERY_AFTER`` are asked about: a younger one may still be on
    its way to the channel, which would answer "no such refund" and have the
    money put back while the channel pays it out. Safe on several hosts at
    once: each refund is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and
    its ``queried_at`` bumped in that short transaction; the channel is asked
    outside any transaction; :func:`top_up_refund_finish` applies the answer
    once, whatever a refund notification did meanwhile.
    """
    now = timezone.now()
    late = now - timedelta(seconds=wallet_settings.QUERY_AFTER)
    with transaction.atomic():
        claimed = [
            refund.pk
            for refund in TopUpRefund.objects.select_for_update(skip_locked=True)
            .filter(status=TopUpRefundStatus.PENDING, created_at__lte=late)
            .filter(Q(queried_at__isnull=True) | Q(queried_at__lte=late))
            .only("pk")
            .order_by("created_at")[:batch]
        ]
        TopUpRefund.objects.filter(pk__in=claimed).update(queried_at=now)
    report = RefundSyncReport()
    for refund_id in claimed:
        report.queried += 1
        refund = top_up_refund_settle(refund_id=refund_id)
        if refund.status == TopUpRefundStatus.SUCCEEDED:
            report.succeeded += 1
        elif refund.status == TopUpRefundStatus.FAILED:
            report.failed += 1
    return report


def top_up_refund_settle(*, refund_id: str) -> TopUpRefund:
    """Ask the channel about one pending refund (``refund_query``) and apply a final answer. Returns it fresh.

    A channel that cannot be reached or answers "still processing" leaves it
    frozen for the next run. A refund whose first call got no readable answer
    and that the channel has not decided is sent again with the same number.
    """
    refund = TopUpRefund.objects.select_related("top_up").get(pk=refund_id)
    if refund.status != TopUpRefundStatus.PENDING:
        return refund
    top_up = refund.top_up
    try:
        adapter = channel_get(top_up.channel)
        result = adapter.refund_query(top_up_id=top_up.id, refund_id=refund.id)
        if result.state == RefundState.PENDING and refund.error and not result.channel_refund_id:
            # The first call had no readable answer and the channel knows of no such refund:
            # send it again under the same refund number, which every channel makes once
            # (Alipay's documented way when its query finds nothing; WeChat Pay and the
            # sandbox answer a repeated out_refund_no with the refund they already have).
            result = adapter.refund(
                top_up_id=top_up.id,
                refund_id=refund.id,
                amount=refund.amount,
                total=top_up.amount,
                reason=refund.reason,
            )
    except (ChannelError, ChannelUnavailable, ImproperlyConfigured) as exc:  # one channel down must not stop the rest
        logger.warning("wallet_sync: query of refund %s failed: %s", refund.id, exc)
        return refund
    return top_up_refund_finish(refund_id=refund.id, result=result)


def top_up_refund_check(*, actor: Person, refund_id: str) -> TopUpRefund:
    """Staff asking the channel now about a pending refund, as the next ``wallet_sync`` run would.

    ``actor`` needs ``wallet.refund_top_up``. Refused (RefundNotAllowed) for a
    refund younger than ``WALLET_QUERY_AFTER``: it may still be on its way to
    the channel, which would answer "no such refund". Returns the refund,
    settled if the channel has decided. Raises WalletPermissionDenied,
    NotFound, RefundNotAllowed.
    """
    if not (actor and actor.is_active and actor.is_staff and actor.has_perm("wallet.refund_top_up")):
        raise WalletPermissionDenied(_("You do not have permission to refund top-ups."))
    refund = TopUpRefund.objects.filter(pk=refund_id).first()
    if refund is None:
        raise NotFound()
    if refund.status != TopUpRefundStatus.PENDING:
        return refund
    now = timezone.now()
    if refund.created_at > now - timedelta(seconds=wallet_settings.QUERY_AFTER):
        raise RefundNotAllowed(_("The channel may still be receiving this refund: ask again in a minute."))
    TopUpRefund.objects.filter(pk=refund.pk).update(queried_at=now)
    return top_up_refund_settle(refund_id=refund.pk)


def _refund_notification_apply(
    *, top_up: TopUp, notification: Notification, stored: dict[str, Any]
) -> ServiceError | None:
    """A verified refund notification (WeChat Pay REFUND.*, Alipay's refund notice) for locked ``top_up``.

    Settles our pending refund it names exactly as :func:`top_up_refund_finish`
    would (the same lock order, in the notification's transaction). A refund
    we do not have (made in the merchant console) or one already settled
    changes nothing here; reconciliation shows the former, and an outcome
    that contradicts ours is logged for staff.
    """
    refund = TopUpRefund.objects.select_for_update().filter(pk=notification.refund_id, top_up=top_up).first()
    if refund is None:
        _store_notification(**stored, outcome=NotificationOutcome.IGNORED, error="not a refund of ours")
        return None
    if notification.refund_amount is not None and notification.refund_amount != refund.amount:
        problem = f"refund amount {notification.refund_amount} != our refund {refund.amount}"
        logger.error("refund notification for %s from %s does not match: %s", refund.id, top_up.channel, problem)
        _store_notification(**stored, outcome=NotificationOutcome.MISMATCH, error=problem)
        return NotificationMismatch()
    succeeded = notification.state == TradeState.SUCCEEDED
    if refund.status != TopUpRefundStatus.PENDING:
        agrees = (refund.status == TopUpRefundStatus.SUCCEEDED) == succeeded
        if not agrees:
            logger.error(
                "refund %s is %s here but %s says %s", refund.id, refund.status, top_up.channel, notification.event
            )
        error = "" if agrees else f"the refund is {refund.status} here"
        _store_notification(**stored, outcome=NotificationOutcome.IGNORED, error=error)
        return None
    _store_notification(**stored, outcome=NotificationOutcome.APPLIED)
    event = notification.event.partition(":")[0]
    result = RefundResult(
        state=RefundState.SUCCEEDED if succeeded else RefundState.FAILED,
        error="" if succeeded else f"{top_up.channel}: {event}",
    )
    _top_up_refund_apply(top_up, refund, result=result)
    return None


# --- Housekeeping --------------------------------------------------------------------------


#: rows deleted per statement by the pruning: short transactions, bounded memory, at any backlog
PRUNE_BATCH = 5000


def idempotency_records_prune(*, older_than: timedelta = IDEMPOTENCY_TTL, batch: int = PRUNE_BATCH) -> int:
    """Delete idempotency records older than ``older_than``; returns how many went.

    ``batch`` rows at a time, each batch its own short statement (found by
    the ``created_at`` index, deleted by primary key): a backlog of millions
    never holds one long transaction, its locks or all its ids in memory.
    Call it outside a transaction.
    """
    cutoff = timezone.now() - older_than
    total = 0
    while True:
        ids = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff).order_by().values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return total
        deleted, _by_model = IdempotencyRecord.objects.filter(pk__in=ids).delete()
        total += deleted


__all__ = [
    "PAID_STATUSES",
    "LedgerResult",
    "RefundSyncReport",
    "SyncReport",
    "TopUpResult",
    "WalletState",
    "idempotency_records_prune",
    "notification_receive",
    "top_up_apply_status",
    "top_up_close",
    "top_up_create",
    "top_up_get",
    "top_up_query",
    "top_up_refund",
    "top_up_refund_check",
    "top_up_refund_finish",
    "top_up_refund_settle",
    "top_up_refunds_sync",
    "top_ups_sync",
    "wallet_adjust",
    "wallet_get",
]
