"""Take secrets and personal data out of what leaves the process for operators.

Log lines (``config.logs``) and error reports (``config.sentry``) pass through
``redact``: phone numbers are masked the way support staff see them
(``138****8000``, ``+86138****8000``), and SMS codes, passwords, tokens, API
keys and request bodies are replaced by ``[filtered]``. Two nets, because
either alone leaks:

- by **key**: a value stored under a name that says it is secret
  (``password``, ``code``, ``access``, ``Authorization``, ``api_key``,
  ``body``…) is dropped whatever it looks like;
- by **shape**: free text (a log message, an exception's text, a provider's
  error echoing the request) is searched for phone numbers, JWTs and signed
  tokens (``eyJ…``), ``Bearer …`` credentials and codes written next to the
  word "code" / "验证码".

Over-masking is accepted (an order number shaped like a mobile number is
masked too): these texts are for diagnosis, the database keeps the facts.
"""

from __future__ import annotations

import functools
import re
from typing import Any

FILTERED = "[filtered]"

# Names whose value is never shown. Compared after lower-casing and turning
# "-" into "_"; the fragments below also match inside longer names
# (new_password, HTTP_AUTHORIZATION, x_api_key, client_secret…).
_SECRET_KEYS = frozenset(
    {
        "code",
        "codes",
        "otp",
        "access",
        "refresh",
        "jti",
        "cookie",
        "cookies",
        "set_cookie",
        "sessionid",
        "body",
        "raw_body",
        "data",
        "payload",
        "sign",
    }
)
_SECRET_FRAGMENTS = ("password", "passwd", "secret", "token", "authorization", "api_key", "apikey", "signature")

# A phone number: E.164 (+ and 8-15 digits), or a Chinese mobile written
# nationally, optionally with the 86 / 0086 prefix.
# Not inside a longer run of letters and digits: a hex request id may hold
# eleven digits in a row. (CJK text around a number still matches.)
_PHONE = re.compile(r"\+\d{8,15}(?![0-9A-Za-z])|(?<![0-9A-Za-z+])(?:0086|86)?1[3-9]\d{9}(?![0-9A-Za-z])")
# JWTs and Django-signed values both start with base64 of '{"'.
_TOKEN = re.compile(r"eyJ[A-Za-z0-9_\-]+(?:[.:][A-Za-z0-9_\-]+)+")
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=\-]{8,}")
# "code 123456", "code=123456", "code: '123456'", "code is 123456", "验证码为123456".
_CODE = re.compile(r"(?i)(code|otp|验证码)([\s:=\"'为是：]{0,6}(?:is\s+)?)(\d{4,8})(?!\d)")
# key=value pairs in free text (query strings, form bodies, reprs).
_PAIR = re.compile(
    r"(?i)\b([a-z_\-]*(?:password|secret|token|api_key|apikey|signature|verification_token))"
    r"([\"']?\s*[:=]\s*[\"']?)([^\s&\"',;}]+)"
)


def phone_mask(phone: str) -> str:
    """``13800138000`` -> ``138****8000``; ``+8613800138000`` -> ``+86138****8000``."""
    if len(phone) <= 8:
        return "****"
    return phone[:-8] + "****" + phone[-4:]


# What the patterns above need before they can match anything: a word (_TOKEN's "eyJ",
# _BEARER's scheme, _PAIR's secret name, _CODE's "code") for all but _PHONE, and eight
# digits in a row for _PHONE (E.164 has 8 to 15, a mobile 11). Most texts of a log line
# (the method, the path, the route, the time, a request id) have neither: one or two
# searches then replace five substitutions.
_MAY_HOLD_WORD = re.compile(r"eyJ|验证码|(?i:bearer|basic|token|password|secret|api_?key|signature|code|otp)")
_MAY_HOLD_PHONE = re.compile(r"\d{8}")


@functools.lru_cache(maxsize=1024)  # names are few (field and header names); a line has a dozen
def _name_is_secret(key: str) -> bool:
    name = key.lower().replace("-", "_")
    return name in _SECRET_KEYS or any(fragment in name for fragment in _SECRET_FRAGMENTS)


def key_is_secret(key: object) -> bool:
    return isinstance(key, str) and _name_is_secret(key)


def redact_text(text: str, *, keep_codes: bool = False) -> str:
    """Free text with tokens, credentials, codes (unless ``keep_codes``) and phone numbers hidden."""
    if _MAY_HOLD_WORD.search(text):
        text = _TOKEN.sub(FILTERED, text)
        text = _BEARER.sub(lambda m: f"{m.group(1)} {FILTERED}", text)
        text = _PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{FILTERED}", text)
        if not keep_codes:
            text = _CODE.sub(lambda m: f"{m.group(1)}{m.group(2)}{'*' * len(m.group(3))}", text)
    if _MAY_HOLD_PHONE.search(text):
        text = _PHONE.sub(lambda m: phone_mask(m.group(0)), text)
    return text


def redact(value: Any, *, keep_codes: bool = False, _depth: int = 0) -> Any:
    """``value`` (str, dict, list, tuple, anything else left as is) with secrets removed.

    Dict values under a secret key become ``[filtered]``; strings are
    scrubbed with ``redact_text``. Returns new containers, never mutates.
    """
    if _depth > 20:  # a pathological structure: drop it rather than recurse forever
        return FILTERED
    if isinstance(value, str):
        return redact_text(value, keep_codes=keep_codes)
    if isinstance(value, dict):
        return {
            key: FILTERED
            if key_is_secret(key) and item not in (None, "", [], {})
            else redact(item, keep_codes=keep_codes, _depth=_depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        items = [redact(item, keep_codes=keep_codes, _depth=_depth + 1) for item in value]
        # Sentry writes headers as [name, value] pairs.
        if len(items) == 2 and key_is_secret(items[0]):
            items[1] = FILTERED
        return type(value)(items) if isinstance(value, tuple) else items
    return value
