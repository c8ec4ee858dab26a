import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import InvalidInput
from tests.factories import UserFactory
from tests.wallet.conftest import fund
from wallet.errors import IdempotencyInProgress, IdempotencyKeyReused, InsufficientFunds, WalletPermissionDenied
from wallet.models import IdempotencyRecord, Kind, LedgerIsAppendOnly, Transaction, Wallet
from wallet.services import wallet_adjust, wallet_get_or_create, wallet_pay, wallet_top_up

pytestmark = pytest.mark.django_db


def test_top_up_creates_wallet_on_first_use_and_records_entry(user):
    result = wallet_top_up(user=user, amount=Decimal("10.5"))
    wallet = Wallet.objects.get(user=user)
    assert wallet.balance == Decimal("10.50")
    assert wallet.currency == "CNY"
    entry = Transaction.objects.get(wallet=wallet)
    assert (entry.kind, entry.amount, entry.balance_after, entry.seq) == (
        Kind.TOP_UP,
        Decimal("10.50"),
        Decimal("10.50"),
        1,
    )
    assert result.status == 201
    assert result.body == {
        "transaction": {
            "id": str(entry.id),
            "kind": "top_up",
            "amount": "10.50",
            "balance_after": "10.50",
            "description": "",
            "created_at": entry.created_at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        },
        "balance": "10.50",
    }


def test_wallet_get_or_create_returns_the_same_wallet(user, settings):
    settings.WALLET_CURRENCY = "USD"
    first = wallet_get_or_create(user=user)
    assert wallet_get_or_create(user=user).pk == first.pk
    assert first.currency == "USD"
    assert Wallet.objects.filter(user=user).count() == 1


def test_pay_debits_with_negative_amount_and_description(user):
    fund(user, "30.00")
    result = wallet_pay(user=user, amount=Decimal("12.5"), description=" coffee ")
    assert result.body["transaction"]["amount"] == "-12.50"
    assert result.body["transaction"]["description"] == "coffee"
    assert result.balance == Decimal("17.50")
    assert Wallet.objects.get(user=user).balance == Decimal("17.50")


def test_pay_more_than_balance_raises_insufficient_funds_and_changes_nothing(user):
    fund(user, "5.00")
    with pytest.raises(InsufficientFunds):
        wallet_pay(user=user, amount=Decimal("5.01"))
    assert Wallet.objects.get(user=user).balance == Decimal("5.00")
    assert Transaction.objects.filter(wallet__user=user).count() == 1


def test_pay_whole_balance_leaves_zero(user):
    fund(user, "5.00")
    wallet_pay(user=user, amount=Decimal("5"))
    assert Wallet.objects.get(user=user).balance == Decimal("0.00")


@pytest.mark.parametrize(
    "amount",
    ["0", "-1", "0.001", "10.005", "50000.01", "1E+309", "NaN", "Infinity", "-Infinity", "sNaN"],
)
def test_top_up_refuses_bad_amounts(user, amount):
    with pytest.raises(InvalidInput) as info:
        wallet_top_up(user=user, amount=Decimal(amount))
    assert "amount" in info.value.fields
    assert not Transaction.objects.exists()


def test_top_up_refuses_floats_even_from_code(user):
    with pytest.raises(InvalidInput):
        wallet_top_up(user=user, amount=10.5)


def test_top_up_accepts_max_top_up_and_trailing_zeros(user, settings):
    settings.WALLET_MAX_TOP_UP = Decimal("100.00")
    assert wallet_top_up(user=user, amount=Decimal("100.000")).body["balance"] == "100.00"


def test_top_up_never_takes_balance_above_max_balance(user, settings):
    settings.WALLET_MAX_BALANCE = Decimal("100.00")
    fund(user, "99.99")
    with pytest.raises(InvalidInput) as info:
        wallet_top_up(user=user, amount=Decimal("0.02"))
    assert "amount" in info.value.fields
    wallet_top_up(user=user, amount=Decimal("0.01"))
    assert Wallet.objects.get(user=user).balance == Decimal("100.00")


def test_idempotent_top_up_replays_and_credits_once(user):
    first = wallet_top_up(user=user, amount=Decimal("10"), idempotency_key="k-1")
    again = wallet_top_up(user=user, amount=Decimal("10.00"), idempotency_key="k-1")
    assert not first.replayed and again.replayed
    assert again.body == first.body and again.status == 201
    assert Wallet.objects.get(user=user).balance == Decimal("10.00")
    assert Transaction.objects.get().idempotency_key == "k-1"


def test_idempotency_key_with_different_request_is_refused(user):
    wallet_top_up(user=user, amount=Decimal("10"), idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReused):
        wallet_top_up(user=user, amount=Decimal("11"), idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReused):
        wallet_pay(user=user, amount=Decimal("10"), idempotency_key="k-1")
    assert Transaction.objects.count() == 1


def test_idempotency_keys_are_scoped_per_user(user):
    other = UserFactory()
    wallet_top_up(user=user, amount=Decimal("10"), idempotency_key="shared")
    result = wallet_top_up(user=other, amount=Decimal("20"), idempotency_key="shared")
    assert not result.replayed
    assert Wallet.objects.get(user=other).balance == Decimal("20.00")


