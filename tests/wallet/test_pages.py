import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from tests.wallet.conftest import fund
from wallet.models import AccountKind, LedgerAccount, SandboxTrade, TopUp

pytestmark = pytest.mark.django_db


def _balance(user) -> Decimal:
    account = LedgerAccount.objects.filter(user=user, kind=AccountKind.WALLET).first()
    return account.balance if account else Decimal("0.00")


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
    assert 'data-testid="wallet-balance">¥0.00<' in html
    assert 'name="idempotency_key"' in html
    assert "No transactions yet." in html
    assert "payment_form" not in response.context  # people no longer pay by themselves


def test_top_up_form_goes_to_the_sandbox_checkout_and_back_to_a_paid_result(user, page_client):
    key = form_key(page_client.get("/wallet/"))
    response = page_client.post("/wallet/top-up/", {"amount": "12.5", "channel": "sandbox", "idempotency_key": key})
    assert response.status_code == 302 and response["Location"].startswith("/wallet/sandbox/")
    top_up = TopUp.objects.get(user=user)
    assert _balance(user) == Decimal("0.00")  # nothing before paying
    checkout = page_client.get(response["Location"]).content.decode()
    assert "支付成功" in checkout and "¥12.50" in checkout
    result = page_client.post(response["Location"], {"outcome": "succeeded"}, follow=True)
    assert result.redirect_chain == [(f"/wallet/top-ups/{top_up.id}/", 302)]
    html = result.content.decode()
    assert 'data-status="paid"' in html and "top-up-status.js" not in html
    assert _balance(user) == Decimal("12.50")
    wallet = page_client.get("/wallet/").content.decode()
    assert 'data-testid="wallet-balance">¥12.50<' in wallet
    assert wallet.count('data-testid="history-row"') == 1 and wallet.count('data-testid="top-up-row"') == 1


def test_a_preset_amount_is_used_when_no_other_amount_is_typed(user, page_client):
    response = page_client.post("/wallet/top-up/", {"preset": "50", "amount": "", "channel": "sandbox"})
    assert response.status_code == 302
    assert TopUp.objects.get(user=user).amount == Decimal("50.00")
    page_client.post("/wallet/top-up/", {"preset": "50", "amount": "7", "channel": "sandbox"})
    assert TopUp.objects.filter(user=user, amount=Decimal("7.00")).exists()


def test_a_pending_result_page_polls_with_a_static_script_and_offers_refresh(user, page_client):
    response = page_client.post("/wallet/top-up/", {"amount": "5", "channel": "sandbox"})
    top_up = TopUp.objects.get(user=user)
    html = page_client.get(f"/wallet/top-ups/{top_up.id}/").content.decode()
    assert 'data-status="pending"' in html
    assert f'data-poll-url="/api/v1/wallet/top-ups/{top_up.id}/"' in html
    assert '<script src="/static/js/top-up-status.js"' in html and "<script>" not in html
    assert 'data-testid="top-up-refresh"' in html
    assert response["Location"] in html  # the way back to the checkout


def test_a_failed_payment_shows_nothing_charged(user, page_client):
    location = page_client.post("/wallet/top-up/", {"amount": "5", "channel": "sandbox"})["Location"]
    html = page_client.post(location, {"outcome": "failed"}, follow=True).content.decode()
    assert 'data-status="failed"' in html
    assert _balance(user) == Decimal("0.00")
    # The person may try again at the same checkout, as with a real provider.
    page_client.post(location, {"outcome": "succeeded"})
    assert _balance(user) == Decimal("5.00")


def test_another_persons_result_page_is_404(user, page_client):
    from tests.factories import UserFactory

    other = fund(UserFactory(), "1")
    assert page_client.get(f"/wallet/top-ups/{other.id}/").status_code == 404


def test_double_submitted_top_up_form_makes_one_order(user, page_client):
    key = form_key(page_client.get("/wallet/"))
    for _ in range(2):
        response = page_client.post("/wallet/top-up/", {"amount": "10", "channel": "sandbox", "idempotency_key": key})
        assert response.status_code == 302
    assert TopUp.objects.filter(user=user).count() == 1
    assert SandboxTrade.objects.count() == 1


