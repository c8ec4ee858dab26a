"""Avatar routes (pages and API), kept apart from the other account routes.

Mounted at the site root, so every path is written in full.
"""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import path, re_path

from accounts import avatar_views

app_name = "avatars"

urlpatterns = [
    path("api/v1/me/avatar/", avatar_views.AvatarApi.as_view(), name="api"),
    path("account/avatar/", avatar_views.avatar_upload, name="upload"),
    path("account/avatar/delete/", avatar_views.avatar_delete, name="delete"),
]

# Development only (the view answers 404 unless DEBUG is on); a MEDIA_URL on
# another host (a CDN, an object store) is not ours to serve.
if settings.MEDIA_URL and not urlsplit(settings.MEDIA_URL).netloc:
    _prefix = re.escape(settings.MEDIA_URL.lstrip("/"))
    urlpatterns.append(re_path(rf"^{_prefix}(?P<path>.+)$", avatar_views.media, name="media"))
