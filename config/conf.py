"""Settings of the shared ground (``config``), read at call time so tests can override them."""

from typing import Any

from django.conf import settings


def trusted_proxy_count() -> int:
    """How many reverse proxies we trust to append to ``X-Forwarded-For`` (0: use ``REMOTE_ADDR``)."""
    return max(0, int(settings.TRUSTED_PROXY_COUNT))


def throttle_rates() -> dict[str, str]:
    """Rates of the API throttle scopes (``THROTTLE_*`` variables), by scope."""
    rates: Any = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES") or {}
    return {str(scope): str(rate) for scope, rate in rates.items()}
