"""The avatar block of /account/, its form posts, and how media is served."""

import pytest
from django.test import Client

from accounts.models import User
from tests.accounts.avatar_images import SVG, image_bytes, named_file, send_declared_oversized

pytestmark = pytest.mark.django_db

UPLOAD = "/account/avatar/"
DELETE = "/account/avatar/delete/"
BACK_WITH_ERROR = "/account/#avatar"


@pytest.fixture
def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def avatar_error(client: Client, response) -> str | None:
    """Follow a post back to /account/ and return the error shown in the avatar block, if any."""
    assert response.status_code == 302, response.content[:300]
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    if 'data-testid="avatar-error"' not in html:
        return None
    return html.split('data-testid="avatar-error"><li>', 1)[1].split("</li>", 1)[0]


def test_the_account_page_shows_a_placeholder_and_the_upload_form(browser):
    html = browser.get("/account/").content.decode()

    assert 'data-testid="avatar-placeholder"' in html
    assert 'enctype="multipart/form-data"' in html
    assert 'action="/account/avatar/"' in html
    assert "csrfmiddlewaretoken" in html
    assert 'data-testid="avatar-error"' not in html
    assert 'data-testid="avatar-remove"' not in html  # nothing to remove yet


def test_uploading_redirects_to_the_account_page_which_shows_the_avatar(user, browser):
    response = browser.post(UPLOAD, {"avatar": named_file(image_bytes("JPEG"), "me.jpg")})

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    user.refresh_from_db()
    assert user.avatar
    html = browser.get("/account/").content.decode()
    assert f'src="{user.avatar_thumbnail.url}"' in html
    assert 'data-testid="avatar-remove"' in html
    assert 'data-testid="avatar-placeholder"' not in html


def test_a_refused_file_is_shown_next_to_the_form_on_the_account_page_once(user, browser):
    response = browser.post(UPLOAD, {"avatar": named_file(SVG, "me.png")}, HTTP_ACCEPT_LANGUAGE="en")

    assert response["Location"] == BACK_WITH_ERROR
    page = browser.get("/account/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    error = html.split('data-testid="avatar-error"><li>', 1)[1].split("</li>", 1)[0]
    assert error == "Upload a JPEG, PNG, WebP or GIF image."
    assert 'aria-invalid="true"' in html
    # Inside the avatar block, not among the page-wide messages at the top.
    assert (
        html.index('id="avatar"') < html.index('data-testid="avatar-error"') < html.index('data-testid="profile-form"')
    )
    assert 'class="messages"' not in html
    # Shown once: a reload is a clean form.
    assert 'data-testid="avatar-error"' not in browser.get("/account/").content.decode()
    user.refresh_from_db()
    assert not user.avatar


def test_a_refused_file_keeps_the_current_avatar(user, browser):
    browser.post(UPLOAD, {"avatar": named_file(image_bytes("PNG"))})
    user.refresh_from_db()
    current = user.avatar.name

    response = browser.post(UPLOAD, {"avatar": named_file(b"GIF89a not really")})

    assert avatar_error(browser, response)
    user.refresh_from_db()
    assert user.avatar.name == current


def test_no_file_chosen_is_an_error_next_to_the_form(browser):
    response = browser.post(UPLOAD, {}, HTTP_ACCEPT_LANGUAGE="en")
    assert avatar_error(browser, response) == "Choose an image to upload."


def test_one_byte_over_the_limit_is_an_error_next_to_the_form(user, browser, settings):
    image = image_bytes("PNG")
    settings.AVATAR_MAX_BYTES = len(image)

    response = browser.post(UPLOAD, {"avatar": named_file(image + b"\0")}, HTTP_ACCEPT_LANGUAGE="en")

    assert avatar_error(browser, response).startswith("The file is too large")
    user.refresh_from_db()
    assert not user.avatar


def test_a_declared_oversized_body_is_answered_without_reading_it(browser):
    response = send_declared_oversized(browser, "POST", UPLOAD, HTTP_ACCEPT_LANGUAGE="en")
    assert avatar_error(browser, response).startswith("The file is too large")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"avatar=aGVsbG8%3D", "application/x-www-form-urlencoded"),
        (b'{"avatar": [1]}', "application/json"),
        (b"", "multipart/form-data; boundary=xyz"),
        (b"--xyz\r\nnot a part\r\n", "multipart/form-data; boundary=xyz"),
        (
            b'--xyz\r\nContent-Disposition: form-data; name="avatar"\r\n\r\n\x00text, not a file\r\n--xyz--\r\n',
            "multipart/form-data; boundary=xyz",
        ),
    ],
    ids=["form-encoded", "json", "empty-multipart", "broken-multipart", "text-field-with-nul"],
)
def test_a_post_without_a_file_part_is_an_error_not_a_crash(user, browser, body, content_type):
    response = browser.generic("POST", UPLOAD, body, content_type=content_type, HTTP_ACCEPT_LANGUAGE="en")

    assert avatar_error(browser, response) == "Choose an image to upload."
    user.refresh_from_db()
    assert not user.avatar


