"""The posting API and the rules the database keeps whoever writes."""

import uuid
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from tests.factories import UserFactory
from tests.wallet.conftest import fund
from wallet import lock_objects
from wallet.errors import InsufficientFunds
from wallet.ledger import LedgerError, account_for_channel, account_for_wallet, account_system, ledger_post
from wallet.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, LedgerIsAppendOnly, LedgerLine
from wallet.selectors import wallet_audit

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL triggers")


def _post(wallet, other, amount: str, **kwargs):
    return ledger_post(
        kind=EntryKind.ADJUSTMENT, lines=[(wallet, Decimal(amount)), (other, -Decimal(amount))], reference="x", **kwargs
    )


def test_accounts_have_readable_unique_keys(user):
    assert account_for_wallet(user=user).key == f"wallet:{user.pk}"
    assert account_for_wallet(user=user).pk == account_for_wallet(user=user).pk
    assert account_for_channel("sandbox").key == "channel:sandbox"
    assert account_system("adjustments").key == "adjustments"
    revenue = account_system(AccountKind.REVENUE, name="app:7")
    assert (revenue.key, revenue.kind, revenue.tracked) == ("revenue:app:7", "revenue", False)
    with pytest.raises(LedgerError):
        account_system(AccountKind.WALLET)


def test_posting_numbers_tracked_lines_and_moves_the_account_row(user, staff):
    adjustments = account_system("adjustments")
    with transaction.atomic():
        wallet = lock_objects.wallet_account_lock(user=user)
        first = ledger_post(
            kind=EntryKind.ADJUSTMENT,
            lines=[(wallet, Decimal("5.00")), (adjustments, Decimal("-5.00"))],
            reference="a",
            actor=staff,
            reason="r",
        )
        second = ledger_post(
            kind=EntryKind.ADJUSTMENT,
            lines=[(wallet, Decimal("-1.25")), (adjustments, Decimal("1.25"))],
            reference="b",
            actor=staff,
            reason="r",
        )
    assert (first.line_for(wallet).seq, first.line_for(wallet).balance_after) == (1, Decimal("5.00"))
    assert (second.line_for(wallet).seq, second.line_for(wallet).balance_after) == (2, Decimal("3.75"))
    assert first.line_for(adjustments).seq is None and first.line_for(adjustments).balance_after is None
    row = LedgerAccount.objects.get(pk=wallet.pk)
    assert (row.balance, row.line_count) == (Decimal("3.75"), 2)
    assert wallet_audit() == []


@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        (("5.00", "-4.99"), "sum"),
        (("0.00", "0.00"), "non-zero"),
        (("0.001", "-0.001"), "two decimals"),
    ],
)
def test_posting_refuses_unbalanced_zero_and_sub_cent_lines(user, amounts, message):
    adjustments = account_system("adjustments")
    with transaction.atomic():
        wallet = lock_objects.wallet_account_lock(user=user)
        with pytest.raises(LedgerError, match=message):
            ledger_post(
                kind=EntryKind.TOP_UP,
                lines=[(wallet, Decimal(amounts[0])), (adjustments, Decimal(amounts[1]))],
                reference="x",
            )
    assert not JournalEntry.objects.exists()


def test_posting_refuses_a_tracked_account_that_was_not_locked(user):
    wallet, channel = account_for_wallet(user=user), account_for_channel("sandbox")
    with transaction.atomic(), pytest.raises(LedgerError, match="locked"):
        _post(wallet, channel, "1.00")


@pytest.mark.django_db(transaction=True)
def test_posting_refuses_to_run_outside_an_atomic_block():
    user = UserFactory()
    with pytest.raises(LedgerError, match="atomic"):
        _post(account_for_wallet(user=user), account_for_channel("sandbox"), "1.00")


def test_posting_refuses_overdraft_of_a_tracked_account_but_not_of_a_clearing_account(user):
    channel = account_for_channel("sandbox")
    with transaction.atomic():
        wallet = lock_objects.wallet_account_lock(user=user)
        with pytest.raises(InsufficientFunds):
            ledger_post(
                kind=EntryKind.PAYMENT, lines=[(wallet, Decimal("-0.01")), (channel, Decimal("0.01"))], reference="x"
            )
        ledger_post(
            kind=EntryKind.TOP_UP, lines=[(wallet, Decimal("1.00")), (channel, Decimal("-1.00"))], reference="x"
        )
    assert wallet_audit() == []


def test_posting_refuses_mixed_currencies_and_an_account_twice(user):
    usd = LedgerAccount.objects.create(key="channel:usd", kind="channel", name="usd", currency="USD")
    with transaction.atomic():
        wallet = lock_objects.wallet_account_lock(user=user)
        with pytest.raises(LedgerError, match="currency"):
            _post(wallet, usd, "1.00")
        with pytest.raises(LedgerError, match="twice"):
            _post(wallet, wallet, "1.00")


def test_entries_and_lines_cannot_be_changed_or_deleted_through_the_models(user):
    fund(user, "10")
    line = LedgerLine.objects.filter(account__kind=AccountKind.WALLET).get()
    entry = line.entry
    line.amount = Decimal("1000")
    for call in (line.save, line.delete, entry.save, entry.delete):
        with pytest.raises(LedgerIsAppendOnly):
            call()
    for queryset in (LedgerLine.objects.all(), JournalEntry.objects.all()):
        with pytest.raises(LedgerIsAppendOnly):
            queryset.update(created_at=None)
        with pytest.raises(LedgerIsAppendOnly):
            queryset.delete()


@postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE wallet_ledgerline SET amount = 1000",
        "DELETE FROM wallet_ledgerline",
        "UPDATE wallet_journalentry SET reference = 'x'",
        "DELETE FROM wallet_journalentry",
    ],
)
def test_postgresql_refuses_raw_updates_and_deletes_of_the_ledger(user, statement):
    fund(user, "10")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


@postgres_only
def test_postgresql_refuses_a_line_whose_balance_after_does_not_follow(user):
    fund(user, "10")
    wallet = account_for_wallet(user=user)
    entry = JournalEntry.objects.create(kind=EntryKind.ADJUSTMENT, reference="x", actor=UserFactory(), reason="r")
    with pytest.raises(IntegrityError, match="account is at"), transaction.atomic():
        LedgerLine.objects.create(
            entry=entry, account=wallet, amount=Decimal("5.00"), seq=2, balance_after=Decimal("99.00")
        )
    with pytest.raises(IntegrityError, match="untracked"), transaction.atomic():
        LedgerLine.objects.create(
            entry=entry,
            account=account_for_channel("sandbox"),
            amount=Decimal("5.00"),
            seq=1,
            balance_after=Decimal("5.00"),
        )


@postgres_only
def test_postgresql_refuses_a_negative_wallet_balance(user):
    wallet = account_for_wallet(user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(pk=wallet.pk).update(balance=Decimal("-0.01"))


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_to_commit_an_entry_that_does_not_balance():
    channel = account_for_channel("sandbox")
    adjustments = account_system("adjustments")
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        entry = JournalEntry.objects.create(id=uuid.uuid4(), kind=EntryKind.TOP_UP, reference="x")
        LedgerLine.objects.create(entry=entry, account=channel, amount=Decimal("-5.00"))
        LedgerLine.objects.create(entry=entry, account=adjustments, amount=Decimal("4.00"))
    assert not JournalEntry.objects.exists()
