"""accounts.services.consent and the sign-up flows' consent rule, called directly.

Each path: consent missing, outdated, current; a new version published →
outstanding → agreed to.
"""

import pytest

from accounts.errors import ConsentRequired, PhoneNotRegistered
from accounts.models import Consent, LegalDocument, SecurityEvent, User
from accounts.selectors import consent_outstanding, legal_documents_current, users_with_legal_versions
from accounts.services import user_consent_give, user_login_code, user_register
from accounts.services.consent import consent_check, consent_record
from smscodes.errors import CodeInvalid
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
CURRENT = ["terms:1", "privacy:1"]


def publish(kind: str, version: int) -> LegalDocument:
    return LegalDocument.objects.create(
        kind=kind, version=version, title_zh_hans="新版", title_en="New", text_zh_hans="正文", text_en="Text"
    )


def test_missing_consent_names_every_current_document(legal_v1):
    with pytest.raises(ConsentRequired) as missing:
        consent_check(consent=None)
    assert missing.value.required == ["terms:1", "privacy:1"]
    assert missing.value.as_dict()["required"] == ["terms:1", "privacy:1"]
    assert missing.value.status == 400 and missing.value.code == "consent_required"
    assert set(missing.value.fields) == {"consent"}


def test_outdated_consent_names_only_the_newer_version(legal_v1):
    publish("terms", 2)
    with pytest.raises(ConsentRequired) as outdated:
        consent_check(consent=["terms:1", "privacy:1"])
    assert outdated.value.required == ["terms:2"]


def test_current_consent_gives_the_documents_to_record(legal_v1):
    documents = consent_check(consent=["TERMS:1", "privacy:1", "privacy:7"])
    assert [doc.label for doc in documents] == CURRENT
    assert [doc.label for doc in consent_check(consent="terms:1, privacy:1")] == CURRENT  # the pages' one string


def test_without_the_setting_missing_consent_is_allowed(legal_v1, settings):
    settings.ACCOUNTS_CONSENT_REQUIRED = False
    assert consent_check(consent=None) == []
    assert [doc.label for doc in consent_check(consent=["terms:1"])] == ["terms:1"]


def test_recording_is_append_only_with_ip_user_agent_and_an_event(legal_v1, origin):
    user = UserFactory(consents_accepted={})
    consent_record(user=user, documents=legal_documents_current(), origin=origin)
    rows = list(Consent.objects.filter(user=user).order_by("document__kind"))
    assert [(row.document.label, str(row.ip), row.user_agent) for row in rows] == [
        ("privacy:1", origin.ip, origin.user_agent),
        ("terms:1", origin.ip, origin.user_agent),
    ]
    user.refresh_from_db()
    assert user.consents_accepted == {"terms": 1, "privacy": 1}
    event = SecurityEvent.objects.get(user=user, kind="consent_given")
    assert event.detail == {"documents": CURRENT}


def test_register_needs_the_current_versions_before_the_code_is_used(legal_v1, origin, code_for):
    code = code_for(PHONE, "register")
    with pytest.raises(ConsentRequired) as missing:
        user_register(phone=PHONE, code=code, origin=origin)
    assert missing.value.required == CURRENT
    publish("privacy", 2)
    with pytest.raises(ConsentRequired) as outdated:
        user_register(phone=PHONE, code=code, consent=CURRENT, origin=origin)
    assert outdated.value.required == ["privacy:2"]
    assert not User.objects.exists()
    user = user_register(
        phone=PHONE, code=code, consent=["terms:1", "privacy:2"], origin=origin
    )  # the code still works
    assert user.consents_accepted == {"terms": 1, "privacy": 2}
    assert Consent.objects.filter(user=user).count() == 2


def test_a_new_version_is_outstanding_until_agreed_to(legal_v1, origin):
    user = UserFactory()  # agreed to version 1 of both
    assert consent_outstanding(user=user) == []
    publish("terms", 2)
    loaded = users_with_legal_versions().get(pk=user.pk)
    assert consent_outstanding(user=loaded) == ["terms:2"]
    with pytest.raises(ConsentRequired) as refused:
        user_consent_give(user=loaded, consent=["terms:1"], origin=origin)
    assert refused.value.required == ["terms:2"]
    user_consent_give(user=loaded, consent=["terms:2"], origin=origin)
    assert consent_outstanding(user=users_with_legal_versions().get(pk=user.pk)) == []
    assert list(Consent.objects.filter(user=user).values_list("document__version", flat=True)) == [2]
    user_consent_give(user=loaded, consent=["terms:2"], origin=origin)  # again: nothing new is recorded
    assert Consent.objects.filter(user=user).count() == 1


