import datetime

from django.urls import Resolver404, resolve
from django.utils import timezone


class ApiMiddleware:
    """Conventions for ``/api/`` requests.

    - A POST to ``/api/v1/auth/login`` (no trailing slash) is served by the
      ``/api/v1/auth/login/`` view directly. CommonMiddleware's APPEND_SLASH
      would answer with a redirect, and clients re-send a redirected POST as
      a GET without its body.
    - Times are rendered in UTC (API.md), whatever TIME_ZONE pages use.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        if not request.path_info.endswith("/"):
            try:
                resolve(request.path_info)
            except Resolver404:
                try:
                    resolve(request.path_info + "/")
                except Resolver404:
                    pass
                else:
                    request.path_info += "/"
                    request.path += "/"
        with timezone.override(datetime.UTC):
            return self.get_response(request)
