"""The account pages (/account/, password change, phone change) through the test client."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import User
from tests.accounts.test_pages_auth import field_errors, form_errors, send_code, verification_token_in, wrong, zh
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ACCOUNT = reverse("accounts:account")
PASSWORD_CHANGE = reverse("accounts:password_change")
PHONE_CHANGE = reverse("accounts:phone_change")
NEW_PHONE = "+8613700000002"
NEW_PASSWORD = "N3w-secret-pw"


def login_through_the_page(client, user) -> None:
    """A real page login, so the session records a recent login time."""
    response = client.post(reverse("accounts:login"), {"login": str(user.phone), "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize("url", [ACCOUNT, PASSWORD_CHANGE, PHONE_CHANGE])
def test_account_pages_send_anonymous_visitors_to_log_in_and_back(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


# --- Profile -------------------------------------------------------------------------------


def test_account_page_shows_the_profile(client):
    user = UserFactory(nickname="Ada", job="Engineer", company="ACME")
    client.force_login(user)

    response = client.get(ACCOUNT)

    assert response.status_code == 200
    html = response.content.decode()
    # As people write it (138 0013 8000), never the raw E.164 of the database.
    national = str(user.phone.national_number)
    assert f'data-testid="account-phone">{national[:3]} {national[3:7]} {national[7:]}<' in html
    assert str(user.phone) not in html
    for value in ("Ada", "Engineer", "ACME"):
        assert f'value="{value}"' in html


def test_account_page_saves_the_profile_and_says_so(client, user):
    client.force_login(user)
    data = {
        "nickname": "Grace",
        "username": "grace_h",
        "gender": "female",
        "email": "grace@example.com",
        "job": "Admiral",
        "company": "Navy",
    }

    response = client.post(ACCOUNT, data, follow=True)

    assert response.redirect_chain == [(ACCOUNT, 302)]
    assert len(list(response.context["messages"])) == 1
    user.refresh_from_db()
    assert {name: getattr(user, name) for name in data} == data


def test_account_page_leaves_an_unset_username_unset(client, user):
    client.force_login(user)

    response = client.post(ACCOUNT, {"nickname": "Only the nickname", "gender": ""})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.nickname == "Only the nickname" and user.username is None


def test_account_page_shows_a_bad_email_next_to_the_email_field(client, user):
    client.force_login(user)

    response = client.post(ACCOUNT, {"nickname": "X", "email": "not-an-email"})

    assert response.status_code == 200
    assert field_errors(response, "email")
    user.refresh_from_db()
    assert user.email == ""


def test_account_page_shows_a_taken_username_next_to_the_username_field(client, user):
    from accounts.errors import UsernameTaken

    UserFactory(username="Grace")
    client.force_login(user)

    response = client.post(ACCOUNT, {"username": "grace"})

    assert response.status_code == 200
    assert zh(UsernameTaken.default_message) in field_errors(response, "username")


def test_account_page_refuses_a_username_shaped_like_a_phone_number(client, user):
    client.force_login(user)

    response = client.post(ACCOUNT, {"username": "13800138000"})

    assert response.status_code == 200
    assert field_errors(response, "username")
    user.refresh_from_db()
    assert user.username is None


# --- Password change -----------------------------------------------------------------------


def test_password_change_asks_for_the_current_password_only_when_there_is_one(client, user):
    client.force_login(user)
    assert 'name="old_password"' in client.get(PASSWORD_CHANGE).content.decode()

    client.force_login(UserFactory(password=None))
    html = client.get(PASSWORD_CHANGE).content.decode()
    assert 'name="old_password"' not in html and 'name="new_password"' in html


def test_password_change_with_a_wrong_current_password_shows_the_error_next_to_it(client, user):
    client.force_login(user)

    response = client.post(PASSWORD_CHANGE, {"old_password": "wrong-Passw0rd", "new_password": NEW_PASSWORD})

    assert response.status_code == 200
    assert field_errors(response, "old_password")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_with_a_weak_password_shows_the_error_next_to_it(client, user):
    client.force_login(user)

    response = client.post(PASSWORD_CHANGE, {"old_password": PASSWORD, "new_password": "12345678"})

    assert response.status_code == 200
    assert field_errors(response, "new_password")


def test_password_change_changes_it_and_keeps_this_browser_logged_in(client, user):
    client.force_login(user)

    response = client.post(PASSWORD_CHANGE, {"old_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 302 and response["Location"] == ACCOUNT
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get(ACCOUNT).status_code == 200
    assert client.session[SESSION_KEY] == str(user.pk)


def test_password_change_lets_a_code_only_account_set_its_first_password(client):
    user = UserFactory(password=None)
    client.force_login(user)

    response = client.post(PASSWORD_CHANGE, {"new_password": NEW_PASSWORD})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


# --- Phone change --------------------------------------------------------------------------


def test_phone_change_page_renders_the_new_number_code_and_password_fields(client, user):
    client.force_login(user)

    html = client.get(PHONE_CHANGE).content.decode()

    for name in ('name="phone"', 'name="code"', 'name="send_code"', 'name="password"'):
        assert name in html


def test_phone_change_right_after_logging_in_needs_only_the_code(client, user):
    login_through_the_page(client, user)
    code = send_code(client, PHONE_CHANGE, NEW_PHONE)

    response = client.post(PHONE_CHANGE, {"phone": NEW_PHONE, "code": code}, follow=True)

    assert response.redirect_chain == [(ACCOUNT, 302)]
    user.refresh_from_db()
    assert str(user.phone) == NEW_PHONE
    assert "137 0000 0002" in response.content.decode()


def test_phone_change_long_after_logging_in_needs_the_password(client, user):
    client.force_login(user)  # no recorded login time: not a recent login
    code = send_code(client, PHONE_CHANGE, NEW_PHONE)

    refused = client.post(PHONE_CHANGE, {"phone": NEW_PHONE, "code": code})
    assert refused.status_code == 200
    assert field_errors(refused, "password") or form_errors(refused)
    user.refresh_from_db()
    assert str(user.phone) != NEW_PHONE

    # The right code became a verification token the page carries: it is not asked for again.
    token = verification_token_in(refused)
    accepted = client.post(PHONE_CHANGE, {"phone": NEW_PHONE, "verification_token": token, "password": PASSWORD})
    assert accepted.status_code == 302
    user.refresh_from_db()
    assert str(user.phone) == NEW_PHONE


def test_phone_change_with_a_wrong_code_shows_the_error_next_to_the_code(client, user):
    from smscodes.errors import CodeInvalid

    login_through_the_page(client, user)
    code = send_code(client, PHONE_CHANGE, NEW_PHONE)

    response = client.post(PHONE_CHANGE, {"phone": NEW_PHONE, "code": wrong(code)})

    assert response.status_code == 200
    assert zh(CodeInvalid.default_message) in field_errors(response, "code")


def test_phone_change_to_a_registered_number_is_refused_when_sending_the_code(client, user):
    from accounts.errors import PhoneTaken

    other = UserFactory()
    login_through_the_page(client, user)

    response = client.post(PHONE_CHANGE, {"phone": str(other.phone), "send_code": "1"})

    assert zh(PhoneTaken.default_message) in response.content.decode()
    assert User.objects.get(pk=user.pk).phone == user.phone
