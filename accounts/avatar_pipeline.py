"""The avatar pipeline: an upload in, re-encoded pictures out. Pure image code.

No database, no storage, no request: ``accounts.services.avatar`` stores what
``avatar_process`` returns. An avatar is the only file a user can put on our
servers, so every upload is treated as hostile:

- the type is decided by content, with an explicit allow-list of Pillow
  plugins (JPEG, PNG, WebP, GIF first frame) — never by name or Content-Type;
- sizes are checked from the header before anything is decoded (pixel bombs
  cost a header read, not a gigabyte);
- what comes out is re-encoded pixels only (WebP), upright (EXIF orientation
  applied) and without any metadata.
"""

import io
import logging
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _
from PIL import Image

from accounts import conf
from accounts.errors import UnsupportedImage, file_too_large
from config.errors import InvalidInput

logger = logging.getLogger("accounts.avatars")

# Pillow plugins we let near user data, by Pillow's format name. Everything
# else (SVG, HTML, PDF, TIFF, PSD, BMP…) never reaches a decoder.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
MIN_SIDE = 64
PICTURE_SIDE = 512
THUMBNAIL_SIDE = 128
OUTPUT_FORMAT = "WEBP"
OUTPUT_EXTENSION = "webp"
OUTPUT_QUALITY = 82

# EXIF orientation -> the transpose that makes the picture upright
# (the same table as ImageOps.exif_transpose, applied by hand so that no
# metadata rides along on the result).
_ORIENTATION_FIX = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class ProcessedAvatar:
    """Re-encoded bytes ready to store (pixels only, no metadata)."""

    picture: bytes
    picture_size: tuple[int, int]
    thumbnail: bytes


# --- Reading the upload ----------------------------------------------------------------------


def _file_size(file: IO[bytes]) -> int:
    # Measured, not taken from ``file.size`` or a header: callers may pass
    # any file object.
    file.seek(0, io.SEEK_END)
    size = file.tell()
    file.seek(0)
    return size


def _invalid(message) -> InvalidInput:
    return InvalidInput(message, fields={"avatar": [message]})


def _corrupt() -> InvalidInput:
    return _invalid(_("The image is damaged or incomplete."))


def _webp_canvas_size(head: bytes) -> tuple[int, int] | None:
    """The canvas size from a WebP header (libwebp allocates it when the decoder is created)."""
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    if chunk == b"VP8X" and len(head) >= 30:
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _check_dimensions(width: int, height: int) -> None:
    # Pillow's own bomb threshold caps ours: whatever Pillow would warn about
    # is refused here, before its warning could fire or a decoder could run.
    limit = conf.avatar_max_pixels()
    if Image.MAX_IMAGE_PIXELS:
        limit = min(limit, Image.MAX_IMAGE_PIXELS)
    if width * height > limit:
        raise _invalid(
            _("The image has too many pixels (%(width)s×%(height)s); at most %(limit)s million.")
            % {"width": width, "height": height, "limit": f"{limit / 1_000_000:g}"}
        )
    if min(width, height) < MIN_SIDE:
        raise _invalid(_("The image must be at least %(side)s×%(side)s pixels.") % {"side": MIN_SIDE})


def _open_header(file: IO[bytes]) -> Image.Image:
    """Identify the format from the content and read the header only (nothing decoded).

    This is ``Image.open`` restricted to ``ALLOWED_FORMATS``, minus its
    decompression-bomb check: ours runs on the header size instead, with our
    own limit, and turns what would be Pillow's warning into a refusal.
    """
    Image.init()
    head = file.read(64)
    file.seek(0)
    for name in ALLOWED_FORMATS:
        factory, accept = Image.OPEN[name]
        if accept and not accept(head):
            continue
        if name == "WEBP":
            size = _webp_canvas_size(head)
            if size is None:
                raise _corrupt()
            _check_dimensions(*size)
        try:
            image = factory(file, "")
        except Image.DecompressionBombError as exc:
            raise _invalid(_("The image has too many pixels.")) from exc
        except Exception as exc:  # Pillow raises a zoo of types on malformed headers
            logger.info("Avatar header rejected (%s): %r", name, exc)
            raise _corrupt() from exc
        if image.format not in (*ALLOWED_FORMATS, "MPO"):  # MPO: a JPEG with extra frames (phone cameras)
            raise UnsupportedImage()
        _check_dimensions(*image.size)
        return image
    raise UnsupportedImage()


# --- The pipeline ---------------------------------------------------------------------------


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_EXIF_ORIENTATION) or 1)
    except Exception:  # a broken EXIF block is no reason to refuse the pixels
        return 1


def _clean_mode(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "RGBA"):
        return image  # convert() would still copy every pixel: twice the memory of a large upload
    has_alpha = image.mode in ("LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info)
    if image.mode.startswith("I;16") or image.mode == "I":
        # 16/32-bit greyscale PNG: scale to 8 bits instead of clipping to white.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return image.convert("RGBA" if has_alpha else "RGB")


def _fit(image: Image.Image, side: int) -> Image.Image:
    """``image`` scaled down to fit side×side, keeping its proportions (a new image; never a full-size copy)."""
    width, height = image.size
    if max(width, height) <= side:
        return image
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _square(image: Image.Image, side: int) -> Image.Image:
    """The centred square of ``image``, resized to side×side."""
    width, height = image.size
    edge = min(width, height)
    left, top = (width - edge) // 2, (height - edge) // 2
    box = (left, top, left + edge, top + edge)
    return image.resize((side, side), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)


def _encode(image: Image.Image) -> bytes:
    image.info.clear()  # nothing from the upload may ride along (exif, icc, xmp, comments…)
    buffer = io.BytesIO()
    image.save(buffer, OUTPUT_FORMAT, quality=OUTPUT_QUALITY, exif=b"", icc_profile=None, xmp=b"")
    return buffer.getvalue()


def avatar_process(file: IO[bytes]) -> ProcessedAvatar:
    """Validate and re-encode an upload; no database, no storage.

    Raises ``FileTooLarge`` (413) past ``AVATAR_MAX_BYTES``,
    ``UnsupportedMediaType`` (415) for anything but JPEG/PNG/WebP/GIF content,
    ``InvalidInput`` (400 validation_error on ``avatar``) for too many pixels
    (checked from the header, before decoding), less than 64×64, or a
    truncated/corrupt image.
    """
    max_bytes = conf.avatar_max_bytes()
    if _file_size(file) > max_bytes:
        raise file_too_large(max_bytes)

    image = _open_header(file)
    try:
        if image.format in ("JPEG", "MPO"):
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still
            # leaves at least PICTURE_SIDE pixels: most of the CPU saved.
            image.draft("RGB", (PICTURE_SIDE, PICTURE_SIDE))
        image.load()  # GIF/WebP: the first frame only
    except Exception as exc:  # truncated data, bad compression stream, …
        logger.info("Avatar decode failed: %r", exc)
        raise _corrupt() from exc
    # Read after load(): a PNG's eXIf chunk may follow the pixel data.
    orientation = _orientation(image)
    image = _clean_mode(image)

    for step in _ORIENTATION_FIX.get(orientation, ()):
        image = image.transpose(step)

    picture = _fit(image, PICTURE_SIDE)
    # From the 512 picture when it has enough pixels (a third of the work),
    # else from the full image (a long, thin picture keeps a sharp square).
    thumbnail = _square(picture if min(picture.size) >= 2 * THUMBNAIL_SIDE else image, THUMBNAIL_SIDE)
    return ProcessedAvatar(picture=_encode(picture), picture_size=picture.size, thumbnail=_encode(thumbnail))
