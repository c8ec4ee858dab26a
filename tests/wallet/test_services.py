"""Reading a wallet, staff adjustments, idempotency records. (Charges: test_charges.py.)"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import ProtectedError
from django.utils import timezone

from config.errors import InvalidInput
from tests.factories import UserFactory
from tests.wallet.conftest import fund
from wallet.errors import WalletPermissionDenied
from wallet.ledger import account_for_wallet
from wallet.models import AccountKind, EntryKind, IdempotencyRecord, JournalEntry, LedgerAccount, LedgerLine
from wallet.selectors import wallet_audit
from wallet.services import top_up_create, wallet_adjust, wallet_get

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
    top_up_create(user=user, amount=Decimal("1"), channel="sandbox", idempotency_key="old")
    top_up_create(user=user, amount=Decimal("1"), channel="sandbox", idempotency_key="new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    call_command("wallet_prune_idempotency")
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert LedgerLine.objects.filter(account__user=user).count() == 1  # pruning never touches the ledger


def test_prune_deletes_in_batches_until_none_is_left(user, django_assert_num_queries):
    from wallet.services import idempotency_records_prune

    old = timezone.now() - timedelta(days=2)
    IdempotencyRecord.objects.bulk_create(
        IdempotencyRecord(user=user, key=f"k{n}", fingerprint="f", created_at=old) for n in range(5)
    )
    IdempotencyRecord.objects.create(user=user, key="fresh", fingerprint="f")
    # batches of 2: (select ids + delete) x 3, then the select that finds none
    with django_assert_num_queries(7):
        assert idempotency_records_prune(batch=2) == 5
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
