"""Structured logs: one JSON object a line in production, readable lines in development.

Every record, from our code (``logging.getLogger(...)`` or
``structlog.get_logger()``), Django or a library, goes through one structlog
``ProcessorFormatter``, which:

- adds the request's context while one is being served: ``request_id``,
  ``client_ip``, ``method``, ``path`` (bound by ``RequestLogMiddleware``) and
  ``user_id`` once the request has authenticated someone;
- adds ``time`` (UTC, ISO 8601), ``level`` and ``logger``;
- passes the whole line, exception text included, through
  ``config.redact.redact``: phone numbers masked, codes, passwords, tokens,
  API keys and bodies dropped.

``RequestLogMiddleware`` also writes one ``request`` line per request with
``status``, ``duration_ms`` and ``route`` (the URL pattern), and returns the
request id in the ``X-Request-ID`` response header. The id is the one a
trusted proxy sent (``X-Request-ID``, only when ``TRUSTED_PROXY_COUNT`` > 0,
the same trust rule as ``config.http.client_ip``), else a new random one.
"""

from __future__ import annotations

import contextvars
import json as json_module
import logging
import re
import time
import uuid

import orjson
import sentry_sdk
import structlog
from django.conf import settings
from django.utils.functional import SimpleLazyObject, empty

from config.http import client_ip
from config.redact import redact

# The request being served by this thread, for ``user_id``: who it is is only
# known after authentication, which happens deep inside the view.
_current_request: contextvars.ContextVar = contextvars.ContextVar("current_request", default=None)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# Probes and scrapers call these every few seconds; their lines are DEBUG.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Lines of the console SMS backend *are* the delivery in development: they keep the code.
_KEEPS_CODES = frozenset({"smscodes.console"})
_JSON_NATIVE = (str, int, float, bool, type(None), dict, list, tuple)


def _known_user_id(request) -> int | None:
    """The authenticated user's id if the request already loaded the user (never loads it)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = user.__dict__.get("_wrapped", empty)
        if user is empty:
            return None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


def add_user_id(logger, method_name: str, event_dict: dict) -> dict:
    request = _current_request.get()
    if request is not None and "user_id" not in event_dict:
        user_id = _known_user_id(request)
        if user_id is not None:
            event_dict["user_id"] = user_id
    return event_dict


def redact_event(logger, method_name: str, event_dict: dict) -> dict:
    """The last step before rendering: nothing secret leaves, whatever the caller logged."""
    keep_codes = event_dict.get("logger") in _KEEPS_CODES
    # Objects would be rendered with repr() after this step, unredacted: make them text now.
    plain = {
        key: value if isinstance(value, _JSON_NATIVE) or key.startswith("_") else str(value)
        for key, value in event_dict.items()
    }
    return redact(plain, keep_codes=keep_codes)


def _shared_processors() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        add_user_id,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    ]


def _json_line(event_dict: dict, **_ignored) -> str:
    """The JSON line, written by orjson (UTF-8 as is, compact), as the API's renderer writes its answers.

    ``redact_event`` has already made every value text or a JSON type; what
    orjson still refuses (an integer beyond 64 bits, a float NaN) is written
    by ``json.dumps`` instead, so no line is ever lost to its encoder.
    """
    try:
        return orjson.dumps(event_dict, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json_module.dumps(event_dict, default=str, ensure_ascii=False)


def formatter_processors(*, json: bool) -> list:
    renderer = (
        structlog.processors.JSONRenderer(serializer=_json_line)
        if json
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    return [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,
        redact_event,
        renderer,
    ]


def structured_formatter(*, json: bool) -> logging.Formatter:
    """The formatter every handler uses (``LOGGING``; tests attach it to capture what production would print)."""
    return structlog.stdlib.ProcessorFormatter(
        processors=formatter_processors(json=json),
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
    )


def logging_config(*, json: bool, level: str) -> dict:
    """The ``LOGGING`` setting; also configures structlog for ``structlog.get_logger()`` callers."""
    # What a log record would otherwise work out on every call and no line of ours shows:
    # the caller's file and line (a walk up the stack), the thread's and the process's
    # names. The logging HOWTO's "Optimization" section lists these switches.
    logging._srcfile = None  # noqa: SLF001 - the documented switch
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": structured_formatter, "json": json}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # 4xx responses are answered with an error body; no need to log each.
            "django.request": {"level": "ERROR"},
            # runserver's own request lines repeat ours without the context.
            "django.server": {"level": "WARNING"},
        },
    }


def _request_id(request) -> str:
    if settings.TRUSTED_PROXY_COUNT > 0:
        sent = request.META.get("HTTP_X_REQUEST_ID", "")
        if _REQUEST_ID.match(sent):
            return sent
    return uuid.uuid4().hex


def _level(path: str, status: int) -> int:
    if path in _QUIET_PATHS and status < 500:
        return logging.DEBUG
    if status in (429, 503):
        return logging.WARNING
    return logging.ERROR if status >= 500 else logging.INFO


request_logger = structlog.get_logger("config.request")


class RequestLogMiddleware:
    """Binds the request's context for every line it logs, then logs the request itself.

    First in ``MIDDLEWARE``: every answer, redirects and error pages included,
    gets its ``X-Request-ID`` and its ``request`` line.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = _request_id(request)
        request.request_id = request_id
        path = request.path[:500]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id, client_ip=client_ip(request), method=request.method, path=path
        )
        sentry_sdk.set_tag("request_id", request_id)
        token = _current_request.set(request)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            match = getattr(request, "resolver_match", None)
            request_logger.log(
                _level(path, response.status_code),
                "request",
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                route="/" + match.route if match is not None else None,
            )
            return response
        finally:
            _current_request.reset(token)
            structlog.contextvars.clear_contextvars()
