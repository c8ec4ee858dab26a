from django.utils.translation import gettext_lazy as _

from config.errors import InvalidInput, ServiceError

__all__ = [
    "IdempotencyInProgress",
    "IdempotencyKeyReused",
    "InsufficientFunds",
    "InvalidInput",
    "WalletPermissionDenied",
]


class InsufficientFunds(ServiceError):
    status = 409
    code = "insufficient_funds"
    default_message = _("Insufficient balance.")


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
