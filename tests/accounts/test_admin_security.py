"""Admin: security events (read-only) on the user page, unlock, revoke all sessions, deactivation."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from accounts.models import SecurityEvent, User
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

PHONE = "+8613900000000"


@pytest.fixture
def support(client):
    staff = User.objects.create_user(username="support1", password="Supp0rt-pass", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client.force_login(staff)
    return client


@pytest.fixture
def manager(client):
    """Staff who may also set passwords and (de)activate ordinary accounts."""
    staff = User.objects.create_user(username="manager1", password="Man4ger-pass", is_staff=True)
    codenames = ["view_user", "change_user", "change_user_password", "change_user_active"]
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(staff)
    return client


@pytest.fixture
def viewer(client):
    staff = User.objects.create_user(username="viewer1", password="V1ewer-pass", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user"]))
    client.force_login(staff)
    return client


def login(password=PASSWORD):
    return APIClient().post("/api/v1/auth/login/", {"login": PHONE, "password": password})


def test_user_page_shows_security_events_read_only_and_the_buttons(support):
    target = UserFactory(phone=PHONE)
    login()
    login("Wrong-pass-1")
    response = support.get(f"/admin/accounts/user/{target.pk}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "login_succeeded" not in content  # the label is shown, not the code
    events = response.context["inline_admin_formsets"][0]
    assert events.has_change_permission is False and events.has_add_permission is False
    assert len(events.formset.queryset) == 2
    assert f"/admin/accounts/user/{target.pk}/unlock/" in content
    assert f"/admin/accounts/user/{target.pk}/revoke-sessions/" in content


def test_view_only_staff_sees_events_but_no_buttons(viewer):
    target = UserFactory(phone=PHONE)
    login()
    response = viewer.get(f"/admin/accounts/user/{target.pk}/change/")
    assert response.status_code == 200
    assert len(response.context["inline_admin_formsets"][0].formset.queryset) == 1
    assert b"/unlock/" not in response.content
    assert viewer.post(f"/admin/accounts/user/{target.pk}/unlock/").status_code == 403


def test_unlock_button_lifts_the_lockout(support, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 2
    target = UserFactory(phone=PHONE)
    for _ in range(2):
        login("Wrong-pass-1")
    assert_api_error(login(), 429, "account_locked")
    response = support.post(f"/admin/accounts/user/{target.pk}/unlock/")
    assert response.status_code == 302 and response["Location"].endswith(f"/admin/accounts/user/{target.pk}/change/")
    assert login().status_code == 200
    event = SecurityEvent.objects.get(user=target, kind="unlocked")
    assert event.detail["actor"] == "support1"


def test_unlock_refuses_get_and_revoke_get_only_asks_for_confirmation(support):
    target = UserFactory(phone=PHONE)
    assert support.get(f"/admin/accounts/user/{target.pk}/unlock/").status_code == 405
    before = User.objects.get(pk=target.pk).tokens_valid_after
    confirm = support.get(f"/admin/accounts/user/{target.pk}/revoke-sessions/")
    assert confirm.status_code == 200
    assert 'data-testid="revoke-confirm"' in confirm.content.decode()
    assert User.objects.get(pk=target.pk).tokens_valid_after == before  # nothing happened yet


def test_revoke_button_ends_every_token_and_browser_session(support):
    from django.test import Client

    target = UserFactory(phone=PHONE)
    tokens = login().json()["tokens"]
    browser = Client()
    browser.force_login(target)
    assert browser.get("/api/v1/me/").status_code == 200
    response = support.post(f"/admin/accounts/user/{target.pk}/revoke-sessions/")
    assert response.status_code == 302
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert_api_error(bearer.get("/api/v1/me/"), 401, "token_invalid")
    assert_api_error(
        APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}), 401, "token_invalid"
    )
    assert_api_error(browser.get("/api/v1/me/"), 401, "not_authenticated")
    assert SecurityEvent.objects.filter(user=target, kind="sessions_revoked").exists()


def test_list_actions_unlock_and_revoke_several_users(support, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 1
    first = UserFactory(phone=PHONE)
    second = UserFactory()
    login("Wrong-pass-1")
    for action in ("unlock_logins", "revoke_all_sessions"):
        response = support.post("/admin/accounts/user/", {"action": action, "_selected_action": [first.pk, second.pk]})
        assert response.status_code == 302, action
    assert login().status_code == 200, login().json()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.tokens_valid_after is not None and second.tokens_valid_after is not None


def test_deactivating_in_the_admin_ends_every_token(manager):
    target = UserFactory(phone=PHONE, nickname="T")
    tokens = login().json()["tokens"]
    data = {
        "phone": PHONE,
        "username": "",
        "nickname": "T",
        "gender": "",
        "email": "",
        "job": "",
        "company": "",
        "role": target.role,
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        # is_active left out: unchecked
    }
    response = manager.post(f"/admin/accounts/user/{target.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    target.refresh_from_db()
    assert target.is_active is False and target.tokens_valid_after is not None
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert_api_error(bearer.get("/api/v1/me/"), 401, "token_invalid")
    assert SecurityEvent.objects.filter(user=target, kind="deactivated").exists()


def test_a_password_set_in_the_admin_ends_every_token(manager):
    target = UserFactory(phone=PHONE)
    tokens = login().json()["tokens"]
    new = {"password1": "Adm1n-set-pass", "password2": "Adm1n-set-pass", "usable_password": "true"}
    response = manager.post(f"/admin/accounts/user/{target.pk}/password/", new)
    assert response.status_code == 302
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert_api_error(bearer.get("/api/v1/me/"), 401, "token_invalid")
    refresh = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert_api_error(refresh, 401, "token_invalid")
    assert login("Adm1n-set-pass").status_code == 200
    # The owner's own change writes password_changed; so does the staff's, naming them.
    event = SecurityEvent.objects.get(user=target, kind="password_changed")
    assert event.detail["actor"] == "manager1"


def test_staff_setting_their_own_password_in_the_admin_stay_logged_in(admin_client, admin_user):
    new = {"password1": "Adm1n-own-pass", "password2": "Adm1n-own-pass", "usable_password": "true"}
    response = admin_client.post(f"/admin/accounts/user/{admin_user.pk}/password/", new)
    assert response.status_code == 302
    assert admin_client.get("/admin/").status_code == 200


def test_a_refused_admin_password_form_revokes_nothing(manager):
    target = UserFactory(phone=PHONE)
    new = {"password1": "Adm1n-set-pass", "password2": "different", "usable_password": "true"}
    assert manager.post(f"/admin/accounts/user/{target.pk}/password/", new).status_code == 200
    target.refresh_from_db()
    assert target.tokens_valid_after is None


def test_security_events_cannot_be_added_changed_or_deleted(admin_client):
    target = UserFactory(phone=PHONE)
    login()
    event = SecurityEvent.objects.get(user=target)
    assert admin_client.get("/admin/accounts/securityevent/").status_code == 200
    assert admin_client.get("/admin/accounts/securityevent/add/").status_code == 403
    page = admin_client.get(f"/admin/accounts/securityevent/{event.pk}/change/")
    assert page.status_code == 200 and b'name="kind"' not in page.content  # shown read-only
    assert admin_client.post(f"/admin/accounts/securityevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert SecurityEvent.objects.filter(pk=event.pk).exists()


def test_role_change_needs_the_role_permission(support):
    target = UserFactory(phone=PHONE)
    page = support.get(f"/admin/accounts/user/{target.pk}/change/")
    assert "role" not in page.context["adminform"].form.fields  # read-only for support staff
