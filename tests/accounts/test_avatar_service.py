"""avatar_set / avatar_remove: what is accepted, what is refused, what ends up on disk."""

import io
import os
import re
import threading
import time

import pytest
from django.conf import settings
from django.db import connection
from PIL import Image, ImageFile

from accounts.avatar_pipeline import avatar_process
from accounts.errors import FileTooLarge, UnsupportedMediaType
from accounts.models import User
from accounts.services import avatar as avatars
from accounts.services.avatar import avatar_remove, avatar_set
from config.errors import InvalidInput
from tests.accounts.avatar_images import (
    BLUE,
    GREEN,
    HTML,
    PDF,
    RED,
    SVG,
    animated_gif,
    exif_rotated_jpeg,
    image_bytes,
    jpeg_with_gps,
    png_bomb,
    upload,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STORED_NAME = re.compile(r"^avatars/[0-9a-f]{32}\.webp$")
STORED_THUMBNAIL_NAME = re.compile(r"^avatars/[0-9a-f]{32}\.thumb\.webp$")


def media_files() -> set[str]:
    root = settings.MEDIA_ROOT
    found = set()
    for folder, _dirs, files in os.walk(root):
        for name in files:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found


def stored(field) -> Image.Image:
    with field.open("rb") as handle:
        data = handle.read()
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def close_to(pixel, color, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color, strict=True))


def set_avatar(user, data: bytes, name="avatar.png"):
    return avatar_set(user=user, file=upload(data, name))


# --- Accepted formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "save"),
    [("JPEG", {"quality": 95}), ("PNG", {}), ("WEBP", {"quality": 95}), ("GIF", {})],
)
def test_each_accepted_format_is_stored_as_a_webp_picture_and_a_square_thumbnail(user, fmt, save):
    set_avatar(user, image_bytes(fmt, size=(300, 200), **save), name=f"me.{fmt.lower()}")

    user.refresh_from_db()
    assert STORED_NAME.match(user.avatar.name), user.avatar.name
    assert STORED_THUMBNAIL_NAME.match(user.avatar_thumbnail.name), user.avatar_thumbnail.name
    picture, thumbnail = stored(user.avatar), stored(user.avatar_thumbnail)
    assert (picture.format, picture.size) == ("WEBP", (300, 200))
    assert (thumbnail.format, thumbnail.size) == ("WEBP", (128, 128))
    assert close_to(picture.convert("RGB").getpixel((150, 100)), RED)
    assert media_files() == {user.avatar.name, user.avatar_thumbnail.name}


def test_a_large_picture_is_scaled_to_fit_512(user):
    set_avatar(user, image_bytes("JPEG", size=(2000, 1500)), name="big.jpg")

    user.refresh_from_db()
    assert stored(user.avatar).size == (512, 384)
    assert stored(user.avatar_thumbnail).size == (128, 128)


def test_transparency_survives_re_encoding(user):
    set_avatar(user, image_bytes("PNG", size=(100, 100), color=(0, 0, 0, 0), mode="RGBA"))

    user.refresh_from_db()
    assert stored(user.avatar).convert("RGBA").getpixel((50, 50))[3] == 0


def test_an_animated_gif_keeps_its_first_frame(user):
    set_avatar(user, animated_gif(colors=(RED, BLUE, GREEN)), name="anim.gif")

    user.refresh_from_db()
    picture = stored(user.avatar)
    assert getattr(picture, "n_frames", 1) == 1
    assert close_to(picture.convert("RGB").getpixel((60, 60)), RED)


def test_an_animated_webp_keeps_its_first_frame(user):
    frames = [Image.new("RGB", (120, 120), color) for color in (BLUE, RED)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)

    set_avatar(user, buffer.getvalue(), name="anim.webp")

    user.refresh_from_db()
    assert close_to(stored(user.avatar).convert("RGB").getpixel((60, 60)), BLUE)


def test_an_exif_rotated_jpeg_comes_out_upright(user):
    set_avatar(user, exif_rotated_jpeg(), name="phone.jpg")

    user.refresh_from_db()
    picture = stored(user.avatar).convert("RGB")
    assert picture.size == (200, 100)  # landscape again
    assert close_to(picture.getpixel((20, 50)), RED)
    assert close_to(picture.getpixel((180, 50)), BLUE)
    assert not picture.getexif()


