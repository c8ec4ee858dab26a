"""Every Prometheus metric of the service, and the one-line functions code calls to count.

Exposed at ``/metrics`` (``metrics_view``) to the addresses in
``METRICS_ALLOWED_IPS`` (default loopback) or to a request carrying
``Authorization: Bearer <METRICS_TOKEN>``. Under gunicorn, set
``PROMETHEUS_MULTIPROC_DIR`` (``config/gunicorn.py`` does) so the answer sums
every worker; without it each process reports only itself.

Metric names (README "Metrics" has example alerts):

- requests: ``http_requests_total{method,route,status}``,
  ``http_request_duration_seconds{method,route}`` (``route`` is the URL
  pattern, so ids in paths do not multiply series);
- database: ``db_queries_total{alias,outcome}``, ``db_query_duration_seconds{alias}``;
- cache (Redis round trips): ``cache_commands_total{command,outcome}``,
  ``cache_command_duration_seconds{command}``;
- outages answered with 503: ``dependency_unavailable_total{dependency}``;
- business: ``sms_sent_total{backend,purpose,outcome}``,
  ``sms_codes_checked_total{purpose,outcome}``, ``logins_total{method,outcome}``,
  ``login_lockouts_total``, ``wallet_top_ups_total{channel,status}``,
  ``wallet_notifications_total{channel,outcome}``,
  ``wallet_charges_total{application}``, ``wallet_refunds_total{application}``,
  ``wallet_charged_amount_total{application,currency}``,
  ``wallet_refunded_amount_total{application,currency}``,
  ``wallet_reconciliation_mismatches_total{channel,kind}``.

Label values with a fixed vocabulary are checked: an unknown one is counted
as ``other`` rather than minting a new series (or failing the caller's flow).
Counting never raises and never touches the database or the cache.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import redis
from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created
from django.http import HttpResponse
from django.utils.translation import gettext as _
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from redis.client import Pipeline

from config.http import client_ip

logger = logging.getLogger(__name__)

# The *_created series double every counter for little use.
disable_created_metrics()

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_ROUND_TRIP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5)

# --- requests, database, cache ------------------------------------------------------

HTTP_REQUESTS = Counter("http_requests", "Requests answered", ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "http_request_duration_seconds", "Time to answer a request", ["method", "route"], buckets=_LATENCY_BUCKETS
)
DB_QUERIES = Counter("db_queries", "SQL statements executed", ["alias", "outcome"])
DB_DURATION = Histogram("db_query_duration_seconds", "SQL statement time", ["alias"], buckets=_ROUND_TRIP_BUCKETS)
CACHE_COMMANDS = Counter("cache_commands", "Redis commands and pipelines sent", ["command", "outcome"])
CACHE_DURATION = Histogram(
    "cache_command_duration_seconds", "Redis round-trip time", ["command"], buckets=_ROUND_TRIP_BUCKETS
)
DEPENDENCY_UNAVAILABLE = Counter(
    "dependency_unavailable", "Requests answered 503 because a dependency failed", ["dependency"]
)

# --- business -----------------------------------------------------------------------

SMS_SENT = Counter("sms_sent", "SMS code sends by outcome", ["backend", "purpose", "outcome"])
SMS_CODES_CHECKED = Counter("sms_codes_checked", "SMS codes checked", ["purpose", "outcome"])
LOGINS = Counter("logins", "Login attempts", ["method", "outcome"])
LOGIN_LOCKOUTS = Counter("login_lockouts", "Accounts (or unknown logins) locked after repeated failures")
TOP_UPS = Counter("wallet_top_ups", "Top-up orders by channel and status reached", ["channel", "status"])
NOTIFICATIONS = Counter("wallet_notifications", "Payment-channel notifications received", ["channel", "outcome"])
CHARGES = Counter("wallet_charges", "Charges made by client applications", ["application"])
REFUNDS = Counter("wallet_refunds", "Refunds of charges", ["application"])
CHARGED_AMOUNT = Counter("wallet_charged_amount", "Money charged, in currency units", ["application", "currency"])
REFUNDED_AMOUNT = Counter("wallet_refunded_amount", "Money refunded, in currency units", ["application", "currency"])
RECONCILIATION_MISMATCHES = Counter(
    "wallet_reconciliation_mismatches", "Differences found between our records and a channel's", ["channel", "kind"]
)

SMS_OUTCOMES = frozenset({"sent", "failed", "test", "cooldown", "limited"})
CODE_OUTCOMES = frozenset({"verified", "invalid", "exceeded"})
LOGIN_METHODS = frozenset({"password", "code"})
LOGIN_OUTCOMES = frozenset({"succeeded", "failed", "locked", "disabled", "rate_limited"})
NOTIFICATION_OUTCOMES = frozenset({"credited", "duplicate", "mismatch", "bad_signature", "ignored"})
# wallet.models.NotificationOutcome values, so the wallet can pass its own.
_NOTIFICATION_ALIASES = {"applied": "credited", "signature_invalid": "bad_signature"}
DEPENDENCIES = frozenset({"database", "cache"})


def _known(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else "other"


@functools.lru_cache(maxsize=2048)
def _series(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once per process: the hot paths (every request,
    statement, cache command and charge) would otherwise check and join the label values and
    take the metric's lock each time. The label sets are few (routes, commands, applications);
    the bound keeps an unexpected spread (a client's made-up HTTP method) from growing memory."""
    return metric.labels(*labels)


