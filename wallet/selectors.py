"""Reads of the wallet that several doors share, and the ledger audit."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from wallet.models import (
    PAID_STATUSES,
    TRACKED_KINDS,
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    LedgerLine,
    TopUp,
)
from wallet.types import Person


def wallet_lines(*, user: Person) -> QuerySet[LedgerLine]:
    """The lines of ``user``'s wallet account, newest first, with their entries (API "transactions").

    Filtered on ``account_id`` itself (the wallet account found by a scalar
    subquery, still one query): a filter through the join would make
    PostgreSQL read and sort every line of a person with 100,000 of them;
    this one walks ``(account_id, seq)`` backwards and stops after a page.
    """
    wallet = LedgerAccount.objects.filter(user=user, kind=AccountKind.WALLET).values("pk")[:1]
    return LedgerLine.objects.filter(account_id=Subquery(wallet)).select_related("entry").order_by("-seq")


def top_ups_of(*, user: Person) -> QuerySet[TopUp]:
    """``user``'s top-ups, newest first."""
    return TopUp.objects.filter(user=user).order_by("-created_at", "-id")


@dataclass
class AuditFinding:
    subject: str  # "account wallet:42", "entry <uuid>", "top-up T…"
    problems: list[str] = field(default_factory=list)


def _cents(value: Decimal | int | float | str) -> Decimal:
    """A sum from the database to the cent (SQLite's are floats: 0.030000000000000002)."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _money(value: Decimal | int | str) -> str:
    return f"{Decimal(value):.2f}"  # SQLite sums come back without their decimals


_ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))


def wallet_audit() -> list[AuditFinding]:
    """Every broken ledger invariant, grouped by what it concerns (empty when all is well).

    - every journal entry's lines sum to zero and it has at least two lines;
    - a tracked account's balance == the sum of its lines, ``line_count`` ==
      its number of lines, lines numbered 1..n, each ``balance_after`` the
      previous one plus its amount, the last one the balance, never negative;
    - an untracked account's lines carry no number or balance after;
    - a paid top-up has exactly one credit entry (kind ``top_up``, its
      amount, on its wallet); an unpaid one none.
    Streams the lines once in account order.
    """
    findings: dict[str, AuditFinding] = {}

    def problem(subject: str, text: str) -> None:
        findings.setdefault(subject, AuditFinding(subject)).problems.append(text)

    unbalanced = (
        JournalEntry.objects.annotate(total=Coalesce(Sum("lines__amount"), _ZERO), n=Count("lines"))
        .exclude(total=0, n__gte=2)
        .values_list("pk", "total", "n")
    )
    for pk, total, n in unbalanced.iterator(chunk_size=2000):
        if _cents(total) == 0 and n >= 2:
            continue  # SQLite sums in floating point: 0.1 + 0.2 - 0.3 is not 0 there
        problem(f"entry {pk}", f"{n} line(s) summing to {_money(total)}")

    accounts = {
        a.pk: a
        for a in LedgerAccount.objects.annotate(total=Coalesce(Sum("lines__amount"), _ZERO), n=Count("lines")).iterator(
            chunk_size=2000
        )
    }
    for account in accounts.values():
        if account.kind not in TRACKED_KINDS:
            continue
        subject = f"account {account.key}"
        if account.balance != _cents(account.total):
            problem(subject, f"balance {_money(account.balance)} != sum of lines {_money(account.total)}")
        if account.line_count != account.n:
            problem(subject, f"line_count {account.line_count} != {account.n} lines")
        if account.balance < 0:
            problem(subject, f"negative balance {account.balance}")

    rows = LedgerLine.objects.order_by("account_id", "seq", "created_at").values_list(
        "account_id", "seq", "amount", "balance_after"
    )
    current, expected_seq, running = None, 0, Decimal("0.00")

    def close(account_id: int | None) -> None:
        if account_id is not None and accounts[account_id].kind in TRACKED_KINDS:
            account = accounts[account_id]
            if running != account.balance:
                problem(f"account {account.key}", f"last balance_after {running} != balance {account.balance}")

    for account_id, seq, amount, balance_after in rows.iterator(chunk_size=5000):
        if account_id != current:
            close(current)
            current, expected_seq, running = account_id, 0, Decimal("0.00")
        account = accounts[account_id]
        subject = f"account {account.key}"
        if account.kind not in TRACKED_KINDS:
            if seq is not None or balance_after is not None:
                problem(subject, "a line of an untracked account carries a number or balance")
            continue
        expected_seq += 1
        if seq != expected_seq:
            problem(subject, f"line number {seq} where {expected_seq} was expected")
            expected_seq = seq or expected_seq
        if balance_after != running + amount:
            problem(subject, f"line {seq}: balance_after {balance_after} != {running} + {amount}")
        running = balance_after if balance_after is not None else running + amount
    close(current)

    credits: dict[str, int] = dict(
        JournalEntry.objects.filter(kind=EntryKind.TOP_UP)
        .exclude(reference="")
        .values("reference")
        .annotate(n=Count("pk"))
        .values_list("reference", "n")
    )
    credit_lines = set(
        LedgerLine.objects.filter(entry__kind=EntryKind.TOP_UP, account__kind=AccountKind.WALLET).values_list(
            "entry_id", "account_id", "amount"
        )
    )
    top_ups = TopUp.objects.values_list("pk", "status", "amount", "account_id", "credit_entry_id")
    for top_up_id, status, amount, account_id, credit_entry_id in top_ups.iterator(chunk_size=2000):
        n = credits.get(top_up_id, 0)
        if status in PAID_STATUSES:
            if n != 1 or credit_entry_id is None:
                problem(f"top-up {top_up_id}", f"paid but credited {n} time(s)")
            elif (credit_entry_id, account_id, amount) not in credit_lines:
                problem(f"top-up {top_up_id}", "its credit entry does not put its amount on its wallet")
        elif n:
            problem(f"top-up {top_up_id}", f"{status} but credited {n} time(s)")
    return sorted(findings.values(), key=lambda finding: finding.subject)
