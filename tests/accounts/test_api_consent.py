"""API.md "Consent" and the one-step code sign-in, through the HTTP API."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Consent, LegalDocument, User
from smscodes.models import SmsMessage
from tests.factories import UserFactory
from tests.helpers import CONSENT, assert_api_error, bearer_client
from tests.smscodes.utils import last_code_for

pytestmark = pytest.mark.django_db

NEW = "+8613700137001"
KNOWN = "+8613700137002"
AGENT = "MyApp/2.3 (iPhone; iOS 17.1)"


def send(client, phone, purpose):
    return client.post("/api/v1/sms/codes/", {"phone": phone, "purpose": purpose}, format="json")


def code_for(phone, purpose="login"):
    assert send(APIClient(), phone, purpose).status_code == 200
    return last_code_for(phone)


def publish(kind, version):
    return LegalDocument.objects.create(
        kind=kind,
        version=version,
        title_zh_hans="用户协议",
        title_en="User agreement",
        text_zh_hans="新",
        text_en="New",
    )


def test_legal_lists_the_current_documents_with_absolute_urls(api_client, legal_v1):
    publish("terms", 2)
    body = api_client.get("/api/v1/legal/").json()
    assert [(d["kind"], d["version"]) for d in body["documents"]] == [("terms", 2), ("privacy", 1)]
    terms, privacy = body["documents"]
    assert terms["url"] == "http://testserver/legal/terms/" and privacy["url"] == "http://testserver/legal/privacy/"
    assert terms["title"] == "用户协议" and privacy["title"] == "隐私政策"
    assert terms["published_at"].endswith("Z")
    english = api_client.get("/api/v1/legal/", HTTP_ACCEPT_LANGUAGE="en").json()["documents"]
    assert [d["title"] for d in english] == ["User agreement", "Privacy policy"]


def test_register_without_consent_is_refused_and_keeps_the_code(api_client, legal_v1):
    code = code_for(NEW, "register")
    body = assert_api_error(
        api_client.post("/api/v1/auth/register/", {"phone": NEW, "code": code}, format="json"), 400, "consent_required"
    )
    assert body["required"] == ["terms:1", "privacy:1"]
    assert not User.objects.exists()
    outdated = api_client.post("/api/v1/auth/register/", {"phone": NEW, "code": code, "consent": ["terms:0"]})
    assert assert_api_error(outdated, 400, "consent_required")["required"] == ["terms:1", "privacy:1"]
    created = api_client.post(
        "/api/v1/auth/register/", {"phone": NEW, "code": code, "consent": CONSENT}, format="json", HTTP_USER_AGENT=AGENT
    )
    assert created.status_code == 201, created.json()
    assert created.json()["user"]["consent_required"] == []
    rows = Consent.objects.filter(user__phone=NEW)
    assert sorted(rows.values_list("document__kind", "document__version", "user_agent", "ip")) == [
        ("privacy", 1, AGENT, "127.0.0.1"),
        ("terms", 1, AGENT, "127.0.0.1"),
    ]


def test_a_new_version_shows_in_me_at_once_and_is_accepted(legal_v1, django_assert_num_queries):
    user = UserFactory()
    client = bearer_client(user)
    assert client.get("/api/v1/me/").json()["consent_required"] == []
    publish("privacy", 2)
    with django_assert_num_queries(1):  # the current versions come with the user row
        assert client.get("/api/v1/me/").json()["consent_required"] == ["privacy:2"]
    wrong = client.post("/api/v1/me/consents/", {"consent": ["privacy:1"]}, format="json")
    assert assert_api_error(wrong, 400, "consent_required")["required"] == ["privacy:2"]
    accepted = client.post("/api/v1/me/consents/", {"consent": ["privacy:2"]}, format="json", HTTP_USER_AGENT=AGENT)
    assert accepted.status_code == 200 and accepted.json()["consent_required"] == []
    assert accepted.json()["id"] == user.pk
    assert client.get("/api/v1/me/").json()["consent_required"] == []
    row = Consent.objects.get(user=user)
    assert (row.document.label, row.user_agent) == ("privacy:2", AGENT)


def test_me_consents_needs_a_list_and_a_signed_in_user(api_client, legal_v1):
    assert_api_error(
        api_client.post("/api/v1/me/consents/", {"consent": CONSENT}, format="json"), 401, "not_authenticated"
    )
    client = bearer_client(UserFactory())
    assert_api_error(
        client.post("/api/v1/me/consents/", {"consent": "terms:1"}, format="json"), 400, "validation_error"
    )


def test_the_login_answer_lists_what_is_still_to_accept(api_client, legal_v1):
    UserFactory(phone=KNOWN, consents_accepted={"terms": 1})
    body = api_client.post("/api/v1/auth/login/", {"login": KNOWN, "password": "Passw0rd!x"}).json()
    assert body["user"]["consent_required"] == ["privacy:1"]


# --- One-step sign-in by code --------------------------------------------------------------


def test_the_send_endpoint_answers_the_same_for_a_new_and_an_existing_number(legal_v1):
    UserFactory(phone=KNOWN)
    new, known = send(APIClient(), NEW, "login"), send(APIClient(), KNOWN, "login")
    assert (new.status_code, known.status_code) == (200, 200)
    assert {**new.json(), "phone": None} == {**known.json(), "phone": None}
    assert set(new.json()) == {"phone", "purpose", "expires_in", "resend_in"}
    assert SmsMessage.objects.filter(purpose="login").count() == 2


def test_code_login_creates_an_account_for_a_new_number_with_consent(api_client, legal_v1):
    code = code_for(NEW)
    response = api_client.post("/api/v1/auth/login/code/", {"phone": "137 0013 7001", "code": code, "consent": CONSENT})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["created"] is True and body["user"]["phone"] == NEW and body["user"]["has_password"] is False
    assert body["user"]["consent_required"] == []
    assert bearer_client_from(body).get("/api/v1/me/").json()["id"] == User.objects.get(phone=NEW).pk


def test_code_login_signs_in_an_existing_number_with_or_without_consent(api_client, legal_v1, settings):
    settings.SMS_RESEND_INTERVAL = 0
    user = UserFactory(phone=KNOWN)
    plain = api_client.post("/api/v1/auth/login/code/", {"phone": KNOWN, "code": code_for(KNOWN)})
    assert plain.status_code == 200 and plain.json()["created"] is False and plain.json()["user"]["id"] == user.pk
    agreed = api_client.post("/api/v1/auth/login/code/", {"phone": KNOWN, "code": code_for(KNOWN), "consent": CONSENT})
    assert agreed.status_code == 200 and agreed.json()["created"] is False
    assert User.objects.count() == 1


def test_code_login_of_a_new_number_without_consent_says_so_after_the_code_and_keeps_it(api_client, legal_v1):
    code = code_for(NEW)
    wrong = "000000" if code != "000000" else "111111"
    assert_api_error(api_client.post("/api/v1/auth/login/code/", {"phone": NEW, "code": wrong}), 400, "code_invalid")
    refused = api_client.post("/api/v1/auth/login/code/", {"phone": NEW, "code": code})
    assert assert_api_error(refused, 400, "consent_required")["required"] == ["terms:1", "privacy:1"]
    assert not User.objects.exists()
    again = api_client.post("/api/v1/auth/login/code/", {"phone": NEW, "code": code, "consent": CONSENT}, format="json")
    assert again.status_code == 201 and again.json()["created"] is True


def test_code_login_with_sign_up_off_answers_phone_not_registered(api_client, legal_v1, settings):
    settings.ACCOUNTS_CODE_LOGIN_SIGNS_UP = False
    assert_api_error(send(api_client, NEW, "login"), 404, "phone_not_registered")
    refused = api_client.post("/api/v1/auth/login/code/", {"phone": NEW, "code": "123456", "consent": CONSENT})
    assert_api_error(refused, 404, "phone_not_registered")


def test_with_consent_not_required_sign_up_needs_none(api_client, legal_v1, settings):
    settings.ACCOUNTS_CONSENT_REQUIRED = False
    response = api_client.post("/api/v1/auth/login/code/", {"phone": NEW, "code": code_for(NEW)})
    assert response.status_code == 201 and response.json()["user"]["consent_required"] == []
    assert not Consent.objects.exists()


def bearer_client_from(body) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['tokens']['access']}")
    return client


BAD_CONSENT = {
    "nul": ["terms:1\u0000"],
    "string": "terms:1",
    "object": {"terms": 1},
    "long_item": ["t" * 100],
    "too_many": [f"terms:{n}" for n in range(11)],
    "nested": [["terms:1"]],
}


@pytest.mark.parametrize("value", BAD_CONSENT.values(), ids=BAD_CONSENT.keys())
@pytest.mark.parametrize("url", ["/api/v1/auth/register/", "/api/v1/auth/login/code/", "/api/v1/me/consents/"])
def test_a_consent_that_is_not_a_short_list_of_labels_is_a_validation_error(legal_v1, url, value):
    client = bearer_client(UserFactory()) if url.startswith("/api/v1/me/") else APIClient()
    body = {"phone": NEW, "code": "123456", "consent": value}
    assert_api_error(client.post(url, body, format="json"), 400, "validation_error", fields=["consent"])
    assert not User.objects.filter(phone=NEW).exists()


def test_a_verification_token_is_kept_too_when_only_consent_is_missing(api_client, legal_v1):
    verified = api_client.post("/api/v1/sms/codes/verify/", {"phone": NEW, "purpose": "login", "code": code_for(NEW)})
    token = verified.json()["verification_token"]
    refused = api_client.post("/api/v1/auth/login/code/", {"phone": NEW, "verification_token": token})
    assert_api_error(refused, 400, "consent_required")
    created = api_client.post(
        "/api/v1/auth/login/code/", {"phone": NEW, "verification_token": token, "consent": CONSENT}, format="json"
    )
    assert created.status_code == 201 and created.json()["created"] is True
    used = api_client.post(
        "/api/v1/auth/login/code/", {"phone": NEW, "verification_token": token, "consent": CONSENT}, format="json"
    )
    assert_api_error(used, 400, "verification_token_invalid")  # used once, by the sign-up
