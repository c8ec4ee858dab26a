"""The wallet's books: a double-entry ledger, paid top-ups and what channels told us.

The ledger
    ``LedgerAccount`` — one per person's wallet, per person's frozen funds,
    per channel's clearing account, the staff adjustments account, and (the
    charges issue) each client application's revenue. ``JournalEntry`` — one
    movement of money; its ``LedgerLine`` rows add up to zero. Entries and
    lines are append-only: the models refuse changes, and on PostgreSQL (and
    SQLite) triggers refuse UPDATE and DELETE whoever asks (migration 0005).
    Write them only through ``wallet.ledger.ledger_post``.

Tracked and untracked accounts
    A person's ``wallet`` and ``frozen`` accounts are *tracked*: their balance
    is kept on the account row (moved by a trigger when a line is inserted),
    never negative (a check constraint), and each of their lines is numbered
    (``seq`` 1..n) and carries ``balance_after`` — written under the row lock.
    System accounts (``channel``, ``adjustments``, ``revenue``) are
    *untracked*: every top-up in the system touches its channel's clearing
    account, so a running balance there would be one hot row all of them
    queue on; their balance is the sum of their lines (``wallet_audit``, admin).

Invariants (``manage.py wallet_audit``): every entry sums to zero; a tracked
account's balance == sum of its lines == its last ``balance_after``, lines
numbered 1..n; no tracked balance below zero; a top-up is credited exactly
once when paid.
"""

import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wallet.amounts import money_display
from wallet.conf import wallet_settings

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def default_currency() -> str:
    """Referenced by migration 0001 (revision 1's wallet); new rows take the currency explicitly."""
    return wallet_settings.CURRENCY


class LedgerIsAppendOnly(Exception):
    """Raised on any attempt to change or delete a journal entry or line: correct with a new entry."""


class _AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerIsAppendOnly("Ledger rows cannot be changed.")

    def delete(self):
        raise LedgerIsAppendOnly("Ledger rows cannot be deleted.")


class _AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerIsAppendOnly("Ledger rows cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerIsAppendOnly("Ledger rows cannot be deleted.")


# --- The ledger ----------------------------------------------------------------------------


class AccountKind(models.TextChoices):
    WALLET = "wallet", _("Wallet")  # a person's spendable balance
    FROZEN = "frozen", _("Frozen funds")  # a person's money on its way back to a channel
    CHANNEL = "channel", _("Channel clearing")  # what a payment channel collected for us
    ADJUSTMENTS = "adjustments", _("Staff adjustments")  # the other side of every staff correction
    REVENUE = "revenue", _("Revenue")  # a client application's (or the legacy payments') takings


#: kinds whose balance is kept on the row, numbered per line and never negative
TRACKED_KINDS = (AccountKind.WALLET, AccountKind.FROZEN)


class LedgerAccount(models.Model):
    """One account of the ledger. Create through ``wallet.ledger.account_for_*``, never directly.

    ``key`` names it uniquely and readably: ``wallet:<user id>``,
    ``frozen:<user id>``, ``channel:<name>``, ``adjustments``,
    ``revenue:<owner>``. ``user`` is set for a person's accounts; an owner of
    another kind (a client application) is named by ``key`` and may get its
    own foreign key later. ``balance`` and ``line_count`` are written by the
    line trigger (migration 0005) and only for tracked kinds: never save them.
    """

    key = models.CharField(_("key"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=AccountKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,  # an account with lines is protected by LedgerLine.account
        null=True,
        blank=True,
        related_name="ledger_accounts",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)  # channel name, revenue owner…
    currency = models.CharField(_("currency"), max_length=3)
    balance = models.DecimalField(_("balance"), max_digits=14, decimal_places=2, default=ZERO)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind__in=TRACKED_KINDS) | models.Q(balance__gte=0),
                name="wallet_ledgeraccount_tracked_not_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=TRACKED_KINDS) | models.Q(user__isnull=False),
                name="wallet_ledgeraccount_tracked_has_user",
            ),
            models.UniqueConstraint(
                fields=["kind", "user"], condition=models.Q(user__isnull=False), name="wallet_ledgeraccount_kind_user"
            ),
        ]
        permissions = [
            ("adjust_balance", _("Can adjust a wallet balance")),
            ("refund_top_up", _("Can send a top-up back to its channel")),
        ]

    def __str__(self):
        if self.user_id is not None:
            return f"{self.get_kind_display()} · {self.user} · {money_display(self.balance, self.currency)}"
        return f"{self.get_kind_display()} · {self.key}"

    @property
    def tracked(self) -> bool:
        return self.kind in TRACKED_KINDS


