"""The account flows in real Chromium, on a phone-width screen.

One test per flow. The SMS code is read from the locmem backend the live
server sends through (same process). The password reset runs with
JavaScript off, to prove the pages work without it; the others use the
send-code control's script.
"""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.factories import PASSWORD, UserFactory
from tests.smscodes.utils import last_code_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PHONE = "+8613700000009"
NEW_PASSWORD = "N3w-secret-pw"


def visit(page, path: str):
    """Open ``path`` on a 375px-wide screen and check nothing scrolls sideways."""
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(path)
    assert_fits(page)
    return page


def assert_fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def field(page, name: str):
    return page.locator(f"main [name={name}]")


def send_and_enter_code(page, phone: str, *, javascript: bool = True) -> None:
    """Tick the agreement (if the form has one), press the send-code button, type the code "sent" to ``phone``."""
    box = page.locator("main [name=consent]")
    if box.count():
        box.check()
    button = page.locator('main button[name="send_code"]')
    if javascript:
        with page.expect_response(lambda r: "/api/v1/sms/codes/" in r.url and r.request.method == "POST") as sent:
            button.click()
        assert sent.value.ok, sent.value.text()
    else:
        with page.expect_navigation():
            button.click()
        expect(page.get_by_test_id("send-code-result")).to_be_visible()
        assert_fits(page)
    field(page, "code").fill(last_code_for(phone))


def submit(page) -> None:
    page.locator("main [data-testid=submit]:visible").click()


def expect_logged_in_as(page, name: str) -> None:
    expect(page.get_by_test_id("current-user")).to_have_text(name)


def test_sign_up_with_a_code_from_the_sms_backend(browser_page):
    page = visit(browser_page, "/signup/")
    field(page, "phone").fill("137 0000 0009")
    send_and_enter_code(page, NEW_PHONE)
    field(page, "password").fill(NEW_PASSWORD)
    field(page, "nickname").fill("Ada")
    submit(page)

    expect_logged_in_as(page, "Ada")
    assert_fits(page)
    assert User.objects.get(phone=NEW_PHONE).check_password(NEW_PASSWORD)


def test_log_out(browser_page, browser_login):
    user = UserFactory(nickname="Ada")
    browser_login(browser_page, user)
    page = visit(browser_page, "/account/")
    expect_logged_in_as(page, "Ada")

    # The account menu (a <details>) holds "log out".
    page.locator("header summary").click()
    page.get_by_test_id("logout").click()

    expect(page.get_by_test_id("current-user")).to_have_count(0)
    expect(page.locator("header a[href='/login/']")).to_be_visible()
    assert visit(page, "/account/").url.endswith("/login/?next=/account/")


def test_log_in_by_sms_code(browser_page):
    user = UserFactory(nickname="Ada")
    page = visit(browser_page, "/login/")  # the code form is the default tab
    field(page, "phone").fill(str(user.phone))
    send_and_enter_code(page, str(user.phone))
    submit(page)

    expect_logged_in_as(page, "Ada")


def test_log_in_by_password_and_go_back_where_i_was(browser_page):
    user = UserFactory(nickname="Ada")
    page = visit(browser_page, "/account/")  # anonymous: sent to the login page with ?next=
    page.get_by_test_id("tab-password").click()  # the code form ("手机号快捷登录") is the default
    field(page, "login").fill(str(user.phone.national_number))
    field(page, "password").fill("wrong-Passw0rd")
    submit(page)
    expect(page.get_by_test_id("form-errors")).to_be_visible()

    field(page, "password").fill(PASSWORD)
    submit(page)

    expect_logged_in_as(page, "Ada")
    assert page.url.endswith("/account/")


def test_reset_the_password_without_javascript(browser_page):
    user = UserFactory(nickname="Ada")
    context = browser_page.context.browser.new_context(
        base_url=browser_page.base_url, locale="zh-CN", java_script_enabled=False
    )
    try:
        page = visit(context.new_page(), "/login/")
        page.locator("main a[href='/password/reset/']").click()
        field(page, "phone").fill(str(user.phone))
        send_and_enter_code(page, str(user.phone), javascript=False)
        field(page, "new_password").fill(NEW_PASSWORD)
        submit(page)

        expect_logged_in_as(page, "Ada")
    finally:
        context.close()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_edit_the_profile(browser_page, browser_login):
    user = UserFactory(nickname="Ada")
    browser_login(browser_page, user)
    page = visit(browser_page, "/account/")
    field(page, "nickname").fill("Grace")
    field(page, "gender").select_option("female")
    field(page, "email").fill("grace@example.com")
    field(page, "job").fill("Admiral")
    submit(page)

    expect(page.locator(".message.success")).to_be_visible()
    expect(field(page, "job")).to_have_value("Admiral")
    expect_logged_in_as(page, "Grace")
    user.refresh_from_db()
    assert (user.nickname, user.gender, user.email, user.job) == ("Grace", "female", "grace@example.com", "Admiral")


def test_change_the_phone_number(browser_page, browser_login):
    user = UserFactory()
    browser_login(browser_page, user)  # not a fresh login: the password is asked for
    page = visit(browser_page, "/account/")
    page.locator("main a[href='/account/phone/']").click()
    assert_fits(page)
    field(page, "phone").fill(NEW_PHONE)
    send_and_enter_code(page, NEW_PHONE)
    field(page, "password").fill(PASSWORD)
    submit(page)

    expect(page.get_by_test_id("account-phone")).to_have_text("137 0000 0009")
    user.refresh_from_db()
    assert str(user.phone) == NEW_PHONE


def test_password_change_page_fits_a_phone_screen_with_its_errors(browser_page, browser_login):
    # The one account page no flow above passes through.
    browser_login(browser_page, UserFactory())
    page = visit(browser_page, "/account/password/")
    field(page, "old_password").fill("wrong-Passw0rd")
    field(page, "new_password").fill(NEW_PASSWORD)
    submit(page)

    expect(page.locator("#id_old_password_error")).to_be_visible()
    assert_fits(page)
