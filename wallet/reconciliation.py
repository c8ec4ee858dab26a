"""Reconciliation: a channel's daily bill against our top-ups and refunds for that day.

:func:`reconciliation_run` is the one service (``manage.py wallet_reconcile``
calls it). The bill is fetched first, outside any transaction (it is a
network call); the comparison then runs in one transaction that writes
every mismatch and the run's outcome, so a run is either complete or marked
failed, never half-written.

A day is a calendar day in Asia/Shanghai, as the providers' bills are. Ours
for that day are the channel's top-ups *paid* in it (``paid_at``, the
channel's own payment time when the notification gave one) and its refunds
*finished* successfully in it.

Memory stays bounded by the bill itself: the bill's lines are matched 500
at a time against the rows they name (one query per batch), our side is
streamed with a server-side cursor (``iterator``), and mismatches are
inserted 500 at a time. Only the bill's order and refund numbers are kept
in sets, to find what the bill lacks.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import TypeVar
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from config import metrics
from wallet.channels import channel_get
from wallet.channels.base import BillLine
from wallet.models import (
    PAID_STATUSES,
    MismatchKind,
    ReconciliationMismatch,
    ReconciliationRun,
    RunStatus,
    TopUp,
    TopUpRefund,
    TopUpRefundStatus,
)

logger = logging.getLogger(__name__)

BILL_TIME_ZONE = ZoneInfo("Asia/Shanghai")
BATCH = 500
#: a run still "running" after this long died with its process; the next run marks it failed
STALE_AFTER = datetime.timedelta(hours=1)

T = TypeVar("T")


class ReconciliationBusy(Exception):
    """Another run for the same channel and day is in progress (e.g. cron on a second host)."""


@dataclass(frozen=True)
class _Ours:
    """Our record of what a bill line names (a top-up or a refund)."""

    amount: Decimal
    status: str


def day_bounds(date: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The instants at which ``date`` starts and ends in Asia/Shanghai."""
    start = datetime.datetime.combine(date, datetime.time.min, tzinfo=BILL_TIME_ZONE)
    return start, start + datetime.timedelta(days=1)


def _batches(items: Iterable[T]) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def reconciliation_run(*, channel: str, date: datetime.date) -> ReconciliationRun:
    """Compare ``channel``'s bill for ``date`` (Asia/Shanghai) with our records; store the run.

    Every difference becomes a :class:`ReconciliationMismatch`: ``missing_here``
    (the channel settled a payment or refund we have no record of),
    ``missing_there`` (we have a paid top-up or finished refund the bill
    lacks), ``amount`` (both have it, for different amounts) and ``status``
    (one side settled it, the other did not: a lost notification, or a refund
    WeChat Pay lists as abnormal that we moved out). The
    run ends ``clean``, ``mismatched`` or, when the bill cannot be had,
    ``failed`` (and the ChannelError is raised again).

    Raises ChannelUnavailable (unknown or disabled channel), ReconciliationBusy
    (a run for this channel and day is in progress), ChannelError.
    """
    adapter = channel_get(channel)
    run = _run_start(channel=channel, date=date)
    try:
        lines = adapter.bill(date=date)  # the network call, outside any transaction
        _compare(run, lines)
    except BaseException as exc:  # whatever ends it (a ChannelError, a bug, Ctrl-C), the run must not stay running
        _run_fail(run, error=f"{type(exc).__name__}: {exc}")
        raise
    run.refresh_from_db()
    return run


@transaction.atomic
def _run_start(*, channel: str, date: datetime.date) -> ReconciliationRun:
    ReconciliationRun.objects.filter(
        channel=channel, date=date, status=RunStatus.RUNNING, started_at__lt=timezone.now() - STALE_AFTER
    ).update(status=RunStatus.FAILED, finished_at=timezone.now(), error="abandoned (its process ended)")
    try:
        # A partial unique index allows one running run per channel and day.
        with transaction.atomic():
            return ReconciliationRun.objects.create(channel=channel, date=date, status=RunStatus.RUNNING)
    except IntegrityError as exc:
        raise ReconciliationBusy(f"a {channel} reconciliation for {date} is already running") from exc


def _run_fail(run: ReconciliationRun, *, error: str) -> None:
    ReconciliationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.FAILED, finished_at=timezone.now(), error=error[:1000]
    )
    logger.error("reconciliation %s %s failed: %s", run.channel, run.date, error)


