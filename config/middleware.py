import datetime

from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
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


def token_api_request(request) -> bool:
    """An API request that no browser session can concern: a Bearer token, an API key, or no session cookie.

    Such a request is answered by DRF's token authenticators (or by no
    authenticator: login, refresh, payment notifications), never by the
    session, so loading and saving a session, the user behind it and its
    flash messages is work for nothing on the API's hottest paths. A request
    that carries a session cookie and no token keeps all of it (the pages'
    JavaScript calls the API with the session).
    """
    if not request.path_info.startswith("/api/"):
        return False
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if authorization[:7].lower() == "bearer " or authorization[:8].lower() == "api-key ":
        return True
    return settings.SESSION_COOKIE_NAME not in request.COOKIES


def _skipped_for_token_api(middleware_class: type, *, on_skip=None) -> type:
    """``middleware_class``, passed by for ``token_api_request`` requests (``on_skip(request)`` runs instead)."""

    # A subclass, so that checks looking for Django's class (the admin's) still find it.
    class Skipped(middleware_class):
        def __call__(self, request):
            if token_api_request(request):
                if on_skip is not None:
                    on_skip(request)
                return self.get_response(request)
            return super().__call__(request)

    Skipped.__name__ = Skipped.__qualname__ = middleware_class.__name__
    Skipped.__doc__ = f"``{middleware_class.__module__}.{middleware_class.__name__}``, not for token API requests."
    return Skipped


def _anonymous(request) -> None:
    # DRF replaces it with whoever its authenticators find; code reading the
    # Django request's user before that (SessionAuthentication) sees nobody.
    request.user = AnonymousUser()


# Used in MIDDLEWARE in place of Django's own (settings.py): same behaviour for pages and session calls.
SessionMiddleware = _skipped_for_token_api(sessions_middleware.SessionMiddleware)
AuthenticationMiddleware = _skipped_for_token_api(auth_middleware.AuthenticationMiddleware, on_skip=_anonymous)
MessageMiddleware = _skipped_for_token_api(messages_middleware.MessageMiddleware)
