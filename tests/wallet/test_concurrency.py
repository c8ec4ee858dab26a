"""Real threads against PostgreSQL: the row locks, not luck, keep the books.

Transactional tests (each thread commits on its own connection); SQLite and
plain TestCase transactions would hide every race, so these need PostgreSQL.
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import Client

from tests.factories import UserFactory
from tests.helpers import bearer_client
from wallet.channels.sandbox import sandbox_sign
from wallet.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, PaymentNotification, TopUp
from wallet.services import top_up_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_parallel(count: int, request):
    """Run ``request()`` in ``count`` threads released at the same moment; return the responses."""
    barrier = threading.Barrier(count)

    def one(_):
        try:
            barrier.wait(timeout=30)
            return request()
        finally:
            connections.close_all()  # this thread's connection; keeps the server's slots free

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def _wallet(user) -> LedgerAccount:
    return LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET)


def test_the_same_notification_twenty_times_in_parallel_credits_once():
    user = UserFactory()
    top_up = top_up_create(user=user, amount=Decimal("10.00"), channel="sandbox").top_up
    body = json.dumps(
        {
            "event": "payment.succeeded",
            "top_up_id": top_up.id,
            "trade_no": "SBX-PAR",
            "amount": "10.00",
            "currency": "CNY",
        }
    ).encode()
    header = sandbox_sign(body)
    client = Client()
    responses = run_parallel(
        20,
        lambda: client.generic(
            "POST",
            "/api/v1/wallet/notify/sandbox/",
            body,
            content_type="application/json",
            headers={"Sandbox-Signature": header},
        ),
    )
    assert [r.status_code for r in responses] == [200] * 20
    assert _wallet(user).balance == Decimal("10.00")
    assert JournalEntry.objects.filter(kind=EntryKind.TOP_UP, reference=top_up.id).count() == 1
    outcomes = list(PaymentNotification.objects.values_list("outcome", flat=True))
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 19
    call_command("wallet_audit")


def test_parallel_top_up_orders_never_exceed_the_balance_limit(settings):
    settings.WALLET_MAX_BALANCE = "100.00"
    user = UserFactory()
    client = bearer_client(user)
    responses = run_parallel(
        20, lambda: client.post("/api/v1/wallet/top-ups/", {"amount": "10.00", "channel": "sandbox"}, format="json")
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 10 and statuses.count(400) == 10
    assert TopUp.objects.filter(user=user, status="pending").count() == 10


# Parallel charges (money out): tests/wallet/test_charges_concurrency.py.


def test_twenty_parallel_top_up_orders_with_one_key_make_one_top_up():
    user = UserFactory()
    client = bearer_client(user)
    responses = run_parallel(
        20,
        lambda: client.post(
            "/api/v1/wallet/top-ups/",
            {"amount": "10.00", "channel": "sandbox"},
            format="json",
            headers={"Idempotency-Key": "once"},
        ),
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert TopUp.objects.filter(user=user).count() == 1


def test_first_use_from_many_threads_creates_one_wallet_account():
    user = UserFactory()
    client = bearer_client(user)
    responses = run_parallel(10, lambda: client.get("/api/v1/wallet/"))
    assert {r.status_code for r in responses} == {200}
    assert LedgerAccount.objects.filter(user=user).count() == 1


def test_wallet_sync_on_several_hosts_at_once_queries_each_top_up_once():
    import time_machine

    user = UserFactory()
    with time_machine.travel("2026-12-01T15:59:30Z", tick=False) as traveller:
        for _ in range(10):
            top_up_create(user=user, amount=Decimal("1.00"), channel="sandbox")
        traveller.shift(120)
        from wallet.services import top_ups_sync

        reports = run_parallel(4, lambda: top_ups_sync(batch=100))
    assert sum(report.queried for report in reports) == 10
