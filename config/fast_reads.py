"""The hottest API reads (``GET /api/v1/me/``, ``GET /api/v1/wallet/``) answered without DRF's dispatch.

DRF's ``APIView.dispatch`` — wrapping the request, running the
authenticators, permissions, throttles and content negotiation, finalising
the response — cost about a quarter of a ``GET /api/v1/me/``'s CPU in the
server (issue 15's profile), for an answer that is the same every time: one
authenticator, one permission (signed in), no throttle, JSON.

``fast_get(ViewClass, render)`` returns the view function for the URL: a
plain GET with an ``Authorization: Bearer`` token and an Accept header that
DRF would answer with JSON anyway (``config.negotiation``) is authenticated
by the view's first authenticator (the JWT one, with its revocation checks)
and answered with ``render(request, user)`` through the API's renderer.
Everything else — another method, a browser session, a missing, bad or
revoked token, another Accept, any exception on the way — goes to the DRF
view unchanged, which answers exactly as before (the same error body,
status and ``WWW-Authenticate``). The fast path only ever answers 200.

The function carries the DRF view's attributes (``cls``, ``initkwargs``,
``csrf_exempt``), so the schema generator and the CSRF middleware see the
DRF view.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from config.negotiation import _PLAIN_ACCEPTS
from config.renderers import ORJSONRenderer

Render = Callable[[HttpRequest, Any], Any]


def fast_get(view_class: type[APIView], render: Render) -> Callable[..., HttpResponse]:
    """The URL's view: ``view_class`` (DRF) for everything, and the plain authenticated GET done directly."""
    drf_view = view_class.as_view()
    template = view_class()
    template.setup(HttpRequest())  # as for a request: HEAD is served by get() (DRF's Allow header lists it)
    headers = template.default_response_headers  # what DRF adds to every answer of this view (Allow, Vary)
    authenticator = template.get_authenticators()[0]
    renderer = ORJSONRenderer()
    format_override = api_settings.URL_FORMAT_OVERRIDE

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        meta = request.META
        if (
            request.method != "GET"
            or meta.get("HTTP_AUTHORIZATION", "")[:7].lower() != "bearer "
            or meta.get("HTTP_ACCEPT", "") not in _PLAIN_ACCEPTS
            or (format_override and format_override in request.GET)
        ):
            return drf_view(request, *args, **kwargs)
        try:
            # Bearer authenticators read only the headers (``request.META``), which both requests have.
            found = authenticator.authenticate(request)  # type: ignore[arg-type]
            if found is None:
                return drf_view(request, *args, **kwargs)
            user = found[0]
            # What DRF's Request does with the user it authenticated: the Django request sees it too
            # (the request log and metrics read it after the view).
            request.user = user
            data = render(request, user)
        except Exception:  # noqa: BLE001 - every failure is DRF's to answer
            # A refused token, an unreachable database (503), a bug (500): DRF runs it again and
            # answers in the API's words, exactly as without this path. Reads only: running twice is safe.
            return drf_view(request, *args, **kwargs)
        response = HttpResponse(renderer.render(data), content_type="application/json")
        for name, value in headers.items():
            response[name] = value
        return response

    functools.update_wrapper(view, drf_view)  # cls, initkwargs, csrf_exempt, view_class: the DRF view's
    return view
