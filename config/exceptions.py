"""One error body for the whole API: ``{"code", "message", "fields"?, "retry_after"?}``.

DRF's own exceptions, Django's ``ValidationError`` / ``Http404`` /
``PermissionDenied``, our ``ServiceError`` subclasses and anything unexpected
all come out in the same shape (docs/API.md, "Errors"). Each is turned into
the ``ServiceError`` class of its code first, so the message rendered is the
class's own, written once in ``config/errors.py`` or the app's ``errors.py``.
"""

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from config.errors import (
    FileTooLarge,
    InvalidInput,
    MethodNotAllowed,
    NotAcceptable,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    ServiceError,
    ServiceUnavailable,
    TokenInvalid,
    UnsupportedMediaType,
)
from config.faults import RETRY_AFTER, dependency_failed, outage_record

logger = logging.getLogger("config.errors")


def _flatten(detail: Any) -> Any:
    """DRF error detail (nested dicts/lists of ErrorDetail) -> plain strings."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _fields(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {key: value if isinstance(value, (list, dict)) else [value] for key, value in _flatten(detail).items()}
    return {"non_field_errors": _flatten(detail if isinstance(detail, list) else [detail])}


def error_body(code: str, message: Any, **extra: Any) -> dict[str, Any]:
    body = {"code": code, "message": str(message)}
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


# DRF exceptions that map one to one onto our classes.
_DRF_ERRORS: tuple[tuple[type[Exception], type[ServiceError]], ...] = (
    (drf.NotAuthenticated, NotAuthenticated),
    (drf.PermissionDenied, PermissionDenied),
    (DjangoPermissionDenied, PermissionDenied),
    (drf.NotFound, NotFound),
    (Http404, NotFound),
    (drf.MethodNotAllowed, MethodNotAllowed),
    (drf.NotAcceptable, NotAcceptable),
    (drf.UnsupportedMediaType, UnsupportedMediaType),
    (InvalidToken, TokenInvalid),
    (TokenError, TokenInvalid),
)


def service_error_for(exc: Exception) -> ServiceError | None:
    """The ServiceError an exception stands for, or None for anything unexpected (a bug)."""
    if isinstance(exc, ServiceError):
        return exc
    wrapped = getattr(exc, "service_error", None)  # a DRF exception standing for one of ours
    if isinstance(wrapped, ServiceError):
        return wrapped
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return InvalidInput(fields=fields)
    if isinstance(exc, drf.ValidationError):
        return InvalidInput(fields=_fields(exc.detail))
    if isinstance(exc, drf.ParseError):
        return InvalidInput(_("The request body could not be parsed."))
    if isinstance(exc, RequestDataTooBig):
        return FileTooLarge(_("The request body is too large."))
    if isinstance(exc, drf.Throttled):
        wait = exc.wait  # type: ignore[attr-defined] # set by Throttled.__init__, missing from the stubs
        return RateLimited(retry_after=math.ceil(wait) if wait is not None else 60)
    if isinstance(exc, drf.AuthenticationFailed):
        return TokenInvalid()
    for drf_class, error_class in _DRF_ERRORS:
        if isinstance(exc, drf_class):
            return error_class()
    if isinstance(exc, drf.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        error = ServiceError(str(exc.detail))
        error.code = str(code)  # an instance-level code and status for DRF's catch-all
        error.status = exc.status_code
        return error
    return None


def error_response(error: ServiceError) -> Response:
    response = Response(error.as_dict(), status=error.status)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF ``EXCEPTION_HANDLER``: map every exception to the API error body."""
    error = service_error_for(exc)
    dependency = dependency_failed(exc) if error is None else None
    if dependency is not None:  # Redis or PostgreSQL unreachable: fail closed with a 503, not a 500
        outage_record(dependency, exc)
        response = error_response(ServiceUnavailable())
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    if error is None:
        # Anything else is a bug: log it with its traceback, answer without one.
        view = context.get("view") if context else None
        logger.exception("Unhandled exception in %s", view.__class__.__name__ if view else "?")
        error = ServerError()
    response = error_response(error)
    # DRF puts the authenticator's challenge on a 401 (RFC 7235): keep it.
    auth_header = getattr(exc, "auth_header", None)
    if error.status == 401 and auth_header:
        response["WWW-Authenticate"] = auth_header
    return response


def error_json(error: ServiceError) -> JsonResponse:
    """The error body as a plain Django response, for code outside DRF (middleware, handler404…)."""
    response = JsonResponse(error.as_dict(), status=error.status, json_dumps_params={"ensure_ascii": False})
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


def json_error(status: int, code: str, message: Any) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status, json_dumps_params={"ensure_ascii": False})
