"""Issue 14's items a person meets on a phone, proven in real Chromium (375×812, JavaScript on and off).

Items 2 and 3 (every error at once, seen at the top, focus on the first
invalid field), 4 and 6 (the number as people write it, masked, in a one-row
header), 12 (the CSRF page leads back to the form).
"""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_SCREEN = {"width": 375, "height": 812}


def _no_js(browser_page):
    context = browser_page.context.browser.new_context(
        base_url=browser_page.base_url, locale="zh-CN", java_script_enabled=False
    )
    return context, context.new_page()


def _in_viewport(page, selector: str) -> bool:
    return page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; }",
        selector,
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_every_signup_error_at_once_with_a_linked_summary_and_focus_on_the_first(browser_page, javascript):
    """Item 2: an invalid number is reported with an empty code and a weak password, in one pass."""
    context, page = (browser_page.context, browser_page) if javascript else _no_js(browser_page)
    try:
        page.set_viewport_size(PHONE_SCREEN)
        page.goto("/signup/")
        page.fill("#id_phone", "123")
        page.fill("#id_password", "1234")
        with page.expect_navigation():
            page.locator("main [data-testid=submit]").click()
        summary = page.get_by_test_id("form-errors")
        expect(summary).to_be_visible()
        for name in ("phone", "code", "password"):
            expect(page.get_by_test_id(f"summary-link-{name}")).to_have_attribute("href", f"#id_{name}")
        expect(page.locator("#id_password_error li")).to_have_count(1)  # one merged message
        expect(page.locator("#id_phone")).to_be_focused()
        # A summary link takes the person to its field.
        page.get_by_test_id("summary-link-password").click()
        assert page.url.endswith("#id_password")
    finally:
        if not javascript:
            context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_bad_email_far_down_the_account_page_is_seen(browser_page, browser_login, javascript):
    """Item 3: at 375 px the error is summarised at the top and the email field has focus, on screen."""
    context, page = (browser_page.context, browser_page) if javascript else _no_js(browser_page)
    try:
        browser_login(page, UserFactory())
        page.set_viewport_size(PHONE_SCREEN)
        page.goto("/account/")
        page.fill("#id_email", "not-an-email")
        with page.expect_navigation():
            page.locator("main [data-testid=profile-form] [data-testid=submit]").click()
        expect(page.locator("#id_email")).to_be_focused()
        assert _in_viewport(page, "#id_email")
        expect(page.get_by_test_id("form-errors")).to_contain_text("邮箱：请输入合法的邮件地址。")
        assert _in_viewport(page, "#id_email_error")  # the field and its message are on screen
        # The summary heads its form, above the first field.
        summary_top = page.get_by_test_id("form-errors").bounding_box()["y"]
        assert summary_top < page.locator("#id_nickname").bounding_box()["y"]
    finally:
        if not javascript:
            context.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_phone_header_is_one_row_with_the_masked_number(browser_page, browser_login, live_server, language):
    """Items 4 and 6: brand and menu in one row at 375 px, the number masked, nothing under 44 px."""
    page = browser_page
    browser_login(page, UserFactory(phone="+8613800138000", nickname=""))
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
    page.set_viewport_size(PHONE_SCREEN)
    page.goto("/")
    expect(page.get_by_test_id("current-user")).to_have_text("138****8000")
    assert "+8613800138000" not in page.content()
    header = page.locator("header.site-header").bounding_box()
    brand = page.get_by_test_id("brand").bounding_box()
    menu = page.locator("header summary").bounding_box()
    assert abs(brand["y"] - menu["y"]) < 44 and header["height"] < 2 * 44, (header, brand, menu)
    assert min(menu["width"], menu["height"]) >= 44


def test_the_csrf_failure_page_goes_back_to_the_form(browser_page):
    """Item 12: the button of the CSRF-failure page leads back to the form, not home."""
    page = browser_page
    page.set_viewport_size(PHONE_SCREEN)
    page.goto("/login/?method=password")
    page.fill("#id_login", "nobody_here")
    page.fill("#id_password", "wrong-Passw0rd")
    page.context.clear_cookies(name=settings.CSRF_COOKIE_NAME)
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()
    with page.expect_navigation():
        page.get_by_test_id("csrf-back").click()
    assert "/login/" in page.url
    expect(page.locator("#id_login")).to_be_visible()
