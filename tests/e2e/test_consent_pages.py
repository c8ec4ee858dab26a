"""Consent and the one-step code sign-in in real Chromium: every new or changed page at 375 px (and 1280 px),
in Chinese and English, held to tests/e2e/quality.py; and the flows a person goes through.
"""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.models import Consent, LegalDocument, User
from tests.e2e import quality
from tests.factories import UserFactory
from tests.smscodes.utils import last_code_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PHONE = "+8613700000019"


def publish_terms_v2() -> LegalDocument:
    return LegalDocument.objects.create(
        kind="terms",
        version=2,
        title_zh_hans="用户协议",
        title_en="User agreement",
        text_zh_hans="第二版正文。\n\n第二段。",
        text_en="Version two.\n\nSecond paragraph.",
    )


def _consent_missing(page):
    # The code login of a new number without the agreement: the error sits on the checkbox.
    page.fill("#id_phone", "137 0000 0019")
    page.check("#id_consent")
    with page.expect_response(lambda r: "/api/v1/sms/codes/" in r.url):
        page.get_by_test_id("send-code").click()
    page.uncheck("#id_consent")
    page.fill("#id_code", last_code_for(NEW_PHONE))
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()
    expect(page.locator("#id_consent_error")).to_be_visible()


def _consent_page_errors(page):
    with page.expect_navigation():
        page.locator("main [data-testid=submit]").click()
    expect(page.locator("#id_consent_error")).to_be_visible()


# (name, path, signed in, action)
PAGES = [
    ("login-code-default", "/login/", False, None),
    ("login-code-consent-missing", "/login/", False, _consent_missing),
    ("signup-agreement", "/signup/", False, None),
    ("legal-terms", "/legal/terms/", False, None),
    ("legal-privacy", "/legal/privacy/", False, None),
    ("legal-terms-v1", "/legal/terms/1/", False, None),
    ("consent", "/consent/?next=/account/", True, None),
    ("consent-errors", "/consent/?next=/account/", True, _consent_page_errors),
]


@pytest.fixture(scope="module")
def axe_source():
    return quality.require_axe()


@pytest.mark.parametrize(("name", "path", "signed_in", "action"), PAGES, ids=[p[0] for p in PAGES])
def test_new_page_fits_has_big_targets_passes_axe_and_its_policy(
    name, path, signed_in, action, legal_v1, browser_page, browser_login, axe_source, live_server
):
    publish_terms_v2()
    context = browser_page.context
    context.add_init_script(quality.CSP_LISTENER)
    if signed_in:
        browser_login(browser_page, UserFactory(nickname=""))  # agreed to terms 1: asked for terms 2
    failures = []
    for language in quality.LANGUAGES:
        context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
        for viewport_name, viewport in quality.VIEWPORTS.items():
            page = browser_page
            page.set_viewport_size(viewport)
            User.objects.filter(phone=NEW_PHONE).delete()
            page.goto(path)
            if action:
                action(page)
            label = f"{name}-{language}-{viewport_name}"
            assert page.locator("html").get_attribute("lang") == language, label
            layout = quality.check_layout(page)
            if layout["scrollWidth"] > viewport["width"] or layout["wide"]:
                failures.append(f"{label}: wider than the viewport: {layout}")
            small = [
                t for t in quality.tap_targets(page) if t["width"] < quality.MIN_TAP or t["height"] < quality.MIN_TAP
            ]
            if small:
                failures.append(f"{label}: tap targets under {quality.MIN_TAP} px: {small}")
            serious = [
                v for v in quality.run_axe(page, axe_source)["violations"] if v["impact"] in ("serious", "critical")
            ]
            if serious:
                failures.append(f"{label}: axe serious/critical: {serious}")
            refused = quality.csp_violations(page)
            if refused:
                failures.append(f"{label}: refused by the Content-Security-Policy: {refused}")
            quality.screenshot(page, label)
    assert not failures, "\n".join(failures)


def test_a_new_number_signs_up_in_one_step_on_a_phone(browser_page, legal_v1):
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto("/login/")
    button = page.get_by_test_id("send-code")
    expect(button).to_be_disabled()  # the agreement first
    page.fill("#id_phone", "137 0000 0019")
    page.get_by_test_id("consent").check()
    expect(button).to_be_enabled()
    with page.expect_response(lambda r: "/api/v1/sms/codes/" in r.url) as sent:
        button.click()
    assert sent.value.ok
    page.fill("#id_code", last_code_for(NEW_PHONE))
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()
    user = User.objects.get(phone=NEW_PHONE)
    assert not user.has_usable_password()
    assert sorted(Consent.objects.filter(user=user).values_list("document__kind", flat=True)) == ["privacy", "terms"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_without_javascript_the_send_code_button_asks_for_the_agreement(browser_page, legal_v1):
    context = browser_page.context.browser.new_context(
        base_url=browser_page.base_url, locale="zh-CN", java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.set_viewport_size({"width": 375, "height": 812})
        page.goto("/signup/")
        page.fill("#id_phone", "137 0000 0019")
        with page.expect_navigation():
            page.get_by_test_id("send-code").click()
        expect(page.get_by_test_id("send-code-result")).to_contain_text("请阅读并同意用户协议和隐私政策。")
        page.check("#id_consent")
        with page.expect_navigation():
            page.get_by_test_id("send-code").click()
        expect(page.get_by_test_id("send-code-result")).to_contain_text("验证码已发送")
    finally:
        context.close()


def test_a_new_version_is_agreed_to_before_going_on(browser_page, browser_login, legal_v1):
    user = UserFactory(nickname="Ada")
    browser_login(browser_page, user)
    publish_terms_v2()
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto("/account/")
    assert "/consent/?next=/account/" in page.url
    expect(page.get_by_test_id("legal-link-terms")).to_be_visible()
    page.get_by_test_id("consent").check()
    with page.expect_navigation():
        page.locator("main [data-testid=submit]").click()
    assert page.url.endswith("/account/")
    assert Consent.objects.get(user=user).document.version == 2
