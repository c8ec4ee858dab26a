"""The base of every domain error.

A service raises a subclass; the API exception handler renders it as
``{"code", "message", "fields"?, "retry_after"?}`` with its status, and HTML
views put the same error on their form (``config.forms.form_add_service_error``).
Each app keeps its own subclasses in ``<app>/errors.py``, one per API code.

An error that is about one input declares it (``field = "phone"``): wherever
it is raised, it carries ``fields = {"phone": [message]}``, so the API body
has the same shape from every service and a form knows where to show it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:  # a str or a lazy translation; django-stubs' alias, for the checker only
    from django_stubs_ext import StrOrPromise as Message

FieldErrors = Mapping[str, Sequence["Message"]]


class ServiceError(Exception):
    """A refusal a service explains to the caller: a machine ``code``, an HTTP ``status``, a message.

    ``field``: the input this error is about, if one (its message is then
    reported under that name in ``fields``). ``fields``: messages per input
    name, for errors about several inputs. ``retry_after``: seconds, for 429s.
    """

    # Class attributes: each subclass sets its own (an instance may override ``code`` and ``status``
    # only for DRF's catch-all APIException, see ``config.exceptions``).
    status: int = 400
    code: str = "error"
    default_message: ClassVar[Message] = _("The request could not be completed.")
    field: ClassVar[str | None] = None

    message: Message
    fields: dict[str, list[Message]] | None
    retry_after: int | None

    def __init__(
        self,
        message: Message | None = None,
        *,
        fields: FieldErrors | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        if fields is None and self.field:
            fields = {self.field: [self.message]}
        self.fields = {name: list(messages) for name, messages in fields.items()} if fields else None
        self.retry_after = max(1, int(retry_after)) if retry_after is not None else None
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.fields:
            body["fields"] = {name: [str(m) for m in msgs] for name, msgs in self.fields.items()}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body

    @classmethod
    def describe(cls) -> str:
        """The OpenAPI line for this error: its code and, when it has one, its field."""
        return f"{cls.code} ({cls.field})" if cls.field else cls.code


class InvalidInput(ServiceError):
    """A field-level problem found by a service (``fields`` names the culprits)."""

    status = 400
    code = "validation_error"
    default_message = _("Some fields are invalid.")


class RateLimited(ServiceError):
    """Too many requests from this caller; ``retry_after`` says when to try again."""

    status = 429
    code = "rate_limited"
    default_message = _("Too many requests. Please try again later.")

    def __init__(self, message: Message | None = None, *, retry_after: float = 60, **kwargs: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kwargs)


class ServiceUnavailable(ServiceError):
    status = 503
    code = "service_unavailable"
    default_message = _("The service is temporarily unavailable.")


# --- Errors the API exception handler answers for Django / DRF themselves ------------------
# (one class per API code, so each message is written once and the OpenAPI
# description is generated from the same classes).


class NotAuthenticated(ServiceError):
    status = 401
    code = "not_authenticated"
    default_message = _("Authentication credentials were not provided.")


class TokenInvalid(ServiceError):
    status = 401
    code = "token_invalid"
    default_message = _("The token is invalid, expired or revoked.")


class PermissionDenied(ServiceError):
    status = 403
    code = "permission_denied"
    default_message = _("You do not have permission to do this.")


class NotFound(ServiceError):
    status = 404
    code = "not_found"
    default_message = _("Not found.")


class MethodNotAllowed(ServiceError):
    status = 405
    code = "method_not_allowed"
    default_message = _("Method not allowed.")


class NotAcceptable(ServiceError):
    status = 406
    code = "not_acceptable"
    default_message = _("Cannot satisfy the Accept header.")


class FileTooLarge(ServiceError):
    status = 413
    code = "file_too_large"
    default_message = _("The file is too large.")


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"
    default_message = _("Unsupported media type.")


class ServerError(ServiceError):
    status = 500
    code = "server_error"
    default_message = _("An unexpected error occurred. Please try again later.")
