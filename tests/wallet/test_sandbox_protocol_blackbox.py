"""The sandbox channel driven as a client of API.md would, and nothing else.

Only HTTP: a person's Bearer token for the top-up routes, the checkout page at
``pay.url``, and ``POST /api/v1/wallet/notify/sandbox/`` with a body and a
``Sandbox-Signature`` this module computes itself from API.md's words —
``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with
WALLET_SANDBOX_SECRET>`` — never with the service's own signing helper. The
hidden acceptance tests drive the protocol the same way.
"""

import hashlib
import hmac
import json
import re
import time
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from tests.factories import UserFactory
from tests.helpers import assert_api_error, bearer_client

pytestmark = pytest.mark.django_db

WALLET = "/api/v1/wallet/"
TOP_UPS = "/api/v1/wallet/top-ups/"
NOTIFY = "/api/v1/wallet/notify/sandbox/"
UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
TOP_UP_FIELDS = {
    "id",
    "amount",
    "currency",
    "channel",
    "status",
    "created_at",
    "expires_at",
    "paid_at",
    "refunded_amount",
}


def signature(body: bytes, *, t: int | None = None, secret: str | None = None) -> str:
    t = int(time.time()) if t is None else t
    key = (settings.WALLET_SANDBOX_SECRET if secret is None else secret).encode()
    return f"t={t},v1={hmac.new(key, str(t).encode() + b'.' + body, hashlib.sha256).hexdigest()}"


def notify(body: bytes, header: str | None = None, **sign):
    headers = {"Sandbox-Signature": header if header is not None else signature(body, **sign)}
    return Client().generic("POST", NOTIFY, body, content_type="application/json", headers=headers)


def event_body(top_up: dict, event: str = "payment.succeeded", **overrides) -> bytes:
    data = {
        "event": event,
        "top_up_id": top_up["id"],
        "trade_no": "SBX20261201" + top_up["id"][-4:],
        "amount": top_up["amount"],
        "currency": top_up["currency"],
        "occurred_at": "2026-12-01T10:00:00Z",
        **overrides,
    }
    return json.dumps(data, separators=(",", ":")).encode()


@pytest.fixture
def person():
    user = UserFactory()
    return bearer_client(user)


