import json
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from tests.factories import UserFactory
from tests.helpers import assert_api_error, bearer_client
from tests.wallet.conftest import fund
from wallet.models import IdempotencyRecord, Transaction, Wallet
from wallet.services import wallet_get_or_create

pytestmark = pytest.mark.django_db

TOP_UPS = "/api/v1/wallet/top-ups/"
PAYMENTS = "/api/v1/wallet/payments/"


def post_json(client, url, raw_body: str, **headers):
    """Post a JSON body exactly as written (numbers like 10.5 or 1e309 stay unparsed)."""
    return client.generic("POST", url, raw_body, content_type="application/json", headers=headers)


def test_wallet_requires_authentication(api_client):
    assert_api_error(api_client.get("/api/v1/wallet/"), 401, "not_authenticated")
    assert_api_error(api_client.post(TOP_UPS, {"amount": "1"}), 401, "not_authenticated")


def test_get_wallet_creates_it_on_first_use(user, user_client):
    response = user_client.get("/api/v1/wallet/")
    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == "0.00" and body["currency"] == "CNY"
    assert body["updated_at"].endswith("Z")
    assert Wallet.objects.filter(user=user).count() == 1


def test_get_wallet_costs_at_most_two_queries(user, user_client, django_assert_max_num_queries):
    fund(user, "22.5")
    with django_assert_max_num_queries(2):
        response = user_client.get("/api/v1/wallet/")
    assert response.json()["balance"] == "22.50"


def _top_up_statements(client, **headers) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = post_json(client, TOP_UPS, '{"amount": 10}', **headers)
    assert response.status_code == 201, response.content
    return [q["sql"] for q in queries.captured_queries]


# The tests run inside a transaction, so the service's atomic block shows up
# as SAVEPOINT + RELEASE (BEGIN + COMMIT in production): both are counted.
# The first statement is the token's user lookup.


def test_top_up_costs_at_most_six_queries_including_transaction_statements(user, user_client):
    wallet_get_or_create(user=user)
    sql = _top_up_statements(user_client)
    assert "SAVEPOINT" in sql[1] and "RELEASE" in sql[-1]
    assert len(sql) <= 6, sql


def test_top_up_with_idempotency_key_costs_at_most_six_queries_too(user, user_client):
    wallet_get_or_create(user=user)
    sql = _top_up_statements(user_client, **{"Idempotency-Key": "q"})
    assert "SAVEPOINT" in sql[1] and "RELEASE" in sql[-1]
    assert len(sql) <= 6, sql
    replay = _top_up_statements(user_client, **{"Idempotency-Key": "q"})
    assert len(replay) <= 6, replay
    assert not any(s.startswith(("INSERT", "UPDATE")) for s in replay)


def test_top_up_with_json_number_returns_transaction_and_balance(user, user_client):
    fund(user, "12")
    response = post_json(user_client, TOP_UPS, '{"amount": 10.5}')
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["balance"] == "22.50"
    entry = Transaction.objects.get(wallet__user=user, seq=2)
    assert body["transaction"] == {
        "id": str(entry.id),
        "kind": "top_up",
        "amount": "10.50",
        "balance_after": "22.50",
        "description": "",
        "created_at": body["transaction"]["created_at"],
    }
    assert body["transaction"]["created_at"].endswith("Z")
    assert "Idempotent-Replayed" not in response


@pytest.mark.parametrize(
    ("body", "balance"),
    [
        ('{"amount": "10"}', "10.00"),
        ('{"amount": "0.01"}', "0.01"),
        ('{"amount": 50000}', "50000.00"),
        ('{"amount": "50000.00"}', "50000.00"),
        ('{"amount": 0.1}', "0.10"),
        ('{"amount": 1e2}', "100.00"),
        ('{"amount": 12.30}', "12.30"),
    ],
)
def test_top_up_accepts_good_amounts(user_client, body, balance):
    response = post_json(user_client, TOP_UPS, body)
    assert response.status_code == 201, response.content
    assert response.json()["balance"] == balance


BAD_AMOUNTS = [
    '{"amount": NaN}',
    '{"amount": Infinity}',
    '{"amount": -Infinity}',
    '{"amount": "NaN"}',
    '{"amount": "Infinity"}',
    '{"amount": "inf"}',
    '{"amount": 1e309}',
    '{"amount": "1e309"}',
    '{"amount": -1e309}',
    '{"amount": 0.001}',
    '{"amount": "0.001"}',
    '{"amount": 10.005}',
    '{"amount": -5}',
    '{"amount": "-5"}',
    '{"amount": -0.01}',
    '{"amount": 0}',
    '{"amount": "0"}',
    '{"amount": "0.00"}',
    '{"amount": 0.0}',
    '{"amount": " 10"}',
    '{"amount": "10 "}',
    '{"amount": "1 000"}',
    '{"amount": "1,000"}',
    '{"amount": "1,000.00"}',
    '{"amount": "1_000"}',
    '{"amount": "1.000,50"}',
    '{"amount": "+10"}',
    '{"amount": "10."}',
    '{"amount": ".5"}',
    '{"amount": "１０"}',
    '{"amount": "10 CNY"}',
    '{"amount": "0x10"}',
    '{"amount": ""}',
    '{"amount": null}',
    '{"amount": true}',
    '{"amount": [10]}',
    '{"amount": {"value": 10}}',
    '{"amount": "99999999999999999999"}',
    "{}",
    '{"amount": 10',
]


