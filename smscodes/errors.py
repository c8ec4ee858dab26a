"""Domain errors of SMS codes, one per API.md code."""

from django.utils.translation import gettext_lazy as _

from config.errors import ServiceError


class _FieldError(ServiceError):
    """An error that also names the input field it is about (shown next to it)."""

    field = ""

    def __init__(self, message=None, *, fields=None, retry_after=None):
        super().__init__(message, fields=fields, retry_after=retry_after)
        if self.fields is None:
            self.fields = {self.field: [self.message]}


class InvalidPhone(_FieldError):
    status = 400
    code = "invalid_phone"
    field = "phone"
    default_message = _("Enter a valid mobile phone number.")


class PhoneRegionNotAllowed(_FieldError):
    status = 400
    code = "phone_region_not_allowed"
    field = "phone"
    default_message = _("Codes cannot be sent to phone numbers of this country or region.")


class CodeInvalid(_FieldError):
    status = 400
    code = "code_invalid"
    field = "code"
    default_message = _("The verification code is wrong or has expired.")


class CodeAttemptsExceeded(_FieldError):
    status = 400
    code = "code_attempts_exceeded"
    field = "code"
    default_message = _("Too many wrong attempts. Please request a new code.")


class VerificationTokenInvalid(_FieldError):
    status = 400
    code = "verification_token_invalid"
    field = "verification_token"
    default_message = _("The phone verification is invalid or has expired. Please verify the number again.")


class SmsCooldown(ServiceError):
    status = 429
    code = "sms_cooldown"
    default_message = _("A code was sent to this number moments ago. Please wait before asking for another one.")


class SmsLimitExceeded(ServiceError):
    status = 429
    code = "sms_limit_exceeded"
    default_message = _("Too many codes were requested. Please try again later.")


class SmsSendFailed(ServiceError):
    status = 502
    code = "sms_send_failed"
    default_message = _("The text message could not be sent. Please try again later.")
