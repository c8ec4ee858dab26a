"""JWTs: issue, refresh (rotate + blacklist), verify, and revoke.

simplejwt's settings, claims and token backend (its algorithm and key) are
the rules; a new pair is built and signed here in one step with exactly
simplejwt's claims (``_pair_issue``: the password login's hot path), and
every token is decoded and verified by simplejwt. This module adds what
API.md asks beyond its defaults:

- tokens carry ``role`` and ``auth_time`` (when the person last proved who
  they are: carried through refreshes, used for "recent login");
- ``iat`` keeps sub-second precision, so "every token issued before
  ``user.tokens_valid_after``" is exact: the Session returned by a password
  reset is issued in the same second as the reset and must stay valid;
- logout puts the access token's ``jti`` in a cache deny-list until it expires
  (``access_deny``) and blacklists the refresh token;
- a refresh token is rotated and the old one blacklisted with two INSERTs whose
  unique constraints make a concurrent second use of the same token fail;
- tokens carry ``sid``, the signed-in device (``accounts.models.Device``)
  they belong to: refreshing keeps it, ending it refuses every token of the
  family at once, and a rotated refresh token used again ends it (reuse
  detection, OAuth 2.0 Security BCP §4.14).

Refresh tokens are *not* written to simplejwt's OutstandingToken table when
issued (that would cost a query per login); a row is written when a token is
blacklisted, which is all the blacklist needs. Revoking every token of a user
goes through ``tokens_valid_after`` instead of a list of outstanding tokens.
"""

import datetime
import functools
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from jwt.utils import base64url_encode
from rest_framework_simplejwt import state
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken as SimpleAccessToken
from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefreshToken
from rest_framework_simplejwt.tokens import Token, UntypedToken
from rest_framework_simplejwt.utils import aware_utcnow, datetime_from_epoch, datetime_to_epoch

from accounts.device_state import device_seen, devices_end
from accounts.errors import AccountDisabled, TokenInvalid
from accounts.models import Device
from accounts.selectors import user_by_id

DENY_PREFIX = "jwt-deny:"


class RefreshTokenReused(TokenInvalid):
    """A rotated refresh token came back (401 token_invalid); its device has been ended."""

    def __init__(self, *, user: object, device_id: object = None) -> None:
        super().__init__()
        self.user = user
        self.device_id = device_id


def _precise_iat(token: Token, claim: str, at_time: datetime.datetime | None) -> None:
    # RFC 7519 NumericDate may be fractional; PyJWT accepts it.
    token.payload[claim] = round((at_time or token.current_time).timestamp(), 6)


class AccessToken(SimpleAccessToken):
    def set_iat(self, claim: str = "iat", at_time: datetime.datetime | None = None) -> None:
        _precise_iat(self, claim, at_time)


class RefreshToken(SimpleRefreshToken):
    access_token_class = AccessToken

    def set_iat(self, claim: str = "iat", at_time: datetime.datetime | None = None) -> None:
        _precise_iat(self, claim, at_time)

    def check_blacklist(self) -> None:
        # Checked by the INSERTs of token_refresh (and explicitly by token_verify).
        return None


DEVICE_CLAIM = "sid"


def tokens_issue(user, *, device_id: str, auth_time: float | None = None) -> dict:
    """The Tokens object of API.md for ``user`` on the signed-in device ``device_id`` (no query)."""
    body = _pair_issue(
        user_id=str(user.pk),
        device_id=device_id,
        role=user.role,
        auth_time=int(auth_time if auth_time is not None else time.time()),
    )
    # No cache write for the device: an access token's device is checked in the database, in the
    # query that loads its user (accounts.authentication); the cache's device state serves sessions.
    return body


