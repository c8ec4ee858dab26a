import codecs
import json
from decimal import Decimal

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


class JSONParser(parsers.JSONParser):
    """The API's JSON parser.

    - Numbers with a fraction become ``Decimal``, never ``float``: money must
      not pass through binary floating point (``10.1`` stays ``10.1``), and
      ``1e309`` does not turn into infinity.
    - ``NaN`` / ``Infinity`` are refused, as in DRF's strict mode.
    - Deeply nested input (``[[[[…]]]]``) is a parse error, not a
      RecursionError answered with a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            decoded = codecs.getreader(encoding)(stream)
            return json.load(decoded, parse_float=Decimal, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError("JSON parse error") from exc
