from django.urls import path

from smscodes import api

# POST sms/codes/ (sending) is in accounts.api_urls: its purpose rules are account rules.
urlpatterns = [
    path("sms/codes/verify/", api.SmsCodeVerifyApi.as_view(), name="sms-code-verify"),
]
