"""API.md "Auth": every route and error code, through the HTTP API."""

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import Device, SecurityEvent, User
from config.origin import Origin
from smscodes.services import sms_code_send, sms_code_verify
from tests.factories import PASSWORD, UserFactory
from tests.helpers import CONSENT, assert_api_error
from tests.smscodes.utils import last_code_for

pytestmark = pytest.mark.django_db

NEW_PHONE = "+8613800138000"
STRONG = "Blue-Kettle-42"
AGREED = {"consent": CONSENT}


def code_for(phone: str, purpose: str) -> str:
    sms_code_send(phone=phone, purpose=purpose, origin=Origin(ip="10.0.0.9", user_agent=""))
    return last_code_for(phone)


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def login(client, login_name, password=PASSWORD):
    return client.post("/api/v1/auth/login/", {"login": login_name, "password": password})


def assert_session(body, user):
    assert body["user"]["id"] == user.pk
    tokens = body["tokens"]
    assert tokens["token_type"] == "Bearer"
    assert tokens["access_expires_in"] == 900
    assert tokens["refresh_expires_in"] == 14 * 24 * 3600
    assert tokens["access"] and tokens["refresh"]


# --- register ------------------------------------------------------------------------------


def test_register_with_code_returns_session_and_a_usable_token(api_client):
    code = code_for("138 0013 8000", "register")
    response = api_client.post(
        "/api/v1/auth/register/",
        {"phone": "13800138000", "code": code, "password": STRONG, "nickname": "Ann", "gender": "female", **AGREED},
    )
    assert response.status_code == 201, response.json()
    user = User.objects.get(phone=NEW_PHONE)
    assert_session(response.json(), user)
    assert response.json()["user"]["phone"] == NEW_PHONE
    assert response.json()["user"]["has_password"] is True
    me = bearer(response.json()["tokens"]["access"]).get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["nickname"] == "Ann"
    assert SecurityEvent.objects.filter(user=user, kind="registered").exists()


