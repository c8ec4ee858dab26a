"""API.md "The current user": GET/PATCH /api/v1/me/ and POST /api/v1/me/phone/."""

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import SecurityEvent, User
from config.origin import Origin
from smscodes.services import sms_code_send
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_api_error, bearer_client
from tests.smscodes.utils import last_code_for

pytestmark = pytest.mark.django_db

NEW_PHONE = "+8613800138000"


def code_for(phone: str, purpose: str) -> str:
    sms_code_send(phone=phone, purpose=purpose, origin=Origin(ip="10.0.0.9", user_agent=""))
    return last_code_for(phone)


def logged_in(user) -> APIClient:
    """A client holding a token from a real login just now (recent auth_time)."""
    response = APIClient().post("/api/v1/auth/login/", {"login": str(user.phone), "password": PASSWORD})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['tokens']['access']}")
    return client


def test_me_returns_the_user_object(user_client, user):
    response = user_client.get("/api/v1/me/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "id",
        "username",
        "phone",
        "nickname",
        "gender",
        "email",
        "job",
        "company",
        "avatar",
        "role",
        "has_password",
        "date_joined",
        "deletion",
        "consent_required",
    }
    assert body["deletion"] is None
    assert body["consent_required"] == []  # the factory's user agreed to the current versions
    assert body["id"] == user.pk and body["phone"] == str(user.phone) and body["avatar"] is None
    assert body["date_joined"].endswith("Z")


def test_me_needs_a_valid_token(api_client):
    assert_api_error(api_client.get("/api/v1/me/"), 401, "not_authenticated")
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_api_error(api_client.get("/api/v1/me/"), 401, "token_invalid")


def test_me_of_a_disabled_user(user, user_client):
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_api_error(user_client.get("/api/v1/me/"), 403, "account_disabled")


def test_patch_profile_fields(user_client, user):
    data = {
        "username": "Alice_1",
        "nickname": "Alice",
        "gender": "female",
        "email": "a@example.com",
        "job": "Engineer",
        "company": "ACME",
    }
    response = user_client.patch("/api/v1/me/", data)
    assert response.status_code == 200, response.json()
    for key, value in data.items():
        assert response.json()[key] == value
    user.refresh_from_db()
    assert user.username == "Alice_1" and user.email == "a@example.com"


def test_patch_accepts_a_form_body(user_client, user):
    response = user_client.patch("/api/v1/me/", {"nickname": "Form"}, format="multipart")
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.nickname == "Form"


@pytest.mark.parametrize(
    "field, value", [("role", "admin"), ("phone", "+8613800138999"), ("id", 1), ("has_password", False)]
)
def test_patch_of_read_only_fields_is_refused_by_name(user_client, user, field, value):
    response = user_client.patch("/api/v1/me/", {field: value, "nickname": "x"}, format="json")
    assert_api_error(response, 400, "validation_error", fields=[field])
    user.refresh_from_db()
    assert user.role == "normal_user" and user.nickname != "x"


@pytest.mark.parametrize(
    "username",
    ["ab", "a" * 31, "has space", "名字abc", "13800138000", "138-0013-8000", "+8613800138000"],
)
def test_patch_refuses_bad_usernames(user_client, username):
    assert_api_error(
        user_client.patch("/api/v1/me/", {"username": username}), 400, "validation_error", fields=["username"]
    )


def test_patch_username_taken_case_insensitively(user_client):
    UserFactory(username="Alice")
    assert_api_error(user_client.patch("/api/v1/me/", {"username": "ALICE"}), 409, "username_taken")


def test_patch_keeps_own_username_in_another_case(user):
    user.username = "alice"
    user.save()
    response = bearer_client(user).patch("/api/v1/me/", {"username": "Alice"})
    assert response.status_code == 200 and response.json()["username"] == "Alice"


def test_patch_validates_email_and_gender(user_client):
    assert_api_error(
        user_client.patch("/api/v1/me/", {"email": "not-an-email"}), 400, "validation_error", fields=["email"]
    )
    assert_api_error(user_client.patch("/api/v1/me/", {"gender": "other"}), 400, "validation_error", fields=["gender"])


