"""Aliyun SMS (dysmsapi 2017-05-25) through its official SDK: ``pip install alibabacloud-dysmsapi20170525``.

Settings: SMS_ALIYUN_ACCESS_KEY_ID, SMS_ALIYUN_ACCESS_KEY_SECRET, SMS_ALIYUN_SIGN_NAME,
SMS_ALIYUN_TEMPLATES ("register=SMS_1,login=SMS_2,…" or "default=SMS_1"; the template has a
``${code}`` variable), SMS_ALIYUN_ENDPOINT (default dysmsapi.aliyuncs.com; "http://host:port"
points it elsewhere, e.g. a local stand-in in tests).
"""

import json

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


def _aliyun_number(phone: str) -> str:
    # Mainland numbers go without the country code; others as country code + number.
    return phone[3:] if phone.startswith("+86") else phone.lstrip("+")


class AliyunBackend(BaseSmsBackend):
    name = "aliyun"

    def __init__(self):
        try:
            from alibabacloud_dysmsapi20170525 import models
            from alibabacloud_dysmsapi20170525.client import Client
            from alibabacloud_tea_openapi.utils_models import Config
        except ImportError as exc:
            raise ImproperlyConfigured(
                "SMS_BACKEND=aliyun needs the Aliyun SDK: pip install alibabacloud-dysmsapi20170525"
            ) from exc
        self.models = models
        self.sign_name = setting("SMS_ALIYUN_SIGN_NAME")
        protocol, endpoint = endpoint_split(conf.provider_setting("SMS_ALIYUN_ENDPOINT"))
        timeout_ms = int(provider_timeout() * 1000)
        self.client = Client(
            Config(
                access_key_id=setting("SMS_ALIYUN_ACCESS_KEY_ID"),
                access_key_secret=setting("SMS_ALIYUN_ACCESS_KEY_SECRET"),
                endpoint=endpoint,
                protocol=protocol.upper(),  # the Tea SDK spells it HTTP / HTTPS
                connect_timeout=timeout_ms,
                read_timeout=timeout_ms,
            )
        )

    def send(self, message: SmsOutgoing) -> str:
        request = self.models.SendSmsRequest(
            phone_numbers=_aliyun_number(message.phone),
            sign_name=self.sign_name,
            template_code=template_for("SMS_ALIYUN_TEMPLATES", message.purpose),
            template_param=json.dumps({"code": message.code}),
        )
        try:
            body = self.client.send_sms(request).body
        except Exception as exc:  # the SDK raises its own and the HTTP library's errors
            raise SmsBackendError(f"{type(exc).__name__}: {exc}") from exc
        if body is None or body.code != "OK":
            raise SmsBackendError(f"{getattr(body, 'code', None)}: {getattr(body, 'message', None)}")
        return body.biz_id or body.request_id or ""
