"""Charges and refunds by client applications through the API (API.md "Charges and refunds")."""

from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import UserFactory
from tests.helpers import assert_api_error, bearer_client
from tests.wallet.charges_helpers import fund, key_client, new_application
from wallet.clients import client_application_update, client_key_revoke
from wallet.models import AccountKind, Charge, ChargeRefund, EntryKind, JournalEntry, LedgerAccount, LedgerLine

pytestmark = pytest.mark.django_db

CHARGES = "/api/v1/wallet/charges/"


@pytest.fixture
def shop():
    application, key = new_application("Shop")
    return application, key_client(key)


@pytest.fixture
def person():
    user = UserFactory()
    fund(user, "100.00")
    return user


def _balance(user) -> Decimal:
    return LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET).balance


def _charge(client, user, amount="30.00", order_id="VIP-2026-0001", **extra):
    return client.post(CHARGES, {"user_id": user.pk, "amount": amount, "order_id": order_id, **extra}, format="json")


def test_charge_debits_the_wallet_and_credits_the_applications_revenue_in_one_entry(shop, person):
    application, client = shop
    response = _charge(client, person, description="会员月费")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["balance"] == "70.00"
    charge = body["charge"]
    assert set(charge) == {
        "id",
        "order_id",
        "user_id",
        "amount",
        "refunded_amount",
        "status",
        "description",
        "created_at",
    }
    assert charge["id"].startswith("C") and len(charge["id"]) == 19 and charge["id"][1:15].isdigit()
    assert charge | {"id": None, "created_at": None} == {
        "id": None,
        "order_id": "VIP-2026-0001",
        "user_id": person.pk,
        "amount": "30.00",
        "refunded_amount": "0.00",
        "status": "succeeded",
        "description": "会员月费",
        "created_at": None,
    }
    assert charge["created_at"].endswith("Z")
    assert "Idempotent-Replayed" not in response
    assert _balance(person) == Decimal("70.00")

    (entry,) = JournalEntry.objects.filter(kind=EntryKind.CHARGE)
    assert entry.reference == charge["id"] and entry.description == "会员月费"
    assert entry.origin["client_application"] == {"id": application.pk, "name": "Shop"}
    assert entry.origin["api_key"] == application.keys.get().prefix
    lines = {line.account.kind: line.amount for line in entry.lines.select_related("account")}
    assert lines == {AccountKind.WALLET: Decimal("-30.00"), AccountKind.REVENUE: Decimal("30.00")}
    application.refresh_from_db()
    assert entry.lines.get(account__kind=AccountKind.REVENUE).account_id == application.revenue_account_id

    fetched = client.get(f"{CHARGES}{charge['id']}/")
    assert fetched.status_code == 200 and fetched.json() == charge

    transactions = bearer_client(person).get("/api/v1/wallet/transactions/").json()["results"]
    assert transactions[0]["kind"] == "charge" and transactions[0]["amount"] == "-30.00"
    assert transactions[0]["reference"] == charge["id"] and transactions[0]["description"] == "会员月费"


def test_replay_with_the_same_order_id_returns_the_first_response_and_debits_once(shop, person):
    _application, client = shop
    first = _charge(client, person)
    again = _charge(client, person)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert _balance(person) == Decimal("70.00")
    assert Charge.objects.count() == 1 and JournalEntry.objects.filter(kind=EntryKind.CHARGE).count() == 1
    # Amounts are compared as money: 30 and "30.00" are the same request.
    assert _charge(client, person, amount=30).status_code == 201


def test_same_order_id_with_another_amount_description_or_person_is_422(shop, person):
    _application, client = shop
    assert _charge(client, person).status_code == 201
    assert_api_error(_charge(client, person, amount="31.00"), 422, "idempotency_key_reused")
    assert_api_error(_charge(client, person, description="other"), 422, "idempotency_key_reused")
    other = UserFactory()
    fund(other, "50.00")
    assert_api_error(_charge(client, other), 422, "idempotency_key_reused")
    stranger = UserFactory()  # no wallet at all: still the order number decides first
    assert_api_error(_charge(client, stranger), 422, "idempotency_key_reused")
    assert _balance(person) == Decimal("70.00") and _balance(other) == Decimal("50.00")


def test_order_ids_are_per_application(shop, person):
    _application, client = shop
    _other, other_key = new_application("Games")
    assert _charge(client, person).status_code == 201
    assert _charge(key_client(other_key), person).status_code == 201
    assert _balance(person) == Decimal("40.00")