def test_register_with_form_body_and_verification_token_without_password(api_client):
    verification = sms_code_verify(
        phone=NEW_PHONE, purpose="register", code=code_for(NEW_PHONE, "register"), origin=Origin.system()
    )
    response = api_client.post(
        "/api/v1/auth/register",  # no trailing slash: still served, body kept
        {"phone": NEW_PHONE, "verification_token": verification.verification_token, **AGREED},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["user"]["has_password"] is False
    assert not User.objects.get(phone=NEW_PHONE).has_usable_password()


def test_register_ignores_role(api_client):
    code = code_for(NEW_PHONE, "register")
    response = api_client.post(
        "/api/v1/auth/register/", {"consent": CONSENT, "phone": NEW_PHONE, "code": code, "role": "admin"}
    )
    assert response.status_code == 201
    assert response.json()["user"]["role"] == "normal_user"
    user = User.objects.get(phone=NEW_PHONE)
    assert user.role == "normal_user"
    assert list(user.groups.values_list("name", flat=True)) == ["normal_user"]


def test_register_refuses_weak_password_without_burning_the_code(api_client):
    code = code_for(NEW_PHONE, "register")
    response = api_client.post(
        "/api/v1/auth/register/", {"consent": CONSENT, "phone": NEW_PHONE, "code": code, "password": "12345678"}
    )
    assert_api_error(response, 400, "validation_error", fields=["password"])
    # One message naming every problem (a client that shows the first message shows them all).
    assert response.json()["fields"]["password"] == ["密码太弱：包含字母和数字，不能是常见密码。"]
    response = api_client.post(
        "/api/v1/auth/register/", {"consent": CONSENT, "phone": NEW_PHONE, "code": code, "password": STRONG}
    )
    assert response.status_code == 201


def test_register_wrong_code(api_client):
    code = code_for(NEW_PHONE, "register")
    wrong = "000000" if code != "000000" else "111111"
    response = api_client.post("/api/v1/auth/register/", {"consent": CONSENT, "phone": NEW_PHONE, "code": wrong})
    assert_api_error(response, 400, "code_invalid")
    assert not User.objects.exists()


def test_register_code_attempts_exceeded(api_client, settings):
    code = code_for(NEW_PHONE, "register")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(settings.SMS_CODE_MAX_ATTEMPTS):
        api_client.post("/api/v1/auth/register/", {"consent": CONSENT, "phone": NEW_PHONE, "code": wrong})
    response = api_client.post("/api/v1/auth/register/", {"consent": CONSENT, "phone": NEW_PHONE, "code": code})
    assert_api_error(response, 400, "code_attempts_exceeded")


def test_register_bad_verification_token(api_client):
    response = api_client.post(
        "/api/v1/auth/register/", {"consent": CONSENT, "phone": NEW_PHONE, "verification_token": "forged"}
    )
    assert_api_error(response, 400, "verification_token_invalid")


def test_register_needs_code_or_token(api_client):
    response = api_client.post("/api/v1/auth/register/", {"consent": CONSENT, "phone": NEW_PHONE})
    assert_api_error(response, 400, "validation_error", fields=["code"])


def test_register_invalid_phone(api_client):
    response = api_client.post("/api/v1/auth/register/", {"consent": CONSENT, "phone": "12345", "code": "123456"})
    assert_api_error(response, 400, "invalid_phone")


def test_register_phone_taken(api_client):
    UserFactory(phone=NEW_PHONE)
    response = api_client.post(
        "/api/v1/auth/register/", {"consent": CONSENT, "phone": "138 0013 8000", "code": "123456"}
    )
    assert_api_error(response, 409, "phone_taken")


def test_register_username_taken_case_insensitively(api_client):
    UserFactory(username="Alice")
    code = code_for(NEW_PHONE, "register")
    response = api_client.post(
        "/api/v1/auth/register/", {"consent": CONSENT, "phone": NEW_PHONE, "code": code, "username": "alice"}
    )
    assert_api_error(response, 409, "username_taken")


def test_register_phone_is_required_by_default(api_client):
    response = api_client.post("/api/v1/auth/register/", {"consent": CONSENT, "username": "alice", "password": STRONG})
    assert_api_error(response, 400, "validation_error", fields=["phone"])


def test_register_username_and_password_alone_when_phone_not_required(api_client, settings):
    settings.ACCOUNTS_PHONE_REQUIRED = False
    response = api_client.post("/api/v1/auth/register/", {"consent": CONSENT, "username": "alice", "password": STRONG})
    assert response.status_code == 201, response.json()
    assert response.json()["user"]["phone"] is None
    assert login(APIClient(), "ALICE", STRONG).status_code == 200
    response = api_client.post("/api/v1/auth/register/", {"consent": CONSENT, "username": "bob"})
    assert_api_error(response, 400, "validation_error", fields=["password"])


# --- password login ---------------------------------------------------------------------------


@pytest.mark.parametrize("login_name", ["13900000000", "+86 139 0000 0000", "008613900000000", "Alice", "alice"])
def test_login_by_phone_in_any_format_or_username(api_client, login_name):
    user = UserFactory(phone="+8613900000000", username="Alice")
    response = login(api_client, login_name)
    assert response.status_code == 200, response.json()
    assert_session(response.json(), user)
    user.refresh_from_db()
    assert user.last_login is not None
    assert SecurityEvent.objects.filter(user=user, kind="login_succeeded").exists()


def test_login_tokens_carry_the_role(api_client):
    from rest_framework_simplejwt.tokens import AccessToken

    UserFactory(phone="+8613900000000", role="vip_user")
    tokens = login(api_client, "13900000000").json()["tokens"]
    assert AccessToken(tokens["access"])["role"] == "vip_user"


def test_unknown_account_and_wrong_password_get_identical_answers(api_client):
    UserFactory(phone="+8613900000000")
    wrong = login(api_client, "13900000000", "Wrong-pass-1")
    unknown = login(api_client, "13900000001", "Wrong-pass-1")
    no_such_name = login(api_client, "nobody", "Wrong-pass-1")
    assert_api_error(wrong, 401, "invalid_credentials")
    assert wrong.status_code == unknown.status_code == no_such_name.status_code
    assert wrong.json() == unknown.json() == no_such_name.json()
    assert SecurityEvent.objects.filter(kind="login_failed").count() == 3


def test_every_failed_login_hashes_the_password_once_whether_the_account_exists_or_not(api_client, monkeypatch):
    # Equal work, so equal time: an attacker cannot tell real accounts by the delay.
    from django.contrib.auth.hashers import MD5PasswordHasher

    hashed = []
    original = MD5PasswordHasher.encode
    monkeypatch.setattr(MD5PasswordHasher, "encode", lambda self, *a, **k: hashed.append(1) or original(self, *a, **k))
    UserFactory(phone="+8613900000000")
    UserFactory(phone="+8613900000002", password=None)
    for name in ("13900000000", "13900000001", "nobody", "13900000002"):  # wrong, unknown ×2, no password
        hashed.clear()
        assert_api_error(login(api_client, name, "Wrong-pass-1"), 401, "invalid_credentials")
        assert len(hashed) == 1, name


def test_password_less_account_cannot_log_in_by_password(api_client):
    UserFactory(phone="+8613900000000", password=None)
    assert_api_error(login(api_client, "13900000000", ""), 400, "validation_error", fields=["password"])
    assert_api_error(login(api_client, "13900000000", "anything-1"), 401, "invalid_credentials")


def test_login_disabled_account(api_client):
    UserFactory(phone="+8613900000000", is_active=False)
    assert_api_error(login(api_client, "13900000000", "Wrong-pass-1"), 401, "invalid_credentials")
    assert_api_error(login(api_client, "13900000000"), 403, "account_disabled")


def test_lockout_reached_then_locked_even_with_the_right_password(api_client, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 3
    settings.ACCOUNTS_LOCKOUT_SECONDS = 900
    user = UserFactory(phone="+8613900000000")
    for _ in range(3):
        assert_api_error(login(api_client, "13900000000", "Wrong-pass-1"), 401, "invalid_credentials")
    body = assert_api_error(login(api_client, "13900000000"), 429, "account_locked")
    assert 890 <= body["retry_after"] <= 900
    assert SecurityEvent.objects.filter(user=user, kind="login_locked").exists()
    # Another spelling of the same account is the same account.
    assert_api_error(login(api_client, "+86 139 0000 0000"), 429, "account_locked")


def test_lockout_ends_when_the_window_passes(api_client, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 2
    settings.ACCOUNTS_LOCKOUT_SECONDS = 60
    UserFactory(phone="+8613900000000")
    with time_machine.travel("2026-11-21 10:00:00Z", tick=False) as traveller:
        login(api_client, "13900000000", "Wrong-pass-1")
        login(api_client, "13900000000", "Wrong-pass-1")
        assert_api_error(login(api_client, "13900000000"), 429, "account_locked")
        traveller.shift(61)
        assert login(api_client, "13900000000").status_code == 200


def test_unknown_accounts_lock_like_real_ones(api_client, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        login(api_client, "ghost", "Wrong-pass-1")
    assert_api_error(login(api_client, "ghost", "Wrong-pass-1"), 429, "account_locked")


def test_successful_login_resets_the_failure_count(api_client, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 3
    UserFactory(phone="+8613900000000")
    for _ in range(2):
        login(api_client, "13900000000", "Wrong-pass-1")
    assert login(api_client, "13900000000").status_code == 200
    for _ in range(2):
        login(api_client, "13900000000", "Wrong-pass-1")
    assert login(api_client, "13900000000").status_code == 200


def test_login_is_throttled_per_client_ip(frozen_clock, api_client, settings):
    settings.ACCOUNTS_LOGIN_IP_RATE = "3/m"
    UserFactory(phone="+8613900000000")
    for _ in range(3):
        login(api_client, "someone-else", "Wrong-pass-1")
    assert_api_error(login(api_client, "13900000000"), 429, "rate_limited")
    other_ip = APIClient(REMOTE_ADDR="10.1.2.3")
    assert login(other_ip, "13900000000").status_code == 200


def test_login_validation_error(api_client):
    assert_api_error(api_client.post("/api/v1/auth/login/", {}), 400, "validation_error", fields=["login", "password"])


# --- code login --------------------------------------------------------------------------------


def test_login_by_code(api_client):
    user = UserFactory(phone=NEW_PHONE, password=None)
    response = api_client.post(
        "/api/v1/auth/login/code/", {"phone": "13800138000", "code": code_for(NEW_PHONE, "login")}
    )
    assert response.status_code == 200, response.json()
    assert_session(response.json(), user)


def test_login_by_code_errors(api_client, settings):
    settings.ACCOUNTS_CODE_LOGIN_SIGNS_UP = False
    assert_api_error(
        api_client.post("/api/v1/auth/login/code/", {"phone": NEW_PHONE, "code": "123456"}), 404, "phone_not_registered"
    )
    settings.ACCOUNTS_CODE_LOGIN_SIGNS_UP = True
    user = UserFactory(phone=NEW_PHONE)
    code = code_for(NEW_PHONE, "login")
    wrong = "000000" if code != "000000" else "111111"
    assert_api_error(
        api_client.post("/api/v1/auth/login/code/", {"phone": NEW_PHONE, "code": wrong}), 400, "code_invalid"
    )
    for _ in range(settings.SMS_CODE_MAX_ATTEMPTS):
        api_client.post("/api/v1/auth/login/code/", {"phone": NEW_PHONE, "code": wrong})
    assert_api_error(
        api_client.post("/api/v1/auth/login/code/", {"phone": NEW_PHONE, "code": code}), 400, "code_attempts_exceeded"
    )
    assert_api_error(
        api_client.post("/api/v1/auth/login/code/", {"phone": NEW_PHONE, "verification_token": "x"}),
        400,
        "verification_token_invalid",
    )
    assert user.is_active
    UserFactory(phone="+8613800138001", is_active=False)
    code = code_for("+8613800138001", "login")
    response = api_client.post("/api/v1/auth/login/code/", {"phone": "+8613800138001", "code": code})
    assert_api_error(response, 403, "account_disabled")


def test_failed_code_logins_are_security_events(api_client):
    user = UserFactory(phone=NEW_PHONE)
    code = code_for(NEW_PHONE, "login")
    api_client.post("/api/v1/auth/login/code/", {"phone": NEW_PHONE, "code": "000000" if code != "000000" else "1"})
    event = SecurityEvent.objects.get(user=user, kind="login_failed")
    assert event.detail == {"method": "code", "reason": "code_invalid"}
    assert api_client.post("/api/v1/auth/login/code/", {"phone": NEW_PHONE, "code": code}).status_code == 200
    assert SecurityEvent.objects.filter(user=user, kind="login_succeeded").exists()


# --- tokens ---------------------------------------------------------------------------------------


def test_refresh_rotates_and_blacklists_the_old_refresh_token(api_client):
    UserFactory(phone=NEW_PHONE)
    tokens = login(api_client, NEW_PHONE).json()["tokens"]
    response = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert response.status_code == 200, response.json()
    new = response.json()
    assert set(new) == {"token_type", "access", "access_expires_in", "refresh", "refresh_expires_in"}
    assert new["refresh"] != tokens["refresh"]
    assert bearer(new["access"]).get("/api/v1/me/").status_code == 200
    newer = api_client.post("/api/v1/auth/token/refresh/", {"refresh": new["refresh"]})
    assert newer.status_code == 200, newer.json()


def test_a_reused_refresh_token_ends_its_device_and_the_tokens_it_was_rotated_into(api_client):
    """Issue 10 item 6: reuse detection (OAuth 2.0 Security BCP §4.14)."""
    user = UserFactory(phone=NEW_PHONE)
    tokens = login(api_client, NEW_PHONE).json()["tokens"]
    other = login(APIClient(), NEW_PHONE).json()["tokens"]  # another sign-in, untouched
    new = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).json()
    assert bearer(new["access"]).get("/api/v1/me/").status_code == 200
    again = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert_api_error(again, 401, "token_invalid")
    assert_api_error(bearer(new["access"]).get("/api/v1/me/"), 401, "token_invalid")
    assert_api_error(api_client.post("/api/v1/auth/token/refresh/", {"refresh": new["refresh"]}), 401, "token_invalid")
    assert bearer(other["access"]).get("/api/v1/me/").status_code == 200
    assert api_client.post("/api/v1/auth/token/refresh/", {"refresh": other["refresh"]}).status_code == 200
    event = SecurityEvent.objects.get(user=user, kind="refresh_reused")
    assert Device.objects.get(pk=event.detail["device"]).end_reason == "refresh_reused"


def test_refresh_carries_the_current_role_and_the_login_time(api_client):
    from rest_framework_simplejwt.tokens import AccessToken

    user = UserFactory(phone=NEW_PHONE)
    tokens = login(api_client, NEW_PHONE).json()["tokens"]
    auth_time = AccessToken(tokens["access"])["auth_time"]
    user.role = "creator"
    user.save()
    new = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).json()
    access = AccessToken(new["access"])
    assert access["role"] == "creator"
    assert access["auth_time"] == auth_time


def test_refresh_refuses_garbage_and_access_tokens(api_client):
    UserFactory(phone=NEW_PHONE)
    tokens = login(api_client, NEW_PHONE).json()["tokens"]
    assert_api_error(api_client.post("/api/v1/auth/token/refresh/", {"refresh": "nope"}), 401, "token_invalid")
    assert_api_error(
        api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["access"]}), 401, "token_invalid"
    )
    assert_api_error(api_client.post("/api/v1/auth/token/refresh/", {}), 400, "validation_error", fields=["refresh"])


def test_refresh_of_a_disabled_user(api_client):
    user = UserFactory(phone=NEW_PHONE)
    tokens = login(api_client, NEW_PHONE).json()["tokens"]
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_api_error(
        api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}), 403, "account_disabled"
    )


