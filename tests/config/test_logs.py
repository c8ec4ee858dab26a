"""Structured logs: request context on every line, and nothing secret in any of them."""

import io
import json
import logging

import pytest
import structlog

from accounts.models import User
from config.logs import structured_formatter
from config.redact import phone_mask, redact, redact_text
from smscodes.backends import SmsBackendError, locmem
from tests.accounts.avatar_images import image_bytes, upload
from tests.helpers import CONSENT
from tests.smscodes.utils import last_code_for
from tests.wallet.charges_helpers import key_client, new_application
from wallet.channels.sandbox import sandbox_sign
from wallet.models import SandboxTrade

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
NATIONAL = "13800138000"
PASSWORD = "Secret-pass-42"


class CapturedLog:
    """What the production formatter prints, captured from the root logger."""

    def __init__(self, *, json_lines: bool = True):
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(structured_formatter(json=json_lines))

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def requests(self) -> list[dict]:
        return [line for line in self.lines() if line["event"] == "request"]


@pytest.fixture
def captured_log():
    captured = CapturedLog()
    root = logging.getLogger()
    level = root.level
    root.addHandler(captured.handler)
    root.setLevel(logging.DEBUG)
    yield captured
    root.removeHandler(captured.handler)
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    settings.SMS_BACKEND = "locmem"
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


# --- request id and context ------------------------------------------------------------


def test_every_answer_carries_a_new_request_id_and_logs_one_request_line(client, captured_log):
    first = client.get("/healthz")
    second = client.get("/no-such-page/")
    ids = [first["X-Request-ID"], second["X-Request-ID"]]
    assert all(len(i) == 32 for i in ids) and ids[0] != ids[1]
    line = captured_log.requests()[-1]
    assert line["request_id"] == ids[1]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/no-such-page/", 404)
    assert line["client_ip"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "info" and line["logger"] == "config.request"
    assert line["time"].endswith("Z")


def test_a_proxys_request_id_is_kept_only_when_the_proxy_is_trusted(client, settings):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234")["X-Request-ID"] != "lb-1234"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234")["X-Request-ID"] == "lb-1234"
    # Anything that could break a log line or a header is replaced, not repeated.
    forged = client.get("/healthz", HTTP_X_REQUEST_ID='x" injected\n')["X-Request-ID"]
    assert len(forged) == 32 and "injected" not in forged


def test_lines_logged_during_an_authenticated_request_carry_its_id_and_the_user(user_client, user, captured_log):
    # A PNG whose header Pillow cannot read: the avatar code logs why, inside the request.
    broken = upload(image_bytes("PNG")[:40])
    response = user_client.put("/api/v1/me/avatar/", {"avatar": broken}, format="multipart")
    assert response.status_code == 400
    inside = next(line for line in captured_log.lines() if line["logger"] == "accounts.avatars")
    request = captured_log.requests()[-1]
    assert inside["request_id"] == request["request_id"] == response["X-Request-ID"]
    assert inside["user_id"] == request["user_id"] == user.pk
    assert (request["method"], request["route"], request["status"]) == ("PUT", "/api/v1/me/avatar/", 400)


def test_a_provider_failure_is_logged_with_its_request_and_the_number_masked(api_client, captured_log):
    def failing(self, message):
        raise SmsBackendError(f"rejected {message.phone}: {message.text}")

    original = locmem.LocmemBackend.send
    locmem.LocmemBackend.send = failing
    try:
        response = api_client.post("/api/v1/sms/codes/", {"phone": "13900000077", "purpose": "register"})
    finally:
        locmem.LocmemBackend.send = original
    assert response.status_code == 502
    warning = next(line for line in captured_log.lines() if line["logger"] == "smscodes")
    assert warning["request_id"] == response["X-Request-ID"] and "user_id" not in warning
    assert warning["level"] == "warning"
    assert "+86139****0077" in warning["event"] and "13900000077" not in captured_log.text


