from django.utils.translation import gettext_lazy as _

from config.errors import InvalidInput, ServiceError


class PhoneTaken(ServiceError):
    status = 409
    code = "phone_taken"
    field = "phone"
    default_message = _("This phone number is already registered.")


class UsernameTaken(ServiceError):
    status = 409
    code = "username_taken"
    field = "username"
    default_message = _("This username is already taken.")


class PhoneNotRegistered(ServiceError):
    status = 404
    code = "phone_not_registered"
    field = "phone"
    default_message = _("This phone number is not registered.")


class InvalidCredentials(ServiceError):
    """Password login failed; never says whether the account or the password was wrong."""

    status = 401
    code = "invalid_credentials"
    default_message = _("Wrong phone number, username or password.")


class AccountLocked(ServiceError):
    """Too many failed logins for this account; ``retry_after`` says when to try again."""

    status = 429
    code = "account_locked"
    default_message = _("Too many failed logins. This account is locked for a while.")


class AccountDisabled(ServiceError):
    status = 403
    code = "account_disabled"
    default_message = _("This account is disabled.")


class TokenInvalid(ServiceError):
    status = 401
    code = "token_invalid"
    default_message = _("The token is invalid, expired or revoked.")


class PasswordIncorrect(InvalidInput):
    """The current password given to confirm a change is wrong (a field error of the form)."""

    default_message = _("The password is incorrect.")


class RecentLoginRequired(InvalidInput):
    """A phone change needs a recent login or the current password (reported on ``password``)."""

    field = "password"
    default_message = _("For your security, log in again or enter your current password to change the phone number.")


class FileTooLarge(ServiceError):
    status = 413
    code = "file_too_large"
    default_message = _("The file is too large.")


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"
    default_message = _("Upload a JPEG, PNG, WebP or GIF image.")
