"""Who is calling: one value built once per request and handed to services.

Services record the caller in security events, count per-IP limits with it
and check the permission of the staff member acting (``actor``). Doors build
it with ``Origin.from_request(request)``; management commands and tests use
``Origin.system()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from config.http import client_ip

if TYPE_CHECKING:  # typing only: config imports no app model at run time
    from django.contrib.auth.base_user import AbstractBaseUser

_CACHE_ATTR = "_config_origin"
USER_AGENT_MAX_LENGTH = 500


@dataclass(frozen=True)
class Origin:
    """The caller of a service: client ``ip`` ("" when unknown), ``user_agent``, and the ``actor``.

    ``actor`` is the authenticated person making the request (a staff member
    in the admin, the user themselves on the API and pages), or None.
    """

    ip: str
    user_agent: str
    actor: AbstractBaseUser | None = None

    @classmethod
    def from_request(cls, request: Any) -> Origin:
        """The origin of a Django ``HttpRequest`` or DRF ``Request``, computed once and cached on it.

        The IP is ``config.http.client_ip`` (the only parser of
        ``REMOTE_ADDR`` / ``X-Forwarded-For``): always a valid address or "".
        For a DRF request the actor is the user DRF authenticated.
        """
        cached = getattr(request, _CACHE_ATTR, None)
        if cached is not None:
            return cached
        http: HttpRequest = getattr(request, "_request", request)  # DRF wraps the HttpRequest
        user = getattr(request, "user", None)
        origin = cls(
            ip=client_ip(http),
            user_agent=str(http.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX_LENGTH],
            actor=user if user is not None and user.is_authenticated else None,
        )
        setattr(request, _CACHE_ATTR, origin)
        return origin

    @classmethod
    def system(cls, *, actor: AbstractBaseUser | None = None) -> Origin:
        """No request behind the call: a management command, a periodic job, a test."""
        return cls(ip="", user_agent="", actor=actor)
