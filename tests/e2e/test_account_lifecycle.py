"""登录设备, 下载我的数据 and 注销账号 in real Chromium, at 375 px, in Chinese and English (issue 13 items 3–5).

Each page state is held to ``tests/e2e/quality.py``'s bar (fits the screen,
44 px targets, axe, nothing refused by the CSP); the flows are done the way a
person does them, with the buttons on the page.
"""

import datetime
import json

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Device, User
from accounts.services.devices import device_sign_in
from config.origin import Origin
from smscodes.backends import locmem
from tests.e2e import quality
from tests.factories import PASSWORD, UserFactory
from tests.wallet.conftest import fund

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+8613800138000"
PHONE_VIEWPORT = quality.VIEWPORTS["phone"]


@pytest.fixture(scope="module")
def axe_source():
    return quality.require_axe()


def log_in(page, live_server, language: str = "zh-hans"):
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
    page.set_viewport_size(PHONE_VIEWPORT)
    page.goto("/login/?method=password")
    page.fill("#id_login", PHONE)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()


def an_app_elsewhere(user) -> Device:
    return device_sign_in(user=user, kind="app", origin=Origin(ip="203.0.113.7", user_agent="MyApp/2.3 (Android 14)"))


def check_quality(page, axe_source, label: str) -> list[str]:
    failures = []
    layout = quality.check_layout(page)
    if layout["scrollWidth"] > PHONE_VIEWPORT["width"] or layout["wide"]:
        failures.append(f"{label}: wider than the viewport: {layout}")
    small = [t for t in quality.tap_targets(page) if t["width"] < quality.MIN_TAP or t["height"] < quality.MIN_TAP]
    if small:
        failures.append(f"{label}: tap targets under {quality.MIN_TAP} px: {small}")
    serious = [v for v in quality.run_axe(page, axe_source)["violations"] if v["impact"] in ("serious", "critical")]
    if serious:
        failures.append(f"{label}: axe serious/critical: {serious}")
    refused = quality.csp_violations(page)
    if refused:
        failures.append(f"{label}: refused by the Content-Security-Policy: {refused}")
    quality.screenshot(page, label)
    return failures


def _scheduled(user):
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(deletion_scheduled_at=now, delete_after=now + datetime.timedelta(days=15))


def _wrong_password(page):
    page.fill("#id_password", "Wrong-pass-1")
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()


def _wallet_not_empty(page):
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()
    expect(page.get_by_test_id("wallet-not-empty")).to_be_visible()


# (name, path, set-up of the account, what to do on the page)
STATES = [
    ("account-devices", "/account/", an_app_elsewhere, None),
    ("account-deletion-scheduled", "/account/", _scheduled, None),
    ("deletion", "/account/delete/", None, None),
    ("deletion-errors", "/account/delete/", None, _wrong_password),
    ("deletion-wallet-not-empty", "/account/delete/", lambda user: fund(user, "8.00"), _wallet_not_empty),
]


@pytest.mark.parametrize(("name", "path", "setup", "action"), STATES, ids=[s[0] for s in STATES])
def test_lifecycle_pages_at_375_px_in_chinese_and_english(
    name, path, setup, action, browser_page, live_server, axe_source
):
    user = UserFactory(phone=PHONE, nickname="")
    if setup:
        setup(user)
    page = browser_page
    page.context.add_init_script(quality.CSP_LISTENER)
    failures = []
    for language in quality.LANGUAGES:
        page.context.clear_cookies()
        log_in(page, live_server, language)
        page.goto(path)
        if action:
            action(page)
        assert page.locator("html").get_attribute("lang") == language
        failures += check_quality(page, axe_source, f"lifecycle-{name}-{language}-phone")
    assert not failures, "\n".join(failures)


def test_devices_section_marks_this_device_and_signs_another_out(browser_page, live_server):
    user = UserFactory(phone=PHONE)
    app = an_app_elsewhere(user)
    page = browser_page
    log_in(page, live_server)
    page.goto("/account/")
    devices = page.get_by_test_id("device")
    expect(devices).to_have_count(2)
    expect(page.get_by_test_id("current-device")).to_have_count(1)
    expect(page.get_by_test_id("current-device")).to_have_text("本机")
    other = devices.filter(has_text="Android")
    with page.expect_navigation():
        other.get_by_test_id("device-end").click()
    expect(page.get_by_test_id("device")).to_have_count(1)
    app.refresh_from_db()
    assert app.ended_at is not None
    expect(page.get_by_test_id("current-device")).to_be_visible()  # this browser is still signed in


def test_deletion_by_password_then_cancel_in_english(browser_page, live_server):
    user = UserFactory(phone=PHONE)
    page = browser_page
    log_in(page, live_server, "en")
    page.goto("/account/")
    with page.expect_navigation():
        page.get_by_test_id("deletion-start").click()
    expect(page.get_by_test_id("deletion-consequences")).to_be_visible()
    expect(page.get_by_test_id("deletion-grace")).to_contain_text("15 days")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()
    expect(page.get_by_test_id("deletion-scheduled")).to_be_visible()
    assert User.objects.get(pk=user.pk).delete_after is not None
    with page.expect_navigation():
        page.get_by_test_id("deletion-cancel").click()
    expect(page.get_by_test_id("deletion-start")).to_be_visible()
    assert User.objects.get(pk=user.pk).delete_after is None


def test_deletion_by_a_code_sent_with_the_button_in_chinese(browser_page, live_server):
    user = UserFactory(phone=PHONE)
    page = browser_page
    log_in(page, live_server)
    page.goto("/account/delete/")
    locmem.outbox.clear()
    page.get_by_test_id("send-code").click()  # with JavaScript: sent by fetch to the account's own number
    expect(page.get_by_test_id("send-code")).to_be_disabled()
    # The button is disabled as soon as it is pressed; the message leaves once the server answered.
    for _ in range(100):
        if locmem.outbox:
            break
        page.wait_for_timeout(100)
    assert [(m.phone, m.purpose) for m in locmem.outbox] == [(PHONE, "delete_account")]
    page.fill("#id_code", locmem.outbox[0].code)
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()
    expect(page.get_by_test_id("deletion-scheduled")).to_contain_text("注销")
    assert User.objects.get(pk=user.pk).delete_after is not None


def test_download_my_data(browser_page, live_server):
    UserFactory(phone=PHONE, nickname="小美")
    page = browser_page
    log_in(page, live_server)
    page.goto("/account/")
    with page.expect_download() as download:
        page.get_by_test_id("data-export").click()
    assert download.value.suggested_filename.endswith(".json")
    data = json.loads(open(download.value.path(), encoding="utf-8").read())  # noqa: PTH123, SIM115
    assert data["user"]["nickname"] == "小美"
    assert data["devices"][0]["kind"] == "browser"
