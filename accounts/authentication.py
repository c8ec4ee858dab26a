from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from accounts.errors import AccountDisabled
from accounts.models import User
from accounts.tokens import access_is_denied, token_issued_before_revocation
from config.errors import NotAuthenticated


class AccountDisabledFailure(AuthenticationFailed):
    """DRF's authentication failure, rendered as our ``AccountDisabled`` (403 account_disabled).

    DRF only handles its own exception types during authentication, so the
    domain error rides along in ``service_error`` for the exception handler.
    """

    service_error = AccountDisabled()


class JWTAuthentication(SimpleJWTAuthentication):
    """Bearer JWT authentication with real revocation.

    On top of simplejwt's signature and expiry checks, an access token is
    refused (401 token_invalid) when its ``jti`` is on the logout deny-list
    (one cache read) or it was issued before the user's ``tokens_valid_after``
    (checked on the user row that authentication loads anyway: one query).
    An inactive user gets 403 account_disabled.
    """

    www_authenticate_realm = "api"

    def get_user(self, validated_token):
        if access_is_denied(validated_token.get(api_settings.JTI_CLAIM, "")):
            raise InvalidToken()
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        if user_id is None:
            raise InvalidToken()
        user = self.user_model.objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
        if user is None or token_issued_before_revocation(validated_token.payload, user):
            raise InvalidToken()
        if not user.is_active:
            raise AccountDisabledFailure(AccountDisabled.default_message, code="user_inactive")
        return user


class JWTScheme(SimpleJWTScheme):
    """Documents the Bearer scheme in /api/schema/ (drf-spectacular matches classes exactly)."""

    target_class = "accounts.authentication.JWTAuthentication"
    name = "jwtAuth"


def authenticated_user(request: Any) -> User:
    """The signed-in ``User`` of a request that ``IsAuthenticated`` / ``login_required`` let through."""
    user = request.user
    if not isinstance(user, User):  # a door without the permission check: a bug, never a 500 to hide
        raise NotAuthenticated()
    return user
