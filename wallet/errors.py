from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from config.errors import InvalidInput, PermissionDenied, ServiceError
from wallet.amounts import money_display

__all__ = [
    "ApiKeyInvalid",
    "ApiKeyScopeMissing",
    "ChannelFailed",
    "ChannelUnavailable",
    "IdempotencyInProgress",
    "IdempotencyKeyReused",
    "InsufficientFunds",
    "InvalidInput",
    "NotFound",
    "NotificationMismatch",
    "NotificationSignatureInvalid",
    "RefundExceedsCharge",
    "RefundNotAllowed",
    "WalletNotEmpty",
    "WalletPermissionDenied",
]


class InsufficientFunds(ServiceError):
    status = 409
    code = "insufficient_funds"
    default_message = _("Insufficient balance.")

    @classmethod
    def short_by(cls, shortfall: Decimal, currency: str) -> "InsufficientFunds":
        """The refusal that says how much is missing ("余额不足，还差 ¥2.50。"), so nobody has to work it out."""
        return cls(_("Insufficient balance: %(shortfall)s short.") % {"shortfall": money_display(shortfall, currency)})


class WalletNotEmpty(ServiceError):
    """Account deletion refused: the wallet holds money (balance or frozen) or a top-up is pending."""

    status = 409
    code = "wallet_not_empty"
    default_message = _(
        "Your wallet still holds money or has a top-up in progress. Spend the balance first, or ask customer "
        "support to refund it to the account you paid from, then delete the account."
    )


class IdempotencyInProgress(ServiceError):
    status = 409
    code = "idempotency_in_progress"
    default_message = _("A request with this Idempotency-Key is still being processed. Try again shortly.")


class IdempotencyKeyReused(ServiceError):
    status = 422
    code = "idempotency_key_reused"
    default_message = _("This Idempotency-Key was already used for a different request.")


class WalletPermissionDenied(ServiceError):
    status = 403
    code = "permission_denied"
    default_message = _("You do not have permission to adjust balances.")


class ChannelUnavailable(ServiceError):
    status = 400
    code = "channel_unavailable"
    default_message = _("This payment channel is not available.")


class ChannelFailed(ServiceError):
    """The channel could not be reached or refused the request; nothing was charged."""

    status = 503
    code = "service_unavailable"
    default_message = _("The payment channel is not responding. Please try again later.")


class NotificationMismatch(ServiceError):
    status = 400
    code = "notification_mismatch"
    default_message = _("The notification does not match the order.")


class NotificationSignatureInvalid(ServiceError):
    status = 401
    code = "signature_invalid"
    default_message = _("The notification's signature or timestamp does not verify.")


class NotFound(ServiceError):
    status = 404
    code = "not_found"
    default_message = _("Not found.")


class RefundNotAllowed(ServiceError):
    """A top-up refund larger than what is still unspent, or of a top-up that was not paid."""

    status = 400
    code = "validation_error"
    default_message = _("This top-up cannot be refunded by that amount.")


class RefundExceedsCharge(ServiceError):
    status = 409
    code = "refund_exceeds_charge"
    default_message = _("The refunds would add up to more than the charge.")


class ApiKeyInvalid(ServiceError):
    """Missing, unknown, revoked or expired client-application key, or the application is switched off."""

    status = 401
    code = "api_key_invalid"
    default_message = _("A valid client-application API key is required.")


class ApiKeyScopeMissing(PermissionDenied):
    """The calling application may not do this (its key lacks the scope): 403 permission_denied."""
