"""Real Chromium: top up on /wallet/, pay at the sandbox checkout, come back to a paid result and the balance."""

from decimal import Decimal

import pytest

from tests.factories import UserFactory
from wallet.models import AccountKind, LedgerAccount, SandboxTrade, TopUp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_top_up_through_the_sandbox_checkout_shows_paid_and_the_new_balance(browser_page, browser_login):
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 800})
    user = UserFactory()
    browser_login(page, user)
    page.goto("/wallet/")
    assert page.get_by_test_id("wallet-balance").inner_text() == "¥0.00"

    page.get_by_test_id("top-up-amount").fill("25.50")
    page.get_by_test_id("top-up-submit").click()
    page.wait_for_url("**/wallet/sandbox/**")
    assert page.get_by_test_id("sandbox-amount").inner_text() == "¥25.50"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.get_by_test_id("sandbox-pay-success").click()
    page.wait_for_url("**/wallet/top-ups/**")
    assert page.get_by_test_id("top-up-status").get_attribute("data-status") == "paid"
    assert "¥25.50" in page.get_by_test_id("top-up-paid").inner_text()

    page.get_by_test_id("back-to-wallet").click()
    page.wait_for_url("**/wallet/")
    assert page.get_by_test_id("wallet-balance").inner_text() == "¥25.50"
    rows = page.get_by_test_id("history-row")
    assert rows.count() == 1
    assert "+¥25.50" in rows.first.inner_text() and "充值" in rows.first.inner_text()
    assert LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET).balance == Decimal("25.50")


def test_a_pending_result_page_turns_paid_by_itself_when_paid_elsewhere(browser_page, browser_login):
    """The person pays in another tab (the notification arrives there); this page polls and shows paid once."""
    page = browser_page
    user = UserFactory()
    browser_login(page, user)
    page.goto("/wallet/")
    page.get_by_test_id("top-up-preset").nth(1).click()  # 50
    page.get_by_test_id("top-up-submit").click()
    page.wait_for_url("**/wallet/sandbox/**")
    checkout_url = page.url
    top_up = TopUp.objects.get(user=user)
    page.goto(f"/wallet/top-ups/{top_up.id}/")
    assert page.get_by_test_id("top-up-status").get_attribute("data-status") == "pending"

    other = page.context.new_page()
    other.goto(checkout_url)
    other.get_by_test_id("sandbox-pay-success").click()
    other.wait_for_url("**/wallet/top-ups/**")
    other.close()

    page.wait_for_selector('[data-testid="top-up-status"][data-status="paid"]', timeout=15_000)
    assert SandboxTrade.objects.get(out_trade_no=top_up.id).state == "succeeded"
    assert LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET).balance == Decimal("50.00")


def test_a_refused_top_up_stays_on_wallet_and_a_refresh_does_not_resubmit(browser_page, browser_login, settings):
    """Post/redirect/get in a real browser: the error at /wallet/, focus on the amount, a reload is a plain GET."""
    settings.WALLET_MAX_BALANCE = Decimal("100.00")
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 812})
    browser_login(page, UserFactory())
    page.goto("/wallet/")
    page.get_by_test_id("top-up-amount").fill("100.01")
    page.get_by_test_id("top-up-submit").click()
    page.wait_for_load_state()

    assert page.url.endswith("/wallet/")
    assert "¥100.00" in page.get_by_test_id("form-errors").inner_text()
    assert page.evaluate("document.activeElement.name") == "amount"
    assert page.get_by_test_id("top-up-amount").input_value() == "100.01"

    methods = []
    page.on("request", lambda request: methods.append(request.method) if request.is_navigation_request() else None)
    page.reload()
    assert methods == ["GET"] and page.url.endswith("/wallet/")
    assert page.get_by_test_id("form-errors").count() == 0  # shown once
    assert not TopUp.objects.exists()
