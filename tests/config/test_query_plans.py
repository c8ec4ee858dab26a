"""Every hot query reads an index in the order it needs: proved by its plan, not by a timing.

On a handful of rows PostgreSQL would rightly scan a table or sort four
rows, so each plan is taken with ``SET LOCAL enable_seqscan = off`` (and,
for a list read in an order, ``enable_sort = off``): what remains is the
best plan the indexes allow. A ``Seq Scan`` or a ``Sort`` left in it means
no index serves the filter or has the order (a sort over a person's 100,000
lines is what made the transactions list slow); the plan must also name the
index meant to serve it. This holds whatever the data size;
``bench/scale.py`` measures the same queries at 1M rows.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Consent, Device, LegalDocument, SecurityEvent, User
from accounts.selectors import user_get_by_login, user_search_q
from smscodes.models import SmsMessage
from tests.factories import UserFactory
from tests.wallet.conftest import fund
from wallet.models import IdempotencyRecord, JournalEntry, LedgerAccount, LedgerLine, PaymentNotification, TopUp
from wallet.selectors import top_ups_of, wallet_lines

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def plan_of(queryset, *, ordered: bool) -> str:
    """The plan PostgreSQL picks for ``queryset`` when a sequential scan (and a sort) is a last resort."""
    with connection.cursor() as cursor:
        # SET LOCAL: until the test's transaction ends.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"SET LOCAL enable_sort = {'off' if ordered else 'on'}")
    return queryset.explain()


def assert_index_plan(queryset, *indexes: str, sorted_by_index: bool = True) -> str:
    """No Seq Scan, no Sort (when the list has an order an index should give), one of ``indexes`` used."""
    plan = plan_of(queryset, ordered=sorted_by_index)
    assert "Seq Scan" not in plan, plan
    if sorted_by_index:
        assert "Sort" not in plan, plan  # neither Sort nor Incremental Sort
    assert any(index in plan for index in indexes), plan
    return plan


#: phone equality may use the unique key or its twin Django adds for LIKE (varchar_pattern_ops)
PHONE_INDEXES = ("accounts_user_phone_key", "accounts_user_phone_c603acdd_like")


@pytest.fixture
def people(db):
    alice = UserFactory(username="Alice_1", phone="+8613800138000", nickname="Wonderland", email="a@example.com")
    bob = UserFactory(username="bob_2", phone="+8613900139000", nickname="Builder", email="b@example.com")
    return alice, bob


def test_password_login_by_username_in_another_case_uses_the_unique_upper_index(people):
    assert user_get_by_login("ALICE_1") == people[0]
    assert_index_plan(User.objects.filter(username__iexact="ALICE_1"), "accounts_user_username_ci_unique")


def test_the_login_lookup_itself_needs_neither_a_scan_nor_a_sort(people):
    with CaptureQueriesContext(connection) as captured:
        assert user_get_by_login("alice_1") == people[0]
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan and "Sort" not in plan, plan
    assert "accounts_user_username_ci_unique" in plan, plan


def test_registration_uniqueness_check_uses_the_same_index(people):
    # accounts.services.common.username_clean and the register race's re-check
    assert_index_plan(User.objects.filter(username__iexact="nobody")[:1], "accounts_user_username_ci_unique")


def test_login_by_phone_uses_the_phone_key(people):
    assert_index_plan(User.objects.filter(phone="+8613800138000"), *PHONE_INDEXES)


def test_user_search_by_username_email_or_nickname_is_a_bitmap_of_indexes(people):
    plan = assert_index_plan(
        User.objects.filter(user_search_q("wonder")), "accounts_user_nickname_trgm", sorted_by_index=False
    )
    assert "accounts_user_username_ci_unique" in plan and "accounts_user_email_upper" in plan
    assert_index_plan(User.objects.filter(user_search_q("8000")), "accounts_user_phone_trgm", sorted_by_index=False)


def test_a_term_that_is_a_phone_number_searches_the_phone_column_only(people):
    plan = assert_index_plan(User.objects.filter(user_search_q("138 0013 8000")), *PHONE_INDEXES)
    assert "nickname" not in plan and "username" not in plan


def test_default_user_list_reads_the_date_joined_index(people):
    assert_index_plan(User.objects.order_by("-date_joined", "-id")[:100], "accounts_user_joined")


def test_security_events_by_login_and_by_time(people):
    SecurityEvent.objects.create(kind="login_failed", login="ghost")
    SecurityEvent.objects.create(kind="login_failed", user=people[0], login="alice_1")
    assert_index_plan(
        SecurityEvent.objects.filter(login="ghost").order_by("-created_at")[:100], "accounts_sec_login_time"
    )
    assert_index_plan(SecurityEvent.objects.order_by("-created_at", "-id")[:100], "accounts_sec_time")
    assert_index_plan(
        SecurityEvent.objects.filter(user=people[0]).order_by("-created_at")[:20], "accounts_sec_user_time"
    )


def test_devices_and_consents_lists(people):
    Device.objects.create(user=people[0], kind="app")
    document = LegalDocument.objects.create(
        kind="terms", version=99, title_zh_hans="t", title_en="t", text_zh_hans="t", text_en="t"
    )
    Consent.objects.create(user=people[0], document=document)
    assert_index_plan(Device.objects.order_by("-created_at", "-id")[:100], "accounts_device_time")
    assert_index_plan(Device.objects.filter(user=people[0]).order_by("-created_at")[:20], "accounts_device_user_time")
    assert_index_plan(Consent.objects.order_by("-accepted_at", "-id")[:100], "accounts_consent_time")


def test_sms_log_list_and_search(people):
    SmsMessage.objects.create(phone="+8613800138000", purpose="login", backend="locmem", status="sent")
    assert_index_plan(SmsMessage.objects.order_by("-created_at", "-id")[:50], "smscodes_msg_time")
    assert_index_plan(
        SmsMessage.objects.filter(phone="+8613800138000").order_by("-created_at")[:50], "smscodes_msg_phone_time"
    )
    assert_index_plan(
        SmsMessage.objects.filter(provider_message_id="locmem-1"), "smscodes_msg_provider_id", sorted_by_index=False
    )


def test_transactions_list_walks_the_wallet_account_index_backwards(people):
    alice = people[0]
    fund(alice, "10")
    fund(alice, "5")
    assert [line.amount for line in wallet_lines(user=alice)] == [5, 10]
    plan = assert_index_plan(wallet_lines(user=alice)[:20], "wallet_ledgerline_account_seq")
    assert "Backward" in plan, plan


def test_top_ups_of_a_person_in_the_api_cursor_order(people):
    fund(people[0], "10")
    assert_index_plan(top_ups_of(user=people[0])[:20], "wallet_topup_user_created_id")


def test_admin_ledger_lists_read_their_order_from_an_index(people):
    fund(people[0], "10")
    account = LedgerAccount.objects.get(user=people[0], kind="wallet")
    assert_index_plan(LedgerLine.objects.order_by("-created_at", "-id")[:100], "wallet_line_created")
    assert_index_plan(
        LedgerLine.objects.filter(account_id__in=[account.pk]).order_by("-created_at", "-id")[:100],
        "wallet_line_account_created_id",
    )
    assert_index_plan(JournalEntry.objects.order_by("-created_at", "-id")[:100], "wallet_entry_created")
    assert_index_plan(TopUp.objects.order_by("-created_at", "-id")[:100], "wallet_topup_created")
    assert_index_plan(PaymentNotification.objects.order_by("-received_at", "-id")[:100], "wallet_notification_received")


def test_top_up_search_by_trade_number_uses_the_channel_trade_number_index(people):
    top_up = fund(people[0], "10")
    assert_index_plan(
        TopUp.objects.filter(channel__in=["sandbox", "alipay", "wechatpay"], trade_no=top_up.trade_no),
        "wallet_topup_channel_trade_no",
        sorted_by_index=False,
    )


def test_housekeeping_finds_its_rows_by_index(people):
    fund(people[0], "10")
    old = timezone.now() - timedelta(days=2)
    assert_index_plan(
        IdempotencyRecord.objects.filter(created_at__lt=old).order_by().values_list("pk", flat=True)[:5000],
        "wallet_idempotencyrecord_created_at",
        sorted_by_index=False,
    )
    assert_index_plan(
        TopUp.objects.filter(status="pending", created_at__lte=old).order_by("created_at")[:100],
        "wallet_topup_status_created",
    )
