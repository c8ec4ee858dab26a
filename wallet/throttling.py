"""The per-application rate limit on the client-application endpoints (``WALLET_CLIENT_RATE``)."""

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from config.ratelimit import rate_parse, ratelimit_hit
from wallet.clients import ClientPrincipal
from wallet.conf import wallet_settings


class ClientApplicationThrottle(BaseThrottle):
    """All keys of one application share one budget: one atomic cache counter per window.

    ``WALLET_CLIENT_RATE`` is a ``config.ratelimit`` rate (``"6000/m"``,
    ``"100/s"``); ``"0"`` or ``"0/m"`` switches it off (no cache round trip).
    """

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        text = str(wallet_settings.CLIENT_RATE).strip()
        if text in ("", "0") or not isinstance(request.auth, ClientPrincipal):
            return True
        result = ratelimit_hit(scope="client-app", key=str(request.auth.application.pk), rate=rate_parse(text))
        self._wait = result.retry_after
        return result.allowed

    def wait(self) -> float | None:
        return self._wait