class EntryKind(models.TextChoices):
    TOP_UP = "top_up", _("Top-up")  # channel clearing -> wallet, on a verified confirmation
    CHARGE = "charge", _("Charge")  # wallet -> revenue (the charges issue)
    REFUND = "refund", _("Refund")  # revenue -> wallet, refund of a charge (the charges issue)
    TOP_UP_REFUND = "top_up_refund", _("Top-up refund")  # wallet <-> frozen: freeze, or release on failure
    TOP_UP_REFUND_SETTLED = "top_up_refund_settled", _("Top-up refund sent")  # frozen -> channel clearing
    ADJUSTMENT = "adjustment", _("Adjustment")  # adjustments <-> wallet, by staff with a reason
    PAYMENT = "payment", _("Payment")  # wallet -> revenue:payments, the old user payment (until charges)


class JournalEntry(_AppendOnlyModel):
    """One movement of money: its lines add up to zero (checked at commit on PostgreSQL)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=30, choices=EntryKind.choices)
    # The top-up id, the charge id, the refund id or the adjustment's own id.
    reference = models.CharField(_("reference"), max_length=64, blank=True, db_index=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    # Who asked, as ``config.origin`` describes it (IP, user agent), when a person did.
    origin = models.JSONField(_("origin"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = _AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ("-created_at",)
        # The admin list's order (-created_at, -id): read in index order at any size.
        indexes = [models.Index(fields=["-created_at", "-id"], name="wallet_entry_created")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="adjustment") | (models.Q(actor__isnull=False) & ~models.Q(reason="")),
                name="wallet_journalentry_adjustment_has_actor_and_reason",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.reference}".strip()

    def line_for(self, account: "LedgerAccount") -> "LedgerLine":
        """This entry's line on ``account`` (from ``posted_lines`` right after posting, else one query)."""
        for line in getattr(self, "posted_lines", ()):
            if line.account_id == account.pk:
                return line
        return self.lines.get(account=account)


