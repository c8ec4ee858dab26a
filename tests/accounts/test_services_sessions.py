"""Browser sessions follow the same revocation rule as JWTs; service-level account rules."""

import time

import pytest
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from accounts import services
from accounts.errors import AccountLocked, InvalidCredentials
from accounts.sessions import SESSION_AUTH_TIME_KEY, session_authenticated_at, session_login
from config.origin import Origin
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db


def browser_for(user, *, logged_in_at: float | None = None) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_AUTH_TIME_KEY] = time.time() if logged_in_at is None else logged_in_at
    session.save()
    return client


def test_session_login_records_the_login_time():
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.cache import SessionStore

    user = UserFactory()
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = AnonymousUser()
    before = time.time()
    session_login(request, user)
    when = session_authenticated_at(request)
    assert when is not None and before - 1 <= when.timestamp() <= time.time()
    assert request.user == user


def test_logout_everywhere_ends_browser_sessions_started_before():
    user = UserFactory()
    browser = browser_for(user)
    assert browser.get("/api/v1/me/").status_code == 200
    services.user_logout(user=user, all_devices=True, origin=Origin.system())
    assert_api_error(browser.get("/api/v1/me/"), 401, "not_authenticated")
    # A session started afterwards is fine.
    assert browser_for(user).get("/api/v1/me/").status_code == 200


@pytest.mark.parametrize("revoke", ["password_change", "revoke_all", "deactivate"])
def test_revocations_end_browser_sessions(revoke):
    user = UserFactory()
    browser = browser_for(user)
    if revoke == "password_change":
        services.user_password_change(
            user=user, old_password=PASSWORD, new_password="Blue-Kettle-42", origin=Origin.system()
        )
    elif revoke == "revoke_all":
        services.user_revoke_all_sessions(user=user, origin=Origin.system())
    else:
        services.user_deactivate(user=user, origin=Origin.system())
    assert_api_error(browser.get("/api/v1/me/"), 401, "not_authenticated")


def test_deactivation_refuses_older_tokens_as_invalid():
    user = UserFactory(phone="+8613900000000")
    tokens = APIClient().post("/api/v1/auth/login/", {"login": "13900000000", "password": PASSWORD}).json()["tokens"]
    services.user_deactivate(user=user, origin=Origin.system())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert_api_error(client.get("/api/v1/me/"), 401, "token_invalid")
    assert_api_error(
        APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}), 401, "token_invalid"
    )


def test_session_without_a_recorded_login_time_ends_on_revocation():
    user = UserFactory()
    browser = Client()
    browser.force_login(user)
    assert browser.get("/api/v1/me/").status_code == 200
    services.user_revoke_all_sessions(user=user, origin=Origin.system())
    assert_api_error(browser.get("/api/v1/me/"), 401, "not_authenticated")


def test_logout_over_the_api_with_a_browser_session_ends_it():
    user = UserFactory()
    browser = browser_for(user)
    assert browser.post("/api/v1/auth/logout/").status_code == 204
    assert_api_error(browser.get("/api/v1/me/"), 401, "not_authenticated")


def test_unlock_service_lifts_the_lockout(settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 1
    user = UserFactory(phone="+8613900000000")
    with pytest.raises(InvalidCredentials):
        services.user_login_password(login="13900000000", password="Wrong-pass-1", origin=Origin.system())
    with pytest.raises(AccountLocked) as locked:
        services.user_login_password(login="13900000000", password=PASSWORD, origin=Origin.system())
    assert locked.value.retry_after >= 1
    services.user_unlock(user=user, origin=Origin.system())
    assert services.user_login_password(login="13900000000", password=PASSWORD, origin=Origin.system()) == user


def test_profile_update_refuses_unknown_keys_and_leaves_the_user_untouched():
    from config.errors import InvalidInput

    user = UserFactory(nickname="Before")
    with pytest.raises(InvalidInput) as error:
        services.user_profile_update(user=user, data={"role": "admin"})
    assert "role" in error.value.fields
    with pytest.raises(InvalidInput):
        services.user_profile_update(user=user, data={"nickname": "After", "email": "bad"})
    assert user.nickname == "Before"
    user.refresh_from_db()
    assert user.nickname == "Before"


def test_failed_logins_record_ip_and_user_agent():
    from accounts.models import SecurityEvent

    UserFactory(phone="+8613900000000")
    APIClient(REMOTE_ADDR="10.9.8.7", HTTP_USER_AGENT="TestApp/1.0").post(
        "/api/v1/auth/login/", {"login": "13900000000", "password": "Wrong-pass-1"}
    )
    event = SecurityEvent.objects.get(kind="login_failed")
    assert event.ip == "10.9.8.7" and event.user_agent == "TestApp/1.0"
    assert event.login == "+8613900000000"