def _label(value: object) -> str:
    # Free-form labels (backend, channel, application…) are short names; cap them anyway.
    return str(value)[:64] or "unknown"


def sms_sent(*, backend: str, purpose: str, outcome: str) -> None:
    """One send attempt: ``sent``, ``failed`` (provider), ``test`` (test number), ``cooldown`` or ``limited``."""
    SMS_SENT.labels(_label(backend), _label(purpose), _known(outcome, SMS_OUTCOMES)).inc()


def sms_code_checked(*, purpose: str, outcome: str) -> None:
    """One code typed in: ``verified``, ``invalid`` (wrong or expired) or ``exceeded`` (attempts used up)."""
    SMS_CODES_CHECKED.labels(_label(purpose), _known(outcome, CODE_OUTCOMES)).inc()


def login_attempted(*, method: str, outcome: str) -> None:
    """One login by ``password`` or ``code``: ``succeeded``, ``failed``, ``locked``, ``disabled``, ``rate_limited``."""
    LOGINS.labels(_known(method, LOGIN_METHODS), _known(outcome, LOGIN_OUTCOMES)).inc()


def login_locked_out() -> None:
    """A failure that locked an account (or an unknown login) for ``ACCOUNTS_LOCKOUT_SECONDS``."""
    LOGIN_LOCKOUTS.inc()


def top_up_recorded(*, channel: str, status: str) -> None:
    """A top-up order reached ``status`` (created, paid, failed, closed…) on ``channel``; call after commit."""
    TOP_UPS.labels(_label(channel), _label(status)).inc()


def notification_received(*, channel: str, outcome: str) -> None:
    """A channel's payment notification: ``credited``, ``duplicate``, ``mismatch``, ``bad_signature`` or ``ignored``.

    ``wallet.models.NotificationOutcome`` values are accepted as they are
    (``applied`` is counted as ``credited``, ``signature_invalid`` as ``bad_signature``).
    """
    outcome = _NOTIFICATION_ALIASES.get(str(outcome), str(outcome))
    NOTIFICATIONS.labels(_label(channel), _known(outcome, NOTIFICATION_OUTCOMES)).inc()


def charge_recorded(*, application: str, amount: Decimal | None = None, currency: str = "") -> None:
    """A client application's charge was committed (``amount`` in currency units, if given)."""
    _series(CHARGES, _label(application)).inc()
    if amount is not None:
        _series(CHARGED_AMOUNT, _label(application), _label(currency)).inc(float(amount))


