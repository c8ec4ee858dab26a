from decimal import Decimal

import pytest
from django.db import IntegrityError

from tests.factories import UserFactory
from tests.helpers import assert_api_error, bearer_client
from tests.wallet.conftest import fund
from wallet.models import AccountKind, IdempotencyRecord, LedgerAccount, TopUp

pytestmark = pytest.mark.django_db

TOP_UPS = "/api/v1/wallet/top-ups/"


def post_json(client, url, raw_body: str, **headers):
    """Post a JSON body exactly as written (numbers like 10.5 or 1e309 stay unparsed)."""
    return client.generic("POST", url, raw_body, content_type="application/json", headers=headers)


def _balance(user) -> Decimal:
    return LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET).balance


def _with_channel(body: str) -> str:
    """The same (possibly malformed) top-up body with a channel added in front."""
    return '{"channel": "sandbox"}' if body == "{}" else body.replace("{", '{"channel": "sandbox", ', 1)


def test_wallet_requires_authentication(api_client):
    assert_api_error(api_client.get("/api/v1/wallet/"), 401, "not_authenticated")
    assert_api_error(api_client.post(TOP_UPS, {"amount": "1", "channel": "sandbox"}), 401, "not_authenticated")
    assert_api_error(api_client.get(TOP_UPS), 401, "not_authenticated")


def test_get_wallet_creates_it_on_first_use(user, user_client):
    response = user_client.get("/api/v1/wallet/")
    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == "0.00" and body["frozen"] == "0.00" and body["currency"] == "CNY"
    assert body["updated_at"].endswith("Z")
    assert LedgerAccount.objects.filter(user=user, kind=AccountKind.WALLET).count() == 1


@pytest.mark.parametrize(
    ("body", "amount"),
    [
        ('{"amount": "10"}', "10.00"),
        ('{"amount": "0.01"}', "0.01"),
        ('{"amount": 5000}', "5000.00"),
        ('{"amount": "5000.00"}', "5000.00"),
        ('{"amount": 0.1}', "0.10"),
        ('{"amount": 1e2}', "100.00"),
        ('{"amount": 12.30}', "12.30"),
    ],
)
def test_top_up_accepts_good_amounts(user_client, body, amount):
    response = post_json(user_client, TOP_UPS, _with_channel(body))
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == amount


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
def test_bad_top_up_amounts_are_validation_errors(user, user_client, body):
    assert_api_error(post_json(user_client, TOP_UPS, _with_channel(body)), 400, "validation_error")
    assert not TopUp.objects.exists()


@pytest.mark.parametrize("amount", ["NaN", "1e309", "0.001", "-5", "0", "1 000", "1,000", " 10", "Infinity"])
def test_bad_form_encoded_amounts_are_validation_errors(user_client, amount):
    response = user_client.post(TOP_UPS, {"amount": amount, "channel": "sandbox"}, format="multipart")
    assert_api_error(response, 400, "validation_error", fields=["amount"])
    response = user_client.post(
        TOP_UPS, f"amount={amount}&channel=sandbox", content_type="application/x-www-form-urlencoded"
    )
    assert_api_error(response, 400, "validation_error", fields=["amount"])
    assert not TopUp.objects.exists()


