"""Putting a service error on a form: the one helper every page and admin form uses."""

import math
from collections.abc import Mapping

from django import forms
from django.utils.translation import gettext, ngettext

from config.errors import ServiceError


def error_message_with_wait(exc: ServiceError) -> str:
    """The error's message, and for a lockout or throttle when to try again ("… Try again in 3 minutes.")."""
    message = str(exc.message)
    if not exc.retry_after:
        return message
    minutes = max(1, math.ceil(exc.retry_after / 60))
    wait = ngettext("Try again in %(minutes)d minute.", "Try again in %(minutes)d minutes.", minutes)
    # Translatable join: Chinese puts no space after 。
    return gettext("%(message)s %(wait)s") % {"message": message, "wait": wait % {"minutes": minutes}}


def form_add_service_error(form: forms.BaseForm, exc: ServiceError, *, fields: Mapping[str, str] | None = None) -> None:
    """Show ``exc`` on ``form``, next to the field it is about.

    The error names its fields itself (``exc.fields``, from its ``field``);
    ``fields`` renames them where the form calls them otherwise
    (``{"password": "new_password"}``), and may place an error without a field
    by its code (``{"invalid_credentials": "old_password"}``). Names the form
    does not have become non-field errors at the top of the form.
    """
    names = dict(fields or {})

    def target(name: str | None) -> str | None:
        name = names.get(name, name) if name else None
        return name if name in form.fields else None

    if exc.fields and not exc.retry_after:
        for name, messages in exc.fields.items():
            form.add_error(target(name), [str(m) for m in messages])
        return
    form.add_error(target(exc.field or exc.code), error_message_with_wait(exc))