def test_gps_and_all_other_metadata_are_gone_from_the_stored_files(user):
    upload_bytes = jpeg_with_gps()
    assert Image.open(io.BytesIO(upload_bytes)).getexif().get_ifd(0x8825)  # the upload does carry GPS

    set_avatar(user, upload_bytes, name="holiday.jpg")

    user.refresh_from_db()
    for field in (user.avatar, user.avatar_thumbnail):
        with field.open("rb") as handle:
            data = handle.read()
        image = Image.open(io.BytesIO(data))
        assert not image.getexif()
        assert not {"exif", "xmp", "icc_profile"} & set(image.info)
        assert b"Exif" not in data and b"PhoneMaker" not in data and b"EXIF" not in data


def test_a_png_followed_by_an_html_document_is_stored_as_a_clean_image(user):
    polyglot = image_bytes("PNG", size=(100, 100)) + HTML
    set_avatar(user, polyglot, name="innocent.png")

    user.refresh_from_db()
    for field in (user.avatar, user.avatar_thumbnail):
        with field.open("rb") as handle:
            data = handle.read()
        assert b"<html" not in data.lower() and b"<script" not in data.lower()
        assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"


# --- Refused ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"just some text, honestly a picture\n" * 20, SVG, HTML, PDF, b"GIF88a" + b"\0" * 200],
    ids=["text", "svg", "html", "pdf", "not-quite-gif"],
)
def test_anything_but_the_four_formats_is_unsupported_whatever_its_name(user, data):
    with pytest.raises(UnsupportedMediaType):
        set_avatar(user, data, name="avatar.png")

    user.refresh_from_db()
    assert not user.avatar
    assert media_files() == set()


def test_other_image_formats_pillow_could_read_are_unsupported(user):
    with pytest.raises(UnsupportedMediaType):
        set_avatar(user, image_bytes("BMP"), name="avatar.bmp")
    with pytest.raises(UnsupportedMediaType):
        set_avatar(user, image_bytes("TIFF"), name="avatar.png")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_a_truncated_image_is_a_validation_error(user, fmt):
    noisy = Image.effect_noise((400, 300), 64).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, fmt)
    data = buffer.getvalue()

    with pytest.raises(InvalidInput) as caught:
        set_avatar(user, data[: len(data) // 2])

    assert "avatar" in caught.value.fields
    assert media_files() == set()


def test_a_header_with_nothing_after_it_is_a_validation_error_not_a_type_error(user):
    with pytest.raises(InvalidInput):
        set_avatar(user, b"\x89PNG\r\n\x1a\n" + b"\0" * 10)


@pytest.mark.parametrize("size", [(63, 200), (200, 63), (10, 10)])
def test_a_picture_smaller_than_64_pixels_is_refused(user, size):
    with pytest.raises(InvalidInput) as caught:
        set_avatar(user, image_bytes("PNG", size=size))
    assert "64" in str(caught.value.message)


def test_exactly_64_pixels_is_enough(user):
    set_avatar(user, image_bytes("PNG", size=(64, 64)))
    user.refresh_from_db()
    assert stored(user.avatar).size == (64, 64)


def test_too_many_pixels_is_refused_from_the_header_without_decoding(user, settings, monkeypatch):
    settings.AVATAR_MAX_PIXELS = 100 * 100
    data = image_bytes("PNG", size=(101, 100))
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self))
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))

    with pytest.raises(InvalidInput) as caught:
        set_avatar(user, data)

    assert caught.value.code == "validation_error"
    assert decoded == []


def test_a_20000_by_20000_png_is_refused_in_milliseconds(user):
    bomb = png_bomb(20_000, 20_000)
    avatar_process(io.BytesIO(image_bytes("PNG")))  # warm Pillow's plugin registry

    started = time.process_time()
    with pytest.raises(InvalidInput):
        avatar_process(io.BytesIO(bomb))
    assert time.process_time() - started < 0.05


