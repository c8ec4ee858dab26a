"""Bad input to every accounts endpoint and page: a 400 (or the form again), never a 500.

Runs on SQLite and on PostgreSQL, which refuses NUL characters in text: they
must be stopped by validation before any query sees them.
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

# (method, url, fields, needs a logged-in user)
ENDPOINTS = [
    ("post", "/api/v1/auth/register/", ["phone", "code", "verification_token", "password", "username", "nickname"]),
    ("post", "/api/v1/auth/login/", ["login", "password"]),
    ("post", "/api/v1/auth/login/code/", ["phone", "code", "verification_token"]),
    ("post", "/api/v1/auth/token/refresh/", ["refresh"]),
    ("post", "/api/v1/auth/token/verify/", ["token"]),
    ("post", "/api/v1/auth/logout/", ["refresh", "all_devices"]),
    ("post", "/api/v1/auth/password/reset/", ["phone", "code", "verification_token", "new_password"]),
    ("post", "/api/v1/auth/password/change/", ["old_password", "new_password"]),
    ("patch", "/api/v1/me/", ["username", "nickname", "gender", "email", "job", "company"]),
    ("post", "/api/v1/me/phone/", ["phone", "code", "verification_token", "password"]),
]

BAD_VALUES = {
    "nul": "\u0000",
    "nul_inside": "13800\u0000138000",
    "list": ["13800138000"],
    "object": {"a": "b"},
    "huge": "9" * 100_000,
}


@pytest.fixture
def client_for():
    def make(url):
        client = APIClient()
        user = UserFactory(phone="+8613900000000")
        if not url.startswith(("/api/v1/auth/register/", "/api/v1/auth/login", "/api/v1/auth/token/")):
            client.force_authenticate(user)
        return client

    return make


@pytest.mark.parametrize(("method", "url", "fields"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
@pytest.mark.parametrize("value", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_api_refuses_a_bad_value_in_every_field(client_for, method, url, fields, value):
    client = client_for(url)
    response = getattr(client, method)(url, dict.fromkeys(fields, value), format="json")
    assert_api_error(response, 400, "validation_error")


@pytest.mark.parametrize(("method", "url", "fields"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
@pytest.mark.parametrize("raw", ["{not json", "[1, 2]"], ids=["malformed", "array"])
def test_api_refuses_a_body_that_is_not_a_json_object(client_for, method, url, fields, raw):
    client = client_for(url)
    response = getattr(client, method)(url, raw, content_type="application/json")
    assert_api_error(response, 400, "validation_error")


@pytest.mark.parametrize(("method", "url", "fields"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_api_refuses_nul_in_a_multipart_body(client_for, method, url, fields):
    client = client_for(url)
    response = getattr(client, method)(url, dict.fromkeys(fields, "\u0000"), format="multipart")
    assert_api_error(response, 400, "validation_error")


PAGES = {
    "/signup/": ["phone", "code", "password", "username", "nickname"],
    "/login/": ["login", "password"],
    "/login/?method=code": ["phone", "code"],
    "/password/reset/": ["phone", "code", "new_password"],
    "/account/": ["nickname", "username", "gender", "email", "job", "company"],
    "/account/password/": ["old_password", "new_password"],
    "/account/phone/": ["phone", "code", "password"],
}


@pytest.mark.parametrize(("url", "fields"), PAGES.items(), ids=PAGES.keys())
@pytest.mark.parametrize("send_code", [False, True], ids=["submit", "send-code"])
def test_pages_show_the_form_again_for_nul_and_huge_values(url, fields, send_code):
    client = Client()
    client.force_login(UserFactory(phone="+8613900000000", password=PASSWORD))
    if not url.startswith("/account/"):
        client = Client()
    extra = {"send_code": "1"} if send_code else {}
    for value in ("\u0000", "13800\u0000138000", "9" * 100_000):
        response = client.post(url, {**dict.fromkeys(fields, value), **extra})
        assert response.status_code == 200, (value[:12], response.status_code)
        assert 'class="errorlist' in response.content.decode()


@pytest.mark.parametrize("url", ["/signup/", "/login/", "/password/reset/"])
def test_a_next_that_is_a_bare_word_is_a_path_not_a_url_pattern_name(client, url):
    # redirect("home") would look up a URL pattern named "home" (500 when there is none).
    client.force_login(UserFactory())
    response = client.get(f"{url}?next=somewhere")
    if url == "/password/reset/":  # open to logged-in users: the form, no redirect
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response["Location"] == "somewhere"


def test_logout_with_a_bare_word_next(client):
    client.force_login(UserFactory())
    response = client.post("/logout/", {"next": "somewhere"})
    assert response.status_code == 302
    assert response["Location"] == "somewhere"
