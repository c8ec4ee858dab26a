"""Views that raise every kind of error, mounted in front of the real URLs."""

from django.urls import include, path
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from config.errors import RateLimited


class _Input(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=8, decimal_places=2)


@api_view(["POST"])
@permission_classes([AllowAny])
def _validate(request):
    _Input(data=request.data).is_valid(raise_exception=True)
    return Response({"ok": True})


@api_view(["GET"])
@permission_classes([AllowAny])
def _explode(request):
    raise RuntimeError("secret internals")


@api_view(["GET"])
@permission_classes([AllowAny])
def _limited(request):
    raise RateLimited(retry_after=42)


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def _private(request):
    return Response({"ok": True})


urlpatterns = [
    path("api/v1/_test/validate/", _validate),
    path("api/v1/_test/explode/", _explode),
    path("api/v1/_test/limited/", _limited),
    path("api/v1/_test/private/", _private),
    path("", include("config.urls")),
]

handler400 = "config.views.handler400"
handler403 = "config.views.handler403"
handler404 = "config.views.handler404"
handler500 = "config.views.handler500"
