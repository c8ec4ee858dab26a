"""Sign-up, log-in, log-out and password-reset pages through the test client."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from tests.factories import PASSWORD, UserFactory
from tests.smscodes.utils import last_code_for

pytestmark = pytest.mark.django_db

NEW_PHONE = "+8613700000001"
NEW_PASSWORD = "N3w-secret-pw"

SIGNUP = reverse("accounts:signup")
LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")
RESET = reverse("accounts:password_reset")
# The agreement checkbox ticked: its value names version 1 of both documents (migration accounts/0006).
AGREE = {"consent": "terms:1 privacy:1"}


def field_errors(response, name: str) -> str:
    """The text of the error list Django renders under field ``name`` ("" when none)."""
    match = re.search(rf'<ul class="errorlist" id="id_{name}_error">(.*?)</ul>', response.content.decode(), re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)) if match else ""


def form_errors(response) -> str:
    match = re.search(r'data-testid="form-errors"[^>]*>(.*?)</div>', response.content.decode(), re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)) if match else ""


def verification_token_in(response) -> str:
    """The proof of a right code that a re-rendered form carries (the code is not asked for twice)."""
    match = re.search(r'name="verification_token" value="([^"]+)"', response.content.decode())
    assert match, "no verification token in the page"
    return match.group(1)


def zh(message) -> str:
    with translation.override("zh-hans"):
        return str(message)


def send_code(client, url: str, phone: str, **data) -> str:
    """Press the page's send-code button (no JavaScript) and return the code that was "sent"."""
    response = client.post(url, {"phone": phone, "send_code": "1", **AGREE, **data})
    assert response.status_code == 200
    return last_code_for(phone)


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def logged_in_user_id(client):
    return client.session.get(SESSION_KEY)


# --- Sign up -------------------------------------------------------------------------------


def test_signup_page_renders_phone_code_password_and_send_code_button(client):
    response = client.get(SIGNUP)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("phone", "code", "password", "username", "nickname"):
        assert f'name="{name}"' in html
    assert 'name="send_code"' in html


def test_chinese_pages_say_mobile_number_not_telephone_number(client):
    # phonenumber_field's catalogue comes before ours and translates "Phone number" as 电话号码.
    html = client.get(SIGNUP, headers={"accept-language": "zh-hans"}).content.decode()
    assert '<label for="id_phone">手机号</label>' in html
    assert "电话号码" not in html
    tabs = client.get(LOGIN, headers={"accept-language": "zh-hans"}).content.decode()
    assert ">手机号快捷登录</a>" in tabs and ">密码登录</a>" in tabs


