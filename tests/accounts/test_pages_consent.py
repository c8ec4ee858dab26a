"""The legal pages, the agreement on the sign-up and code-login forms, and the consent gate of the pages."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import Consent, LegalDocument, User
from smscodes.models import SmsMessage
from tests.accounts.test_pages_auth import AGREE, field_errors, send_code, zh
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW = "+8613700137001"
LOGIN = reverse("accounts:login")
SIGNUP = reverse("accounts:signup")


def publish(kind, version):
    return LegalDocument.objects.create(
        kind=kind,
        version=version,
        title_zh_hans="用户协议",
        title_en="User agreement",
        text_zh_hans="第二版",
        text_en="v2",
    )


def test_the_legal_pages_show_the_current_and_any_published_version(client, legal_v1):
    publish("terms", 2)
    current = client.get("/legal/terms/").content.decode()
    assert "第二版" in current and 'data-testid="legal-outdated"' not in current
    older = client.get("/legal/terms/1/")
    assert older.status_code == 200 and "第 1 版" in older.content.decode()
    assert 'data-testid="legal-outdated"' in older.content.decode()
    english = client.get("/legal/privacy/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Privacy policy</h1>" in english and "Version 1, published" in english
    for missing in ("/legal/terms/9/", "/legal/cookies/", "/legal/cookies/1/"):
        assert client.get(missing).status_code == 404


def test_the_signup_form_needs_the_agreement(client, legal_v1):
    from accounts.errors import ConsentRequired

    page = client.get(SIGNUP).content.decode()
    assert 'name="consent" id="id_consent" value="terms:1 privacy:1"' in page and "data-gates-send-code" in page
    assert 'href="/legal/terms/"' in page and 'href="/legal/privacy/"' in page
    code = send_code(client, SIGNUP, NEW)
    response = client.post(SIGNUP, {"phone": NEW, "code": code})
    assert zh(ConsentRequired.default_message) in field_errors(response, "consent")
    assert not User.objects.exists()
    token = re.search(r'name="verification_token" value="([^"]+)"', response.content.decode()).group(1)
    done = client.post(SIGNUP, {**AGREE, "phone": NEW, "verification_token": token})
    assert done.status_code == 302
    assert User.objects.get(phone=NEW).consents_accepted == {"terms": 1, "privacy": 1}


def test_without_javascript_the_send_button_refuses_until_the_agreement_is_ticked(client, legal_v1):
    from accounts.errors import ConsentRequired

    for url, data in ((SIGNUP, {}), (LOGIN, {"method": "code"})):
        response = client.post(url, {"phone": NEW, "send_code": "1", **data})
        result = re.search(r'data-testid="send-code-result">(.*?)</p>', response.content.decode(), re.S).group(1)
        assert zh(ConsentRequired.default_message) in result
    assert not SmsMessage.objects.exists()


def test_the_code_login_form_signs_a_new_number_up(client, legal_v1):
    from accounts.errors import ConsentRequired

    code = send_code(client, LOGIN, NEW, method="code")
    refused = client.post(LOGIN, {"method": "code", "phone": NEW, "code": code})
    assert zh(ConsentRequired.default_message) in field_errors(refused, "consent")
    assert f'value="{code}"' in refused.content.decode()  # the right code is kept for the retry
    response = client.post(LOGIN, {**AGREE, "method": "code", "phone": NEW, "code": code})
    assert response.status_code == 302
    user = User.objects.get(phone=NEW)
    assert client.session[SESSION_KEY] == str(user.pk)
    assert Consent.objects.filter(user=user).count() == 2


def test_the_code_login_form_signs_an_existing_number_in_without_the_agreement(client, legal_v1):
    user = UserFactory(phone=NEW)
    code = send_code(client, LOGIN, NEW, method="code")
    response = client.post(LOGIN, {"method": "code", "phone": NEW, "code": code})
    assert response.status_code == 302 and client.session[SESSION_KEY] == str(user.pk)


def test_with_sign_up_by_code_off_the_code_form_has_no_agreement(client, legal_v1, settings):
    settings.ACCOUNTS_CODE_LOGIN_SIGNS_UP = False
    page = client.get(LOGIN).content.decode()
    assert 'name="consent"' not in page and 'data-testid="signs-up-note"' not in page


def test_a_signed_in_person_agrees_to_a_new_version_before_going_on(client, legal_v1):
    user = UserFactory()
    client.force_login(user)
    assert client.get("/account/").status_code == 200
    publish("terms", 2)
    gated = client.get("/account/?tab=1")
    assert gated.status_code == 302 and gated["Location"] == "/consent/?next=/account/%3Ftab%3D1"
    assert client.get("/wallet/").status_code == 302
    for open_path in ("/legal/terms/", "/legal/terms/1/", "/api/v1/me/", "/api/v1/legal/"):
        assert client.get(open_path).status_code == 200, open_path
    page = client.get(gated["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and 'value="terms:2"' in html and 'href="/legal/terms/"' in html
    refused = client.post(gated["Location"], {})
    assert refused.status_code == 200 and field_errors(refused, "consent")
    done = client.post(gated["Location"], {"consent": "terms:2", "next": "/account/?tab=1"})
    assert done.status_code == 302 and done["Location"] == "/account/?tab=1"
    assert client.get("/account/").status_code == 200
    assert client.get("/consent/").status_code == 302  # nothing left to agree to
    assert Consent.objects.get(user=user).document.label == "terms:2"


def test_logout_stays_open_behind_the_gate(client, legal_v1):
    client.force_login(UserFactory(consents_accepted={}))
    assert client.get("/").status_code == 302
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert SESSION_KEY not in client.session


def test_with_consent_not_required_nothing_is_gated(client, legal_v1, settings):
    settings.ACCOUNTS_CONSENT_REQUIRED = False
    client.force_login(UserFactory(consents_accepted={}))
    assert client.get("/account/").status_code == 200


def test_the_admin_shows_a_users_consent_history_read_only(admin_client, legal_v1):
    user = UserFactory(phone=NEW)
    Consent.objects.create(user=user, document=legal_v1[0], ip="203.0.113.9", user_agent="Tests/1.0")
    html = admin_client.get(reverse("admin:accounts_user_change", args=[user.pk])).content.decode()
    assert "203.0.113.9" in html and "terms:1" in html
    assert 'name="consents-0-document"' not in html  # shown, never a form field
    changelist = admin_client.get(reverse("admin:accounts_consent_changelist") + f"?user__id__exact={user.pk}")
    assert changelist.status_code == 200 and "203.0.113.9" in changelist.content.decode()
    assert admin_client.get(reverse("admin:accounts_consent_add")).status_code == 403


def test_the_migration_published_version_1_of_both_with_a_marked_template():
    # Migration data (pytest-django runs these tests before any transactional one empties the tables).
    documents = {doc.kind: doc for doc in LegalDocument.objects.filter(version=1)}
    assert set(documents) == {"terms", "privacy"}
    for doc in documents.values():
        assert doc.text_zh_hans.startswith("【模板文本") and doc.text_en.startswith("[TEMPLATE TEXT")
    assert (documents["terms"].title_zh_hans, documents["privacy"].title_en) == ("用户协议", "Privacy policy")


def test_staff_publish_the_next_version_in_the_admin(admin_client, legal_v1, client):
    add = reverse("admin:accounts_legaldocument_add")
    form = admin_client.get(add)
    assert 'name="version" value="2"' in form.content.decode()  # the next one, filled in
    texts = {"title_zh_hans": "用户协议", "title_en": "User agreement", "text_zh_hans": "第二版", "text_en": "v2"}
    skipped = admin_client.post(add, {"kind": "terms", "version": "5", **texts})
    assert skipped.status_code == 200 and "第 2 版" in skipped.content.decode()
    assert not LegalDocument.objects.filter(version=5).exists()
    published = admin_client.post(add, {"kind": "terms", "version": "2", **texts})
    assert published.status_code == 302
    assert LegalDocument.objects.get(kind="terms", version=2).text_zh_hans == "第二版"
    user = UserFactory()
    client.force_login(user)
    assert client.get("/account/")["Location"] == "/consent/?next=/account/"