def test_the_outstanding_list_comes_with_the_user_row_without_a_query(legal_v1, django_assert_num_queries):
    user = UserFactory(consents_accepted={"terms": 1})
    with django_assert_num_queries(1):
        loaded = users_with_legal_versions().get(pk=user.pk)
        assert consent_outstanding(user=loaded) == ["privacy:1"]


# --- One-step sign-in by code -------------------------------------------------------------


def test_a_new_number_with_consent_gets_a_phone_only_account(legal_v1, origin, code_for):
    code = code_for(PHONE, "login")
    result = user_login_code(phone="138 0013 8000", code=code, consent=CURRENT, origin=origin)
    assert result.created is True
    user = User.objects.get(phone=PHONE)
    assert result.user == user and not user.has_usable_password()
    assert user.consents_accepted == {"terms": 1, "privacy": 1}
    kinds = set(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert kinds == {"registered", "consent_given", "login_succeeded"}


def test_a_new_number_without_consent_keeps_its_right_code(legal_v1, origin, code_for):
    code = code_for(PHONE, "login")
    with pytest.raises(ConsentRequired) as missing:
        user_login_code(phone=PHONE, code=code, origin=origin)
    assert missing.value.required == CURRENT
    assert not User.objects.exists()
    assert user_login_code(phone=PHONE, code=code, consent=CURRENT, origin=origin).created is True


def test_without_the_code_nobody_learns_that_consent_is_missing(legal_v1, origin, code_for):
    code = code_for(PHONE, "login")
    with pytest.raises(CodeInvalid):
        user_login_code(phone=PHONE, code="000000" if code != "000000" else "111111", origin=origin)
    with pytest.raises(CodeInvalid):  # never sent a code at all
        user_login_code(phone="+8613900139111", code="123456", origin=origin)


def test_an_existing_number_signs_in_with_or_without_consent(legal_v1, origin, code_for, settings):
    settings.SMS_RESEND_INTERVAL = 0  # two codes in a row
    user = UserFactory(phone=PHONE, consents_accepted={})
    first = user_login_code(phone=PHONE, code=code_for(PHONE, "login"), origin=origin)
    assert (first.user, first.created) == (user, False)
    assert not Consent.objects.exists()  # nothing to record: nothing agreed to
    second = user_login_code(phone=PHONE, code=code_for(PHONE, "login"), consent=CURRENT, origin=origin)
    assert (second.user, second.created) == (user, False)
    user.refresh_from_db()
    assert user.consents_accepted == {"terms": 1, "privacy": 1}
    assert User.objects.count() == 1


def test_with_sign_up_by_code_off_a_new_number_is_not_registered(legal_v1, origin, settings):
    settings.ACCOUNTS_CODE_LOGIN_SIGNS_UP = False
    with pytest.raises(PhoneNotRegistered):
        user_login_code(phone=PHONE, code="123456", consent=CURRENT, origin=origin)
    assert not User.objects.exists()


# --- Publishing a version (staff) -----------------------------------------------------------

TEXTS = {"title_zh_hans": "用户协议", "title_en": "User agreement", "text_zh_hans": "正文", "text_en": "Text"}


def test_publishing_takes_the_next_version_only(legal_v1, origin):
    from accounts.services.consent import legal_document_publish
    from config.errors import InvalidInput

    with pytest.raises(InvalidInput) as skipped:
        legal_document_publish(kind="terms", version=3, origin=origin, **TEXTS)
    assert set(skipped.value.fields) == {"version"}
    with pytest.raises(InvalidInput) as again:
        legal_document_publish(kind="terms", version=1, origin=origin, **TEXTS)
    assert set(again.value.fields) == {"version"}
    with pytest.raises(InvalidInput) as empty:
        legal_document_publish(kind="terms", origin=origin, **{**TEXTS, "text_en": ""})
    assert set(empty.value.fields) == {"text_en"}
    document = legal_document_publish(kind="terms", origin=origin, **TEXTS)
    assert document.label == "terms:2"
    assert [doc.label for doc in legal_documents_current()] == ["terms:2", "privacy:1"]


def test_publishing_needs_the_permission(legal_v1):
    from django.contrib.auth.models import Permission

    from accounts.errors import StaffPermissionDenied
    from accounts.services.consent import legal_document_publish
    from config.origin import Origin

    staff = UserFactory(is_staff=True)
    with pytest.raises(StaffPermissionDenied):
        legal_document_publish(kind="privacy", origin=Origin.system(actor=staff), **TEXTS)
    staff.user_permissions.add(Permission.objects.get(codename="add_legaldocument"))
    staff = User.objects.get(pk=staff.pk)  # permissions are cached on the instance
    assert legal_document_publish(kind="privacy", origin=Origin.system(actor=staff), **TEXTS).version == 2
