"""Payments (until the charges issue), staff adjustments, idempotency replays from the ledger."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError
from django.db.models import ProtectedError
from django.utils import timezone

from config.errors import InvalidInput
from tests.factories import UserFactory
from tests.wallet.conftest import fund
from wallet.errors import IdempotencyInProgress, IdempotencyKeyReused, InsufficientFunds, WalletPermissionDenied
from wallet.ledger import account_for_wallet
from wallet.models import AccountKind, EntryKind, IdempotencyRecord, JournalEntry, LedgerAccount, LedgerLine
from wallet.selectors import wallet_audit
from wallet.services import wallet_adjust, wallet_get, wallet_pay

pytestmark = pytest.mark.django_db


def _balance(user) -> Decimal:
    return LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET).balance


def test_wallet_get_creates_the_account_on_first_use_with_zero_frozen(user, settings):
    settings.WALLET_CURRENCY = "USD"
    state = wallet_get(user=user)
    assert (state.balance, state.frozen, state.currency, state.max_balance) == (
        Decimal("0.00"),
        Decimal("0.00"),
        "USD",
        Decimal("5000.00"),
    )
    assert wallet_get(user=user).currency == "USD"
    assert LedgerAccount.objects.filter(user=user).count() == 1


def test_pay_debits_the_wallet_into_the_payments_revenue_account(user):
    fund(user, "30.00")
    result = wallet_pay(user=user, amount=Decimal("12.5"), description=" coffee ")
    assert (result.line.amount, result.entry.description, result.balance) == (
        Decimal("-12.50"),
        "coffee",
        Decimal("17.50"),
    )
    lines = {line.account.key: line.amount for line in result.entry.lines.select_related("account")}
    assert lines == {f"wallet:{user.pk}": Decimal("-12.50"), "revenue:payments": Decimal("12.50")}
    assert _balance(user) == Decimal("17.50")
    assert wallet_audit() == []


def test_pay_more_than_balance_raises_insufficient_funds_and_changes_nothing(user):
    fund(user, "5.00")
    with pytest.raises(InsufficientFunds):
        wallet_pay(user=user, amount=Decimal("5.01"))
    assert _balance(user) == Decimal("5.00")
    assert not JournalEntry.objects.filter(kind=EntryKind.PAYMENT).exists()


def test_pay_whole_balance_leaves_zero(user):
    fund(user, "5.00")
    wallet_pay(user=user, amount=Decimal("5"))
    assert _balance(user) == Decimal("0.00")


@pytest.mark.parametrize("amount", ["0", "-1", "0.001", "5000.01", "1E+309", "NaN", "Infinity", "sNaN"])
def test_pay_refuses_bad_amounts(user, amount):
    with pytest.raises(InvalidInput) as info:
        wallet_pay(user=user, amount=Decimal(amount))
    assert "amount" in info.value.fields


def test_pay_refuses_floats_even_from_code(user):
    with pytest.raises(InvalidInput):
        wallet_pay(user=user, amount=10.5)


def test_idempotent_pay_replays_the_same_entry_and_debits_once(user):
    fund(user, "30")
    first = wallet_pay(user=user, amount=Decimal("10"), idempotency_key="k-1")
    again = wallet_pay(user=user, amount=Decimal("10.00"), idempotency_key="k-1")
    assert not first.replayed and again.replayed
    assert again.line.pk == first.line.pk and again.balance == first.balance == Decimal("20.00")
    assert _balance(user) == Decimal("20.00")
    assert IdempotencyRecord.objects.get(key="k-1").entry_id == first.entry.pk


def test_idempotency_key_with_different_request_is_refused(user):
    fund(user, "30")
    wallet_pay(user=user, amount=Decimal("10"), idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReused):
        wallet_pay(user=user, amount=Decimal("11"), idempotency_key="k-1")
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1


def test_idempotency_keys_are_scoped_per_user(user):
    other = UserFactory()
    fund(user, "10")
    fund(other, "30")
    wallet_pay(user=user, amount=Decimal("10"), idempotency_key="shared")
    assert not wallet_pay(user=other, amount=Decimal("20"), idempotency_key="shared").replayed
    assert _balance(other) == Decimal("10.00")


def test_failed_request_stores_nothing_so_the_key_can_be_retried(user):
    with pytest.raises(InsufficientFunds):
        wallet_pay(user=user, amount=Decimal("5"), idempotency_key="pay-1")
    assert not IdempotencyRecord.objects.exists()
    fund(user, "5")
    assert not wallet_pay(user=user, amount=Decimal("5"), idempotency_key="pay-1").replayed


def test_losing_the_idempotency_race_rolls_back_and_replays_the_winner(user, monkeypatch):
    """The lookup misses the record, as on PostgreSQL when a same-key request commits during the lock wait."""
    from wallet import services

    fund(user, "30")
    first = wallet_pay(user=user, amount=Decimal("10"), idempotency_key="race")
    real_lookup = services._record_lookup
    calls = []

    def stale_then_fresh(**kwargs):
        calls.append(1)
        return None if len(calls) == 1 else real_lookup(**kwargs)

    monkeypatch.setattr(services, "_record_lookup", stale_then_fresh)
    again = wallet_pay(user=user, amount=Decimal("10"), idempotency_key="race")
    assert again.replayed and again.line.pk == first.line.pk
    assert _balance(user) == Decimal("20.00")
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1


def test_lost_race_whose_record_cannot_be_read_is_idempotency_in_progress(user, monkeypatch):
    fund(user, "10")

    def conflict(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(IdempotencyRecord.objects, "create", conflict)
    with pytest.raises(IdempotencyInProgress):
        wallet_pay(user=user, amount=Decimal("10"), idempotency_key="gone")
    assert _balance(user) == Decimal("10.00")


def test_idempotency_key_longer_than_255_or_with_nul_is_refused(user):
    fund(user, "10")
    for key in ("k" * 256, "a\x00b"):
        with pytest.raises(InvalidInput):
            wallet_pay(user=user, amount=Decimal("1"), idempotency_key=key)
    assert not wallet_pay(user=user, amount=Decimal("1"), idempotency_key="k" * 255).replayed


def test_adjust_needs_staff_with_permission(user, staff):
    plain_staff = UserFactory(is_staff=True)
    for actor in (user, plain_staff, None):
        with pytest.raises(WalletPermissionDenied):
            wallet_adjust(actor=actor, user=user, amount=Decimal("1"), reason="goodwill")
    staff.is_active = False
    with pytest.raises(WalletPermissionDenied):
        wallet_adjust(actor=staff, user=user, amount=Decimal("1"), reason="goodwill")


def test_adjust_posts_against_the_adjustments_account_with_reason_and_actor(user, staff):
    fund(user, "10")
    wallet_adjust(actor=staff, user=user, amount=Decimal("-2.50"), reason="duplicate top-up")
    result = wallet_adjust(actor=staff, user=user, amount=Decimal("1"), reason="goodwill")
    assert result.balance == Decimal("8.50")
    entry = JournalEntry.objects.filter(kind=EntryKind.ADJUSTMENT).order_by("created_at").first()
    assert (entry.actor, entry.reason) == (staff, "duplicate top-up")
    assert {line.account.key: line.amount for line in entry.lines.select_related("account")} == {
        f"wallet:{user.pk}": Decimal("-2.50"),
        "adjustments": Decimal("2.50"),
    }
    assert wallet_audit() == []


@pytest.mark.parametrize(
    ("amount", "reason", "field"),
    [("1", "  ", "reason"), ("0", "x", "amount"), ("-10.01", "x", "amount"), ("0.001", "x", "amount")],
)
def test_adjust_refuses_missing_reason_zero_and_going_below_zero(user, staff, amount, reason, field):
    fund(user, "10")
    with pytest.raises(InvalidInput) as info:
        wallet_adjust(actor=staff, user=user, amount=Decimal(amount), reason=reason)
    assert field in info.value.fields
    assert _balance(user) == Decimal("10.00")


def test_adjust_never_takes_the_balance_above_max_balance(user, staff, settings):
    settings.WALLET_MAX_BALANCE = "100.00"
    fund(user, "99.99")
    with pytest.raises(InvalidInput):
        wallet_adjust(actor=staff, user=user, amount=Decimal("0.02"), reason="x")
    assert wallet_adjust(actor=staff, user=user, amount=Decimal("0.01"), reason="x").balance == Decimal("100.00")


def test_deleting_a_user_with_a_ledger_is_refused(user):
    fund(user, "1")
    with pytest.raises(ProtectedError):
        user.delete()


def test_deleting_a_user_without_a_ledger_removes_the_empty_account(user):
    account_for_wallet(user=user)
    user.delete()
    assert not LedgerAccount.objects.filter(kind=AccountKind.WALLET).exists()


def test_prune_removes_records_older_than_a_day(user):
    fund(user, "10")
    wallet_pay(user=user, amount=Decimal("1"), idempotency_key="old")
    wallet_pay(user=user, amount=Decimal("1"), idempotency_key="new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    call_command("wallet_prune_idempotency")
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert LedgerLine.objects.filter(account__user=user).count() == 3  # pruning never touches the ledger
