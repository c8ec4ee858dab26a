import time
from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from accounts.device_state import device_seen, seen_is_stale
from accounts.errors import AccountDisabled
from accounts.models import User
from accounts.selectors import AlsoRead, user_by_id, user_with_device_seen
from accounts.tokens import DEVICE_CLAIM, access_is_denied, token_issued_before_revocation
from config.errors import NotAuthenticated


class AccountDisabledFailure(AuthenticationFailed):
    """DRF's authentication failure, rendered as our ``AccountDisabled`` (403 account_disabled).

    DRF only handles its own exception types during authentication, so the
    domain error rides along in ``service_error`` for the exception handler.
    """

    service_error = AccountDisabled()


# Access tokens whose signature and claims were checked, by their exact text: a client sends the
# same token for up to its 15 minutes, and decoding it again is a tenth of a GET /me. Only the
# expiry can change its verdict, and it is checked on every use; revocation is checked as before.
_VERIFIED_MAX = 4096
_verified: dict[bytes, Any] = {}


class JWTAuthentication(SimpleJWTAuthentication):
    """Bearer JWT authentication with real revocation, for one query.

    On top of simplejwt's signature and expiry checks, an access token is
    refused (401 token_invalid) when its device (``sid``) has ended, or —
    for a token without a device — its ``jti`` is on the logout deny-list,
    or it was issued before the user's ``tokens_valid_after``. The user row
    and the device's state come in one prepared statement
    (``accounts.selectors.user_with_device_seen``): no cache read, since the
    database has to be asked for the user anyway and a join costs it less
    than a Redis round trip costs us. An inactive user gets 403 account_disabled.
    """

    www_authenticate_realm = "api"
    # Columns of another app read in the same statement (``accounts.selectors.AlsoRead``), set
    # on the instances of one hot view (``wallet.api.WalletView.get_authenticators``).
    also: AlsoRead | None = None

    def get_validated_token(self, raw_token: bytes) -> Any:
        token = _verified.get(raw_token)
        if token is not None:
            if float(token.payload.get("exp", 0)) > time.time():
                return token
            _verified.pop(raw_token, None)
        token = super().get_validated_token(raw_token)
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()  # the bound; the live tokens come back on their next use
        _verified[raw_token] = token
        return token

    def get_user(self, validated_token):
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        if user_id is None:
            raise InvalidToken()
        device_id = validated_token.get(DEVICE_CLAIM)
        if device_id is None:
            # Tokens minted without a device (simplejwt's for_user, tokens from before devices).
            if access_is_denied(validated_token.get(api_settings.JTI_CLAIM, "")):
                raise InvalidToken()
            return self._checked(user_by_id(user_id), validated_token)
        device_id = str(device_id)
        # One query answers everything: the user row and whether this device is theirs and live
        # (the database is the revocation record, so a logout counts from its commit on).
        user = user_with_device_seen(user_id, device_id, also=self.also)
        seen = getattr(user, "_device_seen", None)
        if user is not None and seen is None:
            raise InvalidToken()
        user = self._checked(user, validated_token)
        assert seen is not None  # a live device of this user: _checked let the user through
        if seen_is_stale(seen.timestamp()) and not device_seen(device_id):
            raise InvalidToken()
        return user

    @staticmethod
    def _checked(user, validated_token):
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
