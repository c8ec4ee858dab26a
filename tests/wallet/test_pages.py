from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from tests.wallet.conftest import fund
from wallet.models import Transaction, Wallet

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_client(user):
    client = Client()
    client.force_login(user)
    return client


def form_key(response, form="top_up_form"):
    return response.context[form]["idempotency_key"].value()


def test_wallet_page_needs_login(client):
    response = client.get("/wallet/")
    assert response.status_code == 302
    assert "/wallet/" in response["Location"]


def test_wallet_page_shows_balance_forms_and_empty_history(page_client):
    response = page_client.get(reverse("wallet:wallet"), headers={"accept-language": "en"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="wallet-balance">0.00<' in html
    assert 'name="idempotency_key"' in html
    assert "No transactions yet." in html
    assert form_key(response) != form_key(response, "payment_form")


def test_top_up_form_credits_and_redirects_to_the_page(user, page_client):
    key = form_key(page_client.get("/wallet/"))
    response = page_client.post("/wallet/top-up/", {"amount": "12.5", "idempotency_key": key}, follow=True)
    assert response.redirect_chain == [("/wallet/", 302)]
    html = response.content.decode()
    assert 'data-testid="wallet-balance">12.50<' in html
    assert html.count('data-testid="history-row"') == 1
    assert Wallet.objects.get(user=user).balance == Decimal("12.50")


def test_double_submitted_top_up_form_credits_once(user, page_client):
    key = form_key(page_client.get("/wallet/"))
    for _ in range(2):
        response = page_client.post("/wallet/top-up/", {"amount": "10", "idempotency_key": key})
        assert response.status_code == 302
    assert Wallet.objects.get(user=user).balance == Decimal("10.00")
    assert Transaction.objects.count() == 1


@pytest.mark.parametrize("amount", ["0", "-1", "0.001", "abc", "1,000", "NaN", "50000.01", ""])
def test_bad_top_up_shows_error_and_credits_nothing(user, page_client, amount):
    response = page_client.post(
        "/wallet/top-up/", {"amount": amount, "idempotency_key": "k"}, headers={"accept-language": "en"}
    )
    assert response.status_code == 400
    assert response.context["top_up_form"].errors["amount"]
    assert 'class="errorlist' in response.content.decode()
    assert not Transaction.objects.exists()


def test_payment_form_debits_and_shows_insufficient_funds(user, page_client):
    fund(user, "5")
    response = page_client.post("/wallet/pay/", {"amount": "2", "description": "Tea", "idempotency_key": "p1"})
    assert response.status_code == 302
    response = page_client.post("/wallet/pay/", {"amount": "3.01", "idempotency_key": "p2"})
    assert response.status_code == 400
    assert response.context["payment_form"].non_field_errors()
    assert Wallet.objects.get(user=user).balance == Decimal("3.00")


def test_history_is_paginated_newest_first(user, page_client):
    for n in range(1, 13):
        fund(user, str(n))
    first = page_client.get("/wallet/").content.decode()
    assert first.count('data-testid="history-row"') == 10
    assert first.index("+12.00") < first.index("+11.00")
    assert "?page=2" in first
    second = page_client.get("/wallet/?page=2").content.decode()
    assert second.count('data-testid="history-row"') == 2
    assert "+1.00" in second


def test_page_is_translated_to_chinese_by_default(page_client):
    html = page_client.get("/wallet/").content.decode()
    assert "余额" in html


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/wallet/top-up/", {"amount": "1\x00"}),
        ("/wallet/top-up/", {"amount": "1", "idempotency_key": "a\x00b"}),
        ("/wallet/pay/", {"amount": "1", "description": "tea\x00"}),
        ("/wallet/pay/", {"amount": "x" * 10_000}),
    ],
)
def test_nul_bytes_and_huge_values_are_form_errors(user, page_client, url, data):
    fund(user, "5")
    assert page_client.post(url, data).status_code == 400
    assert Wallet.objects.get(user=user).balance == Decimal("5.00")


@pytest.mark.parametrize("page", ["abc", "999999", "-1", "%00"])
def test_history_survives_bad_page_numbers(page_client, page):
    assert page_client.get(f"/wallet/?page={page}").status_code == 200
