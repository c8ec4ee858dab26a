import codecs
import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


class DecimalJSONParser(JSONParser):
    """JSON with numbers like ``10.5`` parsed straight to ``Decimal``, never to float.

    DRF's parser would turn ``10.5`` into a float (and ``1e309`` into
    infinity) before any field sees it. ``NaN``/``Infinity`` stay refused.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            decoded = codecs.getreader(encoding)(stream)
            return json.load(decoded, parse_float=Decimal, parse_constant=_refuse_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
