"""The API's JSON renderer: DRF's output, written by orjson.

DRF's ``JSONRenderer`` runs the standard library's encoder with DRF's
``JSONEncoder`` for what JSON lacks. orjson writes the same compact UTF-8
text several times faster (a measurable share of a small read such as
``GET /api/v1/me/``). What stays the same, so the contract is unchanged:

- compact separators, non-ASCII written as UTF-8 (DRF's ``COMPACT_JSON`` /
  ``UNICODE_JSON`` defaults), keys in the order given;
- every non-JSON value (datetimes with ``Z``, decimals, lazy translations,
  UUIDs…) goes through DRF's own encoder (``default``);
- U+2028 / U+2029 are escaped as DRF does (JavaScript-safe);
- a response asking for ``indent`` (``Accept: application/json; indent=2``)
  and anything orjson refuses (NaN, integers beyond 64 bits) fall back to
  DRF's renderer, which answers or fails exactly as before.
"""

from typing import Any

import orjson
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

_encoder = JSONEncoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


class ORJSONRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            text = orjson.dumps(data, default=_encoder.default, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError, ValueError):
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80\xa8" in text or b"\xe2\x80\xa9" in text:
            text = text.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return text


def rendered_response(request: Request, data: Any, *, status: int) -> HttpResponse:
    """``Response(data, status=status)`` as DRF would render it, made at once, for the hottest writes.

    A DRF ``Response`` is a template response: it is built empty, then rendered
    after the view by the handler, with its context and headers set twice. With
    this renderer the text is known now, so the view returns the rendered
    ``HttpResponse`` directly (the same bytes and ``Content-Type``; DRF's
    ``finalize_response`` still adds ``Allow`` and ``Vary``). Any other renderer
    the request negotiated gets a ``Response``, exactly as before.
    """
    renderer = getattr(request, "accepted_renderer", None)
    if not isinstance(renderer, ORJSONRenderer):
        return Response(data, status=status)
    content = renderer.render(data, request.accepted_media_type, {"request": request})
    return HttpResponse(content, status=status, content_type=renderer.media_type)