def test_the_development_format_is_readable_key_value_lines(client):
    captured = CapturedLog(json_lines=False)
    logging.getLogger().addHandler(captured.handler)
    try:
        response = client.get("/healthz")
        structlog.get_logger("tests").warning("hello", phone=PHONE)
    finally:
        logging.getLogger().removeHandler(captured.handler)
    assert f"request_id={response['X-Request-ID']}" not in captured.text  # the probe's line is DEBUG
    assert "hello" in captured.text and "phone=+86138****8000" in captured.text


# --- nothing secret ------------------------------------------------------------------------------


def _without_noise(lines: list[dict]) -> str:
    """The lines without time stamps, ids and durations, whose digits could match a code by chance."""
    return json.dumps(
        [{k: v for k, v in line.items() if k not in ("time", "request_id", "duration_ms")} for line in lines],
        ensure_ascii=False,
    )


def test_a_whole_sign_up_login_profile_code_top_up_and_charge_run_logs_no_secret(api_client, client, captured_log):
    secrets = {"phone": PHONE, "national number": NATIONAL, "password": PASSWORD}
    assert api_client.post("/api/v1/sms/codes/", {"phone": NATIONAL, "purpose": "register"}).status_code == 200
    secrets["sign-up code"] = code = last_code_for(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    api_client.post("/api/v1/sms/codes/verify/", {"phone": NATIONAL, "purpose": "register", "code": wrong})
    verified = api_client.post("/api/v1/sms/codes/verify/", {"phone": NATIONAL, "purpose": "register", "code": code})
    secrets["verification token"] = token = verified.json()["verification_token"]
    session = api_client.post(
        "/api/v1/auth/register/",
        {"phone": NATIONAL, "verification_token": token, "password": PASSWORD, "consent": CONSENT},
    )
    assert session.status_code == 201, session.json()
    api_client.post("/api/v1/auth/login/", {"login": NATIONAL, "password": "Wrong-pass-1"})
    tokens = api_client.post("/api/v1/auth/login/", {"login": NATIONAL, "password": PASSWORD}).json()["tokens"]
    secrets |= {"access token": tokens["access"], "refresh token": tokens["refresh"]}
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get("/api/v1/me/").status_code == 200
    assert api_client.patch("/api/v1/me/", {"nickname": "Alice"}).status_code == 200
    api_client.credentials()
    assert api_client.post("/api/v1/sms/codes/", {"phone": PHONE, "purpose": "login"}).status_code == 200
    secrets["login code"] = login_code = last_code_for(PHONE)
    assert api_client.post("/api/v1/auth/login/code/", {"phone": PHONE, "code": login_code}).status_code == 200
    refreshed = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).json()
    secrets["rotated refresh token"] = refreshed["refresh"]
    # Top-up through the sandbox channel (checkout page, signed notifications), then a charge.
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed['access']}")
    top_up = api_client.post("/api/v1/wallet/top-ups/", {"amount": "50.00", "channel": "sandbox"}, format="json")
    assert top_up.status_code == 201, top_up.content
    checkout = top_up.json()["pay"]["url"].removeprefix("http://testserver")
    assert client.post(checkout, {"outcome": "succeeded"}).status_code == 302
    body = json.dumps(
        {
            "event": "payment.succeeded",
            "top_up_id": top_up.json()["id"],
            "trade_no": SandboxTrade.objects.get(out_trade_no=top_up.json()["id"]).trade_no,
            "amount": "50.00",
            "currency": "CNY",
            "occurred_at": "2026-12-01T10:00:00Z",
        }
    ).encode()
    signature = sandbox_sign(body)
    for header in (signature, "t=1,v1=" + "0" * 64):  # a duplicate, and a forged one
        client.generic(
            "POST",
            "/api/v1/wallet/notify/sandbox/",
            body,
            content_type="application/json",
            headers={"Sandbox-Signature": header},
        )
    secrets |= {"notification body": body.decode(), "notification signature": signature.split("v1=")[1]}
    application, api_key = new_application("Shop")
    secrets["API key"] = api_key
    charge = key_client(api_key).post(
        "/api/v1/wallet/charges/",
        {"user_id": User.objects.get(phone=PHONE).pk, "amount": "30.00", "order_id": "ORDER-42"},
        format="json",
    )
    assert charge.status_code == 201, charge.content
    api_client.credentials()
    # A careless caller, in both logging styles: the formatter still drops what it must.
    logging.getLogger("tests.careless").error(
        "body %s", json.dumps({"phone": PHONE, "code": login_code, "password": PASSWORD}, ensure_ascii=False)
    )
    structlog.get_logger("tests.careless").warning(
        "tokens", access=tokens["access"], refresh=refreshed["refresh"], note=f"Bearer {refreshed['access']}"
    )

    lines = captured_log.lines()
    assert len(captured_log.requests()) >= 10
    text = _without_noise(lines)
    for name, secret in secrets.items():
        assert secret not in text, f"the {name} is in the log"
    assert "+86138****8000" in text  # numbers are there, masked, where a line names one