class LedgerLine(_AppendOnlyModel):
    """One line of an entry on one account. ``seq``/``balance_after`` only on tracked accounts."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines", verbose_name=_("entry"))
    account = models.ForeignKey(
        LedgerAccount,
        on_delete=models.PROTECT,
        related_name="lines",
        verbose_name=_("account"),
        db_index=False,  # (account, seq) and (account, -created_at) below lead with it
    )
    seq = models.PositiveIntegerField(_("number"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    balance_after = models.DecimalField(_("balance after"), max_digits=14, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = _AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger line")
        verbose_name_plural = _("ledger lines")
        constraints = [
            models.UniqueConstraint(fields=["account", "seq"], name="wallet_ledgerline_account_seq"),
            models.CheckConstraint(condition=~models.Q(amount=0), name="wallet_ledgerline_amount_not_zero"),
            models.CheckConstraint(
                condition=models.Q(balance_after__isnull=True) | models.Q(balance_after__gte=0),
                name="wallet_ledgerline_balance_after_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(seq__isnull=True, balance_after__isnull=True)
                | models.Q(seq__isnull=False, balance_after__isnull=False),
                name="wallet_ledgerline_seq_with_balance_after",
            ),
        ]
        indexes = [
            # An account's lines in the admin's order (the line list filtered by owner or account).
            models.Index(fields=["account", "-created_at", "-id"], name="wallet_line_account_created_id"),
            # The admin line list's order (-created_at, -id).
            models.Index(fields=["-created_at", "-id"], name="wallet_line_created"),
        ]

    def __str__(self):
        return f"{self.amount}"  # no account lookup: admin inlines print every line


# --- Top-ups -------------------------------------------------------------------------------

_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud to support staff
assert len(_ID_ALPHABET) == 32  # new_order_id draws five random bits a character


def new_order_id(prefix: str) -> str:
    """``T20261201183012A7K3``: prefix, UTC time to the second, 4 random characters."""
    # One read of the system's randomness, not one per character (four per id on the charge path).
    # 32 letters: a byte's low five bits pick each one uniformly, as secrets.choice would.
    random = "".join(_ID_ALPHABET[byte & 31] for byte in secrets.token_bytes(4))
    return prefix + timezone.now().strftime("%Y%m%d%H%M%S") + random


def new_top_up_id() -> str:
    return new_order_id("T")


def new_refund_id() -> str:
    return new_order_id("R")


class TopUpStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    CLOSED = "closed", _("Closed")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


#: statuses in which the money arrived (and is credited exactly once)
PAID_STATUSES = (TopUpStatus.PAID, TopUpStatus.PARTIALLY_REFUNDED, TopUpStatus.REFUNDED)


class TopUp(models.Model):
    """An order to pay ``amount`` through ``channel``; credited once, when the channel confirms it.

    ``id`` is the order number the channel sees (``out_trade_no``). ``pay`` is
    what the client needs to pay while pending (the channel's
    ``PayInstructions.as_dict()``). ``credit_entry`` is the journal entry
    that credited it; set exactly when the status is a paid one.
    """

    id = models.CharField(_("order number"), primary_key=True, max_length=32, default=new_top_up_id, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="top_ups",
        verbose_name=_("owner"),
        db_index=False,  # (user, -created_at, -id) below leads with it
    )
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="top_ups", verbose_name=_("wallet account")
    )
    # The channel's clearing account, the other side of the credit (read with the lock, never locked).
    clearing_account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="+", verbose_name=_("clearing account")
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    channel = models.CharField(_("channel"), max_length=20)
    method = models.CharField(_("method"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=TopUpStatus.choices, default=TopUpStatus.PENDING)
    trade_no = models.CharField(_("channel trade number"), max_length=64, blank=True)
    pay = models.JSONField(_("payment instructions"), default=dict, blank=True)
    refunded_amount = models.DecimalField(_("refunded"), max_digits=14, decimal_places=2, default=ZERO)
    credit_entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("credit entry")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # When wallet_sync last asked the channel (so several hosts spread the work).
    queried_at = models.DateTimeField(_("last queried at"), null=True, blank=True)

    class Meta:
        verbose_name = _("top-up")
        verbose_name_plural = _("top-ups")
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="wallet_topup_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0, refunded_amount__lte=models.F("amount")),
                name="wallet_topup_refunded_within_amount",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=PAID_STATUSES, credit_entry__isnull=False, paid_at__isnull=False)
                | (~models.Q(status__in=PAID_STATUSES) & models.Q(credit_entry__isnull=True)),
                name="wallet_topup_paid_iff_credited",
            ),
            models.UniqueConstraint(
                fields=["channel", "trade_no"], condition=~models.Q(trade_no=""), name="wallet_topup_channel_trade_no"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="wallet_topup_status_created"),
            # A person's top-ups in the API's cursor order (-created_at, -id), and the admin list's.
            models.Index(fields=["user", "-created_at", "-id"], name="wallet_topup_user_created_id"),
            models.Index(fields=["-created_at", "-id"], name="wallet_topup_created"),
        ]

    def __str__(self):
        return self.id

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def refundable_amount(self) -> Decimal:
        return self.amount - self.refunded_amount if self.is_paid else ZERO


class TopUpRefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # frozen, the channel asked
    SUCCEEDED = "succeeded", _("Succeeded")  # moved out to the channel
    FAILED = "failed", _("Failed")  # moved back into the wallet


class TopUpRefund(models.Model):
    """Staff sending (part of) a paid top-up back to its channel. ``id`` is the channel's out_refund_no."""

    id = models.CharField(_("refund number"), primary_key=True, max_length=32, default=new_refund_id, editable=False)
    top_up = models.ForeignKey(TopUp, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("top-up"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=20, choices=TopUpRefundStatus.choices, default=TopUpRefundStatus.PENDING
    )
    reason = models.CharField(_("reason"), max_length=500)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("staff member")
    )
    channel_refund_id = models.CharField(_("channel refund number"), max_length=64, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    freeze_entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="+", verbose_name=_("freeze entry")
    )
    finish_entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("final entry")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    #: when wallet_sync last asked the channel about it while pending (it claims refunds by this)
    queried_at = models.DateTimeField(_("last queried at"), null=True, blank=True)

    class Meta:
        verbose_name = _("top-up refund")
        verbose_name_plural = _("top-up refunds")
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="wallet_topuprefund_amount_positive"),
        ]
        indexes = [
            # wallet_sync's claim: only the few pending refunds are in it
            models.Index(
                fields=["created_at"], condition=models.Q(status="pending"), name="wallet_topuprefund_pending"
            ),
        ]

    def __str__(self):
        return self.id


