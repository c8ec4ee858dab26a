"""Reads of the wallet that several doors share, and the ledger audit."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
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

    Four queries, each checking one invariant in the database and returning
    only the rows that break it: the per-line checks are window functions
    (LAG over each account's lines in ``seq`` order, read from the
    ``(account_id, seq)`` index), so memory stays flat at any size (2M lines:
    seconds, not the minutes and hundreds of MB of a pass in Python).
    SQLite adds decimals as floats, so what it returns is checked again to
    the cent before it counts as a problem.
    """
    findings: dict[str, AuditFinding] = {}

    def problem(subject: str, text: str) -> None:
        findings.setdefault(subject, AuditFinding(subject)).problems.append(text)

    unbalanced = (
        JournalEntry.objects.annotate(total=Coalesce(Sum("lines__amount"), _ZERO), n=Count("lines"))
        .exclude(total=0, n__gte=2)
        .order_by()
        .values_list("pk", "total", "n")
    )
    for pk, total, n in unbalanced.iterator(chunk_size=2000):
        if _cents(total) == 0 and n >= 2:
            continue  # SQLite sums in floating point: 0.1 + 0.2 - 0.3 is not 0 there
        problem(f"entry {pk}", f"{n} line(s) summing to {_money(total)}")

    accounts = (
        LedgerAccount.objects.filter(kind__in=TRACKED_KINDS)
        .annotate(total=Coalesce(Sum("lines__amount"), _ZERO), n=Count("lines"))
        .filter(~Q(balance=F("total")) | ~Q(line_count=F("n")) | Q(balance__lt=0))
        .order_by()
        .values_list("key", "balance", "line_count", "total", "n")
    )
    for key, balance, line_count, total, n in accounts.iterator(chunk_size=2000):
        subject = f"account {key}"
        if balance != _cents(total):
            problem(subject, f"balance {_money(balance)} != sum of lines {_money(total)}")
        if line_count != n:
            problem(subject, f"line_count {line_count} != {n} lines")
        if balance < 0:
            problem(subject, f"negative balance {balance}")

    for key, tracked, seq, amount, balance_after, previous_seq, previous_after, last, balance in _lines_out_of_order():
        subject = f"account {key}"
        if not tracked:
            problem(subject, "a line of an untracked account carries a number or balance")
            continue
        expected_seq = (previous_seq or 0) + 1
        if seq != expected_seq:
            problem(subject, f"line number {seq} where {expected_seq} was expected")
        running = _cents(previous_after) if previous_after is not None else Decimal("0.00")
        if balance_after is None or _cents(balance_after) != running + _cents(amount):
            shown = _money(_cents(balance_after)) if balance_after is not None else None
            problem(subject, f"line {seq}: balance_after {shown} != {running} + {_cents(amount)}")
        if last and balance_after is not None and _cents(balance_after) != _cents(balance):
            problem(subject, f"last balance_after {_cents(balance_after)} != balance {_cents(balance)}")

    credits = Coalesce(
        Subquery(
            JournalEntry.objects.filter(kind=EntryKind.TOP_UP, reference=OuterRef("pk"))
            .order_by()
            .values("reference")
            .annotate(n=Count("pk"))
            .values("n")
        ),
        0,
    )
    credited_right = Exists(
        LedgerLine.objects.filter(
            entry_id=OuterRef("credit_entry_id"), account_id=OuterRef("account_id"), amount=OuterRef("amount")
        )
    )
    paid = Q(status__in=PAID_STATUSES)
    top_ups = (
        TopUp.objects.annotate(n=credits, right=credited_right)
        .filter((paid & (~Q(n=1) | Q(credit_entry__isnull=True) | Q(right=False))) | (~paid & Q(n__gt=0)))
        .order_by()
        .values_list("pk", "status", "n", "credit_entry_id", "right")
    )
    for top_up_id, status, n, credit_entry_id, right in top_ups.iterator(chunk_size=2000):
        if status in PAID_STATUSES:
            if n != 1 or credit_entry_id is None:
                problem(f"top-up {top_up_id}", f"paid but credited {n} time(s)")
            elif not right:
                problem(f"top-up {top_up_id}", "its credit entry does not put its amount on its wallet")
        elif n:
            problem(f"top-up {top_up_id}", f"{status} but credited {n} time(s)")
    return sorted(findings.values(), key=lambda finding: finding.subject)


#: One pass over every line in (account, seq) order. For each line: the previous line's number and
#: balance after (LAG), and whether it is the account's last (LEAD). The outer query keeps only the
#: lines that break a rule, so the database streams the ledger and sends back the failures.
_LINES_OUT_OF_ORDER = """
SELECT key, tracked, seq, amount, balance_after, previous_seq, previous_after, is_last, balance
FROM (
    SELECT a.key AS key, a.kind IN ({tracked}) AS tracked, a.balance AS balance,
           l.seq AS seq, l.amount AS amount, l.balance_after AS balance_after,
           LAG(l.seq) OVER w AS previous_seq,
           LAG(l.balance_after) OVER w AS previous_after,
           LEAD(l.seq) OVER w IS NULL AS is_last
    FROM {line} l JOIN {account} a ON a.id = l.account_id
    WINDOW w AS (PARTITION BY l.account_id ORDER BY l.seq)
) checked
WHERE (NOT tracked AND (seq IS NOT NULL OR balance_after IS NOT NULL))
   OR (tracked AND (
        seq IS NULL OR balance_after IS NULL
        OR seq <> COALESCE(previous_seq, 0) + 1
        OR balance_after <> COALESCE(previous_after, 0) + amount
        OR (is_last AND balance_after <> balance)))
"""


def _lines_out_of_order() -> Iterator[tuple]:
    sql = _LINES_OUT_OF_ORDER.format(
        line=connection.ops.quote_name(LedgerLine._meta.db_table),
        account=connection.ops.quote_name(LedgerAccount._meta.db_table),
        tracked=", ".join(["%s"] * len(TRACKED_KINDS)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [str(kind) for kind in TRACKED_KINDS])
        while rows := cursor.fetchmany(2000):
            yield from rows
