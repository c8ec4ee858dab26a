"""The consent gate of the pages: a signed-in person agrees to a new legal version before going on.

When staff publish a new version of the user agreement or the privacy
policy, every page of a signed-in person who has not agreed to it yet
redirects to ``/consent/?next=<where they were going>``. Not gated: the
JSON API (apps read ``consent_required`` on the User object and call
``POST /api/v1/me/consents/``), the admin (staff at work), the legal pages
themselves, the consent page, logout (leaving is always allowed), the
language switch, static and media files, health and metrics.

Costs nothing: the current versions come with the user row
(``accounts.backends.AccountBackend.get_user``).
"""

from collections.abc import Callable
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.models import User
from accounts.selectors import consent_outstanding

# Names in the ``accounts`` URL namespace that stay open.
OPEN_VIEWS = frozenset({"consent", "legal", "legal_version", "logout", "media"})
OPEN_PREFIXES = ("/api/", "/admin/", "/i18n/", "/healthz", "/readyz", "/metrics")


class ConsentGateMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        if not _gated(request):  # first: an open path never loads the user
            return None
        user = getattr(request, "user", None)
        if not isinstance(user, User):
            return None
        if not consent_outstanding(user=user):
            return None
        return HttpResponseRedirect(f"{reverse('accounts:consent')}?next={quote(request.get_full_path())}")


def _gated(request: HttpRequest) -> bool:
    path = request.path_info
    if path.startswith(OPEN_PREFIXES) or path.startswith("/" + (settings.STATIC_URL or "static/").lstrip("/")):
        return False
    match = request.resolver_match
    return not (match is not None and match.namespace == "accounts" and match.url_name in OPEN_VIEWS)
