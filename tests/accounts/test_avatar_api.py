"""PUT/DELETE /api/v1/me/avatar/: the wiring, the error bodies, the size gates."""

import io
import re

import pytest
from django.core.files.uploadhandler import MemoryFileUploadHandler
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import User
from tests.accounts.avatar_images import HTML, SVG, image_bytes, named_file, png_bomb, send_declared_oversized
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/avatar/"
ABSOLUTE_MEDIA_URL = re.compile(r"^http://testserver/media/avatars/[0-9a-f]{32}(\.thumb)?\.webp$")


def put_file(client, data: bytes, name="avatar.png", **extra):
    return client.put(URL, {"avatar": named_file(data, name)}, format="multipart", **extra)


def test_put_stores_the_avatar_and_returns_the_user_with_absolute_urls(
    user, user_client, django_assert_max_num_queries
):
    with django_assert_max_num_queries(5):
        response = put_file(user_client, image_bytes("JPEG", size=(800, 600)), name="me.jpg")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == user.pk
    assert ABSOLUTE_MEDIA_URL.match(body["avatar"]["url"]), body["avatar"]
    assert ABSOLUTE_MEDIA_URL.match(body["avatar"]["thumbnail_url"])
    assert ".thumb." in body["avatar"]["thumbnail_url"]
    user.refresh_from_db()
    assert body["avatar"]["url"].endswith(user.avatar.url)


def test_put_needs_authentication(db):
    response = put_file(APIClient(), image_bytes("PNG"))
    assert_api_error(response, 401, "not_authenticated")


def test_put_without_a_file_names_the_field(user_client):
    response = user_client.put(URL, {"nickname": "x"}, format="multipart")
    assert_api_error(response, 400, "validation_error", fields=["avatar"])


def test_an_empty_file_is_a_validation_error(user_client):
    response = put_file(user_client, b"")
    assert_api_error(response, 400, "validation_error", fields=["avatar"])


def test_json_is_not_an_upload(user_client):
    response = user_client.put(URL, {"avatar": "aGVsbG8="}, format="json")
    assert_api_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"avatar=aGVsbG8%3D", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"{not json", "application/json", 415, "unsupported_media_type"),
        (b"", "multipart/form-data", 400, "validation_error"),  # no boundary
        (b"--x\x00y\r\n", "multipart/form-data; boundary=x\x00y", 400, "validation_error"),
        (b"--xyz\r\nnot a part\r\n", "multipart/form-data; boundary=xyz", 400, "validation_error"),
        (
            b'--xyz\r\nContent-Disposition: form-data; name="avatar"\r\n\r\n\x00text, not a file\r\n--xyz--\r\n',
            "multipart/form-data; boundary=xyz",
            400,
            "validation_error",
        ),
    ],
    ids=["form-encoded", "malformed-json", "no-boundary", "nul-in-boundary", "broken-multipart", "text-field-with-nul"],
)
def test_malformed_bodies_are_client_errors(user, user_client, body, content_type, status, code):
    response = user_client.generic("PUT", URL, body, content_type=content_type)
    assert_api_error(response, status, code)
    user.refresh_from_db()
    assert not user.avatar


def test_a_file_name_with_a_nul_byte_is_not_used(user, user_client):
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="avatar"; filename="a\x00.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + image_bytes("PNG") + b"\r\n--xyz--\r\n"
    )
    response = user_client.generic("PUT", URL, body, content_type="multipart/form-data; boundary=xyz")

    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert re.match(r"^avatars/[0-9a-f]{32}\.webp$", user.avatar.name)


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"plain text pretending\n" * 10, "avatar.png"), (SVG, "avatar.svg"), (HTML, "avatar.png")],
    ids=["text-named-png", "svg", "html"],
)
def test_not_an_image_we_accept_is_415(user, user_client, data, name):
    response = put_file(user_client, data, name=name)
    assert_api_error(response, 415, "unsupported_media_type")
    user.refresh_from_db()
    assert not user.avatar


def test_a_truncated_image_is_400(user_client):
    noisy = Image.effect_noise((300, 300), 64).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    response = put_file(user_client, buffer.getvalue()[:2000])
    assert_api_error(response, 400, "validation_error", fields=["avatar"])


def test_too_small_is_400(user_client):
    response = put_file(user_client, image_bytes("PNG", size=(32, 32)))
    assert_api_error(response, 400, "validation_error", fields=["avatar"])


def test_a_pixel_bomb_is_400(user_client):
    response = put_file(user_client, png_bomb(20_000, 20_000))
    assert_api_error(response, 400, "validation_error", fields=["avatar"])


def test_one_byte_over_the_limit_is_413_and_no_handler_gets_past_the_limit(user, user_client, settings, monkeypatch):
    image = image_bytes("PNG")
    settings.AVATAR_MAX_BYTES = len(image) + 1000
    received = []
    original = MemoryFileUploadHandler.receive_data_chunk

    def spy(self, raw_data, start):  # the handler after ours: what would be kept
        received.append(len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(MemoryFileUploadHandler, "receive_data_chunk", spy)

    response = put_file(user_client, image + b"\0" * 1001)

    assert_api_error(response, 413, "file_too_large")
    assert sum(received) <= settings.AVATAR_MAX_BYTES
    user.refresh_from_db()
    assert not user.avatar

    response = put_file(user_client, image + b"\0" * 1000)  # exactly the limit
    assert response.status_code == 200, response.content


def test_a_declared_oversized_body_is_refused_without_reading_it(user_client):
    response = send_declared_oversized(user_client, "PUT", URL)
    assert_api_error(response, 413, "file_too_large")


def test_a_file_name_with_dot_dot_is_not_used(user, user_client):
    response = put_file(user_client, image_bytes("PNG"), name="../../../settings.py")

    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert re.match(r"^avatars/[0-9a-f]{32}\.webp$", user.avatar.name)
    assert ".." not in response.json()["avatar"]["url"]


def test_delete_removes_the_avatar(user, user_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert put_file(user_client, image_bytes("PNG")).status_code == 200
        response = user_client.delete(URL)

    assert response.status_code == 204
    assert response.content == b""
    user = User.objects.get(pk=user.pk)
    assert not user.avatar and not user.avatar_thumbnail


def test_delete_without_an_avatar_is_still_204(user_client):
    assert user_client.delete(URL).status_code == 204


def test_uploads_are_throttled_per_user_and_removing_is_not(frozen_clock, user_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "avatar_upload": "2/m"},
    }
    for _ in range(2):
        assert put_file(user_client, image_bytes("PNG")).status_code == 200

    response = put_file(user_client, image_bytes("PNG"))

    assert assert_api_error(response, 429, "rate_limited")["retry_after"] == 55  # the minute ends at 10:01:00
    for _ in range(3):
        assert user_client.delete(URL).status_code == 204


def test_the_schema_documents_the_avatar_routes(user_client):
    response = user_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    operations = response.json()["paths"][URL]
    assert set(operations) >= {"put", "delete"}
    assert "multipart/form-data" in operations["put"]["requestBody"]["content"]
    assert {"200", "400", "413", "415", "429"} <= set(operations["put"]["responses"])
