"""Real Chromium: top up on /wallet/ and see the new balance and the history row."""

from decimal import Decimal

import pytest

from tests.factories import UserFactory
from wallet.models import Wallet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_top_up_on_wallet_page_shows_new_balance_and_history_row(browser_page, browser_login):
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 800})
    user = UserFactory()
    browser_login(page, user)
    page.goto("/wallet/")
    assert page.get_by_test_id("wallet-balance").inner_text() == "0.00"

    page.get_by_test_id("top-up-amount").fill("25.50")
    page.get_by_test_id("top-up-submit").click()
    page.wait_for_url("**/wallet/")

    assert page.get_by_test_id("wallet-balance").inner_text() == "25.50"
    rows = page.get_by_test_id("history-row")
    assert rows.count() == 1
    assert "+25.50" in rows.first.inner_text()
    assert "充值" in rows.first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert Wallet.objects.get(user=user).balance == Decimal("25.50")
