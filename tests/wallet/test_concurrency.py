"""Real threads against PostgreSQL: the row lock, not luck, keeps the books.

Transactional tests (each thread commits on its own connection); SQLite and
plain TestCase transactions would hide every race, so these need PostgreSQL.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, connections

from tests.factories import UserFactory
from tests.helpers import bearer_client
from wallet.models import Transaction, Wallet
from wallet.services import wallet_get_or_create, wallet_top_up

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


def post(client, url, amount, **headers):
    return client.post(url, {"amount": amount}, format="json", headers=headers)


def test_fifty_parallel_top_ups_all_land():
    user = UserFactory()
    client = bearer_client(user)
    responses = run_parallel(50, lambda: post(client, "/api/v1/wallet/top-ups/", "10.00"))
    assert [r.status_code for r in responses] == [201] * 50
    wallet = Wallet.objects.get(user=user)
    assert wallet.balance == Decimal("500.00")
    assert wallet.transactions.count() == 50
    assert sorted(wallet.transactions.values_list("balance_after", flat=True)) == [
        Decimal(10 * n) for n in range(1, 51)
    ]
    call_command("wallet_audit")


def test_fifty_parallel_payments_against_300_exactly_thirty_succeed():
    user = UserFactory()
    wallet_top_up(user=user, amount=Decimal("300.00"))
    client = bearer_client(user)
    responses = run_parallel(50, lambda: post(client, "/api/v1/wallet/payments/", "10.00"))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 30
    assert statuses.count(409) == 20
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"insufficient_funds"}
    wallet = Wallet.objects.get(user=user)
    assert wallet.balance == Decimal("0.00")
    assert wallet.transactions.filter(kind="payment").count() == 30
    call_command("wallet_audit")


@pytest.mark.parametrize(
    "wallet_exists",
    [
        # The waiters' lock query read its snapshot before the winner committed,
        # so they miss its record, lose the unique (user, key) race, roll back
        # and replay (wallet.services._ledger_change).
        True,
        False,  # the wallet's creation races too; the waiters see the record
    ],
)
def test_twenty_parallel_top_ups_with_one_key_make_one_entry_and_identical_bodies(wallet_exists):
    user = UserFactory()
    if wallet_exists:
        wallet_get_or_create(user=user)
    client = bearer_client(user)
    responses = run_parallel(
        20, lambda: post(client, "/api/v1/wallet/top-ups/", "10.00", **{"Idempotency-Key": "once"})
    )
    assert {r.status_code for r in responses} == {201}
    bodies = [r.json() for r in responses]
    assert all(body == bodies[0] for body in bodies)
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert Transaction.objects.filter(wallet__user=user).count() == 1
    assert Wallet.objects.get(user=user).balance == Decimal("10.00")


def test_first_use_from_many_threads_creates_one_wallet():
    user = UserFactory()
    client = bearer_client(user)
    responses = run_parallel(10, lambda: client.get("/api/v1/wallet/"))
    assert {r.status_code for r in responses} == {200}
    assert Wallet.objects.filter(user=user).count() == 1


def test_database_refuses_raw_update_and_delete_of_ledger_rows():
    from django.db import DatabaseError

    user = UserFactory()
    wallet_top_up(user=user, amount=Decimal("1"))
    with connection.cursor() as cursor:
        with pytest.raises(DatabaseError, match="append-only"):
            cursor.execute("UPDATE wallet_transaction SET amount = 1000")
        with pytest.raises(DatabaseError, match="append-only"):
            cursor.execute("DELETE FROM wallet_transaction")
    assert Transaction.objects.get().amount == Decimal("1.00")
