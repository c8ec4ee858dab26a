"""When Redis or PostgreSQL goes away: answer 503 at once, never 500, never half-done.

``dependency_failed(exc)`` recognises a dependency outage: the cache
(Redis refused, timed out after ``SOCKET_TIMEOUT``, read-only after a
failover) or the database (Django's ``OperationalError`` / ``InterfaceError``:
refused, terminated, restarting, deadlock or timeout — all "try again").
Three doors turn one into ``503 service_unavailable``:

- the API exception handler (``config.exceptions``), for DRF views;
- ``OutageMiddleware.process_exception``, for page views;
- ``config.views.handler500`` (``outage_response_for_current_exception``),
  for what fails inside a middleware before any view runs, e.g. a session
  loaded from the cache.

Nothing swallows the error on the way: every security counter (login
lockout, per-IP throttles, code attempts, single use of verification tokens)
reads the cache and fails *closed* — the request is refused with 503, never
let through unchecked. Recovery needs no restart: django-redis reconnects on
the next command, and Django drops a broken database connection at the end
of the request. A reused connection is checked before each request
(``database_connections_check``) without a round trip: an idle PostgreSQL
connection has nothing to read, so one that is readable has been closed or
terminated by the server (its FATAL message or EOF is waiting) and is dropped,
and the request opens a new one. Django's own ``CONN_HEALTH_CHECKS`` would
send a ``SELECT 1`` at the start of every request instead (issue 15).
"""

from __future__ import annotations

import select
import sys

import psycopg
import redis.exceptions
import structlog
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import get_language
from django_redis.exceptions import ConnectionInterrupted

from config import metrics
from config.errors import ServiceUnavailable

logger = structlog.get_logger("config.faults")

CACHE_ERRORS = (
    redis.exceptions.ConnectionError,  # includes BusyLoadingError (a restart loading its data)
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,  # a replica promoted late, or a failover in progress
    ConnectionInterrupted,
)
DATABASE_ERRORS = (OperationalError, InterfaceError)

# Seconds a client should wait before trying again (a hint, not a promise).
RETRY_AFTER = 5


def dependency_failed(exc: BaseException | None) -> str | None:
    """``"cache"`` or ``"database"`` when ``exc`` (or what it was raised from) is that dependency failing."""
    for candidate in (exc, getattr(exc, "__cause__", None)):
        if isinstance(candidate, CACHE_ERRORS):
            return "cache"
        if isinstance(candidate, DATABASE_ERRORS):
            return "database"
    return None


def outage_record(dependency: str, exc: BaseException) -> None:
    """Count the 503 and log one line (no traceback: an outage is not a bug)."""
    metrics.dependency_unavailable(dependency=dependency)
    logger.warning("dependency unavailable", dependency=dependency, error=f"{type(exc).__name__}: {exc}"[:300])


def api_unavailable_body() -> dict:
    return ServiceUnavailable().as_dict()


def unavailable_response(request) -> HttpResponse:
    """The API error body under ``/api/``, else the translated 503 page.

    The page is rendered without a request context: context processors may
    need the very session or user that could not be loaded.
    """
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(api_unavailable_body(), status=503, json_dumps_params={"ensure_ascii": False})
    else:
        html = loader.get_template("503.html").render({"LANGUAGE_CODE": get_language() or "zh-hans"})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


def database_connections_check() -> None:
    """Close every reused PostgreSQL connection of this thread that the server has closed (no round trip)."""
    for connection in connections.all(initialized_only=True):
        raw = connection.connection
        if raw is None or connection.vendor != "postgresql" or connection.in_atomic_block:
            continue
        try:
            poller = select.poll()
            poller.register(raw.fileno(), select.POLLIN)
            dead = bool(poller.poll(0)) or raw.closed or raw.broken
        except (OSError, ValueError, psycopg.Error):
            dead = True
        if dead:
            connection.close()


class OutageMiddleware:
    """Page views that hit a dependency outage answer with the 503 page (API views use the handler).

    Before anything else of the request uses the database, it drops the
    connections the server has closed meanwhile (``database_connections_check``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        database_connections_check()
        return self.get_response(request)

    def process_exception(self, request, exception):
        dependency = dependency_failed(exception)
        if dependency is None:
            return None
        outage_record(dependency, exception)
        return unavailable_response(request)


def outage_response_for_current_exception(request) -> HttpResponse | None:
    """For ``handler500`` (called while the exception is being handled): the 503 answer if it is an outage."""
    exc = sys.exc_info()[1]
    dependency = dependency_failed(exc)
    if dependency is None or exc is None:
        return None
    outage_record(dependency, exc)
    return unavailable_response(request)