def test_the_file_name_is_never_used_even_with_a_nul_byte(user, browser):
    image = image_bytes("PNG")
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="avatar"; filename="../a\x00.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + image + b"\r\n--xyz--\r\n"
    )
    response = browser.generic("POST", UPLOAD, body, content_type="multipart/form-data; boundary=xyz")

    assert avatar_error(browser, response) is None
    user.refresh_from_db()
    assert user.avatar.name.startswith("avatars/") and "\x00" not in user.avatar.name and ".." not in user.avatar.name


# --- CSRF: the view is csrf_exempt outside, csrf_protect inside (after the upload handler) -----


def test_a_post_without_a_csrf_token_is_refused_and_stores_nothing(user, settings, tmp_path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(UPLOAD, {"avatar": named_file(image_bytes("PNG"))})

    assert response.status_code == 403
    user.refresh_from_db()
    assert not user.avatar
    media = tmp_path / "media"
    assert not media.exists() or not any(media.rglob("*.webp"))


def test_a_post_with_a_wrong_csrf_token_is_refused(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/account/")

    response = client.post(UPLOAD, {"avatar": named_file(image_bytes("PNG")), "csrfmiddlewaretoken": "x" * 64})

    assert response.status_code == 403
    user.refresh_from_db()
    assert not user.avatar


def test_the_upload_works_with_the_csrf_token_from_the_page(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/account/")
    token = client.cookies["csrftoken"].value

    response = client.post(UPLOAD, {"avatar": named_file(image_bytes("PNG")), "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.avatar


def test_remove_checks_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(DELETE).status_code == 403


# --- Throttle ----------------------------------------------------------------------------------


def test_the_page_and_the_api_share_one_upload_budget(frozen_clock, user, user_client, browser, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "avatar_upload": "2/m"},
    }
    assert browser.post(UPLOAD, {"avatar": named_file(image_bytes("PNG"))})["Location"] == "/account/"
    assert (
        user_client.put(
            "/api/v1/me/avatar/", {"avatar": named_file(image_bytes("PNG"))}, format="multipart"
        ).status_code
        == 200
    )

    response = browser.post(UPLOAD, {"avatar": named_file(image_bytes("PNG"))}, HTTP_ACCEPT_LANGUAGE="en")

    assert avatar_error(browser, response) == "Too many requests. Please try again later."


def test_a_get_goes_back_to_the_account_page(browser):
    response = browser.get(UPLOAD)
    assert response.status_code == 302
    assert response["Location"] == "/account/"


def test_anonymous_people_are_sent_to_log_in(db):
    response = Client().post(UPLOAD, {"avatar": named_file(image_bytes("PNG"))})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_remove_clears_the_avatar(user, browser, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(UPLOAD, {"avatar": named_file(image_bytes("PNG"))})
        response = browser.post(DELETE)

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    user = User.objects.get(phone=browser.get("/account/").context["user"].phone)
    assert not user.avatar


def test_remove_is_post_only(browser):
    assert browser.get(DELETE).status_code == 405


# --- Media -------------------------------------------------------------------------------------


def test_media_is_served_with_an_image_type_and_nosniff_in_development(user, browser, settings):
    browser.post(UPLOAD, {"avatar": named_file(image_bytes("PNG"))})
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
    browser.post(UPLOAD, {"avatar": named_file(image_bytes("PNG"))})
    user.refresh_from_db()
    assert browser.get(user.avatar.url).status_code == 404


def test_errors_and_help_are_in_chinese_by_default(browser):
    response = browser.post(UPLOAD, {"avatar": named_file(SVG, "me.png")})
    assert avatar_error(browser, response) == "请上传 JPEG、PNG、WebP 或 GIF 格式的图片。"
    assert "不超过 5.0" in browser.get("/account/").content.decode()
