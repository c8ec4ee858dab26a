import random
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.factories import UserFactory
from tests.wallet.charges_helpers import spend
from tests.wallet.conftest import fund
from wallet.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, LedgerLine, TopUp
from wallet.selectors import wallet_audit

pytestmark = pytest.mark.django_db


def _audit_err() -> str:
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("wallet_audit", stderr=err)
    return err.getvalue()


def _without_triggers():
    """Forge rows as a bug or a hand-run SQL statement could (PostgreSQL triggers off for this transaction)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")


def test_audit_is_clean_after_normal_use(user):
    fund(user, "10")
    spend(user, "3")
    UserFactory()  # a user without a wallet
    out = StringIO()
    call_command("wallet_audit", stdout=out)
    assert "consistent" in out.getvalue()


def test_audit_names_the_account_whose_balance_differs_from_its_lines(user):
    fund(user, "10")
    healthy = UserFactory()
    fund(healthy, "5")
    _without_triggers()
    LedgerAccount.objects.filter(user=user, kind=AccountKind.WALLET).update(balance=Decimal("11.00"))
    err = _audit_err()
    assert f"account wallet:{user.pk}: balance 11.00 != sum of lines 10.00" in err
    assert f"wallet:{healthy.pk}" not in err


def test_audit_finds_a_line_whose_balance_after_does_not_follow_and_an_unbalanced_entry(user, staff):
    fund(user, "10")
    account = LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET)
    _without_triggers()
    entry = JournalEntry.objects.create(kind=EntryKind.ADJUSTMENT, reference="forged", actor=staff, reason="x")
    LedgerLine.objects.create(entry=entry, account=account, seq=2, amount=Decimal("5"), balance_after=Decimal("20"))
    LedgerAccount.objects.filter(pk=account.pk).update(balance=Decimal("15"), line_count=2)
    err = _audit_err()
    assert "balance_after 20.00 != 10.00 + 5.00" in err
    assert f"entry {entry.pk}: 1 line(s) summing to 5.00" in err


def test_audit_finds_a_paid_top_up_without_its_credit(user):
    top_up = fund(user, "10")
    _without_triggers()
    TopUp.objects.filter(pk=top_up.pk).update(credit_entry=None, status="pending")
    assert f"top-up {top_up.pk}: pending but credited 1 time(s)" in _audit_err()


# --- The data migration from revision 1's ledger --------------------------------------------

BEFORE = [("wallet", "0003_entry_moves_balance_trigger")]


def _old_audit(apps) -> list[str]:
    """Revision 1's invariants: balance == sum, seq 1..n, balance_after continuity."""
    Wallet, Transaction = apps.get_model("wallet", "Wallet"), apps.get_model("wallet", "Transaction")
    problems = []
    for wallet in Wallet.objects.all():
        running = Decimal("0.00")
        for n, row in enumerate(Transaction.objects.filter(wallet=wallet).order_by("seq"), start=1):
            running += row.amount
            if row.seq != n or row.balance_after != running:
                problems.append(f"{wallet.pk}/{row.seq}")
        if running != wallet.balance or wallet.entry_count != Transaction.objects.filter(wallet=wallet).count():
            problems.append(f"{wallet.pk}")
    return problems


@pytest.mark.django_db(transaction=True)
def test_revision_1_ledger_moves_into_the_double_entry_ledger_audit_clean_before_and_after():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("wallet")
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Wallet, Transaction = apps.get_model("wallet", "Wallet"), apps.get_model("wallet", "Transaction")
    IdempotencyRecord = apps.get_model("wallet", "IdempotencyRecord")
    rng = random.Random(20261201)
    staff = UserFactory(is_staff=True)
    expected, line_ids = {}, []
    for _ in range(12):
        user = UserFactory()
        wallet = Wallet.objects.create(user_id=user.pk, currency="CNY")
        balance, seq = Decimal("0.00"), 0
        for _ in range(rng.randint(0, 15)):
            kind = rng.choice(["top_up", "top_up", "payment", "adjustment"])
            amount = Decimal(rng.randint(1, 50_000)) / 100
            if kind == "payment" or (kind == "adjustment" and rng.random() < 0.5):
                if balance < amount:
                    continue
                amount = -amount
            seq += 1
            balance += amount
            row = Transaction.objects.create(
                id=uuid.uuid4(),
                wallet=wallet,
                seq=seq,
                kind=kind,
                amount=amount,
                balance_after=balance,
                description="咖啡" if kind == "payment" else "",
                actor_id=staff.pk if kind == "adjustment" else None,
                reason="补偿" if kind == "adjustment" else "",
                idempotency_key=f"k-{seq}" if kind == "payment" else "",
                created_at=timezone.now(),
            )
            line_ids.append(row.pk)
            if kind == "payment":
                IdempotencyRecord.objects.create(
                    user_id=user.pk,
                    key=f"k-{seq}",
                    fingerprint="f",
                    status=201,
                    body={"transaction": {"id": str(row.pk)}, "balance": f"{balance:.2f}"},
                )
        expected[user.pk] = (balance, seq)
    assert _old_audit(apps) == []

    executor = MigrationExecutor(connection)
    executor.migrate(latest)

    assert wallet_audit() == []
    for user_id, (balance, seq) in expected.items():
        account = LedgerAccount.objects.get(user_id=user_id, kind=AccountKind.WALLET)
        assert (account.balance, account.line_count) == (balance, seq)
    assert set(LedgerLine.objects.filter(account__kind=AccountKind.WALLET).values_list("id", flat=True)) == set(
        line_ids
    )
    assert JournalEntry.objects.count() == len(line_ids)
    from wallet.models import IdempotencyRecord as Record

    assert Record.objects.count() == Record.objects.filter(entry__isnull=False).count() > 0
