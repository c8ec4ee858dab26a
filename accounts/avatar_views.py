"""Avatar doors: ``PUT/DELETE /api/v1/me/avatar/``, the ``/account/avatar/`` form posts, dev media.

Thin, like every view here: size gates from ``accounts.upload``, then one
service from ``accounts.avatars``. Both doors refuse an oversized body
without reading it (see ``accounts.upload``), which is why the upload views
install their handler before anything touches the body — including the CSRF
check of the page form.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from django.views.static import serve
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.avatars import avatar_remove, avatar_set
from accounts.serializers import UserSerializer
from accounts.upload import check_upload, limit_upload
from config.errors import InvalidInput, RateLimited, ServiceError
from config.ratelimit import ScopedRateThrottle

# --- API ----------------------------------------------------------------------------------------


class AvatarApi(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "avatar_upload"  # each upload costs ~0.15 s of CPU; the page shares the budget

    class InputSerializer(serializers.Serializer):
        avatar = serializers.FileField(allow_empty_file=False, use_url=False)

    def get_throttles(self):
        # Only an upload costs CPU: removing an avatar is never refused.
        return super().get_throttles() if self.request.method == "PUT" else []

    @extend_schema(
        operation_id="me_avatar_set",
        summary="Set the avatar",
        tags=["me"],
        request={"multipart/form-data": InputSerializer},
        responses={
            200: UserSerializer,
            400: OpenApiResponse(description="validation_error: corrupt image, too many pixels, too small"),
            413: OpenApiResponse(description="file_too_large: larger than AVATAR_MAX_BYTES"),
            415: OpenApiResponse(description="unsupported_media_type: not JPEG, PNG, WebP or GIF content"),
            429: OpenApiResponse(description="rate_limited: too many uploads (THROTTLE_AVATAR_UPLOAD, default 10/m)"),
        },
    )
    def put(self, request):
        # Before request.data: the body must not be read when it is too big.
        handler = limit_upload(request._request)
        serializer = self.InputSerializer(data=request.data)
        check_upload(handler)
        serializer.is_valid(raise_exception=True)
        user = avatar_set(user=request.user, file=serializer.validated_data["avatar"])
        return Response(UserSerializer(user, context={"request": request}).data)

    @extend_schema(operation_id="me_avatar_remove", summary="Remove the avatar", tags=["me"], responses={204: None})
    def delete(self, request):
        avatar_remove(user=request.user)
        return Response(status=204)


# --- Pages ----------------------------------------------------------------------------------------

# The error of the last upload, shown once in the avatar block of /account/
# (read and cleared by the ``avatar_error`` template tag).
AVATAR_ERROR_SESSION_KEY = "avatar_error"


def _back_to_account(request: HttpRequest, *, error=None) -> HttpResponse:
    """Every avatar post ends on /account/, a refusal with its error next to the avatar form.

    A redirect even when the upload is refused: a browser never refills a
    file input, so showing the form again elsewhere would keep nothing the
    person chose, while /account/ is where they started. The fragment scrolls
    a phone screen to the error.
    """
    if error is None:
        return redirect("accounts:account")
    request.session[AVATAR_ERROR_SESSION_KEY] = str(error)
    return redirect(reverse("accounts:account") + "#avatar")


def _check_upload_rate(request: HttpRequest) -> None:
    """The API's ``avatar_upload`` throttle, counted on the same key: both doors share one budget."""
    throttle = ScopedRateThrottle()
    if not throttle.allow_request(request, AvatarApi):
        raise RateLimited(retry_after=throttle.wait())


@csrf_exempt  # the CSRF check runs in _avatar_upload, once the size-limiting handler is in place
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def avatar_upload(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":  # e.g. back from the login page after the session expired
        return _back_to_account(request)
    try:
        handler = limit_upload(request)
    except ServiceError as exc:  # declared too big: answered without reading the body
        return _back_to_account(request, error=exc.message)
    return _avatar_upload(request, handler)


@csrf_protect
def _avatar_upload(request: HttpRequest, handler) -> HttpResponse:
    try:
        file = request.FILES.get("avatar")  # parsed through the handler
        check_upload(handler)
        if file is None:
            message = _("Choose an image to upload.")
            raise InvalidInput(message, fields={"avatar": [message]})
        _check_upload_rate(request)
        avatar_set(user=request.user, file=file)
    except ServiceError as exc:
        return _back_to_account(request, error=exc.message)
    messages.success(request, _("Your avatar has been updated."))
    return _back_to_account(request)


@never_cache
@login_required
@require_POST
def avatar_delete(request: HttpRequest) -> HttpResponse:
    avatar_remove(user=request.user)
    messages.success(request, _("Your avatar has been removed."))
    return _back_to_account(request)


# --- Media in development -------------------------------------------------------------------------

# What we store is WebP; the rest covers files stored by earlier versions.
_MEDIA_TYPES = {"webp": "image/webp", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


def media(request: HttpRequest, path: str) -> HttpResponse:
    """``MEDIA_URL`` with ``DJANGO_DEBUG`` on; production serves media elsewhere (README, "Avatars").

    The content type comes from our own table, never from a guess: an
    image type for images, anything else is a download. ``nosniff`` and a
    sandboxing CSP keep a browser from treating a file as a page.
    """
    if not settings.DEBUG:
        raise Http404
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    if response.status_code == 200:
        content_type = _MEDIA_TYPES.get(path.rsplit(".", 1)[-1].lower())
        if content_type:
            response["Content-Type"] = content_type
        else:
            response["Content-Type"] = "application/octet-stream"
            response["Content-Disposition"] = "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
