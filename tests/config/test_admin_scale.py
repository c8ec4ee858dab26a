"""The admin lists support and finance staff use cost the same number of queries at any size.

Each changelist is opened as an agent with view permissions, unfiltered,
searched by a phone number and by a username, with few rows and with more:
the number of queries must not grow with the rows (no N+1) and stays within
a fixed budget. The big tables' lists run one count (PostgreSQL's estimate
when unfiltered), no "N total" count, no date hierarchy and no
SELECT DISTINCT for a filter.
"""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Consent, Device, LegalDocument, SecurityEvent, User
from config import admin as config_admin
from config.admin import EstimatedCountPaginator, ScaleSafeAdminMixin
from smscodes.models import SmsMessage
from tests.factories import UserFactory
from tests.wallet.charges_helpers import new_application, spend
from tests.wallet.conftest import fund
from wallet.charges import charge_refund
from wallet.models import (
    Charge,
    ChargeRefund,
    JournalEntry,
    LedgerLine,
    PaymentNotification,
    ReconciliationMismatch,
    ReconciliationRun,
    TopUp,
)

pytestmark = pytest.mark.django_db

#: the changelists of support and finance staff, and the most queries one page may take
#: (session, user, permissions; then the list's own: the person a search names, one count, the page)
LISTS = {
    "accounts/user": 5,
    "accounts/securityevent": 6,
    "accounts/device": 6,
    "accounts/consent": 6,
    "smscodes/smsmessage": 5,
    "wallet/ledgeraccount": 7,
    "wallet/journalentry": 5,
    "wallet/ledgerline": 7,
    "wallet/topup": 6,
    "wallet/paymentnotification": 5,
    "wallet/topuprefund": 6,
    "wallet/reconciliationrun": 6,
    "wallet/reconciliationmismatch": 6,
    "wallet/charge": 7,
    "wallet/chargerefund": 7,
    "wallet/clientapplication": 6,
    "wallet/clientapplicationkey": 7,
}

#: tables that grow with the number of people or of what they do
BIG = [User, SecurityEvent, Device, Consent, SmsMessage, JournalEntry, LedgerLine, TopUp, PaymentNotification, Charge]


@pytest.fixture
def agent(client, db):
    member = User.objects.create_user(username="agent1", password="Ag3nt-pass-1", is_staff=True)
    member.user_permissions.add(
        *Permission.objects.filter(codename__in=[f"view_{path.split('/')[1]}" for path in LISTS])
    )
    client.force_login(member)
    return client


def populate(start: int, count: int) -> User:
    """``count`` people with a top-up, a charge and its refund, events, devices, consents, SMS."""
    application = new_application(f"Shop {start}")[0]
    document = LegalDocument.objects.create(
        kind="terms", version=100 + start, title_zh_hans="条款", title_en="Terms", text_zh_hans="…", text_en="…"
    )
    run = ReconciliationRun.objects.create(channel="sandbox", date=f"2026-11-{start + 1:02d}", status="mismatched")
    person = None
    for n in range(start, start + count):
        person = UserFactory(username=f"person{n}", phone=f"+86139{n:08d}")
        fund(person, "10")
        charge = spend(person, "2", application=application).charge
        charge_refund(application=application, charge_id=charge.pk, amount=Decimal("1"), reason="test")
        SecurityEvent.objects.create(kind="login_failed", user=person, login=f"person{n}", user_agent="x")
        Device.objects.create(user=person, kind="app", name="phone")
        Consent.objects.create(user=person, document=document)
        SmsMessage.objects.create(phone=str(person.phone), purpose="login", backend="locmem", status="sent")
        ReconciliationMismatch.objects.create(run=run, kind="amount", record="payment", top_up_id=f"T{n}")
    assert person is not None
    return person


