"""Every change to a wallet: top-ups, payments, staff adjustments.

Each one locks the wallet row (``wallet.lock_objects.wallet_lock``), checks
the rules, writes one ledger entry with ``balance_after`` (a database trigger
copies it to the wallet's balance) and — when the caller sent an idempotency
key — the stored response, all in one database transaction.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wallet.errors import (
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidInput,
    WalletPermissionDenied,
)
from wallet.lock_objects import wallet_lock
from wallet.models import CENT, IdempotencyRecord, Kind, Transaction, Wallet
from wallet.serializers import ledger_body  # the API body is what gets stored and replayed

IDEMPOTENCY_KEY_MAX_LENGTH = 255
IDEMPOTENCY_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class LedgerResult:
    """What a balance change answered: ``body`` is the API body (stored for replays)."""

    status: int
    body: dict
    replayed: bool = False
    transaction: Transaction | None = None  # None on a replay

    @property
    def balance(self) -> Decimal:
        return Decimal(self.body["balance"])


def wallet_get_or_create(*, user) -> Wallet:
    """The user's wallet, created (race-free) on first use."""
    return Wallet.objects.get_or_create_for(user)


def _check_amount(amount: Decimal, *, maximum: Decimal, signed: bool = False) -> Decimal:
    """Amount rules shared by every operation; returns the amount with two decimals."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidInput(fields={"amount": [_("Enter an amount such as 10 or 12.50.")]})
    if amount == 0 or (amount < 0 and not signed):
        message = _("The amount must not be zero.") if signed else _("The amount must be greater than zero.")
        raise InvalidInput(fields={"amount": [message]})
    if abs(amount) > maximum:  # before quantize(): 1E+309 would overflow it
        raise InvalidInput(fields={"amount": [_("The amount must be at most %(max)s.") % {"max": maximum}]})
    if amount != amount.quantize(CENT):
        raise InvalidInput(fields={"amount": [_("The amount can have at most two decimal places.")]})
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


def _fingerprint(**request) -> str:
    canonical = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(*, user, key: str, fingerprint: str) -> LedgerResult | None:
    record = IdempotencyRecord.objects.filter(user=user, key=key).only("fingerprint", "status", "body").first()
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return LedgerResult(status=record.status, body=record.body, replayed=True)


class _KeyStoredMeanwhile(Exception):
    """A same-key request committed its record after our lock query's snapshot was taken."""


def _ledger_change(
    *,
    user,
    kind: str,
    amount: Decimal,
    description: str = "",
    idempotency_key: str = "",
    actor=None,
    reason: str = "",
) -> LedgerResult:
    """Lock, replay or check, then write entry + balance (+ stored response), atomically.

    Owns the transaction (the public services are not decorated) so that a
    lost idempotency race can be rolled back and answered with the winner's
    response.
    """
    fingerprint = _fingerprint(kind=kind, amount=amount, description=description, reason=reason)
    try:
        with transaction.atomic():
            return _ledger_write(
                user=user,
                kind=kind,
                amount=amount,
                description=description,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
                actor=actor,
                reason=reason,
            )
    except _KeyStoredMeanwhile:
        # Everything was rolled back; the winner has committed (PostgreSQL's
        # unique check waits for it), so a fresh statement sees its record:
        # this request waited and now replays, as a plain retry would.
        replay = _replay(user=user, key=idempotency_key, fingerprint=fingerprint)
        if replay is None:  # its record was deleted in between (never seen): the client retries
            raise IdempotencyInProgress() from None
        return replay