# A login or a refresh signs two tokens: building them as simplejwt's RefreshToken (then its
# .access_token) does costs two uuid4s, several datetimes, claim copying and two trips through
# PyJWT's generic encoder, a tenth of a password login's time around the hash (issue 15). The
# same claims, in the same order and with the same times, are built here once; for the HMAC
# algorithms the signature is computed directly (see _sign). Decoding still goes through simplejwt.
_HMAC_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def _pair_issue(*, user_id: str, device_id: object, role: str, auth_time: int) -> dict:
    """A signed refresh token and its access token, as simplejwt's ``RefreshToken()`` + ``.access_token`` make them.

    Claims: ``token_type``, ``exp``, ``iat`` (sub-second, see the module's
    docstring), ``jti``, then ``user_id``, ``sid`` (left out when None),
    ``role`` and ``auth_time``. Both tokens are issued at the same instant and
    expire relative to it, as simplejwt's pair does.
    """
    now = aware_utcnow()
    iat = round(now.timestamp(), 6)
    access_lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    refresh_lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    type_claim, jti_claim = api_settings.TOKEN_TYPE_CLAIM, api_settings.JTI_CLAIM
    claims: dict[str, object] = {api_settings.USER_ID_CLAIM: user_id}
    if device_id is not None:
        claims[DEVICE_CLAIM] = device_id
    claims["role"] = role
    claims["auth_time"] = auth_time
    refresh = {
        type_claim: "refresh",
        "exp": datetime_to_epoch(now + refresh_lifetime),
        "iat": iat,
        jti_claim: uuid.uuid4().hex,
        **claims,
    }
    access = {
        type_claim: "access",
        "exp": datetime_to_epoch(now + access_lifetime),
        "iat": iat,
        jti_claim: uuid.uuid4().hex,
        **claims,
    }
    return {
        "token_type": "Bearer",
        "access": _sign(access),
        "access_expires_in": int(access_lifetime.total_seconds()),
        "refresh": _sign(refresh),
        "refresh_expires_in": int(refresh_lifetime.total_seconds()),
    }


@functools.lru_cache(maxsize=4)
def _hmac_signing(backend: TokenBackend) -> tuple[bytes, bytes, Callable[..., Any]] | None:
    """The encoded header, key and digest of ``backend`` when _sign may compute its HMAC itself."""
    digest = _HMAC_DIGESTS.get(backend.algorithm)
    if digest is None or backend.audience is not None or backend.issuer is not None or backend.json_encoder:
        return None  # claims added or encoded differently, or an asymmetric key: PyJWT does it all
    # PyJWT's own header for this algorithm (and its key checks, once): a token signed by _sign is
    # byte for byte the one backend.encode makes (tests/accounts/test_tokens.py holds it to that).
    header = backend.encode({}).split(".", 1)[0].encode("ascii")
    return header, backend.prepared_signing_key, digest


def _sign(payload: dict) -> str:
    """``payload`` as a JWT signed by simplejwt's token backend (``SIMPLE_JWT["ALGORITHM"]``, its key)."""
    backend = state.token_backend  # read at call time, as simplejwt's Token does
    signing = _hmac_signing(backend)
    if signing is None:
        return backend.encode(payload)
    header, key, digest = signing
    # What PyJWT's encode does for HS*: compact JSON, base64url without padding, HMAC of header.payload.
    signing_input = header + b"." + base64url_encode(json.dumps(payload, separators=(",", ":")).encode())
    return (signing_input + b"." + base64url_encode(hmac.new(key, signing_input, digest).digest())).decode("ascii")


def token_issued_before_revocation(payload, user) -> bool:
    valid_after = user.tokens_valid_after
    return valid_after is not None and float(payload.get("iat", 0)) < valid_after.timestamp()


def _savepoint():
    # Inside a transaction a failed INSERT must roll back to a savepoint; in
    # autocommit (a normal request) it is its own transaction already, and an
    # atomic block would only add BEGIN/COMMIT round trips to the hot path.
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


def _blacklist(token: RefreshToken, *, user) -> bool:
    """Blacklist ``token``; False if it already was (a reuse)."""
    jti = token[api_settings.JTI_CLAIM]
    try:
        with _savepoint():
            outstanding = OutstandingToken.objects.create(
                jti=jti,
                user=user,
                token=str(token.token, "ascii") if isinstance(token.token, bytes) else str(token.token),
                created_at=datetime_from_epoch(int(token["iat"])),
                expires_at=datetime_from_epoch(token["exp"]),
            )
    except IntegrityError:
        # Already listed: by an earlier blacklisting, or by simplejwt's own
        # for_user() (test helpers and other code may issue tokens that way).
        outstanding = OutstandingToken.objects.get(jti=jti)
    try:
        with _savepoint():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        return False
    return True


