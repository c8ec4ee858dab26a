"""/api/v1/ routes of docs/API.md's "Auth", "The current user" and sending SMS codes."""

from django.urls import path

from accounts import api, api_deletion

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="api-me"),  # first: the hottest route of all
    path("auth/register/", api.RegisterApi.as_view(), name="api-auth-register"),
    path("auth/login/", api.LoginApi.as_view(), name="api-auth-login"),
    path("auth/login/code/", api.LoginCodeApi.as_view(), name="api-auth-login-code"),
    path("auth/token/refresh/", api.TokenRefreshApi.as_view(), name="api-auth-token-refresh"),
    path("auth/token/verify/", api.TokenVerifyApi.as_view(), name="api-auth-token-verify"),
    path("auth/logout/", api.LogoutApi.as_view(), name="api-auth-logout"),
    path("auth/password/reset/", api.PasswordResetApi.as_view(), name="api-auth-password-reset"),
    path("auth/password/change/", api.PasswordChangeApi.as_view(), name="api-auth-password-change"),
    path("me/phone/", api.MePhoneApi.as_view(), name="api-me-phone"),
    path("me/avatar/", api.AvatarApi.as_view(), name="api-me-avatar"),
    path("me/devices/", api.DevicesApi.as_view(), name="api-me-devices"),
    path("me/devices/<str:device_id>/", api.DeviceApi.as_view(), name="api-me-device"),
    path("me/deletion/", api_deletion.DeletionApi.as_view(), name="api-me-deletion"),
    path("me/export/", api_deletion.ExportApi.as_view(), name="api-me-export"),
    path("me/consents/", api.MeConsentsApi.as_view(), name="api-me-consents"),
    path("legal/", api.LegalDocumentsApi.as_view(), name="api-legal"),
    path("sms/codes/", api.SmsCodeSendApi.as_view(), name="sms-code-send"),
]