def _ledger_write(
    *,
    user,
    kind: str,
    amount: Decimal,
    description: str,
    idempotency_key: str,
    fingerprint: str,
    actor,
    reason: str,
) -> LedgerResult:
    # Every statement here runs while the wallet row is locked, and the hot
    # wallet's throughput is bounded by how long that is: a top-up is the lock
    # query (which also looks up the key), the entry INSERT (a trigger moves
    # the balance, see migration 0003) and, with a key, the record INSERT.
    wallet = wallet_lock(user=user, idempotency_key=idempotency_key)
    if idempotency_key and wallet.has_idempotency_record:
        return _replay(user=user, key=idempotency_key, fingerprint=fingerprint)

    new_balance = wallet.balance + amount
    if new_balance < 0:
        if kind == Kind.PAYMENT:
            raise InsufficientFunds()
        raise InvalidInput(fields={"amount": [_("The balance cannot go below zero.")]})
    if amount > 0 and new_balance > settings.WALLET_MAX_BALANCE:
        raise InvalidInput(
            fields={
                "amount": [
                    _("The balance cannot exceed %(max)s %(currency)s.")
                    % {"max": settings.WALLET_MAX_BALANCE, "currency": wallet.currency}
                ]
            }
        )

    entry = Transaction.objects.create(
        wallet=wallet,
        seq=wallet.entry_count + 1,
        kind=kind,
        amount=amount,
        balance_after=new_balance,
        description=description,
        actor=actor,
        reason=reason,
        idempotency_key=idempotency_key,
    )
    result = LedgerResult(status=201, body=ledger_body(entry), transaction=entry)
    if idempotency_key:
        try:
            IdempotencyRecord.objects.create(
                user=user, key=idempotency_key, fingerprint=fingerprint, status=result.status, body=result.body
            )
        except IntegrityError as exc:
            # Only the unique (user, key) can fail here: see wallet_lock on why
            # its lookup can miss a record committed while we waited.
            raise _KeyStoredMeanwhile() from exc
    return result


def wallet_top_up(*, user, amount: Decimal, idempotency_key: str | None = None) -> LedgerResult:
    """Credit ``amount`` to ``user``'s wallet (created on first use), atomically.

    Rules: 0 < amount <= WALLET_MAX_TOP_UP, at most two decimals, balance after
    at most WALLET_MAX_BALANCE. With ``idempotency_key`` a repeat of the same
    request returns the first result (``replayed=True``) and credits nothing.
    Raises InvalidInput, IdempotencyKeyReused.
    """
    amount = _check_amount(amount, maximum=settings.WALLET_MAX_TOP_UP)
    key = _check_key(idempotency_key)
    return _ledger_change(user=user, kind=Kind.TOP_UP, amount=amount, idempotency_key=key)


def wallet_pay(*, user, amount: Decimal, description: str = "", idempotency_key: str | None = None) -> LedgerResult:
    """Debit ``amount`` from ``user``'s wallet, atomically; the entry's amount is negative.

    Raises InsufficientFunds when the balance is smaller than ``amount``, plus
    the errors of :func:`wallet_top_up`.
    """
    amount = _check_amount(amount, maximum=settings.WALLET_MAX_BALANCE)
    key = _check_key(idempotency_key)
    description = (description or "").strip()
    if len(description) > 200:
        raise InvalidInput(fields={"description": [_("At most 200 characters.")]})
    return _ledger_change(user=user, kind=Kind.PAYMENT, amount=-amount, description=description, idempotency_key=key)


def wallet_adjust(*, actor, user, amount: Decimal, reason: str) -> LedgerResult:
    """A staff correction of ``user``'s balance by a signed ``amount``, with a reason, atomically.

    ``actor`` must be active staff with the ``wallet.adjust_balance``
    permission. The balance never goes below zero nor above
    WALLET_MAX_BALANCE. Raises WalletPermissionDenied, InvalidInput.
    """
    if not (actor and actor.is_active and actor.is_staff and actor.has_perm("wallet.adjust_balance")):
        raise WalletPermissionDenied()
    amount = _check_amount(amount, maximum=settings.WALLET_MAX_BALANCE, signed=True)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(fields={"reason": [_("A reason is required.")]})
    if len(reason) > 500:
        raise InvalidInput(fields={"reason": [_("At most 500 characters.")]})
    return _ledger_change(user=user, kind=Kind.ADJUSTMENT, amount=amount, actor=actor, reason=reason)


def idempotency_records_prune(*, older_than: timedelta = IDEMPOTENCY_TTL) -> int:
    """Delete stored responses older than ``older_than``; returns how many went."""
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