def refund_recorded(*, application: str, amount: Decimal | None = None, currency: str = "") -> None:
    """A refund of one of ``application``'s charges was committed."""
    REFUNDS.labels(_label(application)).inc()
    if amount is not None:
        REFUNDED_AMOUNT.labels(_label(application), _label(currency)).inc(float(amount))


def reconciliation_mismatch_found(*, channel: str, kind: str) -> None:
    """Reconciliation found one difference of ``kind`` (missing_here, missing_there, amount…) with ``channel``."""
    RECONCILIATION_MISMATCHES.labels(_label(channel), _label(kind)).inc()


def dependency_unavailable(*, dependency: str) -> None:
    """A request was answered 503 because the ``database`` or the ``cache`` failed."""
    DEPENDENCY_UNAVAILABLE.labels(_known(dependency, DEPENDENCIES)).inc()


# --- request metrics ------------------------------------------------------------------


class MetricsMiddleware:
    """Counts and times every request by URL pattern; installs the database timing once."""

    def __init__(self, get_response):
        self.get_response = get_response
        db_metrics_install()

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = "/" + match.route if match is not None else "<unmatched>"
        _series(HTTP_REQUESTS, request.method, route, str(response.status_code)).inc()
        _series(HTTP_DURATION, request.method, route).observe(time.perf_counter() - started)
        return response


# --- database -------------------------------------------------------------------------------


class _DbTimer:
    """An ``execute_wrapper``: counts and times each statement of one connection."""

    def __init__(self, alias: str):
        self.alias = alias
        # The labelled series, looked up once: every statement of every request passes here.
        self.ok = DB_QUERIES.labels(alias, "ok")
        self.error = DB_QUERIES.labels(alias, "error")
        self.duration = DB_DURATION.labels(alias)

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        counter = self.error
        try:
            result = execute(sql, params, many, context)
            counter = self.ok
            return result
        finally:
            counter.inc()
            self.duration.observe(time.perf_counter() - started)


def _db_instrument(connection) -> None:
    if not any(isinstance(wrapper, _DbTimer) for wrapper in connection.execute_wrappers):
        connection.execute_wrappers.append(_DbTimer(connection.alias))


def _on_connection_created(sender, connection, **kwargs) -> None:
    _db_instrument(connection)


def db_metrics_install() -> None:
    """Time every SQL statement (an ``execute_wrapper`` on each connection, new or open)."""
    connection_created.connect(_on_connection_created, dispatch_uid="config.metrics.db")
    for connection in connections.all(initialized_only=True):
        _db_instrument(connection)


# --- cache ------------------------------------------------------------------------------


@contextmanager
def _cache_timed(command: str) -> Iterator[None]:
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        _series(CACHE_COMMANDS, command, outcome).inc()
        _series(CACHE_DURATION, command).observe(time.perf_counter() - started)


class InstrumentedPipeline(Pipeline):
    def execute(self, raise_on_error: bool = True):
        with _cache_timed("PIPELINE"):
            return super().execute(raise_on_error)


class InstrumentedRedis(redis.Redis):
    """django-redis's ``REDIS_CLIENT_CLASS``: every command and pipeline counted and timed.

    Instrumenting the client rather than the cache backend also covers the Lua
    scripts and pipelines ``smscodes.store`` and ``config.ratelimit`` send.
    """

    def execute_command(self, *args, **options):
        with _cache_timed(str(args[0]).split(" ", 1)[0].upper() if args else "?"):
            return super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint=None):
        return InstrumentedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


# --- exposition ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> tuple:
    networks = []
    for entry in allowed:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS: %r is not an address or network; ignored", entry)
    return tuple(networks)


def metrics_access_allowed(request) -> bool:
    """From an allowed address, or with the bearer secret (compared in constant time)."""
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(settings.METRICS_ALLOWED_IPS)))


def metrics_registry():
    """Every worker's metrics under gunicorn (``PROMETHEUS_MULTIPROC_DIR``), else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_view(request):
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    if not metrics_access_allowed(request):
        return HttpResponse(_("Forbidden."), status=403, content_type="text/plain; charset=utf-8")
    response = HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