def _decode_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # type: ignore[arg-type] # simplejwt annotates the raw token as Token
    except TokenError as exc:
        raise TokenInvalid() from exc


def token_refresh(*, refresh: str, ip: str = "") -> dict:
    """Rotate ``refresh``: new Tokens on the same device, the old refresh token blacklisted.

    Refused with TokenInvalid when the token is bad, expired, issued before
    the user's ``tokens_valid_after``, its device has ended, or its user is
    gone; AccountDisabled when the user is inactive. A token already rotated
    (blacklisted) is a reuse: someone else holds a copy, so its device ends,
    and with it the newer tokens it was rotated into. The new tokens carry
    the user's current role and the original ``auth_time``.
    Costs the user row, one UPDATE (the device seen now, from ``ip``) and two
    INSERTs.
    """
    old = _decode_refresh(refresh)
    user = user_by_id(old.get(api_settings.USER_ID_CLAIM))
    if user is None or token_issued_before_revocation(old.payload, user):
        raise TokenInvalid()
    if not user.is_active:
        raise AccountDisabled()
    device_id = old.get(DEVICE_CLAIM)
    if device_id is not None and not device_seen(str(device_id), ip=ip or None):
        raise TokenInvalid()
    if not _blacklist(old, user=user):
        if device_id is not None:
            devices_end(Device.objects.filter(pk=device_id, user=user), reason="refresh_reused")
        raise RefreshTokenReused(user=user, device_id=device_id)
    return _pair_issue(
        user_id=str(user.pk),
        device_id=device_id,
        role=user.role,
        auth_time=old.get("auth_time", int(old["iat"])),
    )


def refresh_revoke(*, refresh: str, user) -> None:
    """Blacklist ``user``'s refresh token; a bad, expired or foreign token is ignored."""
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type] # as above
    except TokenError:
        return
    if str(token.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
        return
    _blacklist(token, user=user)


def access_deny(*, jti: str, exp: int) -> None:
    """Refuse the access token ``jti`` from now until it expires anyway."""
    ttl = int(exp - time.time()) + 1
    if ttl > 0:
        cache.set(DENY_PREFIX + jti, 1, timeout=ttl)


def access_is_denied(jti: str) -> bool:
    return cache.get(DENY_PREFIX + jti) is not None


def token_verify(*, token: str) -> dict:
    """``{"valid": True, "user_id", "expires_at"}`` for a live access or refresh token.

    A token is live when its signature and expiry are good, it is not revoked
    (deny-list, blacklist, ``tokens_valid_after``) and its user is active;
    otherwise TokenInvalid.
    """
    try:
        untyped = UntypedToken(token)  # type: ignore[arg-type] # as above
    except TokenError as exc:
        raise TokenInvalid() from exc
    payload = untyped.payload
    kind = payload.get(api_settings.TOKEN_TYPE_CLAIM)
    jti = payload.get(api_settings.JTI_CLAIM)
    if kind not in ("access", "refresh") or not jti:
        raise TokenInvalid()
    if kind == "access" and access_is_denied(jti):
        raise TokenInvalid()
    device_id = payload.get(DEVICE_CLAIM)
    if device_id is not None and not Device.objects.filter(pk=device_id, ended_at__isnull=True).exists():
        raise TokenInvalid()
    user_id = payload.get(api_settings.USER_ID_CLAIM)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    if user is None or not user.is_active or token_issued_before_revocation(payload, user):
        raise TokenInvalid()
    if kind == "refresh" and BlacklistedToken.objects.filter(token__jti=jti).exists():
        raise TokenInvalid()
    return {"valid": True, "user_id": user.pk, "expires_at": datetime_from_epoch(payload["exp"])}
