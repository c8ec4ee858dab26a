"""API.md "Account deletion and data export": scheduling, cancelling, the purge (issue 13 item 4)."""

import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import Device, SecurityEvent, User
from accounts.services.deletion import users_purge
from config.origin import Origin
from smscodes.backends import locmem
from smscodes.models import SmsMessage
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_api_error
from tests.wallet.charges_helpers import fund, spend
from wallet.models import LedgerLine
from wallet.selectors import wallet_audit
from wallet.services import top_up_create

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
NOW = datetime.datetime(2026, 12, 1, 10, 0, 5, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def owner(clock):
    return UserFactory(phone=PHONE, username="alice", nickname="Alice", email="a@example.com", job="Chef")


def sign_in(user_agent: str = "MyApp/2.3 (iPhone; iOS 17.1)", ip: str = "203.0.113.7") -> dict:
    response = APIClient().post(
        "/api/v1/auth/login/", {"login": PHONE, "password": PASSWORD}, HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip
    )
    assert response.status_code == 200, response.json()
    return response.json()["tokens"]


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def send_code(purpose: str = "delete_account", phone: str = PHONE) -> str:
    locmem.outbox.clear()
    response = APIClient().post("/api/v1/sms/codes/", {"phone": phone, "purpose": purpose})
    assert response.status_code == 200, response.json()
    return locmem.outbox[-1].code


# --- Scheduling and cancelling ------------------------------------------------------------


def test_deletion_with_the_password_is_scheduled_after_the_grace_period_and_other_devices_end(owner, settings):
    settings.ACCOUNTS_DELETION_GRACE_DAYS = 15
    other = sign_in()
    this = sign_in()
    response = bearer(this["access"]).post("/api/v1/me/deletion/", {"password": PASSWORD})
    assert response.status_code == 202, response.json()
    assert response.json()["deletion"] == {
        "scheduled_at": "2026-12-01T10:00:05Z",
        "delete_after": "2026-12-16T10:00:05Z",
    }
    # Every other device is signed out at once; this one stays, so the person can still cancel.
    assert_api_error(bearer(other["access"]).get("/api/v1/me/"), 401, "token_invalid")
    assert bearer(this["access"]).get("/api/v1/me/").json()["deletion"]["delete_after"] == "2026-12-16T10:00:05Z"
    assert SecurityEvent.objects.filter(user=owner, kind="deletion_scheduled").count() == 1


def test_the_user_object_says_null_when_no_deletion_is_scheduled(owner):
    assert bearer(sign_in()["access"]).get("/api/v1/me/").json()["deletion"] is None


def test_deletion_with_a_code_sent_to_the_accounts_own_number(owner):
    access = sign_in()["access"]
    code = send_code()
    response = bearer(access).post("/api/v1/me/deletion/", {"code": code})
    assert response.status_code == 202, response.json()
    assert response.json()["deletion"] is not None


def test_deletion_with_a_verification_token(owner):
    access = sign_in()["access"]
    code = send_code()
    token = (
        APIClient()
        .post("/api/v1/sms/codes/verify/", {"phone": PHONE, "purpose": "delete_account", "code": code})
        .json()["verification_token"]
    )
    response = bearer(access).post("/api/v1/me/deletion/", {"verification_token": token})
    assert response.status_code == 202, response.json()


def test_a_delete_account_code_for_an_unknown_number_is_phone_not_registered(db):
    response = APIClient().post("/api/v1/sms/codes/", {"phone": "+8613700137000", "purpose": "delete_account"})
    assert_api_error(response, 404, "phone_not_registered", fields=["phone"])


def test_a_login_code_does_not_delete_an_account(owner):
    access = sign_in()["access"]
    code = send_code("login")
    response = bearer(access).post("/api/v1/me/deletion/", {"code": code})
    assert_api_error(response, 400, "code_invalid")
    assert User.objects.get(pk=owner.pk).delete_after is None


def test_deletion_needs_a_proof(owner):
    access = sign_in()["access"]
    assert_api_error(bearer(access).post("/api/v1/me/deletion/", {}), 400, "validation_error", fields=["password"])
    wrong = bearer(access).post("/api/v1/me/deletion/", {"password": "Wrong-pass-1"})
    assert_api_error(wrong, 400, "validation_error", fields=["password"])
    assert User.objects.get(pk=owner.pk).delete_after is None


def test_deletion_needs_authentication(db):
    assert_api_error(APIClient().post("/api/v1/me/deletion/", {"password": "x"}), 401, "not_authenticated")


def test_grace_period_zero_means_the_next_purge(owner, settings):
    settings.ACCOUNTS_DELETION_GRACE_DAYS = 0
    response = bearer(sign_in()["access"]).post("/api/v1/me/deletion/", {"password": PASSWORD})
    assert response.json()["deletion"]["delete_after"] == "2026-12-01T10:00:05Z"
    assert users_purge(origin=Origin.system()).purged == [owner.pk]


def test_asking_twice_keeps_the_first_date(owner, clock):
    access = sign_in()["access"]
    first = bearer(access).post("/api/v1/me/deletion/", {"password": PASSWORD}).json()["deletion"]
    clock.shift(600)
    second = bearer(access).post("/api/v1/me/deletion/", {"password": PASSWORD})
    assert second.status_code == 202
    assert second.json()["deletion"] == first


def test_signing_in_during_the_grace_period_and_cancelling_keeps_the_account(owner, clock):
    bearer(sign_in()["access"]).post("/api/v1/me/deletion/", {"password": PASSWORD})
    clock.shift(datetime.timedelta(days=14))
    access = sign_in()["access"]  # the person can still sign in
    response = bearer(access).delete("/api/v1/me/deletion/")
    assert response.status_code == 200, response.json()
    assert response.json()["deletion"] is None
    assert SecurityEvent.objects.filter(user=owner, kind="deletion_cancelled").count() == 1
    clock.shift(datetime.timedelta(days=2))
    assert users_purge(origin=Origin.system()).purged == []
    owner.refresh_from_db()
    assert owner.phone == PHONE and owner.is_active and owner.deleted_at is None


def test_cancelling_when_nothing_is_scheduled_is_harmless(owner):
    response = bearer(sign_in()["access"]).delete("/api/v1/me/deletion/")
    assert response.status_code == 200
    assert response.json()["deletion"] is None


# --- The wallet refuses while it holds money ----------------------------------------------


def test_wallet_not_empty_while_the_wallet_holds_money(owner):
    fund(owner, "10.00")
    response = bearer(sign_in()["access"]).post("/api/v1/me/deletion/", {"password": PASSWORD})
    body = assert_api_error(response, 409, "wallet_not_empty")
    assert "support" in body["message"] or "客服" in body["message"]
    assert User.objects.get(pk=owner.pk).delete_after is None


def test_wallet_not_empty_while_a_top_up_is_pending(owner):
    top_up_create(user=owner, amount=Decimal("5.00"), channel="sandbox")
    response = bearer(sign_in()["access"]).post("/api/v1/me/deletion/", {"password": PASSWORD})
    assert_api_error(response, 409, "wallet_not_empty")


def test_wallet_not_empty_while_money_is_frozen_on_its_way_back_to_the_channel(owner, monkeypatch):
    from wallet.channels.base import RefundResult, RefundState
    from wallet.channels.sandbox import SandboxChannel
    from wallet.services import top_up_refund, wallet_get

    top_up = fund(owner, "30.00")
    spend(owner, "18.00")
    # The sandbox channel (ours, in-process) answers "processing": the 12.00 stays frozen.
    monkeypatch.setattr(SandboxChannel, "refund", lambda self, **kw: RefundResult(state=RefundState.PENDING))
    boss = User.objects.create_superuser(username="boss", password="Boss-pass-1234")
    top_up_refund(actor=boss, top_up_id=top_up.id, amount=Decimal("12.00"), reason="asked by support")
    state = wallet_get(user=owner)
    assert (state.balance, state.frozen) == (Decimal("0.00"), Decimal("12.00"))
    response = bearer(sign_in()["access"]).post("/api/v1/me/deletion/", {"password": PASSWORD})
    assert_api_error(response, 409, "wallet_not_empty")


def test_wallet_not_empty_does_not_spend_the_code(owner):
    fund(owner, "1.00")
    access = sign_in()["access"]
    code = send_code()
    assert_api_error(bearer(access).post("/api/v1/me/deletion/", {"code": code}), 409, "wallet_not_empty")
    spend(owner, "1.00")
    assert bearer(access).post("/api/v1/me/deletion/", {"code": code}).status_code == 202


# --- The purge ------------------------------------------------------------------------------


def test_purge_after_the_grace_period_frees_the_number_and_keeps_the_ledger(
    owner, clock, settings, django_capture_on_commit_callbacks
):
    settings.ACCOUNTS_DELETION_GRACE_DAYS = 15
    fund(owner, "20.00")
    spend(owner, "20.00")
    lines_before = LedgerLine.objects.filter(account__user=owner).count()
    storage_name = default_storage.save("avatars/owner.webp", ContentFile(b"RIFF....WEBP"))
    User.objects.filter(pk=owner.pk).update(avatar=storage_name)
    tokens = sign_in()
    send_code("reset_password")  # an SMS log row of the number
    assert bearer(tokens["access"]).post("/api/v1/me/deletion/", {"password": PASSWORD}).status_code == 202

    clock.shift(datetime.timedelta(days=15) - datetime.timedelta(seconds=1))
    out = io.StringIO()
    call_command("accounts_purge", stdout=out)
    assert "erased 0" in out.getvalue()  # not yet: one second before

    clock.shift(datetime.timedelta(seconds=2))
    with django_capture_on_commit_callbacks(execute=True):  # the avatar files go after the commit
        call_command("accounts_purge", stdout=out)
    assert "erased 1" in out.getvalue()

    purged = User.objects.get(pk=owner.pk)
    assert purged.phone is None and purged.username is None
    assert (purged.nickname, purged.email, purged.job, purged.company, purged.gender) == ("", "", "", "", "")
    assert not purged.avatar and not default_storage.exists(storage_name)
    assert not purged.has_usable_password()
    assert purged.is_active is False and purged.deleted_at is not None
    assert not purged.groups.exists()
    # Tokens and sessions are dead.
    assert_api_error(bearer(tokens["access"]).get("/api/v1/me/"), 401, "token_invalid")
    refresh = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert refresh.status_code == 401
    # IPs and user agents are gone from its events and devices; the devices ended.
    assert not SecurityEvent.objects.filter(user=purged).exclude(ip=None).exists()
    assert not SecurityEvent.objects.filter(user=purged).exclude(user_agent="").exists()
    assert not Device.objects.filter(user=purged).exclude(ip=None).exists()
    assert not Device.objects.filter(user=purged, ended_at=None).exists()
    assert not Device.objects.filter(user=purged).exclude(user_agent="", name="").exists()
    assert SecurityEvent.objects.filter(user=purged, kind="account_purged").count() == 1
    # The SMS log keeps the row (SMS cost reconciliation) without the number or the IP.
    assert not SmsMessage.objects.filter(phone=PHONE).exists()
    assert SmsMessage.objects.filter(phone="", purpose="reset_password").exists()
    # The ledger is intact and still the anonymised account's.
    assert LedgerLine.objects.filter(account__user=purged).count() == lines_before
    assert wallet_audit() == []

    # The number is free: it signs up again as a new account.
    code = send_code("register")
    response = APIClient().post(
        "/api/v1/auth/register/", {"phone": PHONE, "code": code, "consent": ["terms:1", "privacy:1"]}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["user"]["id"] != owner.pk
    assert response.json()["user"]["deletion"] is None


def test_purge_is_idempotent(owner, settings):
    settings.ACCOUNTS_DELETION_GRACE_DAYS = 0
    bearer(sign_in()["access"]).post("/api/v1/me/deletion/", {"password": PASSWORD})
    assert users_purge(origin=Origin.system()).purged == [owner.pk]
    erased_at = User.objects.get(pk=owner.pk).deleted_at
    assert users_purge(origin=Origin.system()).purged == []
    assert User.objects.get(pk=owner.pk).deleted_at == erased_at
    assert SecurityEvent.objects.filter(user=owner, kind="account_purged").count() == 1


def test_purge_in_small_batches_takes_every_due_account_and_no_other(clock, settings):
    settings.ACCOUNTS_DELETION_GRACE_DAYS = 0
    due = [UserFactory() for _ in range(5)]
    User.objects.filter(pk__in=[u.pk for u in due]).update(deletion_scheduled_at=NOW, delete_after=NOW)
    later = UserFactory()
    User.objects.filter(pk=later.pk).update(deletion_scheduled_at=NOW, delete_after=NOW + datetime.timedelta(days=1))
    bystander = UserFactory()
    result = users_purge(origin=Origin.system(), batch_size=2)
    assert sorted(result.purged) == sorted(u.pk for u in due)
    assert User.objects.get(pk=later.pk).deleted_at is None
    assert User.objects.get(pk=bystander.pk).is_active


def test_money_that_arrived_during_the_grace_period_leaves_the_account_scheduled(owner, clock, settings):
    settings.ACCOUNTS_DELETION_GRACE_DAYS = 1
    bearer(sign_in()["access"]).post("/api/v1/me/deletion/", {"password": PASSWORD})
    fund(owner, "3.00")
    clock.shift(datetime.timedelta(days=2))
    err = io.StringIO()
    call_command("accounts_purge", stdout=io.StringIO(), stderr=err)
    assert f"user {owner.pk} left scheduled (wallet_not_empty)" in err.getvalue()
    owner.refresh_from_db()
    assert owner.phone == PHONE and owner.deleted_at is None and owner.delete_after is not None


def test_me_with_a_scheduled_deletion_still_costs_one_query(owner, django_assert_num_queries):
    access = sign_in()["access"]
    bearer(access).post("/api/v1/me/deletion/", {"password": PASSWORD})
    bearer(access).get("/api/v1/me/")  # the device's state is cached again
    with django_assert_num_queries(1):
        response = bearer(access).get("/api/v1/me/")
    assert response.json()["deletion"] is not None


@pytest.mark.django_db(transaction=True)
def test_me_with_a_scheduled_deletion_costs_one_query_and_no_cache_call(django_assert_num_queries, monkeypatch):
    # As tests/accounts/test_api_budgets.py measures it: autocommit, every cache call counted.
    from django.core.cache import caches

    UserFactory(phone=PHONE)
    access = sign_in()["access"]
    assert bearer(access).post("/api/v1/me/deletion/", {"password": PASSWORD}).status_code == 202
    calls: list[str] = []
    backend = caches["default"]
    for name in ("get", "get_many", "set", "add", "incr", "delete", "delete_many", "has_key", "touch"):
        original = getattr(backend, name)
        monkeypatch.setattr(backend, name, lambda *a, _n=name, _o=original, **k: (calls.append(_n), _o(*a, **k))[1])
    with django_assert_num_queries(1):
        response = bearer(access).get("/api/v1/me/")
    assert response.json()["deletion"]["delete_after"]
    assert calls == []
