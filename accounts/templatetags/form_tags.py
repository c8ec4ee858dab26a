"""Template helpers of the account forms (``{% load form_tags %}``): display only."""

from django import template
from django.conf import settings
from django.utils.translation import get_language, gettext, ngettext

register = template.Library()


def _min_length() -> int:
    validators: list[dict] = list(settings.AUTH_PASSWORD_VALIDATORS)  # type: ignore[arg-type]  # stubs: list[object]
    for validator in validators:
        if validator["NAME"].endswith("MinimumLengthValidator"):
            return int(validator.get("OPTIONS", {}).get("min_length", 8))
    return 0


@register.simple_tag
def password_rules() -> str:
    """The rules of a new password in one line, shown under the field before anyone types.

    Read from the validators' settings so the line never disagrees with them.
    """
    length = _min_length()
    letter_digit = settings.ACCOUNTS_PASSWORD_REQUIRE_LETTER_AND_DIGIT
    if length and letter_digit:
        return ngettext(
            "At least %(count)d character, with a letter and a digit; not a common password.",
            "At least %(count)d characters, with a letter and a digit; not a common password.",
            length,
        ) % {"count": length}
    if length:
        return ngettext(
            "At least %(count)d character; not a common password.",
            "At least %(count)d characters; not a common password.",
            length,
        ) % {"count": length}
    return gettext("Not a common password.")


@register.filter
def merge_messages(errors) -> str:
    """Several messages about one field as one sentence run (Chinese sentences end in 。 and need no space)."""
    separator = "" if (get_language() or "").startswith("zh") else " "
    return separator.join(str(message) for message in errors)


@register.filter
def is_new_password(bound_field) -> bool:
    return bound_field.field.widget.attrs.get("autocomplete") == "new-password"
