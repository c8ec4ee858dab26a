"""django-csp's middleware, with the policy text built once per settings instead of on every response.

``CSPMiddleware.process_response`` deep-copies its policy parts
(``dataclasses.asdict``) and rebuilds both header texts from the settings on
each response: about as much CPU as the whole of a small API view. Unless a
view changed the policy for its response (``@csp_update`` and the like) or the
page used a nonce, the texts are the same every time. Those responses get the
texts built once (again after a settings change, as in tests); every other
response goes through django-csp unchanged. What is sent, and when, is
django-csp's rule, repeated below.
"""

from __future__ import annotations

import http.client
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as _CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

# What a view may set on its response to change the policy (django-csp's decorators).
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_texts: tuple[str, str] | None = None


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: Any) -> None:
    global _texts
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _texts = None


def _policy_texts() -> tuple[str, str]:
    global _texts
    if _texts is None:
        _texts = (build_policy(), build_policy(report_only=True))
    return _texts


def _excluded(request: HttpRequest, setting: str) -> bool:
    prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
    return request.path_info.startswith(tuple(prefixes))


class CSPMiddleware(_CSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, name) for name in _PER_RESPONSE):
            return super().process_response(request, response)
        if response.status_code in (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND) and settings.DEBUG:
            return response
        policy, policy_ro = _policy_texts()
        if (
            policy
            and HEADER not in response
            and getattr(response, "_csp_exempt", False) is False
            and not _excluded(request, "CONTENT_SECURITY_POLICY")
        ):
            response[HEADER] = policy
        if (
            policy_ro
            and HEADER_REPORT_ONLY not in response
            and getattr(response, "_csp_exempt_ro", False) is False
            and not _excluded(request, "CONTENT_SECURITY_POLICY_REPORT_ONLY")
        ):
            response[HEADER_REPORT_ONLY] = policy_ro
        # As django-csp does: a nonce asked for after the header was written is an error, not a silent gap.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