def queries_of(client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, (url, params)
    assert "DISTINCT" not in " ".join(query["sql"] for query in captured.captured_queries), (url, params)
    return len(captured.captured_queries)


def test_every_staff_list_costs_the_same_queries_with_more_rows(agent):
    person = populate(0, 2)
    searches = ({}, {"q": "139 0000 0001"}, {"q": person.username})

    def costs() -> dict[tuple[str, str], int]:
        return {
            (path, str(params)): queries_of(agent, f"/admin/{path}/", params) for path in LISTS for params in searches
        }

    few = costs()
    populate(2, 4)
    assert costs() == few  # no query per row
    for (path, params), n in few.items():
        assert n <= LISTS[path], (path, params, n)
    assert ChargeRefund.objects.count() == 6  # every list had rows to show


def test_big_tables_have_no_date_hierarchy_and_no_full_count():
    for model in BIG:
        model_admin = admin.site._registry[model]
        assert isinstance(model_admin, ScaleSafeAdminMixin), model
        assert model_admin.date_hierarchy is None, model
        assert model_admin.show_full_result_count is False, model
        assert model_admin.paginator is EstimatedCountPaginator, model


def test_sms_backend_filter_lists_the_backends_without_asking_the_table(agent):
    SmsMessage.objects.create(phone="+8613900000000", purpose="login", backend="aliyun", status="failed")
    response = agent.get("/admin/smscodes/smsmessage/", {"backend__exact": "aliyun"})
    assert [row.backend for row in response.context["cl"].result_list] == ["aliyun"]
    assert "tencent" in response.content.decode()  # offered though no row has it


def test_security_event_search_finds_the_login_typed_and_the_persons_events(agent):
    alice = UserFactory(username="alice", phone="+8613800138000")
    SecurityEvent.objects.create(kind="login_failed", login="ghost")
    mine = SecurityEvent.objects.create(kind="login_succeeded", user=alice, login="+8613800138000")
    typed = SecurityEvent.objects.create(kind="login_failed", login="alice")

    def found(term):
        return set(agent.get("/admin/accounts/securityevent/", {"q": term}).context["cl"].result_list)

    assert found("ghost") != set() and found("GHOST") == found("ghost")
    assert found("138 0013 8000") == {mine}
    assert found("Alice") == {mine, typed}


@pytest.mark.postgres
def test_unfiltered_count_is_postgresqls_estimate_and_a_filtered_one_is_exact(monkeypatch):
    for n in range(3):
        SmsMessage.objects.create(phone=f"+861390000000{n}", purpose="login", backend="locmem", status="sent")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE smscodes_smsmessage")
    monkeypatch.setattr(config_admin, "ESTIMATE_ABOVE", 1)
    SmsMessage.objects.create(phone="+8613900000009", purpose="login", backend="locmem", status="sent")
    with CaptureQueriesContext(connection) as captured:
        assert EstimatedCountPaginator(SmsMessage.objects.all(), 50).count == 3  # ANALYZE saw 3 rows
    assert len(captured.captured_queries) == 1 and "reltuples" in captured.captured_queries[0]["sql"]
    monkeypatch.setattr(config_admin, "ESTIMATE_ABOVE", 1000)
    with CaptureQueriesContext(connection) as captured:
        assert EstimatedCountPaginator(SmsMessage.objects.all(), 50).count == 4  # a small table: exact
    assert len(captured.captured_queries) == 1
    with CaptureQueriesContext(connection) as captured:
        assert EstimatedCountPaginator(SmsMessage.objects.filter(phone="+8613900000001"), 50).count == 1
    assert "COUNT" in captured.captured_queries[0]["sql"].upper()


def test_a_filtered_list_counts_at_most_a_bound(monkeypatch):
    for _ in range(4):
        SmsMessage.objects.create(phone="+8613900000000", purpose="login", backend="aliyun", status="sent")
    monkeypatch.setattr(config_admin, "COUNT_AT_MOST", 3)
    with CaptureQueriesContext(connection) as captured:
        assert EstimatedCountPaginator(SmsMessage.objects.filter(backend="aliyun"), 50).count == 3
    assert "LIMIT 3" in captured.captured_queries[0]["sql"]
    assert EstimatedCountPaginator(SmsMessage.objects.filter(backend="tencent"), 50).count == 0


def test_small_or_embedded_tables_are_counted_exactly():
    SmsMessage.objects.create(phone="+8613900000000", purpose="login", backend="locmem", status="sent")
    assert EstimatedCountPaginator(SmsMessage.objects.all(), 50).count == 1