def test_expired_access_token_is_refused(api_client):
    UserFactory(phone=NEW_PHONE)
    with time_machine.travel("2026-11-21 10:00:00Z", tick=False):
        access = login(api_client, NEW_PHONE).json()["tokens"]["access"]
    with time_machine.travel("2026-11-21 10:16:00Z", tick=False):
        assert_api_error(bearer(access).get("/api/v1/me/"), 401, "token_invalid")


def test_verify_access_and_refresh_tokens(api_client):
    user = UserFactory(phone=NEW_PHONE)
    tokens = login(api_client, NEW_PHONE).json()["tokens"]
    for token in (tokens["access"], tokens["refresh"]):
        response = api_client.post("/api/v1/auth/token/verify/", {"token": token})
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["valid"] is True and body["user_id"] == user.pk
        assert body["expires_at"].endswith("Z")
    assert_api_error(api_client.post("/api/v1/auth/token/verify/", {"token": "x.y.z"}), 401, "token_invalid")


def test_verify_refuses_revoked_tokens(api_client):
    UserFactory(phone=NEW_PHONE)
    tokens = login(api_client, NEW_PHONE).json()["tokens"]
    assert bearer(tokens["access"]).post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}).status_code == 204
    for token in (tokens["access"], tokens["refresh"]):
        assert_api_error(api_client.post("/api/v1/auth/token/verify/", {"token": token}), 401, "token_invalid")


