"""Charges (a client application takes money from a wallet) and their refunds.

A charge and each refund is exactly one journal entry (kind ``charge`` /
``refund``, ``reference`` the charge id) between the person's wallet account
and the application's revenue account; these rows add what the ledger does
not know: the application's order number (the idempotency key), what was
refunded so far, and what the first answer said (so a replay can repeat it).

Imported by ``wallet.models`` so the models belong to the ``wallet`` app.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wallet.models_clients import ClientApplication

ZERO = Decimal("0.00")

ORDER_ID_MAX_LENGTH = 64


class ChargeStatus(models.TextChoices):
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


def charge_status(amount: Decimal, refunded: Decimal) -> str:
    if refunded <= 0:
        return ChargeStatus.SUCCEEDED
    return ChargeStatus.REFUNDED if refunded >= amount else ChargeStatus.PARTIALLY_REFUNDED


class Charge(models.Model):
    """``amount`` taken from ``user``'s wallet by ``application`` for its order ``order_id``.

    Unique per (application, order_id): the application's own order number is
    the idempotency key. ``balance_after`` is the wallet's balance right after
    the charge (what the first answer said). The status follows from
    ``refunded_amount``; it is not stored.
    """

    id = models.CharField(_("charge number"), primary_key=True, max_length=32, editable=False)
    application = models.ForeignKey(
        ClientApplication, on_delete=models.PROTECT, related_name="charges", verbose_name=_("application")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="charges", verbose_name=_("person")
    )
    order_id = models.CharField(_("order number"), max_length=ORDER_ID_MAX_LENGTH)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    description = models.CharField(_("description"), max_length=200, blank=True)
    refunded_amount = models.DecimalField(_("refunded"), max_digits=14, decimal_places=2, default=ZERO)
    balance_after = models.DecimalField(_("balance after"), max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["application", "order_id"], name="wallet_charge_application_order"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="wallet_charge_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0, refunded_amount__lte=models.F("amount")),
                name="wallet_charge_refunded_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="wallet_charge_user_created")]

    def __str__(self):
        return self.id

    @property
    def status(self) -> str:
        return charge_status(self.amount, self.refunded_amount)

    def get_status_display(self) -> str:
        return str(ChargeStatus(self.status).label)

    @property
    def refundable_amount(self) -> Decimal:
        return self.amount - self.refunded_amount


class ChargeRefund(models.Model):
    """``amount`` of ``charge`` given back to the person's wallet by the application.

    ``refunded_after`` and ``balance_after`` are the charge's refunded total and
    the wallet's balance right after it (what the first answer said).
    ``idempotency_key`` is unique per application when given.
    """

    id = models.CharField(_("refund number"), primary_key=True, max_length=32, editable=False)
    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("charge"))
    application = models.ForeignKey(
        ClientApplication, on_delete=models.PROTECT, related_name="+", verbose_name=_("application")
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, blank=True)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64, blank=True)
    refunded_after = models.DecimalField(_("refunded after"), max_digits=14, decimal_places=2)
    balance_after = models.DecimalField(_("balance after"), max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("charge refund")
        verbose_name_plural = _("charge refunds")
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="wallet_chargerefund_amount_positive"),
            models.UniqueConstraint(
                fields=["application", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="wallet_chargerefund_application_key",
            ),
        ]

    def __str__(self):
        return self.id