def test_signup_send_code_without_javascript_keeps_typed_data_and_shows_no_required_errors(client):
    response = client.post(SIGNUP, {**AGREE, "phone": "137 0000 0001", "nickname": "Ada", "send_code": "1"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="send-code-result"' in html
    assert 'value="137 0000 0001"' in html and 'value="Ada"' in html
    assert field_errors(response, "code") == ""
    assert last_code_for(NEW_PHONE)


def test_signup_with_the_sent_code_creates_the_account_and_logs_in(client):
    code = send_code(client, SIGNUP, NEW_PHONE)

    response = client.post(
        SIGNUP,
        {**AGREE, "phone": NEW_PHONE, "code": code, "password": NEW_PASSWORD, "nickname": "Ada", "role": "admin"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse(settings.LOGIN_REDIRECT_URL)
    user = User.objects.get(phone=NEW_PHONE)
    assert user.nickname == "Ada" and user.role == "normal_user" and user.check_password(NEW_PASSWORD)
    assert logged_in_user_id(client) == str(user.pk)
    assert "Ada" in client.get(response["Location"]).content.decode()


def test_signup_without_password_makes_a_code_only_account(client):
    code = send_code(client, SIGNUP, NEW_PHONE)

    response = client.post(SIGNUP, {**AGREE, "phone": NEW_PHONE, "code": code})

    assert response.status_code == 302
    assert not User.objects.get(phone=NEW_PHONE).has_usable_password()


def test_signup_with_a_wrong_code_shows_the_error_next_to_the_code_field(client):
    from smscodes.errors import CodeInvalid

    code = send_code(client, SIGNUP, NEW_PHONE)

    response = client.post(SIGNUP, {**AGREE, "phone": NEW_PHONE, "code": wrong(code), "nickname": "Ada"})

    assert response.status_code == 200
    assert zh(CodeInvalid.default_message) in field_errors(response, "code")
    assert 'value="Ada"' in response.content.decode()
    assert not User.objects.filter(phone=NEW_PHONE).exists()
    assert logged_in_user_id(client) is None


def test_signup_errors_are_in_the_language_of_the_request(client):
    from smscodes.errors import CodeInvalid

    code = send_code(client, SIGNUP, NEW_PHONE)
    response = client.post(SIGNUP, {**AGREE, "phone": NEW_PHONE, "code": wrong(code)}, HTTP_ACCEPT_LANGUAGE="en")

    with translation.override("en"):
        assert str(CodeInvalid.default_message) in field_errors(response, "code")


def test_signup_send_code_to_a_registered_number_says_so_next_to_the_phone(client, user):
    from accounts.errors import PhoneTaken

    response = client.post(SIGNUP, {**AGREE, "phone": str(user.phone), "send_code": "1"})

    assert response.status_code == 200
    result = re.search(r'data-testid="send-code-result">(.*?)</p>', response.content.decode(), re.S).group(1)
    assert zh(PhoneTaken.default_message) in result


def test_signup_with_a_taken_username_shows_the_error_next_to_the_username(client):
    from accounts.errors import UsernameTaken

    UserFactory(username="Taken_Name")
    code = send_code(client, SIGNUP, NEW_PHONE)

    response = client.post(SIGNUP, {**AGREE, "phone": NEW_PHONE, "code": code, "username": "taken_name"})

    assert response.status_code == 200
    assert zh(UsernameTaken.default_message) in field_errors(response, "username")
    assert not User.objects.filter(phone=NEW_PHONE).exists()


def test_signup_with_a_weak_password_shows_the_error_next_to_the_password(client):
    code = send_code(client, SIGNUP, NEW_PHONE)

    response = client.post(SIGNUP, {**AGREE, "phone": NEW_PHONE, "code": code, "password": "12345678"})

    assert response.status_code == 200
    assert field_errors(response, "password")
    assert not User.objects.filter(phone=NEW_PHONE).exists()


def test_signup_without_a_code_says_the_code_is_required(client):
    response = client.post(SIGNUP, {**AGREE, "phone": NEW_PHONE})

    assert response.status_code == 200
    assert field_errors(response, "code")


# --- Log in --------------------------------------------------------------------------------


def test_login_page_shows_the_code_tab_by_default_and_the_password_tab_on_request(client):
    # Both panels are in the page (the tab control switches without a reload); only the chosen one is shown.
    code_tab = client.get(LOGIN).content.decode()
    assert 'name="phone"' in code_tab and 'name="code"' in code_tab and 'name="send_code"' in code_tab
    assert 'name="consent"' in code_tab and "data-gates-send-code" in code_tab
    assert 'id="panel-code" aria-labelledby="tab-code">' in code_tab
    assert 'id="panel-password" aria-labelledby="tab-password" hidden>' in code_tab
    assert 'id="tab-code" ' in code_tab and 'aria-controls="panel-code" aria-selected="true"' in code_tab
    assert code_tab.index('id="tab-code"') < code_tab.index('id="tab-password"')

    password_tab = client.get(LOGIN, {"method": "password"}).content.decode()
    assert 'name="login"' in password_tab and 'name="password"' in password_tab
    assert 'id="panel-password" aria-labelledby="tab-password">' in password_tab
    assert 'id="panel-code" aria-labelledby="tab-code" hidden>' in password_tab


def test_login_by_password_with_the_phone_in_any_format_logs_in(client, user):
    national = str(user.phone.national_number)

    response = client.post(LOGIN, {"login": national, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse(settings.LOGIN_REDIRECT_URL)
    assert logged_in_user_id(client) == str(user.pk)


def test_login_by_password_honours_a_same_site_next(client, user):
    response = client.post(
        f"{LOGIN}?next=/account/", {"login": str(user.phone), "password": PASSWORD, "next": "/account/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/account/"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/path", "http://testserver.evil.example/", "javascript:alert(1)"],
)
def test_login_refuses_to_redirect_to_another_site(client, user, next_url):
    page = client.get(LOGIN, {"next": next_url}).content.decode()
    assert '<input type="hidden" name="next"' not in page
    assert "?next=" not in page.split('data-testid="tab-code"')[0].split('class="tabs"')[1]

    response = client.post(LOGIN, {"login": str(user.phone), "password": PASSWORD, "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == reverse(settings.LOGIN_REDIRECT_URL)


def test_login_with_a_wrong_password_or_unknown_account_shows_the_same_non_field_error(client, user):
    bad_password = client.post(LOGIN, {"login": str(user.phone), "password": "wrong-Passw0rd"})
    unknown = client.post(LOGIN, {"login": "nobody_here", "password": "wrong-Passw0rd"})

    assert bad_password.status_code == unknown.status_code == 200
    assert form_errors(bad_password) and form_errors(bad_password) == form_errors(unknown)
    assert field_errors(bad_password, "login") == field_errors(bad_password, "password") == ""
    assert logged_in_user_id(client) is None


def test_login_lockout_is_shown_even_for_the_right_password(client, user, settings):
    from accounts.errors import AccountLocked

    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        client.post(LOGIN, {"login": str(user.phone), "password": "wrong-Passw0rd"})

    response = client.post(LOGIN, {"login": str(user.phone), "password": PASSWORD})

    assert response.status_code == 200
    assert f"{zh(AccountLocked.default_message)}请 15 分钟后再试。" in form_errors(response)
    assert logged_in_user_id(client) is None


def test_login_by_code_logs_in(client, user):
    code = send_code(client, f"{LOGIN}?method=code", str(user.phone), method="code")

    response = client.post(LOGIN, {"method": "code", "phone": str(user.phone), "code": code})

    assert response.status_code == 302
    assert logged_in_user_id(client) == str(user.pk)


def test_login_by_code_with_a_wrong_code_shows_the_error_next_to_the_code(client, user):
    from smscodes.errors import CodeInvalid

    code = send_code(client, LOGIN, str(user.phone), method="code")

    response = client.post(LOGIN, {"method": "code", "phone": str(user.phone), "code": wrong(code)})

    assert response.status_code == 200
    assert zh(CodeInvalid.default_message) in field_errors(response, "code")
    assert logged_in_user_id(client) is None


def test_login_pages_send_an_already_logged_in_user_on(client, user):
    client.force_login(user)

    assert client.get(LOGIN).status_code == 302
    assert client.get(SIGNUP).status_code == 302


# --- Log out -------------------------------------------------------------------------------


def test_logout_refuses_get(client, user):
    client.force_login(user)

    assert client.get(LOGOUT).status_code == 405
    assert logged_in_user_id(client) == str(user.pk)


def test_logout_without_a_csrf_token_is_refused(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(LOGOUT)

    assert response.status_code == 403
    assert logged_in_user_id(client) == str(user.pk)


def test_logout_with_the_csrf_token_from_the_page_logs_out(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    response = client.post(LOGOUT, {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert logged_in_user_id(client) is None


# --- Password reset ------------------------------------------------------------------------


def test_password_reset_page_renders(client):
    html = client.get(RESET).content.decode()
    assert 'name="phone"' in html and 'name="send_code"' in html and 'name="new_password"' in html


def test_password_reset_with_the_sent_code_sets_the_password_and_logs_in(client, user):
    code = send_code(client, RESET, str(user.phone))

    response = client.post(RESET, {"phone": str(user.phone), "code": code, "new_password": NEW_PASSWORD})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)
    assert logged_in_user_id(client) == str(user.pk)


def test_password_reset_with_a_wrong_code_changes_nothing(client, user):
    from smscodes.errors import CodeInvalid

    code = send_code(client, RESET, str(user.phone))

    response = client.post(RESET, {"phone": str(user.phone), "code": wrong(code), "new_password": NEW_PASSWORD})

    assert response.status_code == 200
    assert zh(CodeInvalid.default_message) in field_errors(response, "code")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_reset_with_a_weak_password_shows_the_error_next_to_it(client, user):
    code = send_code(client, RESET, str(user.phone))

    response = client.post(RESET, {"phone": str(user.phone), "code": code, "new_password": "12345678"})

    assert response.status_code == 200
    assert field_errors(response, "new_password")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
