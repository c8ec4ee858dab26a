"""accounts.tokens: a new pair is built and signed in one step (``_pair_issue``), exactly as simplejwt would."""

import pytest
from rest_framework_simplejwt import state
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefreshToken

from accounts import tokens
from accounts.tokens import AccessToken, RefreshToken, tokens_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_issued_pair_carries_exactly_the_claims_of_simplejwts_pair():
    user = UserFactory()
    body = tokens_issue(user, device_id="d_test", auth_time=1_700_000_000.7)
    refresh, access = RefreshToken(body["refresh"]), AccessToken(body["access"])  # both verify

    reference = SimpleRefreshToken()
    for claim, value in (("user_id", str(user.pk)), ("sid", "d_test"), ("role", user.role), ("auth_time", 1)):
        reference[claim] = value
    assert list(refresh.payload) == list(reference.payload)
    assert list(access.payload) == list(reference.access_token.payload)

    assert (refresh["token_type"], access["token_type"]) == ("refresh", "access")
    for claim, value in (
        ("user_id", str(user.pk)),
        ("sid", "d_test"),
        ("role", user.role),
        ("auth_time", 1_700_000_000),
    ):
        assert refresh[claim] == access[claim] == value
    assert refresh["jti"] != access["jti"] and len(refresh["jti"]) == len(access["jti"]) == 32
    # One instant for both, kept to the microsecond (tokens_valid_after compares it exactly).
    assert refresh["iat"] == access["iat"] and isinstance(refresh["iat"], float)
    assert access["exp"] - int(access["iat"]) == body["access_expires_in"] == 15 * 60
    assert refresh["exp"] - int(refresh["iat"]) == body["refresh_expires_in"] == 14 * 24 * 3600
    assert body["token_type"] == "Bearer"


def test_the_hmac_signature_is_byte_for_byte_the_one_pyjwt_makes():
    payload = {"token_type": "access", "exp": 2_000_000_000, "iat": 1_700_000_000.123456, "jti": "a" * 32, "n": "名"}
    assert tokens._sign(payload) == state.token_backend.encode(payload)


def test_a_backend_that_adds_claims_signs_through_pyjwt(monkeypatch):
    backend = TokenBackend("HS256", signing_key=state.token_backend.signing_key, audience="wallet")
    monkeypatch.setattr(state, "token_backend", backend)
    assert tokens._hmac_signing(backend) is None
    signed = tokens._sign({"token_type": "access", "jti": "b" * 32})
    assert backend.decode(signed)["aud"] == "wallet"