# --- logout ---------------------------------------------------------------------------------------


def test_logout_then_the_same_access_and_refresh_tokens_are_refused(api_client):
    user = UserFactory(phone=NEW_PHONE)
    tokens = login(api_client, NEW_PHONE).json()["tokens"]
    other = login(APIClient(), NEW_PHONE).json()["tokens"]
    client = bearer(tokens["access"])
    assert client.get("/api/v1/me/").status_code == 200
    assert client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}).status_code == 204
    assert_api_error(client.get("/api/v1/me/"), 401, "token_invalid")
    assert_api_error(
        api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}), 401, "token_invalid"
    )
    # Another device is not affected.
    assert bearer(other["access"]).get("/api/v1/me/").status_code == 200
    assert SecurityEvent.objects.filter(user=user, kind="logout").exists()


def test_logout_all_devices_refuses_every_token_of_the_user(api_client):
    UserFactory(phone=NEW_PHONE)
    first = login(api_client, NEW_PHONE).json()["tokens"]
    second = login(APIClient(), NEW_PHONE).json()["tokens"]
    response = bearer(first["access"]).post("/api/v1/auth/logout/", {"all_devices": True}, format="json")
    assert response.status_code == 204
    for tokens in (first, second):
        assert_api_error(bearer(tokens["access"]).get("/api/v1/me/"), 401, "token_invalid")
        assert_api_error(
            api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}), 401, "token_invalid"
        )
    assert login(api_client, NEW_PHONE).status_code == 200  # a new login works