def test_form_encoded_top_up_works(user_client):
    response = user_client.post(
        TOP_UPS, "amount=12.5&channel=sandbox", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 201
    assert response.json()["amount"] == "12.50"


def test_top_up_over_max_top_up_is_validation_error(user_client):
    for body in ('{"amount": 5000.01}', '{"amount": "5000.01"}'):
        assert_api_error(
            post_json(user_client, TOP_UPS, _with_channel(body)), 400, "validation_error", fields=["amount"]
        )


def test_top_up_over_max_balance_is_validation_error(user, user_client, settings):
    settings.WALLET_MAX_BALANCE = Decimal("100.00")
    fund(user, "95")
    assert_api_error(
        post_json(user_client, TOP_UPS, _with_channel('{"amount": "5.01"}')), 400, "validation_error", fields=["amount"]
    )


def test_top_up_and_notify_without_trailing_slash_still_work(user_client, client):
    response = post_json(user_client, "/api/v1/wallet/top-ups", _with_channel('{"amount": "1"}'))
    assert response.status_code == 201
    assert_api_error(
        client.post("/api/v1/wallet/notify/sandbox", b"{}", content_type="application/json"), 401, "signature_invalid"
    )


def test_same_key_with_different_body_is_422(user, user_client):
    post_json(user_client, TOP_UPS, _with_channel('{"amount": "10"}'), **{"Idempotency-Key": "abc"})
    assert_api_error(
        post_json(user_client, TOP_UPS, _with_channel('{"amount": "11"}'), **{"Idempotency-Key": "abc"}),
        422,
        "idempotency_key_reused",
    )
    assert TopUp.objects.filter(user=user).count() == 1


def test_unreadable_lost_idempotency_race_is_409_idempotency_in_progress(user, user_client, monkeypatch):
    def conflict(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(IdempotencyRecord.objects, "create", conflict)
    response = post_json(user_client, TOP_UPS, _with_channel('{"amount": "1"}'), **{"Idempotency-Key": "k"})
    assert_api_error(response, 409, "idempotency_in_progress")
    assert not TopUp.objects.filter(user=user).exists()  # the order was rolled back


def test_the_payments_route_is_gone(user, user_client):
    fund(user, "5")
    assert_api_error(post_json(user_client, "/api/v1/wallet/payments/", '{"amount": "1"}'), 404, "not_found")
    assert _balance(user) == Decimal("5.00")


def test_idempotency_key_too_long_is_validation_error(user_client):
    response = post_json(user_client, TOP_UPS, _with_channel('{"amount": "1"}'), **{"Idempotency-Key": "k" * 256})
    assert_api_error(response, 400, "validation_error", fields=["Idempotency-Key"])
    response = post_json(user_client, TOP_UPS, _with_channel('{"amount": "1"}'), **{"Idempotency-Key": "k" * 255})
    assert response.status_code == 201


def test_idempotency_key_with_nul_is_validation_error(user_client):
    response = post_json(user_client, TOP_UPS, _with_channel('{"amount": "1"}'), **{"Idempotency-Key": "a\x00b"})
    assert_api_error(response, 400, "validation_error", fields=["Idempotency-Key"])
    response = post_json(user_client, TOP_UPS, _with_channel('{"amount": "1"}'), **{"Idempotency-Key": "é中文 key"})
    assert response.status_code == 201


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
    mine = post_json(user_client, TOP_UPS, _with_channel('{"amount": "1"}'), **{"Idempotency-Key": "mine"}).json()
    intruder = bearer_client(UserFactory())
    assert intruder.get("/api/v1/wallet/").json()["balance"] == "0.00"
    assert intruder.get("/api/v1/wallet/transactions/").json()["results"] == []
    assert intruder.get(TOP_UPS).json()["results"] == []
    assert_api_error(intruder.get(f"{TOP_UPS}{mine['id']}/"), 404, "not_found")
    theirs = post_json(intruder, TOP_UPS, _with_channel('{"amount": "1"}'), **{"Idempotency-Key": "mine"})
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs  # keys are per person
    assert theirs.json()["id"] != mine["id"]
    assert _balance(user) == Decimal("50.00")
    assert IdempotencyRecord.objects.filter(key="mine").count() == 2


def test_transactions_are_cursor_paginated_newest_first(user, user_client, django_assert_max_num_queries):
    for amount in range(1, 26):
        fund(user, str(amount))
    # each fund() is a paid sandbox top-up: one wallet line each
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
    assert "/api/v1/wallet/top-ups/{top_up_id}/" in schema["paths"]
    assert "/api/v1/wallet/notify/{channel}/" in schema["paths"]
