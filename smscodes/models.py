from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Purpose(models.TextChoices):
    REGISTER = "register", _("Sign-up")
    LOGIN = "login", _("Login")
    RESET_PASSWORD = "reset_password", _("Password reset")
    CHANGE_PHONE = "change_phone", _("Phone number change")
    DELETE_ACCOUNT = "delete_account", _("Account deletion")


class SmsStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    TEST = "test", _("Test number (not sent)")


class SmsMessage(models.Model):
    """One attempt to send a code: the send log support staff read.

    Never holds the code (nor anything derived from it).
    """

    phone = models.CharField(_("phone number"), max_length=20)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    backend = models.CharField(_("backend"), max_length=50)
    status = models.CharField(_("status"), max_length=10, choices=SmsStatus.choices)
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)
    client_ip = models.GenericIPAddressField(_("client IP"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["phone", "-created_at"], name="smscodes_msg_phone_time"),
            # The admin list's order (-created_at, -id), read in index order at any size.
            models.Index(fields=["-created_at", "-id"], name="smscodes_msg_time"),
            # The admin's search by the provider's message id (a delivery complaint).
            models.Index(
                fields=["provider_message_id"],
                condition=~models.Q(provider_message_id=""),
                name="smscodes_msg_provider_id",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(purpose__in=Purpose.values), name="smscodes_smsmessage_purpose_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=SmsStatus.values), name="smscodes_smsmessage_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.phone} {self.purpose} {self.status}"