def test_insufficient_funds_leaves_nothing_behind(shop, person):
    _application, client = shop
    entries = JournalEntry.objects.count()
    refused = _charge(client, person, amount="100.01")
    assert_api_error(refused, 409, "insufficient_funds")
    assert refused.json()["message"] == "余额不足，还差 ¥0.01。"  # the shortfall, in yuan
    assert _balance(person) == Decimal("100.00")
    assert Charge.objects.count() == 0 and JournalEntry.objects.count() == entries
    # Nothing was stored, so the same order number may be used again.
    assert _charge(client, person, amount="100.00").json()["balance"] == "0.00"


def test_a_person_who_never_had_money_gets_insufficient_funds_and_no_wallet_is_left(shop):
    _application, client = shop
    newcomer = UserFactory()
    assert_api_error(_charge(client, newcomer, amount="1"), 409, "insufficient_funds")
    assert not LedgerAccount.objects.filter(user=newcomer).exists()


def test_unknown_or_inactive_person_is_404(shop, person):
    _application, client = shop
    assert_api_error(client.post(CHARGES, {"user_id": 999999, "amount": "1", "order_id": "X"}), 404, "not_found")
    person.is_active = False
    person.save(update_fields=["is_active"])
    assert_api_error(_charge(client, person, amount="1"), 404, "not_found")
    assert _balance(person) == Decimal("100.00")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": "1e3"}, "amount"),
        ({"order_id": ""}, "order_id"),
        ({"order_id": "x" * 65}, "order_id"),
        ({"user_id": "abc"}, "user_id"),
        ({"description": "d" * 201}, "description"),
    ],
)
def test_invalid_charges_are_400_and_charge_nothing(shop, person, payload, field):
    _application, client = shop
    data = {"user_id": person.pk, "amount": "10.00", "order_id": "A-1", **payload}
    assert_api_error(client.post(CHARGES, data, format="json"), 400, "validation_error", fields=[field])
    assert _balance(person) == Decimal("100.00")


def test_form_encoded_bodies_and_a_missing_trailing_slash_work(shop, person):
    _application, client = shop
    response = client.post(CHARGES.rstrip("/"), {"user_id": person.pk, "amount": "5", "order_id": "F-1"})
    assert response.status_code == 201, response.content
    assert response.json()["charge"]["amount"] == "5.00"


def test_another_applications_charge_is_404(shop, person):
    _application, client = shop
    charge_id = _charge(client, person).json()["charge"]["id"]
    _games, games_key = new_application("Games")
    games = key_client(games_key)
    assert_api_error(games.get(f"{CHARGES}{charge_id}/"), 404, "not_found")
    assert_api_error(games.post(f"{CHARGES}{charge_id}/refunds/", {}), 404, "not_found")
    assert_api_error(client.get(f"{CHARGES}C20261201000000XXXX/"), 404, "not_found")
    assert _balance(person) == Decimal("70.00")


# --- Who may call ----------------------------------------------------------------------------


def test_a_key_without_the_scope_is_403(person):
    _refunder, refund_key = new_application("Refunds only", scopes=("refund",))
    assert_api_error(_charge(key_client(refund_key), person), 403, "permission_denied")
    charger, charge_key = new_application("Charges only", scopes=("charge",))
    charge_id = _charge(key_client(charge_key), person).json()["charge"]["id"]
    assert_api_error(key_client(charge_key).post(f"{CHARGES}{charge_id}/refunds/", {}), 403, "permission_denied")
    assert key_client(charge_key).get(f"{CHARGES}{charge_id}/").status_code == 200
    assert _balance(person) == Decimal("70.00")


def test_a_revoked_key_and_a_switched_off_application_are_401(shop, person):
    application, client = shop
    assert _charge(client, person, order_id="1").status_code == 201  # the key is cached now
    client_key_revoke(key=application.keys.get())
    assert_api_error(_charge(client, person, order_id="2"), 401, "api_key_invalid")

    games, games_key = new_application("Games")
    assert _charge(key_client(games_key), person, order_id="1").status_code == 201
    client_application_update(application=games, active=False)
    assert_api_error(_charge(key_client(games_key), person, order_id="2"), 401, "api_key_invalid")
    assert _balance(person) == Decimal("40.00")


