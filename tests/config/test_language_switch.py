"""Switching language keeps what was typed, without JavaScript (config.views.language_switch)."""

import re

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def _input(html: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)


def test_on_a_page_with_a_form_the_language_buttons_submit_that_form_to_the_switch(client):
    html = client.get("/signup/").content.decode()
    assert '<form id="signup-form" data-keeps-typed' in html
    english = re.search(r'<button[^>]*data-testid="lang-en"[^>]*>', html, re.S).group(0)
    assert 'form="signup-form"' in english
    assert 'formaction="/i18n/switch/?next=/signup/&amp;form=signup-form"' in english
    assert "formnovalidate" in english


def test_on_a_page_without_a_form_the_buttons_post_to_set_language(client):
    html = client.get("/").content.decode()
    english = re.search(r'<button[^>]*data-testid="lang-en"[^>]*>', html, re.S).group(0)
    assert "form=" not in english and "formaction" not in english


def test_the_switch_keeps_what_was_typed_but_never_a_password_or_code_and_only_once(client):
    posted = {
        "language": "en",
        "phone": "137 0000 0009",
        "code": "123456",
        "password": "S3cret-pw",
        "nickname": "Ada",
        "csrfmiddlewaretoken": "x",
    }
    response = client.post("/i18n/switch/?next=/signup/&form=signup-form", posted)
    assert response.status_code == 302 and response["Location"] == "/signup/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert set(client.session["kept-form"]["data"]) == {"phone", "nickname"}

    html = client.get("/signup/").content.decode()
    assert '<html lang="en">' in html
    assert 'value="137 0000 0009"' in _input(html, "phone")
    assert 'value="Ada"' in _input(html, "nickname")
    assert "value=" not in _input(html, "password") and 'value="123456"' not in html

    again = client.get("/signup/").content.decode()  # a refresh starts clean
    assert 'value="Ada"' not in _input(again, "nickname")


def test_what_was_kept_goes_only_to_the_form_and_page_it_came_from(client, user):
    client.force_login(user)
    client.post("/i18n/switch/?next=/signup/&form=signup-form", {"language": "en", "nickname": "Ada"})
    html = client.get("/account/").content.decode()
    assert 'value="Ada"' not in html


def test_the_profile_form_keeps_its_typing_across_a_switch(client, user):
    client.force_login(user)
    client.post(
        "/i18n/switch/?next=/account/&form=profile-form", {"language": "en", "nickname": "新名字", "email": "a@b"}
    )
    html = client.get("/account/").content.decode()
    assert 'value="新名字"' in _input(html, "nickname") and 'value="a@b"' in _input(html, "email")


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", ""])
def test_the_switch_goes_back_only_to_this_site(client, next_url):
    response = client.post(f"/i18n/switch/?next={next_url}&form=signup-form", {"language": "en"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_an_unknown_language_changes_nothing(client):
    response = client.post("/i18n/switch/?next=/signup/&form=signup-form", {"language": "xx", "nickname": "Ada"})
    assert response["Location"] == "/signup/" and settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert "kept-form" not in client.session


def test_the_switch_is_post_only(client):
    assert client.get("/i18n/switch/?next=/signup/").status_code == 405


def test_a_post_with_hundreds_of_fields_keeps_only_a_bounded_stash(client):
    posted = {f"f{n}": "x" * 2000 for n in range(300)} | {"language": "en"}
    client.post("/i18n/switch/?next=/signup/&form=signup-form", posted)
    kept = client.session["kept-form"]["data"]
    assert len(kept) <= 50 and all(len(v[0]) <= 500 for v in kept.values())
