from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.errors import FileTooLarge as FileTooLarge  # generic errors the account flows raise too
from config.errors import InvalidInput, ServiceError, UnsupportedMediaType
from config.errors import TokenInvalid as TokenInvalid


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


class ConsentRequired(ServiceError):
    """The current user agreement / privacy policy were not agreed to; ``required`` lists them ("terms:3")."""

    status = 400
    code = "consent_required"
    field = "consent"
    default_message = _("Please read and agree to the user agreement and the privacy policy.")

    def __init__(self, message=None, *, required: list[str], **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.required = list(required)

    def as_dict(self) -> dict:
        return {**super().as_dict(), "required": self.required}


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


class PasswordIncorrect(InvalidInput):
    """The current password given to confirm a change is wrong (a field error of the form)."""

    default_message = _("The password is incorrect.")


class RecentLoginRequired(InvalidInput):
    """A phone change needs a recent login or the current password (reported on ``password``)."""

    field = "password"
    default_message = _("For your security, log in again or enter your current password to change the phone number.")


class UnsupportedImage(UnsupportedMediaType):
    """An avatar whose content is not one of the image types we decode."""

    default_message = _("Upload a JPEG, PNG, WebP or GIF image.")


class StaffPermissionDenied(ServiceError):
    """A staff member asked for a change of an account they may not make (``accounts.services.staff``)."""

    status = 403
    code = "permission_denied"
    default_message = _("You do not have permission to change this account.")


def file_too_large(max_bytes: int) -> FileTooLarge:
    """FileTooLarge saying the limit ("The file is too large: at most 5.0 MB.")."""
    return FileTooLarge(gettext("The file is too large: at most %(size)s.") % {"size": filesizeformat(max_bytes)})
