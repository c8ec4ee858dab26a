"""Every page, at 375×812 and 1280×800, in Chinese and English, in real Chromium.

For each: no sideways scrolling, no element wider than the viewport, every
tap target at least 44 × 44 px, zero serious or critical axe-core
violations, nothing refused by the Content-Security-Policy (so nothing on the
page needs an inline script or style), and a screenshot in
``test-artifacts/screens/`` (see ``tests/e2e/quality.py``).
"""

import pytest
from django.conf import settings

from tests.e2e import quality
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _signup_errors(page):
    page.fill("#id_phone", "123")
    page.fill("#id_code", "12")
    page.fill("#id_password", "123")
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()


def _login_errors(page):
    page.fill("#id_login", "nobody_here")
    page.fill("#id_password", "wrong-Passw0rd")
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()


def _profile_errors(page):
    page.fill("#id_email", "not-an-email")
    page.fill("#id_username", "!")
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()


def _password_change_errors(page):
    page.fill("#id_old_password", "wrong-Passw0rd")
    page.fill("#id_new_password", "123")
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()


def _code_form_errors(page):
    # An invalid number and no code (and, where there is one, a weak password): every error at once.
    page.fill("main #id_phone", "123")
    if page.locator("main #id_new_password").count():
        page.fill("main #id_new_password", "123")
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()
    assert page.get_by_test_id("form-errors").is_visible()


def _open_menu(page):
    page.locator("header summary").click()


def _csrf_failure(page):
    page.fill("#id_login", "nobody_here")
    page.fill("#id_password", "wrong-Passw0rd")
    page.context.clear_cookies(name=settings.CSRF_COOKIE_NAME)  # the post is refused
    with page.expect_navigation():
        page.locator("main [data-testid=submit]:visible").click()
    assert page.get_by_test_id("csrf-back").is_visible()


def _wallet_errors(page):
    page.get_by_test_id("top-up-amount").fill("abc")
    with page.expect_navigation():
        page.get_by_test_id("top-up-submit").click()
    assert page.url.endswith("/wallet/")  # post/redirect/get


def _to_checkout(page):
    page.get_by_test_id("top-up-preset").first.click()
    with page.expect_navigation():
        page.get_by_test_id("top-up-submit").click()
    page.wait_for_url("**/wallet/sandbox/**")


def _to_paid_result(page):
    _to_checkout(page)
    with page.expect_navigation():
        page.get_by_test_id("sandbox-pay-success").click()
    page.wait_for_url("**/wallet/top-ups/**")


def _wallet_with_history(page):
    _to_paid_result(page)
    with page.expect_navigation():
        page.get_by_test_id("back-to-wallet").click()
    assert page.get_by_test_id("history-row").count() >= 1


# (name, path, logged in, what to do once the page is open)
PAGES = [
    ("home", "/", False, None),
    ("login-password", "/login/?method=password", False, None),
    ("login-password-errors", "/login/?method=password", False, _login_errors),
    ("login-code", "/login/", False, None),
    ("login-code-errors", "/login/", False, _code_form_errors),
    ("signup", "/signup/", False, None),
    ("signup-errors", "/signup/", False, _signup_errors),
    ("password-reset", "/password/reset/", False, None),
    ("password-reset-errors", "/password/reset/", False, _code_form_errors),
    ("not-found", "/no-such-page/", False, None),
    ("csrf-failure", "/login/?method=password", False, _csrf_failure),
    ("home-signed-in", "/", True, None),
    ("menu-open", "/", True, _open_menu),
    ("account", "/account/", True, None),
    ("account-errors", "/account/", True, _profile_errors),
    ("password-change", "/account/password/", True, None),
    ("password-change-errors", "/account/password/", True, _password_change_errors),
    ("phone-change", "/account/phone/", True, None),
    ("phone-change-errors", "/account/phone/", True, _code_form_errors),
    ("wallet", "/wallet/", True, None),
    ("wallet-errors", "/wallet/", True, _wallet_errors),
    ("sandbox-checkout", "/wallet/", True, _to_checkout),
    ("top-up-result", "/wallet/", True, _to_paid_result),
    ("wallet-with-history", "/wallet/", True, _wallet_with_history),
]


@pytest.fixture(scope="module")
def axe_source():
    return quality.require_axe()


@pytest.mark.parametrize(("name", "path", "signed_in", "action"), PAGES, ids=[p[0] for p in PAGES])
def test_page_fits_has_big_targets_passes_axe_and_its_policy(
    name, path, signed_in, action, browser_page, browser_login, axe_source, live_server
):
    context = browser_page.context
    context.add_init_script(quality.CSP_LISTENER)
    if signed_in:
        # No nickname: the header shows the masked number, the longest label it has.
        browser_login(browser_page, UserFactory(nickname=""))
    failures = []
    for language in quality.LANGUAGES:
        context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
        for viewport_name, viewport in quality.VIEWPORTS.items():
            page = browser_page
            page.set_viewport_size(viewport)
            page.goto(path)
            if action:
                action(page)
            label = f"{name}-{language}-{viewport_name}"
            assert page.locator("html").get_attribute("lang") == language, label

            layout = quality.check_layout(page)
            if layout["scrollWidth"] > viewport["width"] or layout["wide"]:
                failures.append(f"{label}: wider than the viewport: {layout}")
            targets = quality.tap_targets(page)
            small = [t for t in targets if t["width"] < quality.MIN_TAP or t["height"] < quality.MIN_TAP]
            if small:
                failures.append(f"{label}: tap targets under {quality.MIN_TAP} px: {small}")
            # Before axe: axe itself adds a <style> element on some pages, which the policy rightly refuses.
            refused = quality.csp_violations(page)
            if refused:
                failures.append(f"{label}: refused by the Content-Security-Policy: {refused}")
            axe = quality.run_axe(page, axe_source)
            serious = [v for v in axe["violations"] if v["impact"] in ("serious", "critical")]
            if serious:
                failures.append(f"{label}: axe serious/critical: {serious}")
            quality.screenshot(page, label)
            smallest = min(targets, key=lambda t: min(t["width"], t["height"])) if targets else None
            quality.record(
                {
                    "page": label,
                    "path": path,
                    "axe": {
                        impact: sum(1 for v in axe["violations"] if v["impact"] == impact)
                        for impact in ("critical", "serious", "moderate", "minor")
                    },
                    "axe_rules": sorted({v["id"] for v in axe["violations"]}),
                    "targets": len(targets),
                    "smallest_target": smallest,
                }
            )
    assert not failures, "\n".join(failures)
