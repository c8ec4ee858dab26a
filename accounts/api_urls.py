"""/api/v1/ routes of docs/API.md's "Auth", "The current user" and sending SMS codes.

Grouped by their first segment: Django tries routes in order, and a group
whose prefix does not match is passed over with one test instead of one per
route (``GET /api/v1/wallet/`` comes after all of these).
"""

from django.urls import include, path

from accounts import api, api_deletion
from config.fast_reads import fast_get

me = [
    path("", fast_get(api.MeApi, api.me_data), name="api-me"),  # first: the hottest route of all
    path("phone/", api.MePhoneApi.as_view(), name="api-me-phone"),
    path("avatar/", api.AvatarApi.as_view(), name="api-me-avatar"),
    path("devices/", api.DevicesApi.as_view(), name="api-me-devices"),
    path("devices/<str:device_id>/", api.DeviceApi.as_view(), name="api-me-device"),
    path("deletion/", api_deletion.DeletionApi.as_view(), name="api-me-deletion"),
    path("export/", api_deletion.ExportApi.as_view(), name="api-me-export"),
    path("consents/", api.MeConsentsApi.as_view(), name="api-me-consents"),
]

auth = [
    path("login/", api.LoginApi.as_view(), name="api-auth-login"),
    path("token/refresh/", api.TokenRefreshApi.as_view(), name="api-auth-token-refresh"),
    path("register/", api.RegisterApi.as_view(), name="api-auth-register"),
    path("login/code/", api.LoginCodeApi.as_view(), name="api-auth-login-code"),
    path("token/verify/", api.TokenVerifyApi.as_view(), name="api-auth-token-verify"),
    path("logout/", api.LogoutApi.as_view(), name="api-auth-logout"),
    path("password/reset/", api.PasswordResetApi.as_view(), name="api-auth-password-reset"),
    path("password/change/", api.PasswordChangeApi.as_view(), name="api-auth-password-change"),
]

urlpatterns = [
    path("me/", include(me)),
    path("auth/", include(auth)),
    path("legal/", api.LegalDocumentsApi.as_view(), name="api-legal"),
    path("sms/codes/", api.SmsCodeSendApi.as_view(), name="sms-code-send"),
]
