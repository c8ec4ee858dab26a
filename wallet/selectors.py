from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from wallet.models import Transaction, Wallet


def wallet_transactions(*, user) -> QuerySet[Transaction]:
    """``user``'s ledger, newest first (a user only ever sees their own)."""
    return Transaction.objects.filter(wallet__user=user).order_by("-seq")


@dataclass
class AuditFinding:
    wallet_id: int
    owner: str
    problems: list[str] = field(default_factory=list)


def wallet_audit() -> list[AuditFinding]:
    """Every wallet whose balance is not reproducible from its ledger.

    Checks ``balance == sum(amount)``, ``entry_count == number of entries``,
    entries numbered 1..n, each ``balance_after == previous + amount`` and
    the last ``balance_after == balance``. Streams the ledger once.
    """
    findings: dict[int, AuditFinding] = {}

    def problem(wallet_id: int, owner: str, text: str) -> None:
        findings.setdefault(wallet_id, AuditFinding(wallet_id, owner)).problems.append(text)

    zero = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))
    wallets = (
        Wallet.objects.select_related("user")
        .annotate(total=Coalesce(Sum("transactions__amount"), zero), entries=Count("transactions"))
        .order_by("pk")
    )
    balances: dict[int, tuple[Decimal, str]] = {}
    for wallet in wallets.iterator(chunk_size=2000):
        owner = str(wallet.user)
        balances[wallet.pk] = (wallet.balance, owner)
        if wallet.balance != wallet.total:
            problem(wallet.pk, owner, f"balance {wallet.balance} != sum of amounts {wallet.total}")
        if wallet.entry_count != wallet.entries:
            problem(wallet.pk, owner, f"entry_count {wallet.entry_count} != {wallet.entries} entries")
        if wallet.balance < 0:
            problem(wallet.pk, owner, f"negative balance {wallet.balance}")

    entries = Transaction.objects.order_by("wallet_id", "seq").values_list(
        "wallet_id", "seq", "amount", "balance_after"
    )
    current, expected_seq, running = None, 0, Decimal("0.00")

    def close(wallet_id):
        if wallet_id is not None and running != balances[wallet_id][0]:
            problem(
                wallet_id, balances[wallet_id][1], f"last balance_after {running} != balance {balances[wallet_id][0]}"
            )

    for wallet_id, seq, amount, balance_after in entries.iterator(chunk_size=5000):
        if wallet_id != current:
            close(current)
            current, expected_seq, running = wallet_id, 0, Decimal("0.00")
        expected_seq += 1
        owner = balances[wallet_id][1]
        if seq != expected_seq:
            problem(wallet_id, owner, f"entry number {seq} where {expected_seq} was expected")
            expected_seq = seq
        if balance_after != running + amount:
            problem(wallet_id, owner, f"entry {seq}: balance_after {balance_after} != {running} + {amount}")
        running = balance_after
    close(current)
    return sorted(findings.values(), key=lambda finding: finding.wallet_id)
