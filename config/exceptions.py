"""One error body for the whole API: ``{"code", "message", "fields"?, "retry_after"?}``.

DRF's own exceptions, Django's ``ValidationError`` / ``Http404`` /
``PermissionDenied``, our ``ServiceError`` subclasses and anything unexpected
all come out in the same shape (API.md, "Errors").
"""

import logging
import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from config.errors import ServiceError

logger = logging.getLogger("config.errors")


def _flatten(detail):
    """DRF error detail (nested dicts/lists of ErrorDetail) -> plain strings."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _fields(detail) -> dict:
    if isinstance(detail, dict):
        return {key: value if isinstance(value, (list, dict)) else [value] for key, value in _flatten(detail).items()}
    return {"non_field_errors": _flatten(detail if isinstance(detail, list) else [detail])}


def error_body(code: str, message, **extra) -> dict:
    body = {"code": code, "message": str(message)}
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def _response(status: int, body: dict, headers: dict | None = None) -> Response:
    response = Response(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def api_exception_handler(exc, context):  # noqa: C901 - one flat mapping is easiest to read
    """DRF ``EXCEPTION_HANDLER``: map every exception to the API error body."""
    if isinstance(exc, ServiceError):
        headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after is not None else None
        return _response(exc.status, exc.as_dict(), headers)

    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return _response(400, error_body("validation_error", _("Some fields are invalid."), fields=fields))

    if isinstance(exc, drf.ValidationError):
        return _response(400, error_body("validation_error", _("Some fields are invalid."), fields=_fields(exc.detail)))

    if isinstance(exc, drf.ParseError):
        return _response(400, error_body("validation_error", _("The request body could not be parsed.")))

    if isinstance(exc, RequestDataTooBig):
        return _response(413, error_body("file_too_large", _("The request body is too large.")))

    if isinstance(exc, (InvalidToken, TokenError)):
        return _response(401, error_body("token_invalid", _("The token is invalid, expired or revoked.")))

    if isinstance(exc, drf.NotAuthenticated):
        return _response(401, error_body("not_authenticated", _("Authentication credentials were not provided.")))

    if isinstance(exc, drf.AuthenticationFailed):
        codes = exc.get_codes()
        if codes == "user_inactive":
            return _response(403, error_body("account_disabled", _("This account is disabled.")))
        if codes == "api_key_invalid":  # wallet.authentication: client-application keys
            return _response(401, error_body("api_key_invalid", exc.detail), {"WWW-Authenticate": "Api-Key"})
        return _response(401, error_body("token_invalid", _("The token is invalid, expired or revoked.")))

    if isinstance(exc, (drf.PermissionDenied, DjangoPermissionDenied)):
        return _response(403, error_body("permission_denied", _("You do not have permission to do this.")))

    if isinstance(exc, (drf.NotFound, Http404)):
        return _response(404, error_body("not_found", _("Not found.")))

    if isinstance(exc, drf.MethodNotAllowed):
        return _response(405, error_body("method_not_allowed", _("Method not allowed.")))

    if isinstance(exc, drf.NotAcceptable):
        return _response(406, error_body("not_acceptable", _("Cannot satisfy the Accept header.")))

    if isinstance(exc, drf.UnsupportedMediaType):
        return _response(415, error_body("unsupported_media_type", _("Unsupported media type.")))

    if isinstance(exc, drf.Throttled):
        wait = math.ceil(exc.wait) if exc.wait is not None else 60
        body = error_body("rate_limited", _("Too many requests. Please try again later."), retry_after=wait)
        return _response(429, body, {"Retry-After": str(wait)})

    if isinstance(exc, drf.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        return _response(exc.status_code, error_body(code, exc.detail))

    # Anything else is a bug: log it with its traceback, answer without one.
    logger.exception("Unhandled exception in %s", context.get("view").__class__.__name__ if context else "?")
    return _response(500, error_body("server_error", _("An unexpected error occurred. Please try again later.")))


def json_error(status: int, code: str, message) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status, json_dumps_params={"ensure_ascii": False})
