"""Images for the avatar tests, generated in the tests (no fixture files), and upload helpers."""

import io
import struct
import zlib

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

RED = (220, 20, 20)
BLUE = (20, 20, 220)
GREEN = (20, 200, 20)


def image_bytes(fmt: str, size=(200, 150), color=RED, mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def upload(data: bytes, name: str = "avatar.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def named_file(data: bytes, name: str = "avatar.png") -> io.BytesIO:
    """What the test clients send as a multipart file part."""
    handle = io.BytesIO(data)
    handle.name = name
    return handle


class UnreadableBody(io.RawIOBase):
    """A request body (``wsgi.input``) that fails the test if anyone reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def send_declared_oversized(client, method: str, url: str, **extra):
    """A multipart request whose Content-Length is ten times ``AVATAR_MAX_BYTES``, with a body no one may read."""
    return client.generic(
        method,
        url,
        b"",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(settings.AVATAR_MAX_BYTES * 10),
        **{"wsgi.input": UnreadableBody()},
        **extra,
    )


def two_halves(size=(200, 100), left=RED, right=BLUE) -> Image.Image:
    """Left half one colour, right half another: shows which way is up."""
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def exif_rotated_jpeg() -> bytes:
    """A landscape picture (red left, blue right) stored turned on its side with Orientation=6.

    Orientation 6 tells a viewer to turn the stored pixels 90° clockwise, so
    the stored pixels are the upright picture turned 90° counter-clockwise.
    """
    stored = two_halves().transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (39.0, 54.0, 27.0)
    gps[3] = "E"
    gps[4] = (116.0, 23.0, 51.0)
    buffer = io.BytesIO()
    Image.new("RGB", (200, 150), GREEN).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def animated_gif(colors=(RED, BLUE, GREEN), size=(120, 120)) -> bytes:
    frames = [Image.new("RGB", size, color) for color in colors]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid all-black RGB PNG of width×height, about 1 MB for 20000×20000 (1.2 GB decoded).

    Built without compressing 1.2 GB: after a full flush, deflate output for
    an identical block is identical, so one compressed block of 100 rows is
    repeated, then closed with an empty final block and the Adler-32 of the
    zeros (a=1, b=n mod 65521).
    """
    rows = 100
    assert height % rows == 0
    block = b"\0" * ((width * 3 + 1) * rows)
    compressor = zlib.compressobj(9)
    head = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    total = len(block) * (height // rows)
    adler = ((total % 65521) << 16) | 1
    stream = head + repeat * (height // rows - 1) + b"\x03\x00" + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", stream) + _png_chunk(b"IEND", b"")


SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><script>alert(document.cookie)</script>
<rect width="200" height="200" fill="red"/></svg>"""

HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
