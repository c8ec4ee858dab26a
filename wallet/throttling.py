"""The per-application rate limit on the client-application endpoints (``WALLET_CLIENT_RATE``)."""

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from config.ratelimit import parse_rate, rate_limit_hit
from wallet.clients import ClientPrincipal
from wallet.conf import wallet_settings


class ClientApplicationThrottle(BaseThrottle):
    """All keys of one application share one budget: one atomic cache counter per window."""

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        rate = str(wallet_settings.CLIENT_RATE).strip()
        if not rate or rate == "0" or not isinstance(request.auth, ClientPrincipal):
            return True
        limit, period = parse_rate(rate)
        if limit <= 0:
            return True
        result = rate_limit_hit(f"client-app:{request.auth.application.pk}", limit=limit, period=period)
        self._wait = result.retry_after
        return result.allowed

    def wait(self) -> float | None:
        return self._wait
