"""The controls of the account pages in real Chromium (static/js/site.js, sms-code.js), with JavaScript on and off."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory
from tests.smscodes.utils import last_code_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+8613700000009"


def open_page(page, path: str):
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(path)
    return page


def agree(page) -> None:
    """Tick the agreement when the page has one (it gates the send-code button; none without legal documents)."""
    box = page.locator("main [name=consent]")
    if box.count():
        box.check()


def no_js_page(browser_page):
    context = browser_page.context.browser.new_context(
        base_url=browser_page.base_url, locale="zh-CN", java_script_enabled=False
    )
    return context, context.new_page()


def test_the_password_eye_shows_and_hides_and_the_field_is_plain_without_javascript(browser_page):
    page = open_page(browser_page, "/signup/")
    page.fill("#id_password", "S3cret-pw")
    toggle = page.get_by_test_id("password-toggle")
    expect(toggle).to_have_attribute("aria-label", "显示密码")
    toggle.click()
    expect(page.locator("#id_password")).to_have_attribute("type", "text")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_have_attribute("aria-label", "隐藏密码")
    toggle.click()
    expect(page.locator("#id_password")).to_have_attribute("type", "password")

    context, plain = no_js_page(browser_page)
    try:
        plain.goto("/signup/")
        expect(plain.get_by_test_id("password-toggle")).to_have_count(0)
        expect(plain.locator("#id_password")).to_have_attribute("type", "password")
    finally:
        context.close()


def test_the_code_is_typed_into_six_cells_and_posts_one_code_field(browser_page):
    page = open_page(browser_page, "/signup/")
    cells = page.get_by_test_id("code-cell")
    expect(cells).to_have_count(6)
    page.locator("#id_code").click()
    page.keyboard.type("12a3456789")  # letters dropped, six digits kept
    assert [cells.nth(i).inner_text() for i in range(6)] == list("123456")
    posted = page.evaluate(
        "() => [...new FormData(document.querySelector('[data-testid=signup-form]')).getAll('code')]"
    )
    assert posted == ["123456"]
    # Full-width digits from a Chinese input method count.
    page.fill("#id_code", "１２３４５６")
    page.locator("#id_code").dispatch_event("input")
    assert page.input_value("#id_code") == "123456"


def test_a_submit_button_shows_it_is_busy_and_a_double_tap_posts_once(browser_page):
    page = open_page(browser_page, "/login/?method=password")
    # Registered after site.js: counts the submits that would really go out, then keeps the page here.
    page.evaluate(
        """() => { window.__sent = 0; document.addEventListener('submit', e => {
            if (!e.defaultPrevented) window.__sent++; e.preventDefault(); }); }"""
    )
    page.fill("#id_login", "nobody_here")
    page.fill("#id_password", "wrong-Passw0rd")
    button = page.locator("main [data-testid=submit]:visible")
    button.click()
    expect(button).to_have_attribute("aria-busy", "true")
    expect(button).to_be_disabled()
    page.evaluate("() => document.querySelector('#panel-password form').requestSubmit()")  # a second tap
    assert page.evaluate("() => window.__sent") == 1


def test_after_sending_a_code_the_focus_is_on_the_code_field(browser_page):
    page = open_page(browser_page, "/signup/")
    page.fill("#id_phone", "137 0000 0009")
    agree(page)
    with page.expect_response(lambda r: "/api/v1/sms/codes/" in r.url):
        page.get_by_test_id("send-code").click()
    expect(page.locator("#id_code")).to_be_focused()
    expect(page.get_by_test_id("sms-send-status")).to_have_text("验证码已发送至 137 0000 0009。")


def test_the_countdown_survives_a_failed_submit_with_javascript(browser_page):
    page = open_page(browser_page, "/signup/")
    page.fill("#id_phone", "137 0000 0009")
    agree(page)
    with page.expect_response(lambda r: "/api/v1/sms/codes/" in r.url):
        page.get_by_test_id("send-code").click()
    page.fill("#id_code", "000000" if last_code_for(PHONE) != "000000" else "111111")
    page.fill("#id_password", "123")
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()

    button = page.get_by_test_id("send-code")
    expect(button).to_be_disabled()
    expect(button).to_have_text(re.compile(r"^(5\d|60) 秒后重发$"))
    # Every error of the submit at once, and the first invalid field has focus.
    expect(page.locator("#id_code_error")).to_be_visible()
    expect(page.locator("#id_password_error")).to_be_visible()
    expect(page.locator("#id_code")).to_be_focused()


def test_the_countdown_survives_a_failed_submit_without_javascript(browser_page):
    context, page = no_js_page(browser_page)
    try:
        page.set_viewport_size({"width": 375, "height": 812})
        page.goto("/signup/")
        page.fill("#id_phone", "137 0000 0009")
        agree(page)
        with page.expect_navigation():
            page.get_by_test_id("send-code").click()
        page.fill("#id_code", "000000" if last_code_for(PHONE) != "000000" else "111111")
        with page.expect_navigation():
            page.locator("main [data-testid=submit]").click()
        expect(page.get_by_test_id("send-code-result")).to_contain_text("秒后可重新获取验证码")
        seconds = int(page.get_by_test_id("send-code").get_attribute("data-resend-in"))
        assert 50 <= seconds <= 60
        # Without JavaScript the browser itself focuses the first invalid field (autofocus).
        expect(page.locator("#id_code")).to_be_focused()
    finally:
        context.close()


def test_the_login_tabs_are_a_tab_control_with_arrow_keys(browser_page):
    page = open_page(browser_page, "/login/")
    code_tab, password_tab = page.get_by_test_id("tab-code"), page.get_by_test_id("tab-password")
    expect(code_tab).to_have_attribute("aria-selected", "true")  # "手机号快捷登录" first
    expect(password_tab).to_have_attribute("tabindex", "-1")
    code_tab.focus()
    page.keyboard.press("ArrowRight")
    expect(password_tab).to_be_focused()
    expect(password_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-password")).to_be_visible()
    expect(page.locator("#panel-code")).to_be_hidden()
    assert page.url.endswith("/login/?method=password")
    page.keyboard.press("Home")
    expect(code_tab).to_be_focused()
    expect(page.locator("#panel-code")).to_be_visible()
    password_tab.click()
    expect(page.locator("#id_login")).to_be_visible()


def test_switching_language_keeps_what_was_typed_but_not_the_password(browser_page):
    page = open_page(browser_page, "/signup/")
    page.fill("#id_phone", "137 0000 0009")
    agree(page)
    page.fill("#id_password", "S3cret-pw")
    page.fill("#id_nickname", "Ada")
    with page.expect_navigation():
        page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#id_phone")).to_have_value("137 0000 0009")
    expect(page.locator("#id_nickname")).to_have_value("Ada")
    expect(page.locator("#id_password")).to_have_value("")


def test_without_javascript_switching_language_keeps_what_was_typed_too(browser_page):
    """The footer's buttons belong to the form in progress: the browser posts it with the language (no script)."""
    context, page = no_js_page(browser_page)
    try:
        page.set_viewport_size({"width": 375, "height": 812})
        page.goto("/signup/")
        page.fill("#id_phone", "137 0000 0009")
        page.fill("#id_password", "S3cret-pw")
        page.fill("#id_nickname", "Ada")
        with page.expect_navigation():
            page.get_by_test_id("lang-en").click()
        assert page.url.endswith("/signup/")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("#id_phone")).to_have_value("137 0000 0009")
        expect(page.locator("#id_nickname")).to_have_value("Ada")
        expect(page.locator("#id_password")).to_have_value("")
        # And back, from the page in English.
        page.fill("#id_username", "ada_l")
        with page.expect_navigation():
            page.get_by_test_id("lang-zh-hans").click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(page.locator("#id_username")).to_have_value("ada_l")
        expect(page.locator("#id_nickname")).to_have_value("Ada")
    finally:
        context.close()