def test_a_bearer_token_a_session_or_nothing_is_401_on_charges(shop, person, client):
    charge_id = _charge(shop[1], person).json()["charge"]["id"]
    bearer = bearer_client(person)
    response = _charge(bearer, person, order_id="B")
    assert_api_error(response, 401, "api_key_invalid")
    assert response["WWW-Authenticate"] == "Api-Key"
    assert_api_error(bearer.get(f"{CHARGES}{charge_id}/"), 401, "api_key_invalid")
    assert_api_error(bearer.post(f"{CHARGES}{charge_id}/refunds/", {}), 401, "api_key_invalid")
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.post(CHARGES, {"user_id": person.pk, "amount": "1", "order_id": "S"})
    assert_api_error(response, 401, "api_key_invalid")
    from rest_framework.test import APIClient

    assert_api_error(
        APIClient().post(CHARGES, {"user_id": person.pk, "amount": "1", "order_id": "N"}), 401, "api_key_invalid"
    )
    assert_api_error(key_client("garbage").post(CHARGES, {}), 401, "api_key_invalid")
    assert _balance(person) == Decimal("70.00")


def test_a_key_is_refused_on_the_peoples_endpoints(shop):
    _application, client = shop
    assert_api_error(client.get("/api/v1/me/"), 401, "not_authenticated")
    assert_api_error(client.get("/api/v1/wallet/"), 401, "not_authenticated")
    assert_api_error(client.get("/api/v1/wallet/transactions/"), 401, "not_authenticated")


def test_the_payments_route_is_gone(person):
    response = bearer_client(person).post("/api/v1/wallet/payments/", {"amount": "1"}, format="json")
    assert_api_error(response, 404, "not_found")
    assert _balance(person) == Decimal("100.00")


def test_each_application_has_its_own_rate_limit(settings, person):
    settings.WALLET_CLIENT_RATE = "3/m"
    _shop, shop_key = new_application("Shop")
    _games, games_key = new_application("Games")
    with time_machine.travel("2026-12-01 15:59:10Z", tick=False):
        for n in range(3):
            assert _charge(key_client(shop_key), person, amount="1", order_id=f"o{n}").status_code == 201
        response = _charge(key_client(shop_key), person, amount="1", order_id="o9")
        assert_api_error(response, 429, "rate_limited")
        assert int(response["Retry-After"]) == 50
        assert _charge(key_client(games_key), person, amount="1", order_id="g").status_code == 201
    assert _balance(person) == Decimal("96.00")


def test_a_charge_costs_at_most_six_statements_including_begin_and_commit(shop, person):
    _application, client = shop
    with time_machine.travel("2026-12-01 15:59:30Z", tick=False):  # both requests in one minute
        assert _charge(client, person, amount="1", order_id="warm").status_code == 201  # key lookup cached
        # Inside the test's transaction, the service's BEGIN/COMMIT are a SAVEPOINT
        # and its RELEASE, which CaptureQueriesContext records like any statement.
        with CaptureQueriesContext(connection) as queries:
            response = _charge(client, person, amount="2", order_id="measured")
    assert response.status_code == 201
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) <= 6, "\n".join(statements)
    if connection.vendor == "postgresql":
        # One statement (migration 0012's function), in autocommit outside a test: the wallet
        # lock lasts that statement and its commit.
        assert len(statements) == 1, "\n".join(statements)
        assert "wallet_charge_create(" in statements[0]
        # Prepared on the server once per connection, whatever the number of charges.
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
            prepared = [row[0] for row in cursor.fetchall()]
        assert sum("wallet_charge_create(" in text for text in prepared) == 1, prepared
    else:
        assert statements[0].startswith("SAVEPOINT") and statements[-1].startswith("RELEASE SAVEPOINT")


# --- Refunds ---------------------------------------------------------------------------------


def _refund(client, charge_id, key=None, **data):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(f"{CHARGES}{charge_id}/refunds/", data, format="json", **headers)


