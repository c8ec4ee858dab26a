"""Template helpers of the account forms (``{% load form_tags %}``): display only."""

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.translation import get_language, gettext, ngettext

from config.forms import form_kept_restore

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


@register.simple_tag(takes_context=True)
def keep_typed(context, form_id: str, form=None) -> str:
    """In a form's opening tag, ``<form {% keep_typed "signup-form" form %} …>``: a switch of language keeps its data.

    Gives the form its id and makes it the form the footer's language buttons
    submit (``language_switch_form``), so what was typed reaches the server
    with the chosen language, JavaScript or not (``config.views.language_switch``);
    on the page that follows, puts it back into the unbound ``form``.
    The first such form of a page is the one kept.
    """
    request = context.get("request")
    if request is not None:
        if not getattr(request, "language_switch_form", ""):
            request.language_switch_form = form_id
        if form is not None:
            form_kept_restore(request, form_id=form_id, form=form)
    return format_html('id="{}" data-keeps-typed', form_id)


@register.simple_tag(takes_context=True)
def language_switch_form(context) -> str:
    """The id of the page's form whose data a language switch carries ('' when the page has none)."""
    request = context.get("request")
    return getattr(request, "language_switch_form", "") if request is not None else ""