# --- Notifications -------------------------------------------------------------------------


class NotificationOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")  # verified, matched, and changed the order (credited, failed…)
    IGNORED = "ignored", _("Ignored")  # verified and matched, but changed nothing (e.g. late "failed")
    DUPLICATE = "duplicate", _("Duplicate")  # the same channel + trade number + event was applied before
    SIGNATURE_INVALID = "signature_invalid", _("Signature invalid")
    INVALID = "invalid", _("Unreadable")  # verified but could not be parsed
    UNKNOWN_ORDER = "unknown_order", _("Unknown order")
    MISMATCH = "mismatch", _("Mismatch")  # amount, currency or merchant differ from the order


class PaymentNotification(models.Model):
    """Every notification a channel sent us, verified or not, as received (raw headers and body)."""

    channel = models.CharField(_("channel"), max_length=20)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    headers = models.JSONField(_("headers"), default=dict)
    body = models.BinaryField(_("body"))
    remote_addr = models.CharField(_("remote address"), max_length=64, blank=True)
    verified = models.BooleanField(_("verified"), default=False)
    outcome = models.CharField(_("outcome"), max_length=20, choices=NotificationOutcome.choices)
    error = models.CharField(_("error"), max_length=500, blank=True)
    top_up = models.ForeignKey(
        TopUp,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("top-up"),
    )
    # Parsed from a verified notification ("" / None otherwise).
    top_up_ref = models.CharField(_("order number"), max_length=64, blank=True, db_index=True)
    trade_no = models.CharField(_("channel trade number"), max_length=64, blank=True, db_index=True)
    event = models.CharField(_("event"), max_length=64, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)

    class Meta:
        verbose_name = _("payment notification")
        verbose_name_plural = _("payment notifications")
        ordering = ("-received_at",)
        # The admin list's order (-received_at, -id).
        indexes = [models.Index(fields=["-received_at", "-id"], name="wallet_notification_received")]
        constraints = [
            # A channel retries until it hears success: only the first of each
            # event may apply; the rest are stored as duplicates.
            models.UniqueConstraint(
                fields=["channel", "trade_no", "event"],
                condition=models.Q(outcome="applied"),
                name="wallet_notification_applied_once",
            ),
        ]

    def __str__(self):
        return f"{self.channel} {self.event} {self.top_up_ref}".strip()


# --- Idempotency ---------------------------------------------------------------------------


class IdempotencyRecord(models.Model):
    """A request made with an ``Idempotency-Key``: what it asked (fingerprint) and what it made.

    Written in the same database transaction as the journal entry or top-up
    it answers for, so a record exists exactly when that happened; a replay
    renders that entry or top-up again (no API body is stored). Pruned after
    24 h (``manage.py wallet_prune_idempotency``).
    """

    # (user, key) below leads with it.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    entry = models.ForeignKey(JournalEntry, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    top_up = models.ForeignKey(TopUp, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="wallet_idempotency_user_key_unique"),
        ]

    def __str__(self):
        return self.key


# --- The sandbox provider's own books ------------------------------------------------------
# The sandbox simulates a payment provider inside the service. A real provider
# keeps its own record of trades that ours is reconciled against; so does the
# sandbox, in these two tables, which only ``wallet.channels.sandbox`` touches.


def new_sandbox_token() -> str:
    return secrets.token_urlsafe(32)


