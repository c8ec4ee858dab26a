"""The production URLs plus one plain Django view, for bench/api_ratios.py only (never in config/urls.py).

``/api/v1/bench/plain/`` is the reference the API's reads are compared to: a
function view returning a small ``JsonResponse``, under ``/api/`` so that it
passes through exactly the same middleware as ``GET /api/v1/me/`` (the bench
sends it the same Bearer header), with no DRF, no authentication and no query.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as production


def plain(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"id": 1, "ok": True})


urlpatterns = [path("api/v1/bench/plain/", plain), *production]
