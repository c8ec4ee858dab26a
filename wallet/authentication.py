"""``Authorization: Api-Key <key>`` for the app's own backend services (client applications).

``ClientKeyAuthentication(rechecked_scope=…)`` (the charge POST only) reads
the key's entry from the process's memory instead of the cache: the charge
statement checks the key and the scope again
(``wallet.clients.client_key_authenticate_in_process``).

Only the client-application endpoints (charges and refunds) use this class,
and they use nothing else: a person's Bearer token or browser session is no
credential there (401 ``api_key_invalid``). The people's endpoints do not
know this class, so a key is no credential on them (401 ``not_authenticated``).
"""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework_api_key.permissions import KeyParser

from wallet.clients import ClientPrincipal, client_key_authenticate, client_key_authenticate_in_process
from wallet.errors import ApiKeyInvalid


class ApiKeyInvalidFailure(AuthenticationFailed):
    """DRF's authentication failure, rendered as our ``ApiKeyInvalid`` (401 api_key_invalid).

    DRF only handles its own exception types during authentication, so the
    domain error rides along in ``service_error`` for the exception handler.
    """

    service_error = ApiKeyInvalid()


class ClientKeyAuthentication(BaseAuthentication):
    """Sets ``request.auth`` to a :class:`~wallet.clients.ClientPrincipal`; ``request.user`` stays anonymous."""

    keyword = KeyParser.keyword
    _parser = KeyParser()

    def __init__(self, *, rechecked_scope: str | None = None) -> None:
        # With ``rechecked_scope``: for a view whose own statement checks the key
        # (``ClientPrincipal.key_id``) and that scope again, so no cache call is needed.
        self.rechecked_scope = rechecked_scope

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ClientPrincipal]:
        raw_key = self._parser.get_from_authorization(request)
        if not raw_key:
            raise ApiKeyInvalidFailure()
        if self.rechecked_scope is None:
            principal = client_key_authenticate(raw_key=raw_key.strip())
        else:
            principal = client_key_authenticate_in_process(raw_key=raw_key.strip(), scope=self.rechecked_scope)
        if principal is None:
            raise ApiKeyInvalidFailure()
        return AnonymousUser(), principal

    def authenticate_header(self, request: Request) -> str:
        return self.keyword  # makes DRF answer 401 (not 403) and send WWW-Authenticate


def scope_required(scope: str) -> type[BasePermission]:
    """A permission class: the calling application's key must carry ``scope`` (else 403 permission_denied)."""

    class HasScope(BasePermission):
        message = _("This API key may not do this.")

        def has_permission(self, request: Request, view: Any) -> bool:
            return isinstance(request.auth, ClientPrincipal) and request.auth.has_scope(scope)

    HasScope.__name__ = HasScope.__qualname__ = f"HasScope_{scope}"
    return HasScope


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents the Api-Key scheme in /api/schema/."""

    target_class = "wallet.authentication.ClientKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: a client application's key (charges and refunds only).",
        }