def test_logout_with_form_body(api_client):
    UserFactory(phone=NEW_PHONE)
    tokens = login(api_client, NEW_PHONE).json()["tokens"]
    response = bearer(tokens["access"]).post("/api/v1/auth/logout/", {"all_devices": "true"}, format="multipart")
    assert response.status_code == 204
    assert_api_error(bearer(tokens["access"]).get("/api/v1/me/"), 401, "token_invalid")


def test_logout_needs_authentication(api_client):
    assert_api_error(api_client.post("/api/v1/auth/logout/"), 401, "not_authenticated")


# --- password reset and change ---------------------------------------------------------------------


def test_password_reset_refuses_every_older_access_and_refresh_token(api_client):
    user = UserFactory(phone=NEW_PHONE)
    older = [login(APIClient(), NEW_PHONE).json()["tokens"] for _ in range(2)]
    code = code_for(NEW_PHONE, "reset_password")
    response = api_client.post(
        "/api/v1/auth/password/reset/", {"phone": "13800138000", "code": code, "new_password": STRONG}
    )
    assert response.status_code == 200, response.json()
    assert_session(response.json(), user)
    for tokens in older:
        assert_api_error(bearer(tokens["access"]).get("/api/v1/me/"), 401, "token_invalid")
        assert_api_error(
            api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}), 401, "token_invalid"
        )
    new = response.json()["tokens"]
    assert bearer(new["access"]).get("/api/v1/me/").status_code == 200
    assert api_client.post("/api/v1/auth/token/refresh/", {"refresh": new["refresh"]}).status_code == 200
    assert login(api_client, NEW_PHONE, STRONG).status_code == 200
    assert_api_error(login(api_client, NEW_PHONE, PASSWORD), 401, "invalid_credentials")
    assert SecurityEvent.objects.filter(user=user, kind="password_reset").exists()


