"""API.md "Account deletion and data export": GET /api/v1/me/export/ (issue 13 item 5)."""

import json
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Consent, LegalDocument, User
from smscodes.backends import locmem
from smscodes.services import code_digest
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_api_error
from tests.wallet.charges_helpers import fund, spend
from wallet.models import TopUp
from wallet.services import top_up_create

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
SECTIONS = {"user", "devices", "security_events", "consents", "wallet", "transactions", "top_ups", "sms_messages"}


@pytest.fixture
def owner(db):
    user = UserFactory(phone=PHONE, username="alice", nickname="爱丽丝", email="alice@example.com", company="ACME")
    terms = LegalDocument.objects.get(kind="terms", version=1)  # published by migration accounts/0006
    Consent.objects.create(user=user, document=terms, ip="198.51.100.9", user_agent="ConsentAgent/1")
    return user


def sign_in() -> dict:
    response = APIClient().post(
        "/api/v1/auth/login/",
        {"login": PHONE, "password": PASSWORD},
        HTTP_USER_AGENT="MyApp/2.3 (iPhone; iOS 17.1)",
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 200
    return response.json()["tokens"]


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_export_is_a_json_attachment_with_the_persons_data(owner):
    fund(owner, "30.00")
    spend(owner, "12.50")
    tokens = sign_in()
    response = bearer(tokens["access"]).get("/api/v1/me/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    data = json.loads(response.content)
    assert set(data) >= SECTIONS
    assert data["user"]["phone"] == PHONE
    assert data["user"]["nickname"] == "爱丽丝"
    assert data["user"]["email"] == "alice@example.com"
    assert data["devices"][0]["ip"] == "203.0.113.7"
    assert data["devices"][0]["name"].startswith("iPhone")
    assert "login_succeeded" in {e["kind"] for e in data["security_events"]}
    assert data["consents"] == [
        {
            "document": "terms",
            "version": 1,
            "accepted_at": data["consents"][0]["accepted_at"],
            "ip": "198.51.100.9",
            "user_agent": "ConsentAgent/1",
        }
    ]
    assert data["wallet"] == {"balance": "17.50", "frozen": "0.00", "currency": "CNY"}
    assert [t["amount"] for t in data["transactions"]] == ["-12.50", "30.00"]
    assert data["top_ups"][0]["amount"] == "30.00" and data["top_ups"][0]["status"] == "paid"
    assert "爱丽丝".encode() in response.content  # UTF-8 as it is, not \\u escapes


def test_export_contains_no_hash_code_code_hmac_or_token(owner):
    # Everything secret the service holds about this person, then the bytes of the export.
    locmem.outbox.clear()
    APIClient().post("/api/v1/sms/codes/", {"phone": PHONE, "purpose": "reset_password"})
    code = locmem.outbox[-1].code
    locmem.outbox.clear()
    APIClient().post("/api/v1/sms/codes/", {"phone": PHONE, "purpose": "delete_account"})
    verified = APIClient().post(
        "/api/v1/sms/codes/verify/", {"phone": PHONE, "purpose": "delete_account", "code": locmem.outbox[-1].code}
    )
    verification_token = verified.json()["verification_token"]
    pending = top_up_create(user=owner, amount=Decimal("5.00"), channel="sandbox").top_up
    checkout_url = TopUp.objects.get(pk=pending.pk).pay["url"]
    tokens = sign_in()
    browser = Client()
    browser.post("/login/", {"login": PHONE, "password": PASSWORD})
    session_key = browser.cookies[django_settings.SESSION_COOKIE_NAME].value

    response = bearer(tokens["access"]).get("/api/v1/me/export/")
    assert response.status_code == 200
    content = response.content
    password_hash = User.objects.get(pk=owner.pk).password
    secrets = {
        "password hash": password_hash,
        "hash body": password_hash.split("$")[-1],
        "SMS code": code,
        "code HMAC": code_digest(purpose="reset_password", phone=PHONE, code=code),
        "verification token": verification_token,
        "access token": tokens["access"],
        "refresh token": tokens["refresh"],
        "session key": session_key,
        "checkout URL": checkout_url,
        "checkout token": checkout_url.rstrip("/").rsplit("/", 1)[-1],
    }
    for name, secret in secrets.items():
        assert secret and secret.encode() not in content, name
    data = json.loads(content)
    assert [m["purpose"] for m in data["sms_messages"]] == ["delete_account", "reset_password"]
    assert data["top_ups"][0]["status"] == "pending" and "pay" not in data["top_ups"][0]
    assert all("session_key" not in device for device in data["devices"])
    assert "password" not in data["user"]


def test_export_records_a_security_event(owner):
    bearer(sign_in()["access"]).get("/api/v1/me/export/")
    assert owner.security_events.filter(kind="data_exported").count() == 1


def test_export_is_throttled(owner, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "data_export": "2/h"},
    }
    client = bearer(sign_in()["access"])
    assert client.get("/api/v1/me/export/").status_code == 200
    assert client.get("/api/v1/me/export/").status_code == 200
    assert_api_error(client.get("/api/v1/me/export/"), 429, "rate_limited")


def test_export_needs_authentication(db):
    assert_api_error(APIClient().get("/api/v1/me/export/"), 401, "not_authenticated")
