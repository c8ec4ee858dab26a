"""``/readyz``: may a load balancer send this process traffic?

200 only when the database answers, every migration on disk is applied, and
the cache answers; otherwise 503 naming what failed. ``/healthz``
(``config.views``) stays the humans' page of API.md.

Cheap by construction — at most one SQL query and one cache round trip:

- until migrations have been seen applied, the one query reads
  ``django_migrations`` (which also proves the database answers); the
  migration files are read from disk once per process;
- once they have, that answer is kept for the life of the process (a deploy
  that adds migrations starts new processes) and the query is ``SELECT 1``;
- the cache gets one short-lived ``SET``, which also proves it accepts writes.
"""

from __future__ import annotations

import functools
import threading

import structlog
from django.core.cache import cache
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = structlog.get_logger("config.health")

_migrated = threading.Event()


@functools.cache
def _migrations_on_disk() -> tuple[tuple[tuple[str, str], tuple[tuple[str, str], ...]], ...]:
    """Every migration node with what it replaces (a squash counts as applied via its parts)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return tuple((key, tuple(loader.graph.nodes[key].replaces or ())) for key in loader.graph.nodes)


def _migrations_pending(applied: set[tuple[str, str]]) -> list[str]:
    return [
        f"{app}.{name}"
        for (app, name), replaces in _migrations_on_disk()
        if (app, name) not in applied and not (replaces and all(r in applied for r in replaces))
    ]


def _database_ready() -> str:
    """``"ok"``, ``"migrations_pending"`` or ``"error"``; one query either way."""
    try:
        with connection.cursor() as cursor:
            if _migrated.is_set():
                cursor.execute("SELECT 1")
                cursor.fetchone()
                return "ok"
            cursor.execute("SELECT app, name FROM django_migrations")
            applied = {(app, name) for app, name in cursor.fetchall()}
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        logger.warning("readiness: database unavailable", error=f"{type(exc).__name__}: {exc}"[:300])
        return "error"
    pending = _migrations_pending(applied)
    if pending:
        logger.warning("readiness: migrations not applied", pending=pending[:10])
        return "migrations_pending"
    _migrated.set()
    return "ok"


def _cache_ready() -> str:
    try:
        cache.set("readyz", 1, timeout=10)
    except Exception as exc:
        logger.warning("readiness: cache unavailable", error=f"{type(exc).__name__}: {exc}"[:300])
        return "error"
    return "ok"


@never_cache
@require_GET
def readyz(request):
    parts = {"database": _database_ready(), "cache": _cache_ready()}
    if all(state == "ok" for state in parts.values()):
        return JsonResponse({"status": "ok", **parts})
    failed = ", ".join(name for name, state in parts.items() if state != "ok")
    body = {
        "status": "error",
        **parts,
        "code": "service_unavailable",
        "message": _("Unavailable: %(parts)s") % {"parts": failed},
    }
    return JsonResponse(body, status=503, json_dumps_params={"ensure_ascii": False})