def test_password_reset_lifts_the_lockout(api_client, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 2
    UserFactory(phone=NEW_PHONE)
    for _ in range(2):
        login(api_client, NEW_PHONE, "Wrong-pass-1")
    code = code_for(NEW_PHONE, "reset_password")
    api_client.post("/api/v1/auth/password/reset/", {"phone": NEW_PHONE, "code": code, "new_password": STRONG})
    assert login(api_client, NEW_PHONE, STRONG).status_code == 200


def test_password_reset_errors(api_client):
    assert_api_error(
        api_client.post("/api/v1/auth/password/reset/", {"phone": NEW_PHONE, "code": "123456", "new_password": STRONG}),
        404,
        "phone_not_registered",
    )
    UserFactory(phone=NEW_PHONE)
    code = code_for(NEW_PHONE, "reset_password")
    weak = api_client.post("/api/v1/auth/password/reset/", {"phone": NEW_PHONE, "code": code, "new_password": "short"})
    assert_api_error(weak, 400, "validation_error", fields=["new_password"])
    wrong = "000000" if code != "000000" else "111111"
    bad = api_client.post("/api/v1/auth/password/reset/", {"phone": NEW_PHONE, "code": wrong, "new_password": STRONG})
    assert_api_error(bad, 400, "code_invalid")
    register_code = code_for("+8613800138001", "register")
    other_purpose = api_client.post(
        "/api/v1/auth/password/reset/", {"phone": NEW_PHONE, "code": register_code, "new_password": STRONG}
    )
    assert_api_error(other_purpose, 400, "code_invalid")


def test_password_change_returns_a_new_session_and_refuses_other_tokens(api_client):
    user = UserFactory(phone=NEW_PHONE)
    tokens = login(api_client, NEW_PHONE).json()["tokens"]
    other = login(APIClient(), NEW_PHONE).json()["tokens"]
    client = bearer(tokens["access"])
    response = client.post("/api/v1/auth/password/change/", {"old_password": PASSWORD, "new_password": STRONG})
    assert response.status_code == 200, response.json()
    assert_session(response.json(), user)
    for old in (tokens, other):
        assert_api_error(bearer(old["access"]).get("/api/v1/me/"), 401, "token_invalid")
    assert bearer(response.json()["tokens"]["access"]).get("/api/v1/me/").status_code == 200
    assert login(api_client, NEW_PHONE, STRONG).status_code == 200
    assert SecurityEvent.objects.filter(user=user, kind="password_changed").exists()


def test_password_change_errors(api_client):
    UserFactory(phone=NEW_PHONE)
    client = bearer(login(api_client, NEW_PHONE).json()["tokens"]["access"])
    url = "/api/v1/auth/password/change/"
    assert_api_error(client.post(url, {"new_password": STRONG}), 400, "validation_error", fields=["old_password"])
    assert_api_error(
        client.post(url, {"old_password": "Wrong-pass-1", "new_password": STRONG}),
        400,
        "validation_error",
        fields=["old_password"],
    )
    assert_api_error(
        client.post(url, {"old_password": PASSWORD, "new_password": "password"}),
        400,
        "validation_error",
        fields=["new_password"],
    )
    assert_api_error(APIClient().post(url, {"new_password": STRONG}), 401, "not_authenticated")


def test_wrong_old_passwords_count_towards_the_lockout(api_client, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 2
    UserFactory(phone=NEW_PHONE)
    client = bearer(login(api_client, NEW_PHONE).json()["tokens"]["access"])
    url = "/api/v1/auth/password/change/"
    for _ in range(2):
        client.post(url, {"old_password": "Wrong-pass-1", "new_password": STRONG})
    assert_api_error(client.post(url, {"old_password": PASSWORD, "new_password": STRONG}), 429, "account_locked")


def test_password_change_without_old_password_for_code_only_accounts(api_client):
    user = UserFactory(phone=NEW_PHONE, password=None)
    code = code_for(NEW_PHONE, "login")
    tokens = api_client.post("/api/v1/auth/login/code/", {"phone": NEW_PHONE, "code": code}).json()["tokens"]
    response = bearer(tokens["access"]).post("/api/v1/auth/password/change/", {"new_password": STRONG})
    assert response.status_code == 200, response.json()
    assert response.json()["user"]["has_password"] is True
    user.refresh_from_db()
    assert user.check_password(STRONG)


def test_error_messages_follow_accept_language(api_client):
    chinese = login(api_client, "nobody", "Wrong-pass-1")
    assert chinese.json()["message"] == "手机号、用户名或密码错误。"
    english = api_client.post(
        "/api/v1/auth/login/", {"login": "nobody", "password": "Wrong-pass-1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.json()["message"] == "Wrong phone number, username or password."


def test_lockout_in_rate_syntax_replaces_the_older_pair(api_client, settings, frozen_clock):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 50  # ignored once ACCOUNTS_LOCKOUT_RATE is set
    settings.ACCOUNTS_LOCKOUT_RATE = "2/10m"
    UserFactory(phone="+8613900000000")
    for _ in range(2):
        response = api_client.post("/api/v1/auth/login/", {"login": "13900000000", "password": "Wrong-pass-1"})
        assert_api_error(response, 401, "invalid_credentials")
    response = api_client.post("/api/v1/auth/login/", {"login": "13900000000", "password": PASSWORD})
    assert assert_api_error(response, 429, "account_locked")["retry_after"] == 600
