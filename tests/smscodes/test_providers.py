"""Each provider adapter, through its official SDK, against a local HTTP server standing in for the provider.

No test reaches the internet: every endpoint points at 127.0.0.1.
"""

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.origin import Origin
from smscodes.errors import SmsSendFailed
from smscodes.models import SmsMessage, SmsStatus
from smscodes.services import sms_code_send
from tests.smscodes.utils import sent_to

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"


class StandIn:
    """A provider stand-in: records each request and answers with ``response`` (after ``delay`` seconds)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.response: dict = {}
        self.status = 200
        self.delay = 0.0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                stand_in.requests.append(
                    {
                        "path": url.path,
                        "query": {k: v[0] for k, v in parse_qs(url.query).items()},
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                time.sleep(stand_in.delay)
                payload = json.dumps(stand_in.response).encode()
                try:
                    self.send_response(stand_in.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False  # do not wait for a deliberately slow answer
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in():
    server = StandIn()
    yield server
    server.close()


def send(purpose="register"):
    return sms_code_send(phone=PHONE, purpose=purpose, origin=Origin(ip="127.0.0.1", user_agent=""))


# --- Aliyun -------------------------------------------------------------------------------------


@pytest.fixture
def aliyun(settings, stand_in):
    settings.SMS_BACKEND = "aliyun"
    settings.SMS_ALIYUN_ACCESS_KEY_ID = "LTAI-test-id"
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = "test-secret"
    settings.SMS_ALIYUN_SIGN_NAME = "账号服务"
    settings.SMS_ALIYUN_TEMPLATES = {"register": "SMS_100", "default": "SMS_999"}
    settings.SMS_ALIYUN_ENDPOINT = stand_in.url
    stand_in.response = {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "F655A8D5"}
    return stand_in


def test_aliyun_sends_sign_template_and_code(aliyun):
    send()
    (request,) = aliyun.requests
    assert request["headers"]["x-acs-action"] == "SendSms"
    assert request["headers"]["x-acs-version"] == "2017-05-25"
    assert "Credential=LTAI-test-id" in request["headers"]["authorization"]
    query = request["query"]
    assert query["PhoneNumbers"] == "13800138000"
    assert query["SignName"] == "账号服务"
    assert query["TemplateCode"] == "SMS_100"
    code = json.loads(query["TemplateParam"])["code"]
    assert len(code) == 6 and code.isdigit()
    log = SmsMessage.objects.get()
    assert (log.backend, log.status, log.provider_message_id) == ("aliyun", SmsStatus.SENT, "900619746936498440^0")
    assert sent_to(PHONE) == []  # the locmem outbox is not involved


def test_aliyun_uses_the_default_template_for_other_purposes(aliyun):
    send(purpose="change_phone")
    assert aliyun.requests[0]["query"]["TemplateCode"] == "SMS_999"


def test_aliyun_refusal_is_sms_send_failed_and_logged(aliyun):
    aliyun.response = {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控", "RequestId": "X"}
    with pytest.raises(SmsSendFailed):
        send()
    code = json.loads(aliyun.requests[0]["query"]["TemplateParam"])["code"]
    log = SmsMessage.objects.get()
    assert log.status == SmsStatus.FAILED
    assert log.error.startswith("isv.BUSINESS_LIMIT_CONTROL")
    assert code not in log.error


def test_aliyun_http_error_is_sms_send_failed(aliyun):
    aliyun.status = 500
    aliyun.response = {"Code": "InternalError", "Message": "boom"}
    with pytest.raises(SmsSendFailed):
        send()


def test_aliyun_missing_key_is_improperly_configured(aliyun, settings):
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = ""
    with pytest.raises(ImproperlyConfigured, match="SMS_ALIYUN_ACCESS_KEY_SECRET"):
        send()
    assert aliyun.requests == []


# --- Tencent Cloud --------------------------------------------------------------------------------


@pytest.fixture
def tencent(settings, stand_in):
    settings.SMS_BACKEND = "tencent"
    settings.SMS_TENCENT_SECRET_ID = "AKID-test"
    settings.SMS_TENCENT_SECRET_KEY = "test-key"
    settings.SMS_TENCENT_SDK_APP_ID = "1400000000"
    settings.SMS_TENCENT_SIGN_NAME = "账号服务"
    settings.SMS_TENCENT_TEMPLATES = {"default": "1234567"}
    settings.SMS_TENCENT_ENDPOINT = stand_in.url
    stand_in.response = {
        "Response": {
            "SendStatusSet": [
                {
                    "SerialNo": "5000:1045710669157053657849499619",
                    "PhoneNumber": PHONE,
                    "Fee": 1,
                    "SessionContext": "",
                    "Code": "Ok",
                    "Message": "send success",
                    "IsoCode": "CN",
                }
            ],
            "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279",
        }
    }
    return stand_in


def test_tencent_sends_app_sign_template_and_code(tencent):
    send()
    (request,) = tencent.requests
    assert request["headers"]["x-tc-action"] == "SendSms"
    assert request["headers"]["x-tc-version"] == "2021-01-11"
    assert request["headers"]["x-tc-region"] == "ap-guangzhou"
    assert "Credential=AKID-test/" in request["headers"]["authorization"]
    body = json.loads(request["body"])
    assert body["PhoneNumberSet"] == [PHONE]
    assert body["SmsSdkAppId"] == "1400000000"
    assert body["SignName"] == "账号服务"
    assert body["TemplateId"] == "1234567"
    code, minutes = body["TemplateParamSet"]
    assert len(code) == 6 and code.isdigit() and minutes == "10"
    log = SmsMessage.objects.get()
    assert (log.backend, log.status, log.provider_message_id) == (
        "tencent",
        SmsStatus.SENT,
        "5000:1045710669157053657849499619",
    )


def test_tencent_refusal_is_sms_send_failed_and_logged(tencent):
    status = tencent.response["Response"]["SendStatusSet"][0]
    status.update(Code="LimitExceeded.PhoneNumberDailyLimit", Message="daily limit", SerialNo="")
    with pytest.raises(SmsSendFailed):
        send()
    assert SmsMessage.objects.get().error.startswith("LimitExceeded.PhoneNumberDailyLimit")


def test_tencent_api_error_is_sms_send_failed(tencent):
    tencent.response = {
        "Response": {"Error": {"Code": "AuthFailure.SecretIdNotFound", "Message": "no"}, "RequestId": "r"}
    }
    with pytest.raises(SmsSendFailed):
        send()
    assert "AuthFailure.SecretIdNotFound" in SmsMessage.objects.get().error


def test_tencent_missing_template_is_improperly_configured(tencent, settings):
    settings.SMS_TENCENT_TEMPLATES = {"login": "1"}
    with pytest.raises(ImproperlyConfigured, match="SMS_TENCENT_TEMPLATES"):
        send()


# --- Twilio ------------------------------------------------------------------------------------------------


@pytest.fixture
def twilio(settings, stand_in):
    settings.SMS_BACKEND = "twilio"
    settings.SMS_TWILIO_ACCOUNT_SID = "AC0123456789abcdef"
    settings.SMS_TWILIO_AUTH_TOKEN = "test-token"
    settings.SMS_TWILIO_FROM = "+15005550006"
    settings.SMS_TWILIO_MESSAGING_SERVICE_SID = ""
    settings.SMS_TWILIO_BASE_URL = stand_in.url
    stand_in.response = {"sid": "SM0123456789abcdef", "status": "queued", "to": PHONE}
    return stand_in


def test_twilio_sends_the_localized_text(twilio):
    from django.utils import translation

    with translation.override("en"):
        send()
    (request,) = twilio.requests
    assert request["path"] == "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
    assert request["headers"]["authorization"].startswith("Basic ")
    form = {k: v[0] for k, v in parse_qs(request["body"].decode()).items()}
    assert form["To"] == PHONE and form["From"] == "+15005550006"
    assert form["Body"].startswith("Your verification code is ")
    log = SmsMessage.objects.get()
    assert (log.backend, log.status, log.provider_message_id) == ("twilio", SmsStatus.SENT, "SM0123456789abcdef")


def test_twilio_can_send_through_a_messaging_service(twilio, settings):
    settings.SMS_TWILIO_MESSAGING_SERVICE_SID = "MG0123"
    send()
    form = {k: v[0] for k, v in parse_qs(twilio.requests[0]["body"].decode()).items()}
    assert form["MessagingServiceSid"] == "MG0123" and "From" not in form


def test_twilio_refusal_is_sms_send_failed_without_the_code_in_the_log(twilio):
    twilio.status = 400
    twilio.response = {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}
    with pytest.raises(SmsSendFailed):
        send()
    form = {k: v[0] for k, v in parse_qs(twilio.requests[0]["body"].decode()).items()}
    code = re.search(r"\d{6}", form["Body"]).group()
    log = SmsMessage.objects.get()
    assert log.status == SmsStatus.FAILED and "not a valid phone number" in log.error
    assert code not in log.error


def test_twilio_missing_sender_is_improperly_configured(twilio, settings):
    settings.SMS_TWILIO_FROM = ""
    with pytest.raises(ImproperlyConfigured, match="SMS_TWILIO_FROM"):
        send()


# --- all of them ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "module"),
    [("aliyun", "alibabacloud_dysmsapi20170525"), ("tencent", "tencentcloud.sms.v20210111"), ("twilio", "twilio.rest")],
)
def test_missing_sdk_is_improperly_configured_and_takes_no_quota(frozen_clock, settings, monkeypatch, backend, module):
    settings.SMS_BACKEND = backend
    settings.SMS_PHONE_HOURLY_LIMIT = 1
    monkeypatch.setitem(sys.modules, module, None)  # "import" now raises ImportError
    with pytest.raises(ImproperlyConfigured, match="pip install"):
        send()
    settings.SMS_BACKEND = "locmem"
    send()  # neither the cooldown nor the hourly quota was used up


def test_provider_timeout_setting_is_capped_at_five_seconds(settings):
    from smscodes.backends import provider_timeout

    settings.SMS_PROVIDER_TIMEOUT = 30
    assert provider_timeout() == 5


@pytest.mark.parametrize("backend", ["aliyun", "tencent", "twilio"])
def test_slow_provider_times_out_within_the_configured_limit(request, settings, backend):
    stand_in = request.getfixturevalue(backend)
    settings.SMS_PROVIDER_TIMEOUT = 0.5
    stand_in.delay = 2
    started = time.monotonic()
    with pytest.raises(SmsSendFailed):
        send()
    assert time.monotonic() - started < 1.8
    assert SmsMessage.objects.get().status == SmsStatus.FAILED