def test_partial_refunds_add_up_to_the_charge_and_one_cent_more_is_409(shop, person):
    _application, client = shop
    charge_id = _charge(client, person).json()["charge"]["id"]
    first = _refund(client, charge_id, amount="10.00", reason="缺货")
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["balance"] == "80.00"
    assert body["charge"]["refunded_amount"] == "10.00" and body["charge"]["status"] == "partially_refunded"
    refund = body["refund"]
    assert refund["charge_id"] == charge_id and refund["amount"] == "10.00" and refund["reason"] == "缺货"
    assert refund["id"].startswith("CR") and refund["created_at"].endswith("Z")

    assert _refund(client, charge_id, amount="19.99").json()["charge"]["refunded_amount"] == "29.99"
    last = _refund(client, charge_id, amount="0.01").json()
    assert last["charge"]["status"] == "refunded" and last["balance"] == "100.00"
    assert_api_error(_refund(client, charge_id, amount="0.01"), 409, "refund_exceeds_charge")
    assert_api_error(_refund(client, charge_id), 409, "refund_exceeds_charge")  # nothing left
    assert _balance(person) == Decimal("100.00")
    assert client.get(f"{CHARGES}{charge_id}/").json()["status"] == "refunded"

    entries = JournalEntry.objects.filter(kind=EntryKind.REFUND, reference=charge_id)
    assert entries.count() == 3
    for entry in entries:
        assert sum(line.amount for line in entry.lines.all()) == 0
        assert entry.origin["client_application"]["name"] == "Shop"
    revenue = LedgerLine.objects.filter(account__kind=AccountKind.REVENUE)
    assert sum(line.amount for line in revenue) == 0  # everything charged was given back


def test_one_cent_over_what_is_left_is_409_and_changes_nothing(shop, person):
    _application, client = shop
    charge_id = _charge(client, person).json()["charge"]["id"]
    assert _refund(client, charge_id, amount="20.00").status_code == 201
    assert_api_error(_refund(client, charge_id, amount="10.01"), 409, "refund_exceeds_charge")
    assert ChargeRefund.objects.count() == 1 and _balance(person) == Decimal("90.00")


def test_a_refund_without_an_amount_gives_back_all_that_is_left(shop, person):
    _application, client = shop
    charge_id = _charge(client, person).json()["charge"]["id"]
    _refund(client, charge_id, amount="5.50")
    rest = _refund(client, charge_id).json()
    assert rest["refund"]["amount"] == "24.50" and rest["charge"]["status"] == "refunded"
    assert rest["balance"] == "100.00"


def test_refunds_are_idempotent_with_an_idempotency_key(shop, person):
    _application, client = shop
    charge_id = _charge(client, person).json()["charge"]["id"]
    first = _refund(client, charge_id, key="rf-1", amount="10.00")
    _refund(client, charge_id, amount="5.00")  # another refund meanwhile
    again = _refund(client, charge_id, key="rf-1", amount="10.00")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert_api_error(_refund(client, charge_id, key="rf-1", amount="3.00"), 422, "idempotency_key_reused")
    assert ChargeRefund.objects.count() == 2 and _balance(person) == Decimal("85.00")


def test_a_refund_is_credited_even_above_the_maximum_balance(settings, shop, person):
    settings.WALLET_MAX_BALANCE = Decimal("100.00")
    _application, client = shop
    charge_id = _charge(client, person).json()["charge"]["id"]
    fund(person, "30.00")  # back at the maximum
    response = _refund(client, charge_id)
    assert response.status_code == 201 and response.json()["balance"] == "130.00"
    assert _balance(person) == Decimal("130.00")


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"amount": "0"}, "amount"), ({"amount": "1.001"}, "amount"), ({"reason": "r" * 201}, "reason")],
)
def test_invalid_refunds_are_400(shop, person, payload, field):
    _application, client = shop
    charge_id = _charge(client, person).json()["charge"]["id"]
    assert_api_error(_refund(client, charge_id, **payload), 400, "validation_error", fields=[field])


def test_schema_documents_the_charge_routes_with_the_api_key_scheme():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "/api/v1/wallet/payments/" not in schema["paths"]
    post = schema["paths"]["/api/v1/wallet/charges/"]["post"]
    assert post["security"] == [{"apiKeyAuth": []}]
    assert "/api/v1/wallet/charges/{charge_id}/refunds/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["apiKeyAuth"]["type"] == "apiKey"


def test_the_audit_checks_charges_against_the_ledger(shop, person):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from wallet.charges import charges_audit

    _application, client = shop
    charge_id = _charge(client, person).json()["charge"]["id"]
    _refund(client, charge_id, amount="10.00")
    assert charges_audit() == []
    call_command("wallet_audit", stdout=StringIO())
    Charge.objects.filter(pk=charge_id).update(refunded_amount=Decimal("12.00"))  # a row that lies
    (finding,) = charges_audit()
    assert finding.subject == f"charge {charge_id}"
    assert any("!= sum of its refunds 10.00" in text for text in finding.problems)
    with pytest.raises(CommandError, match=charge_id):
        call_command("wallet_audit", stdout=StringIO(), stderr=StringIO())