def test_username_only_account_cannot_drop_its_username(settings):
    user = User.objects.create_user(username="alice", password=PASSWORD)
    response = bearer_client(user).patch("/api/v1/me/", {"username": ""})
    assert_api_error(response, 400, "validation_error", fields=["username"])


def test_me_put_is_not_allowed(user_client):
    assert_api_error(user_client.put("/api/v1/me/", {"nickname": "x"}), 405, "method_not_allowed")


# --- phone change ------------------------------------------------------------------------------


def test_phone_change_right_after_login(user):
    client = logged_in(user)
    response = client.post("/api/v1/me/phone/", {"phone": "138 0013 8000", "code": code_for(NEW_PHONE, "change_phone")})
    assert response.status_code == 200, response.json()
    assert response.json()["phone"] == NEW_PHONE
    user.refresh_from_db()
    assert str(user.phone) == NEW_PHONE
    event = SecurityEvent.objects.get(user=user, kind="phone_changed")
    assert event.detail["new_phone"] == NEW_PHONE


def test_phone_change_after_the_recent_login_window_needs_the_password(user, settings):
    with time_machine.travel("2026-11-21 10:00:00Z", tick=False) as traveller:
        client = logged_in(user)
        traveller.shift(settings.ACCOUNTS_RECENT_LOGIN_SECONDS + 5)
        code = code_for(NEW_PHONE, "change_phone")
        refused = client.post("/api/v1/me/phone/", {"phone": NEW_PHONE, "code": code})
        assert_api_error(refused, 400, "validation_error", fields=["password"])
        wrong = client.post("/api/v1/me/phone/", {"phone": NEW_PHONE, "code": code, "password": "Wrong-pass-1"})
        assert_api_error(wrong, 400, "validation_error", fields=["password"])
        ok = client.post("/api/v1/me/phone/", {"phone": NEW_PHONE, "code": code, "password": PASSWORD})
        assert ok.status_code == 200, ok.json()


def test_token_refresh_does_not_renew_the_recent_login(user, settings):
    with time_machine.travel("2026-11-21 10:00:00Z", tick=False) as traveller:
        tokens = (
            APIClient().post("/api/v1/auth/login/", {"login": str(user.phone), "password": PASSWORD}).json()["tokens"]
        )
        traveller.shift(settings.ACCOUNTS_RECENT_LOGIN_SECONDS + 5)
        # A refresh is not a login: the phone change still needs the password.
        fresh = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).json()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {fresh['access']}")
        response = client.post("/api/v1/me/phone/", {"phone": NEW_PHONE, "code": code_for(NEW_PHONE, "change_phone")})
        assert_api_error(response, 400, "validation_error", fields=["password"])


def test_phone_change_errors(user):
    client = logged_in(user)
    UserFactory(phone="+8613800138001")
    assert_api_error(
        client.post("/api/v1/me/phone/", {"phone": "+8613800138001", "code": "123456"}), 409, "phone_taken"
    )
    assert_api_error(client.post("/api/v1/me/phone/", {"phone": "12345", "code": "123456"}), 400, "invalid_phone")
    assert_api_error(
        client.post("/api/v1/me/phone/", {"phone": str(user.phone), "code": "123456"}),
        400,
        "validation_error",
        fields=["phone"],
    )
    code = code_for(NEW_PHONE, "change_phone")
    wrong = "000000" if code != "000000" else "111111"
    assert_api_error(client.post("/api/v1/me/phone/", {"phone": NEW_PHONE, "code": wrong}), 400, "code_invalid")
    assert_api_error(
        client.post("/api/v1/me/phone/", {"phone": NEW_PHONE, "verification_token": "forged"}),
        400,
        "verification_token_invalid",
    )
    register_code = code_for("+8613800138002", "register")
    assert_api_error(
        client.post("/api/v1/me/phone/", {"phone": "+8613800138002", "code": register_code}), 400, "code_invalid"
    )
    assert_api_error(APIClient().post("/api/v1/me/phone/", {"phone": NEW_PHONE}), 401, "not_authenticated")
