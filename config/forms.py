"""Putting a service error on a form: the one helper every page and admin form uses."""

import math
from collections.abc import Mapping
from typing import Any, TypeVar

from django import forms
from django.forms.utils import ErrorDict
from django.http import QueryDict
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


# --- Post/redirect/get for a form that failed -------------------------------------------------
# A refused POST is not answered with its own page: what was typed and the
# errors go into the session and the person is redirected to the form's page,
# which shows them once. A refresh then repeats a GET (no "resubmit?" prompt)
# and the address bar keeps the page's own URL. Never secrets: fields whose
# name says password or code, and the idempotency key (a fresh one is drawn).
_STASH = "form-stash"
FormT = TypeVar("FormT", bound=forms.BaseForm)
_NOT_KEPT = ("password", "code", "token", "idempotency_key", "csrfmiddlewaretoken")
_MAX_VALUE = 500  # a huge value is refused anyway; the stash keeps only its start
_MAX_FIELDS = 50  # our forms have a handful; a post with hundreds of names does not grow the session


def _kept(name: str) -> bool:
    return not any(part in name for part in _NOT_KEPT)


def _values(data: Mapping[str, Any], name: str) -> list[Any]:
    getlist = getattr(data, "getlist", None)  # a QueryDict holds several values per name
    return list(getlist(name)) if getlist else [data[name]]


def form_stash(request, key: str, form: forms.BaseForm) -> None:
    """Keep ``form``'s typed data and errors in the session for the next GET of its page (see ``form_restore``)."""
    raw = form.data
    names = [name for name in raw if _kept(name)][:_MAX_FIELDS]
    data = {name: [str(value).replace("\x00", "")[:_MAX_VALUE] for value in _values(raw, name)] for name in names}
    errors = {name: [str(message) for message in messages] for name, messages in form.errors.items()}
    request.session[f"{_STASH}:{key}"] = {"data": data, "errors": errors}


def form_restore(
    request, key: str, form_class: type[FormT], *, fresh: Mapping[str, str] | None = None, **kwargs: Any
) -> FormT | None:
    """The form stashed under ``key``, bound to what was typed and showing its errors; once. None if none.

    ``fresh``: values for fields that are never stashed (a new idempotency key).
    """
    stashed = request.session.pop(f"{_STASH}:{key}", None)
    if not stashed:
        return None
    data = QueryDict(mutable=True)
    for name, values in stashed.get("data", {}).items():
        data.setlist(name, values)
    for name, value in (fresh or {}).items():
        data[name] = value
    form = form_class(data, **kwargs)
    # The errors as they were (a service's refusal cannot be recomputed from the data alone).
    # Django keeps them in ``_errors``; an empty ErrorDict there means "cleaned, no errors yet".
    form._errors = ErrorDict(renderer=form.renderer)  # type: ignore[attr-defined]  # private in the stubs
    form.cleaned_data = {}
    for name, messages in stashed.get("errors", {}).items():
        form.add_error(name if name in form.fields else None, messages)
    return form


# --- What was typed, across a language switch ------------------------------------------------
_KEPT_FORM = "kept-form"


def form_kept_stash(request, *, path: str, form_id: str) -> None:
    """Keep the posted fields of form ``form_id`` (minus secrets) for the next GET of ``path``."""
    if not form_id:
        return
    names = [name for name in request.POST if _kept(name) and name != "language"][:_MAX_FIELDS]
    data = {
        name: [str(value).replace("\x00", "")[:_MAX_VALUE] for value in request.POST.getlist(name)] for name in names
    }
    request.session[_KEPT_FORM] = {"path": path, "form": form_id, "data": data}


def form_kept_restore(request, *, form_id: str, form: forms.BaseForm) -> None:
    """Put what was kept for ``form_id`` on this page into the unbound ``form``'s initial values; once."""
    session = getattr(request, "session", None)
    if session is None or form.is_bound or _KEPT_FORM not in session:
        return
    kept = session[_KEPT_FORM]
    if kept.get("form") != form_id or kept.get("path") != request.path:
        return
    del session[_KEPT_FORM]
    for name, values in kept.get("data", {}).items():
        field = form.fields.get(name)
        if field is None or not values:
            continue
        multiple = getattr(field.widget, "allow_multiple_selected", False)
        form.initial[name] = values if multiple else values[0]
