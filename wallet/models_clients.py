"""Client applications: the app's own backend services that charge wallets and refund charges.

An application has a name, scopes (what its keys may do), an active flag and
API keys. Keys are djangorestframework-api-key's (``AbstractAPIKey``): a key
is ``<prefix>.<secret>``, shown once, and only its SHA-512 is stored — the
right hash for a 32-character random secret (a password hasher's deliberate
slowness buys nothing against that entropy and would cost every request).
Create, revoke and deactivate only through ``wallet.clients``: it also
clears the cached key lookups (see ``wallet.authentication``).

Imported by ``wallet.models`` so the models belong to the ``wallet`` app.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager


class Scope(models.TextChoices):
    CHARGE = "charge", _("Charge wallets")
    REFUND = "refund", _("Refund charges")


class ClientApplication(models.Model):
    """One of the app's backend services. Its charges are credited to its own revenue account."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    scopes = models.JSONField(_("scopes"), default=list, blank=True, help_text=_("What its keys may do."))
    active = models.BooleanField(_("active"), default=True, help_text=_("An inactive application's keys are refused."))
    # Its charges are credited here (``revenue:app:<id>``, an untracked ledger account).
    # Set by ``client_application_create`` in the transaction that creates the row.
    revenue_account = models.OneToOneField(
        "wallet.LedgerAccount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="client_application",
        verbose_name=_("revenue account"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("client application")
        verbose_name_plural = _("client applications")
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="wallet_clientapplication_name_ci",
                violation_error_message=_("An application with this name already exists."),
            ),
        ]

    def __str__(self):
        return self.name

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class ClientApplicationKeyManager(APIKeyManager):
    def get_usable_keys(self) -> models.QuerySet:
        return self.filter(revoked=False, application__active=True)


class ClientApplicationKey(AbstractAPIKey):
    """One API key of an application. The secret is never stored; revoking cannot be undone."""

    application = models.ForeignKey(
        ClientApplication, on_delete=models.PROTECT, related_name="keys", verbose_name=_("application")
    )
    # Written at most about once a minute per key (wallet.authentication), not on every request.
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    objects: ClassVar[ClientApplicationKeyManager] = ClientApplicationKeyManager()

    class Meta:
        ordering = ("-created",)
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
