"""Password validators Django does not ship (see AUTH_PASSWORD_VALIDATORS)."""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import conf


class MaximumLengthValidator:
    """Refuse very long passwords: hashing megabytes is a cheap way to burn our CPU."""

    def __init__(self, max_length=128):
        self.max_length = max_length

    def validate(self, password, user=None):
        if len(password) > self.max_length:
            raise ValidationError(
                ngettext(
                    "This password is too long. It must contain at most %(max_length)d character.",
                    "This password is too long. It must contain at most %(max_length)d characters.",
                    self.max_length,
                ),
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def get_help_text(self):
        return _("Your password must contain at most %(max_length)d characters.") % {"max_length": self.max_length}


class LetterAndDigitValidator:
    """At least one letter and one digit (ACCOUNTS_PASSWORD_REQUIRE_LETTER_AND_DIGIT turns it off)."""

    def validate(self, password, user=None):
        if not conf.password_require_letter_and_digit():
            return
        if not (any(ch.isalpha() for ch in password) and any(ch.isdigit() for ch in password)):
            raise ValidationError(
                _("Your password must contain at least one letter and one digit."), code="password_letter_digit"
            )

    def get_help_text(self):
        if not conf.password_require_letter_and_digit():
            return ""
        return _("Your password must contain at least one letter and one digit.")


class UserAttributeSimilarityValidator(password_validation.UserAttributeSimilarityValidator):
    """Django's validator, extended to the phone number.

    Django skips attributes that are not strings, and ``User.phone`` is a
    PhoneNumber; we compare its national digits (``13800138000``) instead.
    """

    def validate(self, password, user=None):
        if user is None:
            return
        phone = getattr(user, "phone", None)
        if phone:
            national = str(getattr(phone, "national_number", "") or "")
            if national and national in password:
                raise ValidationError(
                    _("The password is too similar to the %(verbose_name)s."),
                    code="password_too_similar",
                    params={"verbose_name": _("phone number")},
                )
        super().validate(password, user)


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's validator with the message Django's own catalogues translate.

    Django 5.2 changed this message to ``%d`` and its zh_Hans catalogue still
    has only the ``%(min_length)d`` wording, so Chinese pages showed English.
    """

    def get_error_message(self):
        return ngettext(
            "This password is too short. It must contain at least %(min_length)d character.",
            "This password is too short. It must contain at least %(min_length)d characters.",
            self.min_length,
        ) % {"min_length": self.min_length}
