"""Charges and refunds from real threads against PostgreSQL: the wallet row lock keeps the books.

Transactional tests (each thread commits on its own connection): SQLite and a
plain TestCase transaction would hide every race.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.models import Sum

from tests.factories import UserFactory
from tests.wallet.charges_helpers import fund, key_client, new_application
from wallet.models import AccountKind, Charge, ChargeRefund, EntryKind, JournalEntry, LedgerAccount, LedgerLine

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CHARGES = "/api/v1/wallet/charges/"


def run_parallel(count: int, request):
    """Run ``request(n)`` in ``count`` threads released at the same moment; return the responses in order."""
    barrier = threading.Barrier(count)

    def one(n):
        try:
            barrier.wait(timeout=30)
            return request(n)
        finally:
            connections.close_all()  # this thread's connection; keeps the server's slots free

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def assert_ledger_balanced():
    unbalanced = (
        LedgerLine.objects.values("entry")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .values_list("entry", flat=True)
    )
    assert list(unbalanced) == []
    call_command("wallet_audit")


def test_fifty_parallel_charges_of_ten_against_three_hundred_exactly_thirty_succeed():
    user = UserFactory()
    fund(user, "300.00")
    _application, key = new_application()

    def charge(n):
        return key_client(key).post(
            CHARGES, {"user_id": user.pk, "amount": "10.00", "order_id": f"order-{n}"}, format="json"
        )

    responses = run_parallel(50, charge)
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 30, 409: 20}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"insufficient_funds"}
    wallet = LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET)
    assert wallet.balance == Decimal("0.00")
    assert Charge.objects.count() == 30 and JournalEntry.objects.filter(kind=EntryKind.CHARGE).count() == 30
    # The balances the 30 answers reported are each step of the way down, once.
    assert sorted(Decimal(r.json()["balance"]) for r in responses if r.status_code == 201) == [
        Decimal(10 * n) for n in range(30)
    ]
    assert_ledger_balanced()


def test_twenty_parallel_charges_with_one_order_id_debit_once():
    user = UserFactory()
    fund(user, "100.00")
    _application, key = new_application()

    def charge(_n):
        return key_client(key).post(
            CHARGES, {"user_id": user.pk, "amount": "30.00", "order_id": "VIP-1"}, format="json"
        )

    responses = run_parallel(20, charge)
    assert [r.status_code for r in responses] == [201] * 20
    assert len({r.json()["charge"]["id"] for r in responses}) == 1
    assert {r.json()["balance"] for r in responses} == {"70.00"}
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET).balance == Decimal("70.00")
    assert Charge.objects.count() == 1
    assert_ledger_balanced()


def test_one_order_id_sent_for_twenty_different_people_at_once_charges_one():
    people = [UserFactory() for _ in range(20)]
    for person in people:
        fund(person, "10.00")
    _application, key = new_application()

    def charge(n):
        return key_client(key).post(
            CHARGES, {"user_id": people[n].pk, "amount": "10.00", "order_id": "SAME"}, format="json"
        )

    responses = run_parallel(20, charge)
    assert Counter(r.status_code for r in responses) == {201: 1, 422: 19}
    assert Charge.objects.count() == 1
    total = LedgerAccount.objects.filter(kind=AccountKind.WALLET, user__in=people).aggregate(s=Sum("balance"))["s"]
    assert total == Decimal("190.00")
    assert_ledger_balanced()


def test_parallel_refunds_of_one_charge_never_exceed_it():
    user = UserFactory()
    fund(user, "100.00")
    _application, key = new_application()
    charge_id = (
        key_client(key)
        .post(CHARGES, {"user_id": user.pk, "amount": "30.00", "order_id": "R-1"}, format="json")
        .json()["charge"]["id"]
    )

    def refund(_n):
        return key_client(key).post(f"{CHARGES}{charge_id}/refunds/", {"amount": "7.00"}, format="json")

    responses = run_parallel(10, refund)
    assert Counter(r.status_code for r in responses) == {201: 4, 409: 6}
    assert Charge.objects.get(pk=charge_id).refunded_amount == Decimal("28.00")
    assert ChargeRefund.objects.aggregate(s=Sum("amount"))["s"] == Decimal("28.00")
    assert LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET).balance == Decimal("98.00")
    assert_ledger_balanced()


def test_parallel_refunds_with_one_idempotency_key_refund_once():
    user = UserFactory()
    fund(user, "100.00")
    _application, key = new_application()
    charge_id = (
        key_client(key)
        .post(CHARGES, {"user_id": user.pk, "amount": "30.00", "order_id": "R-2"}, format="json")
        .json()["charge"]["id"]
    )

    def refund(_n):
        return key_client(key).post(
            f"{CHARGES}{charge_id}/refunds/", {"amount": "5.00"}, format="json", HTTP_IDEMPOTENCY_KEY="once"
        )

    responses = run_parallel(10, refund)
    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json()["refund"]["id"] for r in responses}) == 1
    assert LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET).balance == Decimal("75.00")
    assert_ledger_balanced()
