import re
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import path, re_path

from accounts import views, views_lifecycle

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("account/", views.account, name="account"),
    path("account/password/", views.password_change, name="password_change"),
    path("account/phone/", views.phone_change, name="phone_change"),
    path("account/avatar/", views.avatar_upload, name="avatar_upload"),
    path("account/avatar/delete/", views.avatar_delete, name="avatar_delete"),
    path("account/devices/<str:device_id>/end/", views_lifecycle.device_end, name="device_end"),
    path("account/delete/", views_lifecycle.deletion, name="deletion"),
    path("account/delete/cancel/", views_lifecycle.deletion_cancel, name="deletion_cancel"),
    path("account/export/", views_lifecycle.data_export, name="data_export"),
    path("consent/", views.consent, name="consent"),
    path("legal/<str:kind>/", views.legal_document, name="legal"),
    path("legal/<str:kind>/<int:version>/", views.legal_document, name="legal_version"),
]

# Uploaded media in development only (the view answers 404 unless DEBUG is on);
# a MEDIA_URL on another host (a CDN, an object store) is not ours to serve.
if settings.MEDIA_URL and not urlsplit(settings.MEDIA_URL).netloc:
    _prefix = re.escape(settings.MEDIA_URL.lstrip("/"))
    urlpatterns.append(re_path(rf"^{_prefix}(?P<path>.+)$", views.media, name="media"))
