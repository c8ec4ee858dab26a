"""Issue 10, defect 3: every door that checks a password obeys the same lockout and per-IP limit.

``/admin/login/`` and ``django.contrib.auth.authenticate()`` go through
``accounts.backends.AccountBackend``, which calls ``user_login_password``:
the API's lockout, the API's per-IP throttle, the API's security events.
"""

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY, authenticate
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from accounts.errors import AccountLocked
from accounts.models import SecurityEvent, User
from config.errors import RateLimited
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
NOW = "2026-11-21 10:00:30Z"


@pytest.fixture
def staff():
    return User.objects.create_user(username="staff1", phone="+8613900000001", password=PASSWORD, is_staff=True)


def admin_login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(ADMIN_LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)


def api_login(login: str, password: str, ip: str = "10.0.0.1"):
    return APIClient().post("/api/v1/auth/login/", {"login": login, "password": password}, REMOTE_ADDR=ip)


def logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def form_error(response) -> str:
    return " ".join(response.context["form"].non_field_errors())


def test_admin_login_with_the_right_password_works_and_is_recorded(staff):
    client = Client()
    response = admin_login(client, "staff1", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert logged_in(client)
    assert client.get("/admin/").status_code == 200
    event = SecurityEvent.objects.get(user=staff, kind="login_succeeded")
    assert (event.ip, event.detail["method"]) == ("10.0.0.1", "password")


def test_admin_login_accepts_the_phone_number_as_the_api_does(staff):
    client = Client()
    assert admin_login(client, "139 0000 0001", PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_wrong_admin_guess_is_a_failed_login_event(staff):
    client = Client()
    response = admin_login(client, "staff1", "Wrong-pass-1")
    assert response.status_code == 200 and not logged_in(client)
    event = SecurityEvent.objects.get(user=staff, kind="login_failed")
    assert (event.ip, event.detail["reason"]) == ("10.0.0.1", "wrong_password")


def test_admin_login_refuses_an_account_locked_by_api_logins_even_with_the_right_password(staff):
    with time_machine.travel(NOW, tick=False):
        for _ in range(5):
            api_login("staff1", "Wrong-pass-1")
        assert_api_error(api_login("staff1", PASSWORD), 429, "account_locked")
        client = Client()
        response = admin_login(client, "staff1", PASSWORD)
        assert response.status_code == 200
        assert not logged_in(client)
        assert str(AccountLocked.default_message) in form_error(response)
        assert SecurityEvent.objects.filter(user=staff, kind="login_locked").count() == 2


def test_wrong_admin_guesses_lock_the_account_for_the_api_too(staff):
    with time_machine.travel(NOW, tick=False) as traveller:
        client = Client()
        for _ in range(5):
            assert admin_login(client, "staff1", "Wrong-pass-1").status_code == 200
        assert_api_error(api_login("staff1", PASSWORD), 429, "account_locked")
        assert not logged_in(client)
        assert str(AccountLocked.default_message) in form_error(admin_login(client, "staff1", PASSWORD))
        traveller.shift(15 * 60 + 1)  # ACCOUNTS_LOCKOUT_SECONDS later
        assert admin_login(client, "staff1", PASSWORD).status_code == 302
        assert logged_in(client)


def test_admin_guesses_per_ip_are_throttled_with_a_form_error_not_a_500(staff, settings):
    settings.ACCOUNTS_LOGIN_IP_RATE = "3/m"
    with time_machine.travel(NOW, tick=False) as traveller:
        client = Client()
        # Three different accounts: no lockout, only the per-IP budget.
        for name in ("nobody1", "nobody2", "nobody3"):
            assert admin_login(client, name, "Wrong-pass-1").status_code == 200
        response = admin_login(client, "staff1", PASSWORD)
        assert response.status_code == 200
        assert not logged_in(client)
        assert str(RateLimited.default_message) in form_error(response)
        # Another address has its own budget; the next window forgives this one.
        assert admin_login(Client(), "staff1", PASSWORD, ip="10.0.0.2").status_code == 302
        traveller.shift(60)
        assert admin_login(client, "staff1", PASSWORD).status_code == 302


def test_the_api_and_the_admin_share_one_per_ip_budget(staff, settings):
    settings.ACCOUNTS_LOGIN_IP_RATE = "3/m"
    with time_machine.travel(NOW, tick=False):
        for name in ("nobody1", "nobody2"):
            api_login(name, "Wrong-pass-1")
        admin_login(Client(), "nobody3", "Wrong-pass-1")
        assert_api_error(api_login("staff1", PASSWORD), 429, "rate_limited")


def test_thirty_fast_wrong_admin_guesses_are_refused_after_the_lockout(staff):
    """The report's 30 guesses in 1.6 s: five count, the other 25 are refused by the lockout."""
    with time_machine.travel(NOW, tick=False):
        client = Client()
        for _ in range(30):
            admin_login(client, "staff1", "Wrong-pass-1")
        assert SecurityEvent.objects.filter(user=staff, kind="login_failed").count() == 5
        assert SecurityEvent.objects.filter(user=staff, kind="login_locked").count() == 25
        assert not logged_in(client)


def test_admin_login_of_a_non_staff_account_is_refused(user):
    client = Client()
    response = admin_login(client, str(user.phone), PASSWORD)
    assert response.status_code == 200 and not logged_in(client)


def test_authenticate_obeys_the_lockout_with_or_without_a_request(staff):
    request = RequestFactory().post("/somewhere/", REMOTE_ADDR="10.0.0.7")
    with time_machine.travel(NOW, tick=False):
        assert authenticate(request, username="staff1", password=PASSWORD) == staff
        for _ in range(5):
            assert authenticate(request, username="staff1", password="Wrong-pass-1") is None
        assert authenticate(request, username="staff1", password=PASSWORD) is None
        assert authenticate(username="staff1", password=PASSWORD) is None  # no request: still locked
    failed = SecurityEvent.objects.filter(user=staff, kind="login_failed")
    assert failed.count() == 5 and {event.ip for event in failed} == {"10.0.0.7"}


def test_authenticate_refuses_a_disabled_account(staff):
    User.objects.filter(pk=staff.pk).update(is_active=False)
    assert authenticate(username="staff1", password=PASSWORD) is None


def test_authenticate_with_other_credentials_is_none(staff):
    assert authenticate(token="something") is None


def test_page_and_admin_sessions_survive_the_backend(staff):
    """Sessions made by the pages and by the admin both load their user through the one backend."""
    page = Client()
    response = page.post("/login/", {"method": "password", "login": "staff1", "password": PASSWORD})
    assert response.status_code == 302
    assert page.get("/api/v1/me/").status_code == 200
    admin = Client()
    admin_login(admin, "staff1", PASSWORD)
    assert admin.get("/admin/").status_code == 200


def test_a_code_only_account_cannot_sign_in_to_the_admin():
    UserFactory(username="codeonly", password=None, is_staff=True)
    response = admin_login(Client(), "codeonly", "anything-at-all")
    assert response.status_code == 200
    assert SecurityEvent.objects.get(kind="login_failed").detail["reason"] == "no_password"