def test_a_same_order_request_that_missed_the_first_in_its_snapshot_still_replays(shop, person, monkeypatch):
    """On PostgreSQL a request queued on the lock looks the order up in a snapshot from before the wait."""
    from wallet import charges

    _application, client = shop
    first = _charge(client, person, amount="100.00", order_id="ALL").json()
    real = charges._wallet_lock_for_charge

    def stale(**kwargs):
        wallet = real(**kwargs)
        wallet.existing_charge = None  # as if the first charge had not committed yet
        return wallet

    monkeypatch.setattr(charges, "_wallet_lock_for_charge", stale)
    again = _charge(client, person, amount="100.00", order_id="ALL")  # the balance is 0 now
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true" and again.json() == first
    other = _charge(client, person, amount="50.00", order_id="ALL-2")
    assert_api_error(other, 409, "insufficient_funds")
    half = _charge(client, person, amount="100.00", order_id="ALL", description="x")
    assert_api_error(half, 422, "idempotency_key_reused")


def test_a_charge_id_drawn_twice_is_drawn_again_and_charges_once(shop, person, monkeypatch):
    """Ids are readable (time + 4 characters), so two charges in one second may draw the same one."""
    from wallet import charges

    _application, client = shop
    first = _charge(client, person, amount="10.00", order_id="A").json()["charge"]["id"]
    draws = iter([first, "C20261201000000ZZZZ"])
    monkeypatch.setattr(charges, "new_order_id", lambda prefix: next(draws))
    response = _charge(client, person, amount="10.00", order_id="B")
    assert response.status_code == 201, response.content
    assert response.json()["charge"]["id"] == "C20261201000000ZZZZ" and response.json()["balance"] == "80.00"
    assert Charge.objects.count() == 2 and JournalEntry.objects.filter(kind=EntryKind.CHARGE).count() == 2
    assert _balance(person) == Decimal("80.00")


def test_a_charge_inside_a_callers_transaction_is_undone_with_it(person):
    """charge_create joins an open transaction (on PostgreSQL its one statement is simply part of it)."""
    from django.db import transaction

    from tests.wallet.charges_helpers import spend

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        spend(person, "40.00")
        assert _balance(person) == Decimal("60.00")
        raise Undo
    assert _balance(person) == Decimal("100.00")
    assert not Charge.objects.exists() and not JournalEntry.objects.filter(kind=EntryKind.CHARGE).exists()


def test_a_charge_is_counted_once_after_its_commit_and_replays_and_refusals_not_at_all(
    shop, person, django_capture_on_commit_callbacks
):
    from prometheus_client import REGISTRY

    _application, client = shop

    def count() -> float:
        return REGISTRY.get_sample_value("wallet_charges_total", {"application": "Shop"}) or 0.0

    before = count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert _charge(client, person, amount="60.00", order_id="M").status_code == 201
        assert _charge(client, person, amount="60.00", order_id="M")["Idempotent-Replayed"] == "true"
        assert_api_error(_charge(client, person, amount="60.00", order_id="N"), 409, "insufficient_funds")
    assert len(callbacks) == 1 and count() - before == 1


def test_the_charge_a_service_returns_is_the_row_it_wrote(shop, person):
    # PostgreSQL builds the returned Charge from the statement's values (Charge.from_db, by
    # position): every field must be the stored one, whatever the backend.
    from wallet.charges import _CHARGE_COLUMNS, charge_create

    assert tuple(field.attname for field in Charge._meta.concrete_fields) == _CHARGE_COLUMNS

    application, _client = shop
    with time_machine.travel("2026-12-31 15:59:59.5Z", tick=False):  # the last half second of the local year
        result = charge_create(
            application=application,
            user_id=person.pk,
            amount=Decimal("12.34"),
            order_id="ROW-1",
            description="月卡",
            key_id=application.keys.get().pk,
        )
    stored = Charge.objects.get(pk=result.charge.pk)
    fields = [field.attname for field in Charge._meta.concrete_fields]
    assert {name: getattr(result.charge, name) for name in fields} == {name: getattr(stored, name) for name in fields}
    assert result.charge.application == application and result.balance == Decimal("87.66")
    assert not result.charge._state.adding and result.charge._state.db == stored._state.db