def test_without_javascript_the_wallet_amount_survives_a_language_switch(browser_page, browser_login):
    context, page = no_js_page(browser_page)
    try:
        browser_login(page, UserFactory())
        page.goto("/wallet/")
        page.get_by_test_id("top-up-amount").fill("12.50")
        with page.expect_navigation():
            page.get_by_test_id("lang-en").click()
        assert page.url.endswith("/wallet/")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_test_id("top-up-amount")).to_have_value("12.50")
    finally:
        context.close()


def test_the_agreement_checkbox_gates_the_send_code_button(browser_page, legal_v1):
    for path in ("/signup/", "/login/"):
        page = open_page(browser_page, path)
        button = page.get_by_test_id("send-code")
        expect(button).to_be_disabled()
        page.check("#id_consent")
        expect(button).to_be_enabled()
        page.uncheck("#id_consent")
        expect(button).to_be_disabled()


def test_the_account_menu_opens_and_closes_with_escape(browser_page, browser_login):
    browser_login(browser_page, UserFactory(phone="+8613800138000", nickname=""))
    page = open_page(browser_page, "/")
    expect(page.get_by_test_id("current-user")).to_have_text("138****8000")
    page.locator("header summary").click()
    expect(page.get_by_test_id("logout")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("logout")).to_be_hidden()
    expect(page.locator("header summary")).to_be_focused()


def test_the_per_network_cap_message_says_when_with_javascript(browser_page, settings):
    settings.SMS_IP_HOURLY_LIMIT = 1
    page = open_page(browser_page, "/signup/")
    page.fill("#id_phone", "137 0000 0009")
    agree(page)
    with page.expect_response(lambda r: "/api/v1/sms/codes/" in r.url):
        page.get_by_test_id("send-code").click()
    page.fill("#id_phone", "137 0000 0008")  # a brand-new number behind the same network
    page.evaluate(
        "() => { const b = document.querySelector('[data-testid=send-code]'); clearInterval(b.smsTimer); b.disabled = false; b.removeAttribute('data-counting'); }"
    )
    with page.expect_response(lambda r: "/api/v1/sms/codes/" in r.url) as answer:
        page.get_by_test_id("send-code").click()
    assert answer.value.status == 429
    expect(page.get_by_test_id("sms-send-status")).to_contain_text(re.compile(r"请 \d+ 分钟后再试"))