def test_a_webp_canvas_bomb_is_refused_before_libwebp_allocates_it(user):
    # A VP8X header announcing a 16384×16384 canvas (1 GiB of RGBA) and nothing else.
    payload = b"\x00\x00\x00\x00" + (16383).to_bytes(3, "little") + (16383).to_bytes(3, "little")
    chunk = b"VP8X" + len(payload).to_bytes(4, "little") + payload
    data = b"RIFF" + (4 + len(chunk)).to_bytes(4, "little") + b"WEBP" + chunk

    with pytest.raises(InvalidInput) as caught:
        set_avatar(user, data, name="a.webp")
    assert "16384×16384" in str(caught.value.message)


def test_one_byte_over_the_size_limit_is_too_large(user, settings):
    image = image_bytes("PNG")
    settings.AVATAR_MAX_BYTES = len(image) + 100

    with pytest.raises(FileTooLarge) as caught:
        set_avatar(user, image + b"\0" * 101)
    assert caught.value.status == 413

    set_avatar(user, image + b"\0" * 100)  # exactly the limit: fine (trailing bytes are dropped)
    user.refresh_from_db()
    assert user.avatar


def test_a_file_name_with_dot_dot_never_reaches_the_storage(user, tmp_path):
    set_avatar(user, image_bytes("PNG"), name="../../../../etc/cron.d/evil.png")

    user.refresh_from_db()
    assert STORED_NAME.match(user.avatar.name)
    assert media_files() == {user.avatar.name, user.avatar_thumbnail.name}
    assert not (tmp_path / "etc").exists()


# --- Replacing and removing -----------------------------------------------------------------------


def test_the_previous_files_are_deleted_only_after_the_commit(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        set_avatar(user, image_bytes("PNG", color=RED))
    first = {user.avatar.name, user.avatar_thumbnail.name}

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        set_avatar(user, image_bytes("PNG", color=BLUE))
    second = {user.avatar.name, user.avatar_thumbnail.name}
    assert media_files() == first | second  # not committed yet: the old files are still served

    for callback in callbacks:
        callback()
    assert media_files() == second
    user.refresh_from_db()
    assert {user.avatar.name, user.avatar_thumbnail.name} == second


def test_a_refused_upload_keeps_the_current_avatar(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        set_avatar(user, image_bytes("PNG"))
    before = {user.avatar.name, user.avatar_thumbnail.name}

    with pytest.raises(UnsupportedMediaType), django_capture_on_commit_callbacks(execute=True):
        set_avatar(user, SVG, name="a.png")

    user.refresh_from_db()
    assert {user.avatar.name, user.avatar_thumbnail.name} == before == media_files()


def test_new_files_are_deleted_again_when_the_update_fails(user, monkeypatch):
    def gone(pk):
        raise User.DoesNotExist

    monkeypatch.setattr(avatars, "_lock_user", gone)
    with pytest.raises(User.DoesNotExist):
        set_avatar(user, image_bytes("PNG"))
    assert media_files() == set()


def test_remove_clears_the_avatar_and_deletes_the_files_after_commit(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        set_avatar(user, image_bytes("PNG"))
        avatar_remove(user=user)

    user.refresh_from_db()
    assert not user.avatar and not user.avatar_thumbnail
    assert media_files() == set()


def test_remove_without_an_avatar_does_nothing(user, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        avatar_remove(user=user)
    user.refresh_from_db()
    assert not user.avatar


# --- Concurrency (PostgreSQL: select_for_update is a no-op on SQLite) ----------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_uploads_leave_exactly_one_avatar_and_no_orphan_files(monkeypatch):
    user = UserFactory()
    lock_user = avatars._lock_user

    def slow_lock(pk):
        # Widen the window: without the row lock both would read the same
        # "previous" names and one new pair would be orphaned.
        locked = lock_user(pk)
        time.sleep(0.3)
        return locked

    monkeypatch.setattr(avatars, "_lock_user", slow_lock)
    barrier = threading.Barrier(2)
    errors = []

    def upload_one(color):
        try:
            barrier.wait()
            avatar_set(user=User.objects.get(pk=user.pk), file=upload(image_bytes("PNG", color=color)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload_one, args=(color,)) for color in (RED, BLUE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    user.refresh_from_db()
    assert media_files() == {user.avatar.name, user.avatar_thumbnail.name}
    assert STORED_NAME.match(user.avatar.name)
