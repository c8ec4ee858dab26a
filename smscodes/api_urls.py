from django.urls import path

from smscodes import api

urlpatterns = [
    path("sms/codes/", api.SmsCodeSendApi.as_view(), name="sms-code-send"),
    path("sms/codes/verify/", api.SmsCodeVerifyApi.as_view(), name="sms-code-verify"),
]
