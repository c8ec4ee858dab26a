"""Posting to the double-entry ledger: the only code that writes journal entries and lines.

Usage (inside ``transaction.atomic``)::

    wallet = lock_objects.wallet_account_lock(user=user)          # lock tracked accounts first
    revenue = account_system(AccountKind.REVENUE, name="app:7")   # untracked: no lock needed
    entry = ledger_post(
        kind=EntryKind.CHARGE,
        lines=[(wallet, -amount), (revenue, amount)],
        reference=charge.id,
        description="会员月费",
    )
    entry.line_for(wallet).balance_after   # the wallet's new balance

Rules :func:`ledger_post` enforces (and the database again, see migration 0005):
the lines add up to zero, no line is zero or has more than two decimals, all
lines are in one currency, every *tracked* account (a person's ``wallet`` or
``frozen``) was locked by ``wallet.lock_objects`` in this transaction and does
not go below zero. It numbers tracked lines and writes ``balance_after``; a
trigger moves the account row's balance in the same statement.

Cost: two INSERT statements (the entry, then all its lines in one), however
many lines. Nothing here checks business rules (limits, permissions, order
states): that is the calling service's job.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from wallet.conf import wallet_settings
from wallet.errors import InsufficientFunds
from wallet.models import CENT, AccountKind, EntryKind, JournalEntry, LedgerAccount, LedgerLine
from wallet.types import Person

__all__ = [
    "LedgerError",
    "account_for_channel",
    "account_for_frozen",
    "account_for_wallet",
    "account_system",
    "ledger_post",
]


class LedgerError(Exception):
    """A posting that breaks a ledger rule: a bug in the calling service, never a user error."""


def _account(*, key: str, kind: str, user: Person = None, name: str = "", currency: str | None = None) -> LedgerAccount:
    # get_or_create inserts inside a savepoint and reads the winner's row when
    # a concurrent first use won the race on the unique key.
    return LedgerAccount.objects.get_or_create(
        key=key,
        defaults={"kind": kind, "user": user, "name": name, "currency": currency or wallet_settings.CURRENCY},
    )[0]


def account_for_wallet(*, user: Person) -> LedgerAccount:
    """``user``'s wallet account (``wallet:<id>``), created on first use. Not locked: see ``lock_objects``."""
    return _account(key=f"wallet:{user.pk}", kind=AccountKind.WALLET, user=user)


def account_for_frozen(*, user: Person) -> LedgerAccount:
    """``user``'s frozen funds (``frozen:<id>``): money on its way back to a channel."""
    return _account(key=f"frozen:{user.pk}", kind=AccountKind.FROZEN, user=user)


def account_for_channel(name: str) -> LedgerAccount:
    """The clearing account of payment channel ``name`` (``channel:<name>``): untracked, never locked.

    Its balance is minus what the channel collected for us and has not
    refunded: a top-up moves money from here into a wallet.
    """
    return _account(key=f"channel:{name}", kind=AccountKind.CHANNEL, name=name)


def account_system(kind: str, *, name: str = "") -> LedgerAccount:
    """An untracked system account: ``account_system("adjustments")``, ``account_system("revenue", name="app:7")``.

    The key is ``kind`` alone, or ``kind:name``.
    """
    if kind in (AccountKind.WALLET, AccountKind.FROZEN):
        raise LedgerError(f"{kind} accounts belong to a person: use account_for_{kind}()")
    if kind not in AccountKind.values:
        raise LedgerError(f"unknown account kind {kind!r}")
    return _account(key=f"{kind}:{name}" if name else kind, kind=kind, name=name)


def mark_locked(account: LedgerAccount) -> LedgerAccount:
    """Record that ``account`` was just read under ``SELECT … FOR UPDATE`` (only ``lock_objects`` calls this)."""
    account._ledger_locked_by = id(transaction.get_connection().connection)  # type: ignore[attr-defined]
    return account


def _is_locked(account: LedgerAccount) -> bool:
    return getattr(account, "_ledger_locked_by", None) == id(transaction.get_connection().connection)


def ledger_post(
    *,
    kind: str,
    lines: Sequence[tuple[LedgerAccount, Decimal]],
    reference: str,
    description: str = "",
    actor: Person = None,
    reason: str = "",
    origin: Mapping[str, Any] | None = None,
) -> JournalEntry:
    """Write one balanced journal entry with ``lines`` (account, signed amount); return it.

    Requires an atomic block, every tracked account locked (``wallet.lock_objects``)
    and fresh from that lock; each account at most once. Updates the in-memory
    ``balance``/``line_count`` of the tracked accounts, so several postings in
    one transaction chain correctly. ``entry.posted_lines`` holds the lines
    and ``entry.line_for(account)`` finds one.

    Raises ``InsufficientFunds`` when a tracked account would go below zero,
    ``LedgerError`` on any other broken rule (unbalanced, zero or sub-cent
    line, mixed currencies, unlocked account, no atomic block).
    """
    if not transaction.get_connection().in_atomic_block:
        raise LedgerError("ledger_post() needs an atomic block")
    if kind not in EntryKind.values:
        raise LedgerError(f"unknown entry kind {kind!r}")
    if len(lines) < 2:
        raise LedgerError("a journal entry needs at least two lines")
    if len({account.pk for account, _amount in lines}) != len(lines):
        raise LedgerError("an account appears twice in one entry")
    if len({account.currency for account, _amount in lines}) != 1:
        raise LedgerError("all lines of an entry must be in one currency")
    total = Decimal("0")
    for account, amount in lines:
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount == 0:
            raise LedgerError(f"line amount {amount!r} must be a non-zero Decimal")
        if amount != amount.quantize(CENT):
            raise LedgerError(f"line amount {amount} has more than two decimals")
        if account.tracked and not _is_locked(account):
            raise LedgerError(f"account {account.key} must be locked (wallet.lock_objects) before posting")
        total += amount
    if total != 0:
        raise LedgerError(f"the lines sum to {total}, not zero")
    for account, amount in lines:
        if account.tracked and account.balance + amount < 0:
            raise InsufficientFunds.short_by(-(account.balance + amount), account.currency)

    now = timezone.now()
    entry = JournalEntry.objects.create(
        kind=kind,
        reference=reference,
        description=description,
        actor=actor,
        reason=reason,
        origin=dict(origin or {}),
        created_at=now,
    )
    posted = []
    for account, amount in lines:
        line = LedgerLine(entry=entry, account=account, amount=amount, created_at=now)
        if account.tracked:
            line.seq = account.line_count + 1
            line.balance_after = account.balance + amount
        posted.append(line)
    # One INSERT for all lines; the trigger moves each tracked account's row.
    LedgerLine.objects.bulk_create(posted)
    for line in posted:
        if line.seq is not None and line.balance_after is not None:
            line.account.balance = line.balance_after
            line.account.line_count = line.seq
            line.account.updated_at = now
    entry.posted_lines = posted  # type: ignore[attr-defined]
    return entry
