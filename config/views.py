import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error

from config.errors import InvalidInput, NotFound, PermissionDenied, ServerError
from config.exceptions import error_json
from config.faults import outage_response_for_current_exception
from config.forms import form_kept_stash

logger = logging.getLogger(__name__)


def home(request):
    return render(request, "home.html")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("Health check: database unreachable")
        return False


def _cache_ok() -> bool:
    try:
        cache.set("healthz", "ok", timeout=10)
        return cache.get("healthz") == "ok"
    except Exception:
        logger.exception("Health check: cache unreachable")
        return False


@never_cache
@require_GET
def healthz(request):
    """For load balancers: 200 when the database and the cache answer, else 503."""
    parts = {"database": "ok" if _database_ok() else "error", "cache": "ok" if _cache_ok() else "error"}
    if all(state == "ok" for state in parts.values()):
        return JsonResponse({"status": "ok", **parts})
    failed = ", ".join(name for name, state in parts.items() if state != "ok")
    body = {
        "status": "error",
        **parts,
        "code": "service_unavailable",
        "message": _("Unavailable: %(parts)s") % {"parts": failed},
    }
    return JsonResponse(body, status=503)


# Django-level error handlers: JSON for the API, the usual pages elsewhere.
def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return error_json(NotFound())
    return page_not_found(request, exception)


def handler500(request):
    # A dependency outage raised inside a middleware (a session read from the
    # cache…) reaches here rather than a view's handler: it is still a 503.
    outage = outage_response_for_current_exception(request)
    if outage is not None:
        return outage
    if request.path.startswith("/api/"):
        return error_json(ServerError())
    return server_error(request)


def handler403(request, exception=None):
    if request.path.startswith("/api/"):
        return error_json(PermissionDenied())
    return permission_denied(request, exception)


def handler400(request, exception=None):
    if request.path.startswith("/api/"):
        return error_json(InvalidInput(_("Bad request.")))
    return bad_request(request, exception)


def csrf_failure(request, reason=""):
    """The CSRF-failure page (settings.CSRF_FAILURE_VIEW), with a way back to the form.

    Django's own view renders without the request, so the page could only
    offer the home page. The form the person sent is the referring page
    (same-origin posts carry it under our ``Referrer-Policy: same-origin``);
    a page of this site that shows a form is usually the URL posted to as well.
    Reloading that page gives a fresh token.
    """
    from django.utils.http import url_has_allowed_host_and_scheme

    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        back = referer
    elif request.method == "POST" and not request.path.startswith("/i18n/"):
        back = request.path
    else:
        back = ""
    return render(request, "403_csrf.html", {"back_url": back, "reason": reason}, status=403)


@require_POST
def language_switch(request):
    """Switch the page language from inside a form, keeping what was typed there (no JavaScript needed).

    The footer's language buttons belong to the page's form in progress
    (``form="…"`` and ``formaction`` here, see ``keep_typed`` in
    accounts/templatetags/form_tags.py), so the browser posts that form's
    fields with the chosen language. What was typed, except secrets and
    one-time values, is kept in the session for the next GET of the page
    (``config.forms.form_kept_restore``); then the language is set as Django's
    ``set_language`` sets it and the person goes back to the page.
    """
    language = request.POST.get("language", "")
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = "/"
    response = redirect(next_url)
    if language not in dict(settings.LANGUAGES):
        return response
    form_kept_stash(request, path=urlsplit(next_url).path, form_id=request.GET.get("form", ""))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
