"""Reads of the wallet that several doors share, and the ledger audit."""

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
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
      previous one plus its amount (so the last one is the balance), never
      negative;
    - an untracked account's lines carry no number or balance after;
    - a paid top-up has exactly one credit entry (kind ``top_up``, its
      amount, on its wallet); an unpaid one none.

    Each invariant is one or two queries that do the checking in the database
    and return only the rows that break it, so memory stays flat and the
    cost is a few passes over the tables (2M lines: seconds, where the old
    pass in Python took minutes and hundreds of MB). The per-line checks
    are window functions (LAG over each account's lines in ``seq`` order,
    read from the ``(account_id, seq)`` index); set checks are anti-joins.
    SQLite adds decimals as floats, so what it returns is checked again to
    the cent before it counts as a problem.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # The queries below stream through server-side cursors, for which PostgreSQL plans
                # to fetch the first rows fast (nested loops over 2M lines); each returns only
                # failures, so plan for the whole result (hash and merge joins). More memory per
                # sort or hash for this one read-only batch transaction.
                cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
                cursor.execute("SET LOCAL work_mem = '128MB'")
        return _wallet_audit()


def _wallet_audit() -> list[AuditFinding]:
    findings: dict[str, AuditFinding] = {}

    def problem(subject: str, text: str) -> None:
        finding = findings.setdefault(subject, AuditFinding(subject))
        if text not in finding.problems:
            finding.problems.append(text)

    # Entries: lines grouped by entry alone (one hash aggregate over the lines), and entries
    # without any line.
    unbalanced = (
        LedgerLine.objects.values("entry_id")
        .annotate(total=Sum("amount"), n=Count("pk"))
        .filter(~Q(total=0) | Q(n__lt=2))
        .order_by()
        .values_list("entry_id", "total", "n")
    )
    for pk, total, n in _without_index_order(unbalanced):
        if _cents(total) == 0 and n >= 2:
            continue  # SQLite sums in floating point: 0.1 + 0.2 - 0.3 is not 0 there
        problem(f"entry {pk}", f"{n} line(s) summing to {_money(total)}")
    empty = JournalEntry.objects.filter(~Exists(LedgerLine.objects.filter(entry_id=OuterRef("pk"))))
    for pk in empty.order_by().values_list("pk", flat=True).iterator(chunk_size=2000):
        problem(f"entry {pk}", "0 line(s) summing to 0.00")

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

    # A number on an untracked account's line, or none on a tracked account's (a check
    # constraint keeps seq and balance_after together).
    misnumbered = LedgerLine.objects.filter(
        Q(seq__isnull=False) & ~Q(account__kind__in=TRACKED_KINDS)
        | Q(seq__isnull=True) & Q(account__kind__in=TRACKED_KINDS)
    ).values_list("account__key", "account__kind", "amount")
    for key, kind, amount in misnumbered.order_by().iterator(chunk_size=2000):
        if kind in TRACKED_KINDS:
            problem(f"account {key}", f"a line of {_cents(amount)} without a number or balance after")
        else:
            problem(f"account {key}", "a line of an untracked account carries a number or balance")

    for account_id, seq, amount, balance_after, previous_seq, previous_after in _lines_out_of_order():
        subject = f"account {LedgerAccount.objects.values_list('key', flat=True).get(pk=account_id)}"
        expected_seq = (previous_seq or 0) + 1
        if seq != expected_seq:
            problem(subject, f"line number {seq} where {expected_seq} was expected")
        running = _cents(previous_after) if previous_after is not None else Decimal("0.00")
        if balance_after is None or _cents(balance_after) != running + _cents(amount):
            shown = _money(_cents(balance_after)) if balance_after is not None else None
            problem(subject, f"line {seq}: balance_after {shown} != {running} + {_cents(amount)}")

    _top_ups_audit(problem)
    return sorted(findings.values(), key=lambda finding: finding.subject)


def _without_index_order(queryset: QuerySet) -> list[tuple]:
    """Run an aggregate as one hash aggregate, not a walk of an index in group order.

    Grouping 2M lines by entry along the ``entry_id`` index reads the table in
    random order (15 s); hashing them reads it once (2 s). Returns the rows
    (only failures: few).
    """
    if connection.vendor != "postgresql":
        return list(queryset)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        try:
            return list(queryset)
        finally:
            cursor.execute("SET LOCAL enable_indexscan = on")