class SandboxTrade(models.Model):
    trade_no = models.CharField(_("trade number"), max_length=64, unique=True)
    out_trade_no = models.CharField(_("merchant order number"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # The checkout URL carries it: whoever holds the URL can pay (as with a real checkout link).
    token = models.CharField(_("checkout token"), max_length=64, unique=True, default=new_sandbox_token)
    state = models.CharField(_("state"), max_length=20, default="pending")  # a channels.base.TradeState
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sandbox trade")
        verbose_name_plural = _("sandbox trades")

    def __str__(self):
        return self.trade_no


class SandboxRefund(models.Model):
    trade = models.ForeignKey(SandboxTrade, on_delete=models.PROTECT, related_name="refunds")
    out_refund_no = models.CharField(_("merchant refund number"), max_length=64, unique=True)
    refund_no = models.CharField(_("refund number"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    state = models.CharField(_("state"), max_length=20)  # a channels.base.RefundState
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("sandbox refund")
        verbose_name_plural = _("sandbox refunds")

    def __str__(self):
        return self.refund_no


# --- Reconciliation ------------------------------------------------------------------------


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    CLEAN = "clean", _("Clean")
    MISMATCHED = "mismatched", _("Mismatches found")
    FAILED = "failed", _("Failed")  # the bill could not be had (see error)


class ReconciliationRun(models.Model):
    """One ``wallet_reconcile``: a channel's bill for one day (Asia/Shanghai) against our records."""

    channel = models.CharField(_("channel"), max_length=20)
    date = models.DateField(_("bill date"))
    status = models.CharField(_("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    bill_lines = models.PositiveIntegerField(_("bill lines"), default=0)
    mismatch_count = models.PositiveIntegerField(_("mismatches"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        ordering = ("-date", "-started_at")
        constraints = [
            # One run at a time per channel and day, whichever host's cron starts it.
            models.UniqueConstraint(
                fields=["channel", "date"],
                condition=models.Q(status="running"),
                name="wallet_reconciliationrun_one_running",
            ),
        ]
        indexes = [models.Index(fields=["channel", "-date"], name="wallet_recon_channel_date")]

    def __str__(self):
        return f"{self.channel} {self.date}"


class MismatchKind(models.TextChoices):
    MISSING_HERE = "missing_here", _("Missing here")  # the channel settled it, we have no record
    MISSING_THERE = "missing_there", _("Missing at the channel")  # we recorded it, the bill lacks it
    AMOUNT = "amount", _("Amount differs")
    STATUS = "status", _("Status differs")  # the channel settled it, we did not record it as done


class ReconciliationMismatch(models.Model):
    run = models.ForeignKey(
        ReconciliationRun, on_delete=models.CASCADE, related_name="mismatches", verbose_name=_("run")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=MismatchKind.choices)
    record = models.CharField(_("record"), max_length=10, choices=[("payment", _("Payment")), ("refund", _("Refund"))])
    top_up_id = models.CharField(_("order number"), max_length=64, blank=True, db_index=True)
    refund_id = models.CharField(_("refund number"), max_length=64, blank=True)
    trade_no = models.CharField(_("channel trade number"), max_length=64, blank=True)
    our_amount = models.DecimalField(_("our amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    their_amount = models.DecimalField(_("channel's amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    our_status = models.CharField(_("our status"), max_length=20, blank=True)
    their_status = models.CharField(_("channel's status"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("reconciliation mismatch")
        verbose_name_plural = _("reconciliation mismatches")
        ordering = ("run", "pk")

    def __str__(self):
        what = f"{self.record} {self.top_up_id}" + (f" refund {self.refund_id}" if self.refund_id else "")
        ours = f"{self.our_amount} {self.our_status}".strip() if self.our_amount is not None else "—"
        theirs = f"{self.their_amount} {self.their_status}".strip() if self.their_amount is not None else "—"
        return f"{self.kind}: {what} (ours: {ours}; channel: {theirs})"


# Client applications, charges and refunds live in their own modules; importing them here
# makes them wallet models.
from wallet.models_charges import Charge, ChargeRefund, ChargeStatus, charge_status  # noqa: E402, F401
from wallet.models_clients import ClientApplication, ClientApplicationKey, Scope  # noqa: E402, F401