def create(person, amount="10.00", **extra) -> dict:
    response = person.post(TOP_UPS, {"amount": amount, "channel": "sandbox", **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def show(person, top_up: dict) -> dict:
    response = person.get(f"{TOP_UPS}{top_up['id']}/")
    assert response.status_code == 200
    return response.json()


def balance(person) -> str:
    return person.get(WALLET).json()["balance"]


# --- the TopUp object ---------------------------------------------------------------------------------


def test_a_new_top_up_is_the_topup_object_of_api_md_pending_with_pay_url(person):
    top_up = create(person, "12.5")  # a number-like string without the second decimal
    assert TOP_UP_FIELDS | {"pay"} <= top_up.keys()
    assert re.fullmatch(r"T\d{14}[0-9A-Z]{4}", top_up["id"])
    assert (top_up["amount"], top_up["currency"], top_up["channel"], top_up["status"]) == (
        "12.50",
        "CNY",
        "sandbox",
        "pending",
    )
    assert (top_up["paid_at"], top_up["refunded_amount"]) == (None, "0.00")
    assert UTC_TIME.match(top_up["created_at"]) and UTC_TIME.match(top_up["expires_at"])
    assert top_up["pay"].keys() == {"url"} and top_up["pay"]["url"].startswith(("http://", "https://"))
    assert balance(person) == "0.00"  # nothing credited yet
    assert show(person, top_up) == {**top_up, "pay": top_up["pay"]}


def test_a_json_number_amount_is_accepted(person):
    assert create(person, 20)["amount"] == "20.00"


def test_the_checkout_page_pays_and_pay_disappears_once_paid(person):
    top_up = create(person, "8.80")
    checkout = top_up["pay"]["url"].split("://", 1)[1].partition("/")[2]
    page = Client().get("/" + checkout)
    assert page.status_code == 200
    text = page.content.decode()
    assert "8.80" in text and "支付成功" in text and "支付失败" in text
    assert Client().post("/" + checkout, {"outcome": "succeeded"}).status_code in (200, 302, 303)
    paid = show(person, top_up)
    assert paid["status"] == "paid" and UTC_TIME.match(paid["paid_at"]) and "pay" not in paid
    assert balance(person) == "8.80"
    # `pay` only while pending: the checkout of a paid top-up pays nothing more.
    Client().post("/" + checkout, {"outcome": "succeeded"})
    assert balance(person) == "8.80"


def test_any_client_holding_pay_url_can_pay_without_our_cookies(person):
    top_up = create(person, "3.00")
    checkout = "/" + top_up["pay"]["url"].split("://", 1)[1].partition("/")[2]
    stranger = Client(enforce_csrf_checks=True)  # no session, no CSRF cookie: a provider's page is not ours
    assert stranger.post(checkout, {"outcome": "succeeded"}).status_code in (302, 303)
    assert show(person, top_up)["status"] == "paid" and balance(person) == "3.00"
    assert Client().get(checkout.rstrip("/").rpartition("/")[0] + "/not-a-token/").status_code == 404


# --- notifications ------------------------------------------------------------------------------------


def test_a_correctly_signed_notification_credits_once_and_every_duplicate_answers_ok(person):
    top_up = create(person)
    body = event_body(top_up)
    for _ in range(5):
        response = notify(body)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert balance(person) == "10.00"
    paid = show(person, top_up)
    assert paid["status"] == "paid" and "pay" not in paid
    lines = person.get(f"{WALLET}transactions/").json()["results"]
    assert [(line["kind"], line["amount"], line["reference"]) for line in lines] == [("top_up", "10.00", top_up["id"])]


def test_the_signature_header_may_carry_spaces_and_more_than_one_v1(person):
    top_up = create(person)
    body = event_body(top_up)
    t = int(time.time())
    good = signature(body, t=t).split(",v1=")[1]
    response = notify(body, header=f"t={t}, v1={'0' * 64}, v1={good}")  # a rotated secret's old v1 first
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert balance(person) == "10.00"


@pytest.mark.parametrize(
    "header",
    [
        "",  # none
        "v1=00",  # no timestamp
        "t=abc,v1=00",  # not a number
        "t={t}",  # no v1
        "t={t},v1={wrong}",  # another secret
        "t={t},v1={upper}",  # API.md says hex of the HMAC; a different string is a different signature
    ],
)
def test_a_bad_signature_is_401_signature_invalid_and_credits_nothing(person, header):
    top_up = create(person)
    body = event_body(top_up)
    t = int(time.time())
    good = signature(body, t=t).split(",v1=")[1]
    wrong = signature(body, t=t, secret="not-the-secret").split(",v1=")[1]
    header = header.format(t=t, wrong=wrong, upper=good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert_api_error(notify(body, header=header), 401, "signature_invalid")
    assert balance(person) == "0.00" and show(person, top_up)["status"] == "pending"


def test_a_body_changed_after_signing_is_401(person):
    top_up = create(person)
    header = signature(event_body(top_up))
    assert_api_error(notify(event_body(top_up, amount="10.000"), header=header), 401, "signature_invalid")
    assert balance(person) == "0.00"


@time_machine.travel("2026-12-01T15:59:30Z", tick=False)
def test_the_window_is_300_seconds_either_way():
    person = bearer_client(UserFactory())  # its token made on this clock
    top_up = create(person)
    body = event_body(top_up)
    now = int(time.time())
    for t in (now - 301, now + 301, now - 3600):
        assert_api_error(notify(body, t=t), 401, "signature_invalid")
    assert balance(person) == "0.00"
    assert notify(body, t=now + 300).status_code == 200
    assert notify(body, t=now - 300).json() == {"status": "ok"}  # a duplicate at the other edge
    assert balance(person) == "10.00"


def test_an_unknown_top_up_is_404_not_found_after_the_signature(person):
    body = event_body({"id": "T20261201000000ZZZZ", "amount": "10.00", "currency": "CNY"})
    assert_api_error(notify(body), 404, "not_found")
    assert_api_error(notify(body, secret="not-the-secret"), 401, "signature_invalid")  # the signature first


@pytest.mark.parametrize("field", [{"amount": "10.01"}, {"amount": "9.99"}, {"currency": "USD"}])
def test_a_notification_that_does_not_match_the_order_is_400_notification_mismatch(person, field):
    top_up = create(person)
    assert_api_error(notify(event_body(top_up, **field)), 400, "notification_mismatch")
    assert balance(person) == "0.00" and show(person, top_up)["status"] == "pending"
    assert notify(event_body(top_up)).status_code == 200  # the true one still credits
    assert balance(person) == "10.00"


def test_payment_failed_fails_a_pending_top_up_and_a_later_success_still_credits(person):
    top_up = create(person)
    assert notify(event_body(top_up, "payment.failed")).json() == {"status": "ok"}
    failed = show(person, top_up)
    assert failed["status"] == "failed" and "pay" not in failed
    assert notify(event_body(top_up)).json() == {"status": "ok"}  # paid money is never dropped
    assert show(person, top_up)["status"] == "paid" and balance(person) == "10.00"
    assert notify(event_body(top_up, "payment.failed")).json() == {"status": "ok"}  # late: changes nothing
    assert show(person, top_up)["status"] == "paid" and balance(person) == "10.00"


def test_another_persons_top_up_is_404_and_the_list_is_newest_first(person):
    mine = [create(person, "1.00"), create(person, "2.00")]
    stranger = bearer_client(UserFactory())
    assert_api_error(stranger.get(f"{TOP_UPS}{mine[0]['id']}/"), 404, "not_found")
    listed = person.get(TOP_UPS).json()["results"]
    assert [t["id"] for t in listed] == [mine[1]["id"], mine[0]["id"]]
    assert stranger.get(TOP_UPS).json()["results"] == []


# --- idempotency and errors of POST /top-ups/ -----------------------------------------------------------


def test_the_same_idempotency_key_and_body_replays_the_first_response(person):
    first = person.post(
        TOP_UPS, {"amount": "5.00", "channel": "sandbox"}, format="json", headers={"Idempotency-Key": "k-1"}
    )
    again = person.post(
        TOP_UPS, {"amount": "5.00", "channel": "sandbox"}, format="json", headers={"Idempotency-Key": "k-1"}
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in first and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(person.get(TOP_UPS).json()["results"]) == 1
    other = person.post(
        TOP_UPS, {"amount": "6.00", "channel": "sandbox"}, format="json", headers={"Idempotency-Key": "k-1"}
    )
    assert_api_error(other, 422, "idempotency_key_reused")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": "0", "channel": "sandbox"}, 400, "validation_error"),
        ({"amount": "-1", "channel": "sandbox"}, 400, "validation_error"),
        ({"amount": "1.001", "channel": "sandbox"}, 400, "validation_error"),
        ({"amount": "5000.01", "channel": "sandbox"}, 400, "validation_error"),
        ({"amount": "abc", "channel": "sandbox"}, 400, "validation_error"),
        ({"channel": "sandbox"}, 400, "validation_error"),
        ({"amount": "1.00", "channel": "paypal"}, 400, "channel_unavailable"),
        ({"amount": "1.00"}, 400, "validation_error"),
    ],
)
def test_bad_top_up_requests_get_the_error_codes_of_api_md(person, body, status, code):
    assert_api_error(person.post(TOP_UPS, body, format="json"), status, code)
    assert person.get(TOP_UPS).json()["results"] == []


def test_pending_top_ups_count_against_max_balance(person):
    create(person, "4000.00")
    assert_api_error(
        person.post(TOP_UPS, {"amount": "1000.01", "channel": "sandbox"}, format="json"), 400, "validation_error"
    )
    assert create(person, "1000.00")["status"] == "pending"


def test_the_top_up_routes_need_a_person(person):
    assert_api_error(Client().post(TOP_UPS, {"amount": "1.00", "channel": "sandbox"}), 401, "not_authenticated")
    assert_api_error(Client().get(TOP_UPS), 401, "not_authenticated")


def test_wallet_shows_frozen_and_the_limit(person):
    wallet = person.get(WALLET).json()
    assert {k: wallet[k] for k in ("balance", "frozen", "currency", "max_balance")} == {
        "balance": "0.00",
        "frozen": "0.00",
        "currency": "CNY",
        "max_balance": "5000.00",
    }
    assert UTC_TIME.match(wallet["updated_at"])
    assert Decimal(wallet["balance"]) == 0
