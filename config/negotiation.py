"""DRF's content negotiation, with the answer of nearly every API call decided without parsing.

Every call of the JSON API negotiates its renderer; DRF parses the Accept
header into media-type objects and ranks them, ~5 % of a ``GET /api/v1/me/``.
Apps send no Accept header, ``*/*`` or ``application/json``, and for each of
those DRF's own answer is the first renderer with ``application/json`` (the
API renders JSON only). Those are answered directly; anything else — another
media type, a ``?format=``, a format suffix, a view whose first renderer is
not JSON (the schema) — goes through DRF's negotiation unchanged, 406
included.
"""

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation

_PLAIN_ACCEPTS = frozenset({"", "*/*", "application/json"})


class JSONFirstContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        if (
            not format_suffix
            and request.META.get("HTTP_ACCEPT", "") in _PLAIN_ACCEPTS
            and renderers
            and renderers[0].media_type == "application/json"
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], "application/json"
        return super().select_renderer(request, renderers, format_suffix)