@pytest.mark.parametrize("body", BAD_AMOUNTS)
@pytest.mark.parametrize("url", [TOP_UPS, PAYMENTS])
def test_bad_amounts_are_validation_errors_and_move_no_money(user, user_client, body, url):
    fund(user, "100")
    response = post_json(user_client, url, body)
    assert_api_error(response, 400, "validation_error")
    wallet = Wallet.objects.get(user=user)
    assert wallet.balance == Decimal("100.00")
    assert wallet.transactions.count() == 1


@pytest.mark.parametrize("amount", ["NaN", "1e309", "0.001", "-5", "0", "1 000", "1,000", " 10", "Infinity"])
def test_bad_form_encoded_amounts_are_validation_errors(user_client, amount):
    response = user_client.post(TOP_UPS, {"amount": amount}, format="multipart")
    assert_api_error(response, 400, "validation_error", fields=["amount"])
    response = user_client.post(TOP_UPS, f"amount={amount}", content_type="application/x-www-form-urlencoded")
    assert_api_error(response, 400, "validation_error", fields=["amount"])
    assert not Transaction.objects.exists()


def test_form_encoded_top_up_works(user_client):
    response = user_client.post(TOP_UPS, "amount=12.5", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201
    assert response.json()["balance"] == "12.50"


def test_top_up_over_max_top_up_is_validation_error(user_client):
    for body in ('{"amount": 50000.01}', '{"amount": "50000.01"}'):
        assert_api_error(post_json(user_client, TOP_UPS, body), 400, "validation_error", fields=["amount"])


def test_top_up_over_max_balance_is_validation_error(user, user_client, settings):
    settings.WALLET_MAX_BALANCE = Decimal("100.00")
    fund(user, "95")
    assert_api_error(post_json(user_client, TOP_UPS, '{"amount": "5.01"}'), 400, "validation_error", fields=["amount"])


def test_top_up_without_trailing_slash_still_works(user_client):
    response = post_json(user_client, "/api/v1/wallet/top-ups", '{"amount": "1"}')
    assert response.status_code == 201


def test_payment_debits_and_reports_insufficient_funds(user, user_client):
    fund(user, "20")
    response = post_json(user_client, PAYMENTS, '{"amount": "7.5", "description": "Tea"}')
    assert response.status_code == 201
    body = response.json()
    assert body["balance"] == "12.50"
    assert body["transaction"]["amount"] == "-7.50"
    assert body["transaction"]["kind"] == "payment"
    assert body["transaction"]["description"] == "Tea"
    assert_api_error(post_json(user_client, PAYMENTS, '{"amount": "12.51"}'), 409, "insufficient_funds")
    assert Wallet.objects.get(user=user).balance == Decimal("12.50")


def test_payment_description_is_limited(user, user_client):
    fund(user, "20")
    body = json.dumps({"amount": "1", "description": "x" * 201})
    assert_api_error(post_json(user_client, PAYMENTS, body), 400, "validation_error", fields=["description"])


def test_retry_with_same_key_replays_first_response_without_crediting(user, user_client):
    first = post_json(user_client, TOP_UPS, '{"amount": "10.00"}', **{"Idempotency-Key": "abc-123"})
    again = post_json(user_client, TOP_UPS, '{"amount": "10.00"}', **{"Idempotency-Key": "abc-123"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert again.json() == first.json()
    assert Wallet.objects.get(user=user).balance == Decimal("10.00")
    # A number and the same amount as a string are the same request.
    third = post_json(user_client, TOP_UPS, '{"amount": 10}', **{"Idempotency-Key": "abc-123"})
    assert third.json() == first.json()


def test_same_key_with_different_body_is_422(user, user_client):
    post_json(user_client, TOP_UPS, '{"amount": "10"}', **{"Idempotency-Key": "abc"})
    assert_api_error(
        post_json(user_client, TOP_UPS, '{"amount": "11"}', **{"Idempotency-Key": "abc"}), 422, "idempotency_key_reused"
    )
    assert_api_error(
        post_json(user_client, PAYMENTS, '{"amount": "10"}', **{"Idempotency-Key": "abc"}),
        422,
        "idempotency_key_reused",
    )
    assert Wallet.objects.get(user=user).balance == Decimal("10.00")


def test_payment_replay_after_balance_changed_still_replays(user, user_client):
    fund(user, "10")
    first = post_json(user_client, PAYMENTS, '{"amount": "10"}', **{"Idempotency-Key": "p1"})
    again = post_json(user_client, PAYMENTS, '{"amount": "10"}', **{"Idempotency-Key": "p1"})
    assert again.status_code == 201 and again.json() == first.json()
    assert Wallet.objects.get(user=user).balance == Decimal("0.00")


def test_unreadable_lost_idempotency_race_is_409_idempotency_in_progress(user, user_client, monkeypatch):
    def conflict(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    fund(user, "5")
    monkeypatch.setattr(IdempotencyRecord.objects, "create", conflict)
    response = post_json(user_client, PAYMENTS, '{"amount": "1"}', **{"Idempotency-Key": "k"})
    assert_api_error(response, 409, "idempotency_in_progress")
    assert Wallet.objects.get(user=user).balance == Decimal("5.00")  # the payment was rolled back


def test_idempotency_key_too_long_is_validation_error(user_client):
    response = post_json(user_client, TOP_UPS, '{"amount": "1"}', **{"Idempotency-Key": "k" * 256})
    assert_api_error(response, 400, "validation_error", fields=["Idempotency-Key"])
    response = post_json(user_client, TOP_UPS, '{"amount": "1"}', **{"Idempotency-Key": "k" * 255})
    assert response.status_code == 201


def test_idempotency_key_with_nul_is_validation_error(user_client):
    response = post_json(user_client, TOP_UPS, '{"amount": "1"}', **{"Idempotency-Key": "a\x00b"})
    assert_api_error(response, 400, "validation_error", fields=["Idempotency-Key"])
    response = post_json(user_client, TOP_UPS, '{"amount": "1"}', **{"Idempotency-Key": "é中文 key"})
    assert response.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        "",
        "[1]",
        '"10"',
        "10",
        "null",
        '{"amount": "1", "description": "a\\u0000b"}',
        '{"amount": "1", "description": ["x"]}',
        '{"amount": "1", "description": {"a": 1}}',
        '{"amount": "1", "description": "' + "x" * 10_000 + '"}',
        '{"amount": "1\\u0000"}',
    ],
)
def test_malformed_payment_bodies_are_validation_errors(user, user_client, body):
    fund(user, "5")
    assert_api_error(post_json(user_client, PAYMENTS, body), 400, "validation_error")
    assert Wallet.objects.get(user=user).balance == Decimal("5.00")


def test_transactions_list_with_a_bad_cursor_is_not_found(user, user_client):
    fund(user, "5")
    assert_api_error(user_client.get("/api/v1/wallet/transactions/?cursor=garbage"), 404, "not_found")


# A cursor that decodes to nothing (DRF's base64 drops a NUL) is the first page.
@pytest.mark.parametrize("query", ["?page_size=abc", "?page_size=-1", "?page_size=0", "?cursor=%00"])
def test_transactions_list_ignores_a_bad_page_size_or_an_empty_cursor(user, user_client, query):
    fund(user, "5")
    response = user_client.get("/api/v1/wallet/transactions/" + query)
    assert response.status_code == 200
    assert [line["amount"] for line in response.json()["results"]] == ["5.00"]


def test_another_users_token_never_reaches_this_wallet(user, user_client):
    fund(user, "50")
    post_json(user_client, TOP_UPS, '{"amount": "1"}', **{"Idempotency-Key": "mine"})
    intruder = bearer_client(UserFactory())
    assert intruder.get("/api/v1/wallet/").json()["balance"] == "0.00"
    assert intruder.get("/api/v1/wallet/transactions/").json()["results"] == []
    assert_api_error(post_json(intruder, PAYMENTS, '{"amount": "1"}'), 409, "insufficient_funds")
    # Reusing my key only touches the intruder's own wallet (keys are per user).
    response = post_json(intruder, TOP_UPS, '{"amount": "2"}', **{"Idempotency-Key": "mine"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Wallet.objects.get(user=user).balance == Decimal("51.00")
    assert Transaction.objects.filter(wallet__user=user).count() == 2
    assert IdempotencyRecord.objects.filter(key="mine").count() == 2


def test_transactions_are_cursor_paginated_newest_first(user, user_client, django_assert_max_num_queries):
    for amount in range(1, 26):
        fund(user, str(amount))
    with django_assert_max_num_queries(2):
        first = user_client.get("/api/v1/wallet/transactions/")
    body = first.json()
    assert set(body) == {"next", "previous", "results"}
    assert body["previous"] is None
    assert [r["amount"] for r in body["results"]] == [f"{n}.00" for n in range(25, 5, -1)]
    second = user_client.get(body["next"]).json()
    assert [r["amount"] for r in second["results"]] == [f"{n}.00" for n in range(5, 0, -1)]
    assert second["next"] is None and second["previous"]
    small = user_client.get("/api/v1/wallet/transactions/?page_size=3").json()
    assert len(small["results"]) == 3


def test_schema_documents_wallet_routes(user_client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "/api/v1/wallet/top-ups/" in schema["paths"]
    params = schema["paths"]["/api/v1/wallet/top-ups/"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" for p in params)