@pytest.mark.parametrize("amount", ["0", "-1", "0.001", "abc", "1,000", "NaN", "5000.01", ""])
def test_bad_top_up_shows_error_and_orders_nothing(user, page_client, amount):
    response = page_client.post(
        "/wallet/top-up/",
        {"amount": amount, "channel": "sandbox", "idempotency_key": "k"},
        headers={"accept-language": "en"},
    )
    # Post/redirect/get: back on /wallet/, where a refresh is a plain GET.
    assert response.status_code == 302 and response["Location"] == "/wallet/"
    page = page_client.get("/wallet/", headers={"accept-language": "en"})
    assert page.context["top_up_form"].errors["amount"]
    assert 'class="errorlist' in page.content.decode()
    assert not TopUp.objects.exists()


def test_an_unknown_channel_is_a_form_error(page_client):
    response = page_client.post("/wallet/top-up/", {"amount": "1", "channel": "paypal"})
    assert response.status_code == 302
    assert page_client.get(response["Location"]).context["top_up_form"].errors["channel"]


def test_history_is_paginated_newest_first(user, page_client):
    for n in range(1, 13):
        fund(user, str(n))
    first = page_client.get("/wallet/").content.decode()
    assert first.count('data-testid="history-row"') == 10
    assert first.index("+¥12.00") < first.index("+¥11.00")
    assert "?page=2" in first
    second = page_client.get("/wallet/?page=2").content.decode()
    assert second.count('data-testid="history-row"') == 2
    assert "+¥1.00" in second


def test_page_is_translated_to_chinese_by_default(page_client):
    html = page_client.get("/wallet/").content.decode()
    assert "余额" in html


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/wallet/top-up/", {"amount": "1\x00", "channel": "sandbox"}),
        ("/wallet/top-up/", {"amount": "1", "channel": "sandbox", "idempotency_key": "a\x00b"}),
        ("/wallet/top-up/", {"amount": "x" * 10_000, "channel": "sandbox"}),
    ],
)
def test_nul_bytes_and_huge_values_are_form_errors(user, page_client, url, data):
    fund(user, "5")
    response = page_client.post(url, data)
    assert response.status_code == 302 and response["Location"] == "/wallet/"
    assert page_client.get("/wallet/").context["top_up_form"].errors
    assert _balance(user) == Decimal("5.00")


@pytest.mark.parametrize("page", ["abc", "999999", "-1", "%00"])
def test_history_survives_bad_page_numbers(page_client, page):
    assert page_client.get(f"/wallet/?page={page}").status_code == 200


def test_a_refused_top_up_comes_back_to_the_wallet_url_with_what_was_typed_once(user, page_client, settings):
    """Post/redirect/get: the error is shown at /wallet/ (a refresh repeats a GET, never a resubmit), once."""
    settings.WALLET_MAX_BALANCE = Decimal("100.00")
    fund(user, "90")
    orders = TopUp.objects.count()
    response = page_client.post("/wallet/top-up/", {"amount": "20", "channel": "sandbox", "idempotency_key": "k1"})
    assert response.status_code == 302 and response["Location"] == "/wallet/"

    shown = page_client.get("/wallet/")
    html = shown.content.decode()
    assert 'data-testid="form-errors"' in html  # the summary at the top, linked to the field
    assert 'href="#id_amount"' in html
    assert "余额不能超过 ¥100.00：当前最多可充值 ¥10.00。" in html
    amount_input = re.search(r'<input[^>]*name="amount"[^>]*>', html).group(0)
    assert 'value="20"' in amount_input and "autofocus" in amount_input
    # A fresh idempotency key, never the refused one.
    assert form_key(shown) and form_key(shown) != "k1"
    assert TopUp.objects.count() == orders

    again = page_client.get("/wallet/").content.decode()  # a refresh: the error was shown once
    assert 'data-testid="form-errors"' not in again


def test_amounts_are_shown_with_the_yuan_sign_never_cny(user, page_client):
    fund(user, "1234.5")
    html = page_client.get("/wallet/").content.decode()
    assert 'data-testid="wallet-balance">¥1,234.50<' in html
    assert "+¥1,234.50" in html
    assert "¥10</label>" in html.replace("\n", "") or "¥10\n" in html or " ¥10<" in html
    assert "CNY" not in html


def test_a_mistyped_amount_gets_one_message_not_two(page_client):
    page_client.post("/wallet/top-up/", {"amount": "abc", "channel": "sandbox"})
    errors = page_client.get("/wallet/").context["top_up_form"].errors["amount"]
    assert errors == ["请输入金额，例如 10 或 12.50。"]
