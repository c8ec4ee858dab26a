"""Wallets, their append-only ledger, and stored responses for idempotent requests.

Invariants (checked by ``manage.py wallet_audit``): for every wallet,
``balance == sum(transaction.amount)``, the entries' ``seq`` run 1..n without
gaps, and each ``balance_after`` is the previous one plus ``amount``.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")


def default_currency() -> str:
    return settings.WALLET_CURRENCY


class WalletManager(models.Manager):
    def get_or_create_for(self, user) -> "Wallet":
        """The user's wallet, created on first use.

        Django's ``get_or_create`` inserts inside a savepoint and, when a
        concurrent request won the race (IntegrityError on the unique
        ``user``), reads the winner's row instead — so two first requests
        never create two wallets nor fail.
        """
        return self.get_or_create(user=user, defaults={"currency": default_currency()})[0]


class Wallet(models.Model):
    # ``balance``, ``entry_count`` and ``updated_at`` are written by a database
    # trigger when a ledger entry is inserted (migration 0003): never save them.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallet", verbose_name=_("owner")
    )
    balance = models.DecimalField(_("balance"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(_("currency"), max_length=3, default=default_currency)
    # The ``seq`` of the latest ledger entry: entries are numbered 1..n per
    # wallet under the row lock, which gives the ledger a strict order.
    entry_count = models.PositiveIntegerField(_("entries"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = WalletManager()

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="wallet_balance_not_negative"),
        ]
        permissions = [("adjust_balance", _("Can adjust a wallet balance"))]

    def __str__(self):
        return f"{self.user} · {self.balance} {self.currency}"


class Kind(models.TextChoices):
    TOP_UP = "top_up", _("Top-up")
    PAYMENT = "payment", _("Payment")
    ADJUSTMENT = "adjustment", _("Adjustment")
    REFUND = "refund", _("Refund")


class LedgerIsAppendOnly(Exception):
    """Raised on any attempt to change or delete a ledger entry: correct with a new entry."""


class TransactionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerIsAppendOnly("Ledger entries cannot be changed.")

    def delete(self):
        raise LedgerIsAppendOnly("Ledger entries cannot be deleted.")


class Transaction(models.Model):
    """One ledger entry. Written once by ``wallet.services``; never updated or deleted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="transactions", verbose_name=_("wallet"))
    seq = models.PositiveIntegerField(_("number"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    balance_after = models.DecimalField(_("balance after"), max_digits=14, decimal_places=2)
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
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    objects = TransactionQuerySet.as_manager()

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["wallet", "seq"], name="wallet_transaction_wallet_seq_unique"),
            models.CheckConstraint(condition=~models.Q(amount=0), name="wallet_transaction_amount_not_zero"),
            models.CheckConstraint(
                condition=models.Q(balance_after__gte=0), name="wallet_transaction_balance_after_not_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="adjustment") | (models.Q(actor__isnull=False) & ~models.Q(reason="")),
                name="wallet_transaction_adjustment_has_actor_and_reason",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerIsAppendOnly("Ledger entries cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerIsAppendOnly("Ledger entries cannot be deleted.")


class IdempotencyRecord(models.Model):
    """The stored response of a request made with an ``Idempotency-Key``.

    Written in the same database transaction as the ledger entry it answers
    for, so a record exists exactly when the money moved. Pruned after 24 h
    (``manage.py wallet_prune_idempotency``).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status = models.PositiveSmallIntegerField(_("status"))
    body = models.JSONField(_("body"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="wallet_idempotency_user_key_unique"),
        ]

    def __str__(self):
        return self.key
