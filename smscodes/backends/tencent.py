"""Tencent Cloud SMS (2021-01-11) through its official SDK: ``pip install tencentcloud-sdk-python-sms``.

Settings: SMS_TENCENT_SECRET_ID, SMS_TENCENT_SECRET_KEY, SMS_TENCENT_SDK_APP_ID,
SMS_TENCENT_SIGN_NAME, SMS_TENCENT_TEMPLATES ("register=123,login=456,…" or "default=123";
the template's {1} is the code and, with SMS_TENCENT_SEND_MINUTES on, {2} the minutes it is
valid), SMS_TENCENT_REGION (default ap-guangzhou), SMS_TENCENT_ENDPOINT (default
sms.tencentcloudapi.com; "http://host:port" points it elsewhere).
"""

from django.core.exceptions import ImproperlyConfigured

from smscodes import conf
from smscodes.backends import (
    BaseSmsBackend,
    SmsBackendError,
    SmsOutgoing,
    endpoint_split,
    provider_timeout,
    setting,
    template_for,
)


class TencentBackend(BaseSmsBackend):
    name = "tencent"

    def __init__(self):
        try:
            from tencentcloud.common import credential
            from tencentcloud.common.profile.client_profile import ClientProfile
            from tencentcloud.common.profile.http_profile import HttpProfile
            from tencentcloud.sms.v20210111 import models, sms_client
        except ImportError as exc:
            raise ImproperlyConfigured(
                "SMS_BACKEND=tencent needs the Tencent Cloud SDK: pip install tencentcloud-sdk-python-sms"
            ) from exc
        self.models = models
        self.app_id = setting("SMS_TENCENT_SDK_APP_ID")
        self.sign_name = setting("SMS_TENCENT_SIGN_NAME")
        scheme, endpoint = endpoint_split(conf.provider_setting("SMS_TENCENT_ENDPOINT"))
        http_profile = HttpProfile(endpoint=endpoint, reqTimeout=provider_timeout())
        http_profile.scheme = scheme
        self.client = sms_client.SmsClient(
            credential.Credential(setting("SMS_TENCENT_SECRET_ID"), setting("SMS_TENCENT_SECRET_KEY")),
            conf.provider_setting("SMS_TENCENT_REGION"),
            ClientProfile(httpProfile=http_profile),
        )

    def send(self, message: SmsOutgoing) -> str:
        request = self.models.SendSmsRequest()
        request.PhoneNumberSet = [message.phone]
        request.SmsSdkAppId = self.app_id
        request.SignName = self.sign_name
        request.TemplateId = template_for("SMS_TENCENT_TEMPLATES", message.purpose)
        request.TemplateParamSet = [message.code]
        if conf.provider_flag("SMS_TENCENT_SEND_MINUTES"):
            request.TemplateParamSet.append(str(message.ttl_minutes))
        try:
            response = self.client.SendSms(request)
        except Exception as exc:  # TencentCloudSDKException, or the HTTP library's errors
            raise SmsBackendError(f"{type(exc).__name__}: {exc}") from exc
        statuses = response.SendStatusSet or []
        if not statuses or statuses[0].Code != "Ok":
            status = statuses[0] if statuses else None
            raise SmsBackendError(f"{getattr(status, 'Code', None)}: {getattr(status, 'Message', None)}")
        return statuses[0].SerialNo or response.RequestId or ""