def test_failed_request_stores_nothing_so_the_key_can_be_retried(user):
    with pytest.raises(InsufficientFunds):
        wallet_pay(user=user, amount=Decimal("5"), idempotency_key="pay-1")
    assert not IdempotencyRecord.objects.exists()
    fund(user, "5")
    assert not wallet_pay(user=user, amount=Decimal("5"), idempotency_key="pay-1").replayed


@pytest.fixture
def stale_lock_snapshot(monkeypatch):
    """The lock query misses stored records, as on PostgreSQL when a same-key request commits during the wait."""
    from wallet import lock_objects, services

    def lock_missing_records(**kwargs):
        wallet = lock_objects.wallet_lock(**kwargs)
        wallet.has_idempotency_record = False
        return wallet

    monkeypatch.setattr(services, "wallet_lock", lock_missing_records)


def test_losing_the_idempotency_race_rolls_back_and_replays(user, stale_lock_snapshot):
    first = wallet_top_up(user=user, amount=Decimal("10"), idempotency_key="race")
    again = wallet_top_up(user=user, amount=Decimal("10"), idempotency_key="race")
    assert again.replayed and again.body == first.body
    assert Wallet.objects.get(user=user).balance == Decimal("10.00")
    assert Transaction.objects.count() == 1
    with pytest.raises(IdempotencyKeyReused):
        wallet_top_up(user=user, amount=Decimal("11"), idempotency_key="race")


def test_lost_race_whose_record_cannot_be_read_is_idempotency_in_progress(user, monkeypatch):
    def conflict(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(IdempotencyRecord.objects, "create", conflict)
    with pytest.raises(IdempotencyInProgress):
        wallet_top_up(user=user, amount=Decimal("10"), idempotency_key="gone")
    assert not Transaction.objects.exists()
    assert wallet_get_or_create(user=user).balance == Decimal("0.00")


def test_wallet_row_follows_its_newest_entry(user):
    """The database trigger (migration 0003) copies balance_after, seq and time onto the wallet."""
    fund(user, "10")
    wallet_pay(user=user, amount=Decimal("2.50"))
    wallet = Wallet.objects.get(user=user)
    newest = wallet.transactions.order_by("-seq").first()
    assert (wallet.balance, wallet.entry_count, wallet.updated_at) == (Decimal("7.50"), 2, newest.created_at)


def test_idempotency_key_longer_than_255_is_refused(user):
    with pytest.raises(InvalidInput):
        wallet_top_up(user=user, amount=Decimal("1"), idempotency_key="k" * 256)
    assert wallet_top_up(user=user, amount=Decimal("1"), idempotency_key="k" * 255).status == 201


def test_adjust_needs_staff_with_permission(user, staff):
    fund(user, "10")
    plain_staff = UserFactory(is_staff=True)
    for actor in (user, plain_staff, None):
        with pytest.raises(WalletPermissionDenied):
            wallet_adjust(actor=actor, user=user, amount=Decimal("1"), reason="goodwill")
    staff.is_active = False
    with pytest.raises(WalletPermissionDenied):
        wallet_adjust(actor=staff, user=user, amount=Decimal("1"), reason="goodwill")


def test_adjust_credits_and_debits_with_reason_and_actor(user, staff):
    fund(user, "10")
    wallet_adjust(actor=staff, user=user, amount=Decimal("-2.50"), reason="duplicate top-up")
    result = wallet_adjust(actor=staff, user=user, amount=Decimal("1"), reason="goodwill")
    assert result.balance == Decimal("8.50")
    entry = Transaction.objects.filter(kind=Kind.ADJUSTMENT).order_by("seq").first()
    assert (entry.amount, entry.actor, entry.reason) == (Decimal("-2.50"), staff, "duplicate top-up")


@pytest.mark.parametrize(
    ("amount", "reason", "field"),
    [("1", "  ", "reason"), ("0", "x", "amount"), ("-10.01", "x", "amount"), ("0.001", "x", "amount")],
)
def test_adjust_refuses_missing_reason_zero_and_going_below_zero(user, staff, amount, reason, field):
    fund(user, "10")
    with pytest.raises(InvalidInput) as info:
        wallet_adjust(actor=staff, user=user, amount=Decimal(amount), reason=reason)
    assert field in info.value.fields
    assert Wallet.objects.get(user=user).balance == Decimal("10.00")


def test_ledger_entries_cannot_be_changed_or_deleted(user):
    fund(user, "10")
    entry = Transaction.objects.get()
    entry.amount = Decimal("1000")
    with pytest.raises(LedgerIsAppendOnly):
        entry.save()
    with pytest.raises(LedgerIsAppendOnly):
        entry.delete()
    with pytest.raises(LedgerIsAppendOnly):
        Transaction.objects.filter(pk=entry.pk).update(amount=Decimal("1000"))
    with pytest.raises(LedgerIsAppendOnly):
        Transaction.objects.all().delete()
    assert Transaction.objects.get().amount == Decimal("10.00")


def test_database_refuses_negative_balance(user):
    wallet = wallet_get_or_create(user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("-0.01"))


def test_deleting_a_user_with_a_ledger_is_refused(user):
    from django.db.models import ProtectedError

    fund(user, "1")
    with pytest.raises(ProtectedError):
        user.delete()


def test_prune_removes_records_older_than_a_day(user):
    wallet_top_up(user=user, amount=Decimal("1"), idempotency_key="old")
    wallet_top_up(user=user, amount=Decimal("1"), idempotency_key="new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    call_command("wallet_prune_idempotency")
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
