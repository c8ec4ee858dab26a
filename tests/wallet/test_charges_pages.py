"""The /wallet/ page: no "pay" form any more; charges and refunds in the history name the application."""

from decimal import Decimal

import pytest
from django.test import Client

from tests.wallet.charges_helpers import fund, new_application
from wallet.charges import charge_create, charge_refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_client(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_page_has_no_pay_form_and_the_pay_route_is_gone(user, page_client):
    fund(user, "10.00")
    html = page_client.get("/wallet/", headers={"accept-language": "en"}).content.decode()
    assert 'data-testid="payment-form"' not in html and "/wallet/pay/" not in html
    assert page_client.post("/wallet/pay/", {"amount": "1"}).status_code == 404
    assert 'data-testid="wallet-balance">¥10.00<' in page_client.get("/wallet/").content.decode()


def test_history_shows_charges_with_the_application_and_refunds_against_them(
    user, page_client, django_assert_max_num_queries
):
    fund(user, "100.00")
    shop, _key = new_application("会员商城")
    charge = charge_create(
        application=shop, user_id=user.pk, amount=Decimal("30"), order_id="VIP-1", description="会员月费"
    ).charge
    charge_refund(application=shop, charge_id=charge.pk, amount=Decimal("10"), reason="退订")
    with django_assert_max_num_queries(12):  # no query per history row
        response = page_client.get("/wallet/", headers={"accept-language": "en"})
    html = response.content.decode()
    assert 'data-testid="history-charge">会员商城 · 会员月费<' in html
    assert "Refund from 会员商城 for “会员月费”" in html and "退订" in html
    assert "-¥30.00" in html and "+¥10.00" in html
    assert 'data-testid="wallet-balance">¥80.00<' in html

    zh = page_client.get("/wallet/", headers={"accept-language": "zh-hans"}).content.decode()
    assert "会员商城" in zh and "Refund from" not in zh
