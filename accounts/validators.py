"""Password validators Django does not ship (see AUTH_PASSWORD_VALIDATORS)."""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import get_language, ngettext, pgettext
from django.utils.translation import gettext as _

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


def password_problems_merge(error: ValidationError) -> str:
    """Every problem of one new password as one short message, in the order of the rules line.

    ``validate_password`` reports each validator's full sentence ("密码长度太短。
    密码必须包含至少 8 个字符。这个密码太常见了。密码只包含数字。…"): four or
    five stacked lines for one weak password. This says the same once, in the
    words of the rules shown under the field: "密码太弱：至少 8 个字符，包含字母
    和数字，不能是常见密码。" A problem it does not know keeps its own sentence.
    """
    ranked: list[tuple[int, str]] = []
    unknown: list[str] = []
    for e in error.error_list:
        params = e.params or {}
        if e.code == "password_too_short":
            count = int(params.get("min_length", 0))
            part = (
                0,
                ngettext("at least %(count)d character", "at least %(count)d characters", count) % {"count": count},
            )
        elif e.code == "password_too_long":
            count = int(params.get("max_length", 0))
            part = (
                0,
                ngettext("at most %(count)d character", "at most %(count)d characters", count) % {"count": count},
            )
        elif e.code == "password_letter_digit" or (
            e.code == "password_entirely_numeric" and conf.password_require_letter_and_digit()
        ):
            part = (1, _("with a letter and a digit"))
        elif e.code == "password_entirely_numeric":
            part = (1, _("not only digits"))
        elif e.code == "password_too_common":
            part = (2, _("not a common password"))
        elif e.code == "password_too_similar":
            part = (3, _("not like your %(verbose_name)s") % {"verbose_name": params.get("verbose_name", "")})
        else:
            unknown.extend(e.messages)
            continue
        if part not in ranked:
            ranked.append(part)
    sentences = list(unknown)
    if ranked:
        problems = pgettext("list separator", ", ").join(text for _rank, text in sorted(ranked))
        sentences.insert(0, _("This password is too weak: %(problems)s.") % {"problems": problems})
    separator = "" if (get_language() or "").startswith("zh") else " "  # Chinese sentences end in 。
    return separator.join(sentences)
