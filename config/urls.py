from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import health, metrics, views

# Each app owns its routes: <app>/urls.py for pages, <app>/api_urls.py for
# /api/v1/ (paths there are written in full, e.g. "sms/codes/").
# Django tries the routes in order: the API's hot reads (/me, /wallet, charges) are matched after
# the fewest failed patterns when the API comes first. No two of these prefixes overlap.
api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("wallet.api_urls")),
    path("", include("smscodes.api_urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    # Before Django's i18n routes: the language buttons of a page with a form in progress post here.
    path("i18n/switch/", views.language_switch, name="language-switch"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file (?script): the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("accounts.urls")),
    path("", include("wallet.urls")),
]
# Uploaded media is served in development by accounts.urls (DEBUG only).

handler400 = "config.views.handler400"
handler403 = "config.views.handler403"
handler404 = "config.views.handler404"
handler500 = "config.views.handler500"