# --- the redaction rules ------------------------------------------------------------------------


def test_phone_numbers_are_masked_like_support_staff_see_them():
    assert phone_mask("13800138000") == "138****8000"
    assert phone_mask("+8613800138000") == "+86138****8000"
    text = redact_text("call 13800138000, +8613800138000, 8613800138000 or +14155550123")
    assert text == "call 138****8000, +86138****8000, 86138****8000 or +141****0123"
    assert redact_text("手机号13800138000") == "手机号138****8000"
    request_id = "2dd4d2f14309881234567e2097b8aab715"  # eleven digits inside a hex id are not a number
    assert redact_text(request_id) == request_id


def test_codes_tokens_and_credentials_in_free_text_are_dropped():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    signed = "eyJwIjoiKzg2MTM4MDAxMzgwMDAifQ:1vQ2Zx:abcDEF123_-xyz"
    text = redact_text(
        f"Your verification code is 123456. 验证码：654321 code=111222 "
        f"token {jwt} vt={signed} Authorization: Bearer abcdefghijkl password=hunter2&next=/"
    )
    for secret in ("123456", "654321", "111222", jwt, signed, "abcdefghijkl", "hunter2"):
        assert secret not in text, secret
    assert "next=/" in text


def test_secret_keys_are_dropped_whatever_their_value_and_other_text_is_kept():
    event = {
        "event": "order 20261201 of 12.50 yuan at 2026-12-01 21:00",
        "code": "42",
        "new_password": "x",
        "HTTP_AUTHORIZATION": "Basic x",
        "headers": [["Cookie", "sessionid=abc"], ["Accept", "text/html"]],
        "nested": {"api_key": "k", "count": 3},
        "error_code": "rate_limited",
    }
    cleaned = redact(event)
    assert cleaned["event"] == event["event"]
    assert cleaned["code"] == cleaned["new_password"] == cleaned["HTTP_AUTHORIZATION"] == "[filtered]"
    assert cleaned["headers"] == [["Cookie", "[filtered]"], ["Accept", "text/html"]]
    assert cleaned["nested"] == {"api_key": "[filtered]", "count": 3}
    assert cleaned["error_code"] == "rate_limited"
    assert event["code"] == "42"  # a copy: the caller's data is untouched


def test_the_console_sms_backend_keeps_its_code_in_the_log_for_development(settings, api_client, captured_log):
    settings.SMS_BACKEND = "console"
    assert api_client.post("/api/v1/sms/codes/", {"phone": PHONE, "purpose": "register"}).status_code == 200
    line = next(line for line in captured_log.lines() if line["logger"] == "smscodes.console")
    assert "+86138****8000" in line["event"]
    assert any(ch.isdigit() for ch in line["event"].split("code is")[-1])
