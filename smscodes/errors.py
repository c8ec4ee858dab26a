"""Domain errors of SMS codes, one per API.md code (those about one input name it in ``field``)."""

from django.utils.translation import gettext_lazy as _

from config.errors import ServiceError


class InvalidPhone(ServiceError):
    status = 400
    code = "invalid_phone"
    field = "phone"
    default_message = _("Enter a valid mobile phone number.")


class PhoneRegionNotAllowed(ServiceError):
    status = 400
    code = "phone_region_not_allowed"
    field = "phone"
    default_message = _("Codes cannot be sent to phone numbers of this country or region.")


class CodeInvalid(ServiceError):
    status = 400
    code = "code_invalid"
    field = "code"
    default_message = _("The verification code is wrong or has expired.")


class CodeAttemptsExceeded(ServiceError):
    status = 400
    code = "code_attempts_exceeded"
    field = "code"
    default_message = _("Too many wrong attempts. Please request a new code.")


class VerificationTokenInvalid(ServiceError):
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