def _top_ups_audit(problem: Callable[[str, str], None]) -> None:
    """A paid top-up credited exactly once, by an entry putting its amount on its wallet; an unpaid one never."""
    top_up_entries = JournalEntry.objects.filter(kind=EntryKind.TOP_UP)

    def credited(top_up_id: str) -> int:
        return top_up_entries.filter(reference=top_up_id).count()  # per finding only

    # Three anti-joins (an OR around NOT EXISTS would check each top-up with its own subquery).
    paid = TopUp.objects.filter(status__in=PAID_STATUSES).order_by()
    its_entry = top_up_entries.filter(pk=OuterRef("credit_entry_id"), reference=OuterRef("pk"))
    its_line = LedgerLine.objects.filter(
        entry_id=OuterRef("credit_entry_id"), account_id=OuterRef("account_id"), amount=OuterRef("amount")
    )
    wrong = itertools.chain(
        paid.filter(credit_entry__isnull=True).values_list("pk", "credit_entry_id").iterator(chunk_size=2000),
        paid.filter(credit_entry__isnull=False)
        .filter(~Exists(its_entry))
        .values_list("pk", "credit_entry_id")
        .iterator(chunk_size=2000),
        paid.filter(credit_entry__isnull=False)
        .filter(~Exists(its_line))
        .values_list("pk", "credit_entry_id")
        .iterator(chunk_size=2000),
    )
    for top_up_id, credit_entry_id in wrong:
        n = credited(top_up_id)
        if n != 1 or credit_entry_id is None:
            problem(f"top-up {top_up_id}", f"paid but credited {n} time(s)")
        else:
            problem(f"top-up {top_up_id}", "its credit entry does not put its amount on its wallet")
    twice = (
        top_up_entries.exclude(reference="")
        .values("reference")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by()
        .values_list("reference", "n")
    )
    for reference, n in twice.iterator(chunk_size=2000):
        status = TopUp.objects.filter(pk=reference).values_list("status", flat=True).first()
        if status in PAID_STATUSES:
            problem(f"top-up {reference}", f"paid but credited {n} time(s)")
        elif status is not None:
            problem(f"top-up {reference}", f"{status} but credited {n} time(s)")
    unpaid = (
        TopUp.objects.exclude(status__in=PAID_STATUSES)
        .filter(Exists(top_up_entries.filter(reference=OuterRef("pk"))))
        .order_by()
        .values_list("pk", "status")
    )
    for top_up_id, status in unpaid.iterator(chunk_size=2000):
        problem(f"top-up {top_up_id}", f"{status} but credited {credited(top_up_id)} time(s)")


#: One pass over the numbered lines in (account, seq) order — only tracked accounts' lines carry a
#: number (the query above finds any other) — with the previous line's number and balance after
#: (LAG). The outer query keeps only the lines that break the sequence, so the database streams the
#: ledger and sends back the failures. No join: the last line's balance_after equals the account's
#: balance whenever the running balances hold and the balance is the sum of the lines (both checked).
_LINES_OUT_OF_ORDER = """
SELECT account_id, seq, amount, balance_after, previous_seq, previous_after
FROM (
    SELECT l.account_id AS account_id, l.seq AS seq, l.amount AS amount, l.balance_after AS balance_after,
           LAG(l.seq) OVER w AS previous_seq,
           LAG(l.balance_after) OVER w AS previous_after
    FROM {line} l
    WHERE l.seq IS NOT NULL
    WINDOW w AS (PARTITION BY l.account_id ORDER BY l.seq)
) checked
WHERE balance_after IS NULL
   OR seq <> COALESCE(previous_seq, 0) + 1
   OR balance_after <> COALESCE(previous_after, 0) + amount
"""


def _lines_out_of_order() -> Iterator[tuple]:
    sql = _LINES_OUT_OF_ORDER.format(line=connection.ops.quote_name(LedgerLine._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(2000):
            yield from rows
