"""Error reports to Sentry, when ``SENTRY_DSN`` is set (nothing at all otherwise).

What an event may carry is decided here, not in Sentry's project settings:

- ``send_default_pii=False``: no user e-mail, IP, cookies;
- ``max_request_body_size="never"``: request bodies (passwords, codes,
  payment notifications) are never attached;
- ``include_local_variables=False``: a frame's locals would hold the very
  phone numbers, codes and tokens being handled;
- ``before_send`` (and ``before_send_transaction``, ``before_breadcrumb``)
  pass everything that remains — messages, exception texts, headers, query
  strings, breadcrumbs from log lines — through ``config.redact``.

The event is tagged with the ``request_id`` of ``config.logs`` so a report
leads to its log lines.
"""

from __future__ import annotations

from typing import cast

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import ignore_logger
from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

from config.redact import redact


def event_scrub(event: Event, hint: Hint | None = None) -> Event:
    """``before_send``: the event with phone numbers masked and secrets dropped."""
    logentry = event.get("logentry")
    if isinstance(logentry, dict) and logentry.get("params"):
        # A log call's arguments one by one ("%s", "135791") have no shape to
        # recognise a code by; the formatted text has ("code 135791").
        try:
            logentry.setdefault("formatted", logentry.get("message", "") % tuple(logentry["params"]))
        except (TypeError, ValueError):
            logentry.setdefault("formatted", logentry.get("message", ""))
        logentry.pop("params")
    return cast(Event, redact(event))


def breadcrumb_scrub(crumb: Breadcrumb, hint: BreadcrumbHint | None = None) -> Breadcrumb:
    return cast(Breadcrumb, redact(crumb))


def sentry_init(*, dsn: str, environment: str = "", release: str = "", traces_sample_rate: float = 0.0) -> None:
    """Start reporting to ``dsn``. Called from settings only when ``SENTRY_DSN`` is set."""
    # The per-request log line repeats what the exception's event already says.
    ignore_logger("config.request")
    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        traces_sample_rate=traces_sample_rate,
        before_send=event_scrub,
        before_send_transaction=event_scrub,
        before_breadcrumb=breadcrumb_scrub,
    )
