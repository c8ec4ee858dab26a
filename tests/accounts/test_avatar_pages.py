"""The avatar block of /account/, its form posts, and how media is served."""

import io

import pytest
from django.test import Client

from accounts.models import User
from tests.accounts.avatar_images import SVG, image_bytes

pytestmark = pytest.mark.django_db

UPLOAD = "/account/avatar/"
DELETE = "/account/avatar/delete/"


class UnreadableBody(io.RawIOBase):
    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def file(data: bytes, name="me.png"):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


@pytest.fixture
def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_account_page_shows_a_placeholder_and_the_upload_form(browser):
    html = browser.get("/account/").content.decode()

    assert 'data-testid="avatar-placeholder"' in html
    assert 'enctype="multipart/form-data"' in html
    assert 'action="/account/avatar/"' in html
    assert "csrfmiddlewaretoken" in html
    assert 'data-testid="avatar-remove"' not in html  # nothing to remove yet


def test_uploading_redirects_to_the_account_page_which_shows_the_avatar(user, browser):
    response = browser.post(UPLOAD, {"avatar": file(image_bytes("JPEG"), "me.jpg")})

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    user.refresh_from_db()
    assert user.avatar
    html = browser.get("/account/").content.decode()
    assert f'src="{user.avatar_thumbnail.url}"' in html
    assert 'data-testid="avatar-remove"' in html
    assert 'data-testid="avatar-placeholder"' not in html


def test_a_refused_file_is_shown_inline_with_the_form(user, browser):
    response = browser.post(UPLOAD, {"avatar": file(SVG, "me.png")}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 415
    html = response.content.decode()
    assert 'data-testid="avatar-error"' in html
    assert "JPEG, PNG, WebP or GIF" in html
    assert 'aria-invalid="true"' in html
    user.refresh_from_db()
    assert not user.avatar


def test_no_file_chosen_is_an_inline_error(browser):
    response = browser.post(UPLOAD, {})
    assert response.status_code == 400
    assert 'data-testid="avatar-error"' in response.content.decode()


def test_one_byte_over_the_limit_is_an_inline_error(user, browser, settings):
    image = image_bytes("PNG")
    settings.AVATAR_MAX_BYTES = len(image)

    response = browser.post(UPLOAD, {"avatar": file(image + b"\0")})

    assert response.status_code == 413
    assert 'data-testid="avatar-error"' in response.content.decode()
    user.refresh_from_db()
    assert not user.avatar


def test_a_declared_oversized_body_is_answered_without_reading_it(browser, settings):
    response = browser.generic(
        "POST",
        UPLOAD,
        b"",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(settings.AVATAR_MAX_BYTES * 10),
        **{"wsgi.input": UnreadableBody()},
    )
    assert response.status_code == 413
    assert 'data-testid="avatar-error"' in response.content.decode()


def test_the_upload_checks_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(UPLOAD, {"avatar": file(image_bytes("PNG"))})

    assert response.status_code == 403
    user.refresh_from_db()
    assert not user.avatar


def test_the_upload_works_with_the_csrf_token_from_the_page(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/account/")
    token = client.cookies["csrftoken"].value

    response = client.post(UPLOAD, {"avatar": file(image_bytes("PNG")), "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.avatar


def test_anonymous_people_are_sent_to_log_in(db):
    response = Client().post(UPLOAD, {"avatar": file(image_bytes("PNG"))})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_remove_clears_the_avatar(user, browser, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(UPLOAD, {"avatar": file(image_bytes("PNG"))})
        response = browser.post(DELETE)

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    user = User.objects.get(phone=browser.get("/account/").context["user"].phone)
    assert not user.avatar


def test_remove_is_post_only(browser):
    assert browser.get(DELETE).status_code == 405


# --- Media -------------------------------------------------------------------------------------


def test_media_is_served_with_an_image_type_and_nosniff_in_development(user, browser, settings):
    browser.post(UPLOAD, {"avatar": file(image_bytes("PNG"))})
    user.refresh_from_db()
    settings.DEBUG = True

    for url in (user.avatar.url, user.avatar_thumbnail.url):
        response = browser.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/webp"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content)[8:12] == b"WEBP"


def test_a_media_file_that_is_not_an_image_is_a_download(settings, tmp_path):
    settings.DEBUG = True
    (tmp_path / "media").mkdir(exist_ok=True)
    (tmp_path / "media" / "note.html").write_text("<script>alert(1)</script>")

    response = Client().get("/media/note.html")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == "attachment"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_media_is_not_served_by_django_in_production(user, browser):
    browser.post(UPLOAD, {"avatar": file(image_bytes("PNG"))})
    user.refresh_from_db()
    assert browser.get(user.avatar.url).status_code == 404


def test_errors_and_help_are_in_chinese_by_default(browser):
    response = browser.post(UPLOAD, {"avatar": file(SVG, "me.png")})
    html = response.content.decode()
    assert "请上传 JPEG、PNG、WebP 或 GIF 格式的图片。" in html
    assert "不超过 5.0" in html
