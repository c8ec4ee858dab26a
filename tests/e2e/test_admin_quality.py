"""The admin pages support staff use, held to the same bar as the consumer pages, in real Chromium.

Each page at 375×812 and 1280×800, in Chinese and English: no sideways
scrolling of the page, every tap target at least 44 × 44 px, zero serious or
critical axe-core violations, nothing refused by the Content-Security-Policy,
and a screenshot (``admin-…``) next to the consumer pages' in
``test-artifacts/screens/`` (see ``tests/e2e/quality.py``).

Django's admin lays out wide tables: on a phone, the result list scrolls
sideways inside its own box (``.results`` is ``overflow-x: auto`` in Django's
responsive CSS), which is how a table is read on a phone; the page itself
must not, so the layout check here is the page's scroll width.
"""

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import SecurityEvent, User
from tests.e2e import quality
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def support(live_server):
    staff = User.objects.create_user(username="support1", password="Supp0rt-pass-1", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    return staff


@pytest.fixture
def customer():
    person = UserFactory(phone="+8613800138000", nickname="阿达", email="ada@example.com")
    SecurityEvent.objects.create(
        user=person,
        kind="login_failed",
        ip="203.0.113.7",
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        detail={"reason": "wrong_password"},
    )
    return person


def _login(page, user, live_server):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


@pytest.fixture(scope="module")
def axe_source():
    return quality.require_axe()


def _pages(customer):
    return [
        ("admin-login", "/admin/login/", False),
        ("admin-index", "/admin/", True),
        ("admin-users", "/admin/accounts/user/", True),
        ("admin-user-search", "/admin/accounts/user/?q=8000", True),
        ("admin-user-change", f"/admin/accounts/user/{customer.pk}/change/", True),
        ("admin-user-revoke", f"/admin/accounts/user/{customer.pk}/revoke-sessions/", True),
        ("admin-password-change", "/admin/password_change/", True),
    ]


def test_admin_pages_fit_have_big_targets_pass_axe_and_their_policy(
    browser_page, live_server, support, customer, axe_source
):
    context = browser_page.context
    context.add_init_script(quality.CSP_LISTENER)
    failures = []
    for name, path, signed_in in _pages(customer):
        context.clear_cookies()
        if signed_in:
            _login(browser_page, support, live_server)
        for language in quality.LANGUAGES:
            context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
            for viewport_name, viewport in quality.VIEWPORTS.items():
                page = browser_page
                page.set_viewport_size(viewport)
                response = page.goto(path)
                label = f"{name}-{language}-{viewport_name}"
                if response.status != 200:
                    failures.append(f"{label}: status {response.status}")
                    continue
                layout = quality.check_layout(page)
                if layout["scrollWidth"] > viewport["width"]:
                    failures.append(f"{label}: the page scrolls sideways: {layout}")
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