class _Writer:
    """Collects mismatches and inserts them BATCH at a time."""

    def __init__(self, run: ReconciliationRun) -> None:
        self.run = run
        self.pending: list[ReconciliationMismatch] = []
        self.count = 0

    def add(
        self,
        kind: str,
        *,
        record: str,
        top_up_id: str,
        refund_id: str = "",
        trade_no: str = "",
        our_amount: Decimal | None = None,
        their_amount: Decimal | None = None,
        our_status: str = "",
        their_status: str = "",
    ) -> None:
        self.pending.append(
            ReconciliationMismatch(
                run=self.run,
                kind=kind,
                record=record,
                top_up_id=top_up_id[:64],
                refund_id=refund_id[:64],
                trade_no=trade_no[:64],
                our_amount=our_amount,
                their_amount=their_amount,
                our_status=our_status[:20],
                their_status=their_status[:20],
            )
        )
        self.count += 1
        channel = self.run.channel
        transaction.on_commit(lambda: metrics.reconciliation_mismatch_found(channel=channel, kind=kind))
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        ReconciliationMismatch.objects.bulk_create(self.pending)
        self.pending = []


@transaction.atomic
def _compare(run: ReconciliationRun, lines: Sequence[BillLine]) -> None:
    start, end = day_bounds(run.date)
    writer = _Writer(run)
    payments = [line for line in lines if line.kind == "payment"]
    refunds = [line for line in lines if line.kind == "refund"]

    seen_top_ups: set[str] = set()
    for batch in _batches(payments):
        ours = {
            top_up_id: _Ours(amount, status)
            for top_up_id, amount, status in TopUp.objects.filter(
                channel=run.channel, id__in=[line.top_up_id for line in batch]
            ).values_list("id", "amount", "status")
        }
        for line in batch:
            seen_top_ups.add(line.top_up_id)
            _check_line(writer, line, ours.get(line.top_up_id), record="payment", settled=PAID_STATUSES)
    # Paid here that day, absent from the bill.
    paid = (
        TopUp.objects.filter(channel=run.channel, status__in=PAID_STATUSES, paid_at__gte=start, paid_at__lt=end)
        .values_list("id", "amount", "status", "trade_no")
        .order_by()
    )
    for top_up_id, amount, status, trade_no in paid.iterator(chunk_size=2000):
        if top_up_id not in seen_top_ups:
            writer.add(
                MismatchKind.MISSING_THERE,
                record="payment",
                top_up_id=top_up_id,
                trade_no=trade_no,
                our_amount=amount,
                our_status=status,
            )

    seen_refunds: set[str] = set()
    for batch in _batches(refunds):
        ours = {
            refund_id: _Ours(amount, status)
            for refund_id, amount, status in TopUpRefund.objects.filter(
                top_up__channel=run.channel, id__in=[line.refund_id for line in batch]
            ).values_list("id", "amount", "status")
        }
        for line in batch:
            seen_refunds.add(line.refund_id)
            _check_line(writer, line, ours.get(line.refund_id), record="refund", settled=(TopUpRefundStatus.SUCCEEDED,))
    finished = (
        TopUpRefund.objects.filter(
            top_up__channel=run.channel,
            status=TopUpRefundStatus.SUCCEEDED,
            finished_at__gte=start,
            finished_at__lt=end,
        )
        .values_list("id", "top_up_id", "amount", "status", "top_up__trade_no")
        .order_by()
    )
    for refund_id, top_up_id, amount, status, trade_no in finished.iterator(chunk_size=2000):
        if refund_id not in seen_refunds:
            writer.add(
                MismatchKind.MISSING_THERE,
                record="refund",
                top_up_id=top_up_id,
                refund_id=refund_id,
                trade_no=trade_no,
                our_amount=amount,
                our_status=status,
            )

    writer.flush()
    ReconciliationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.MISMATCHED if writer.count else RunStatus.CLEAN,
        finished_at=timezone.now(),
        bill_lines=len(lines),
        mismatch_count=writer.count,
    )


def _check_line(writer: _Writer, line: BillLine, ours: _Ours | None, *, record: str, settled: Sequence[str]) -> None:
    """One bill line against our record of it: missing here, another amount, or not settled here."""
    if ours is None:
        kind = MismatchKind.MISSING_HERE
    elif ours.amount != line.amount:
        kind = MismatchKind.AMOUNT
    elif (line.status == "succeeded") != (ours.status in settled):
        # Settled there but not here (a lost notification), or here but not there (e.g. WeChat Pay's ABNORMAL).
        kind = MismatchKind.STATUS
    else:
        return
    writer.add(
        kind,
        record=record,
        top_up_id=line.top_up_id,
        refund_id=line.refund_id,
        trade_no=line.trade_no,
        our_amount=ours.amount if ours else None,
        our_status=ours.status if ours else "",
        their_amount=line.amount,
        their_status=line.status,
    )
