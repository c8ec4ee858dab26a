"""Size-limited uploads: an oversized body is refused, never read into memory.

Two gates, both before ``request.FILES`` / DRF's ``request.data`` is touched:

1. ``Content-Length`` above the limit plus room for the multipart envelope:
   refused at once, the body is not read at all.
2. Otherwise ``LimitedUploadHandler`` is put first in the handler chain and
   counts the file bytes as they stream in; one byte past the limit and it
   stops the upload (Django then drains what is left of the body, at most the
   envelope allowance, without keeping it), so no later handler ever
   receives more than the limit.

Page views must install the handler before the CSRF check reads
``request.POST`` (``csrf_exempt`` outside, ``csrf_protect`` inside — Django's
documented pattern for custom upload handlers).
"""

from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from accounts import conf
from accounts.errors import file_too_large

# Multipart boundaries, part headers and the CSRF token field: generous, and
# still far below anything that matters for memory.
ENVELOPE_BYTES = 64 * 1024


class LimitedUploadHandler(FileUploadHandler):
    """First in the chain: passes chunks on until the files exceed ``max_bytes``, then stops."""

    def __init__(self, request=None, *, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.exceeded = True
            # connection_reset=False: the parser drains the rest of the body
            # (bounded by the Content-Length gate) so the client reads our
            # answer instead of a reset connection.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) builds the file


def limit_upload(request, *, max_bytes: int | None = None) -> LimitedUploadHandler:
    """Apply both gates to a Django ``HttpRequest`` whose body is still unread.

    Raises ``FileTooLarge`` when the declared length is already too big.
    After the body is parsed, call ``check_upload(handler)``.
    """
    max_bytes = conf.avatar_max_bytes() if max_bytes is None else max_bytes
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > max_bytes + ENVELOPE_BYTES:
        raise file_too_large(max_bytes)
    handler = LimitedUploadHandler(request, max_bytes=max_bytes)
    request.upload_handlers.insert(0, handler)
    return handler


def check_upload(handler: LimitedUploadHandler) -> None:
    if handler.exceeded:
        raise file_too_large(handler.max_bytes)
