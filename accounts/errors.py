from django.utils.translation import gettext_lazy as _

from config.errors import ServiceError


class PhoneTaken(ServiceError):
    status = 409
    code = "phone_taken"
    default_message = _("This phone number is already registered.")


class UsernameTaken(ServiceError):
    status = 409
    code = "username_taken"
    default_message = _("This username is already taken.")


class PhoneNotRegistered(ServiceError):
    status = 404
    code = "phone_not_registered"
    default_message = _("This phone number is not registered.")
