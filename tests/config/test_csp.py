"""The Content-Security-Policy (issue 10 item 5): strict, on every page, and nothing on a page needs more.

The header is checked on every kind of response a browser renders (pages,
error pages, the admin, the API docs); the HTML is checked for what the
policy would refuse (inline scripts, ``style=""``, ``on…=`` handlers). The
browser tests (``tests/e2e/test_pages_quality.py``, ``test_csp_in_browser``
below) prove that the pages, the admin and Swagger UI run under it with
nothing refused.
"""

import re

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EXPECTED = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}

ANONYMOUS = ["/", "/login/", "/login/?method=code", "/signup/", "/password/reset/", "/no-such-page/", "/admin/login/"]
SIGNED_IN = ["/", "/account/", "/account/password/", "/account/phone/", "/wallet/"]
STAFF = ["/admin/", "/admin/accounts/user/", "/api/docs/"]


def policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in header.split(";")) if part}


def assert_nothing_inline(html: str, path: str) -> None:
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", html)
    assert not inline_scripts, (path, inline_scripts)
    assert not re.search(r"<[a-z][^>]*\sstyle=", html), path
    assert not re.search(r"<[a-z][^>]*\son[a-z]+=", html), path
    for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', html):
        # Our scripts are files under static/ (static/js for ours, the admin's and Swagger UI's own).
        # /admin/jsi18n/ is Django's translation catalogue for the admin's scripts, served by this site.
        assert src.startswith(("/static/", "/api/docs/?script", "/admin/jsi18n/")), (path, src)


def test_every_page_sends_the_strict_policy_and_needs_nothing_inline(client, admin_client):
    responses = [(path, client.get(path)) for path in ANONYMOUS]
    signed_in = Client()
    signed_in.force_login(UserFactory())
    responses += [(path, signed_in.get(path)) for path in SIGNED_IN]
    responses += [(path, admin_client.get(path)) for path in STAFF]
    for path, response in responses:
        assert response.status_code in (200, 404), path
        assert policy(response) == EXPECTED, path
        assert_nothing_inline(response.content.decode(), path)


def test_error_pages_and_the_csrf_page_send_it_too(db):
    response = Client(enforce_csrf_checks=True).post("/login/", {"login": "x"})
    assert response.status_code == 403
    assert policy(response)["frame-ancestors"] == "'none'"
    assert_nothing_inline(response.content.decode(), "csrf")


def test_served_media_keeps_its_own_stricter_policy(client, settings, tmp_path):
    settings.DEBUG = True
    (tmp_path / "media" / "avatars").mkdir(parents=True)
    (tmp_path / "media" / "avatars" / "a.webp").write_bytes(b"RIFF0000WEBP")
    response = client.get("/media/avatars/a.webp")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_swagger_ui_start_up_script_is_a_file(admin_client):
    response = admin_client.get("/api/docs/?script")
    assert response.status_code == 200
    assert "javascript" in response.headers["Content-Type"]
    assert "SwaggerUIBundle" in response.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_csp_in_browser_admin_and_api_docs_run_with_nothing_refused(browser_page, browser_login, live_server):
    from tests.e2e.quality import CSP_LISTENER, csp_violations

    staff = UserFactory(is_staff=True, is_superuser=True)
    browser_page.context.add_init_script(CSP_LISTENER)
    browser_login(browser_page, staff)
    page = browser_page
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info", timeout=15_000)  # the UI started: its script ran
    assert csp_violations(page) == []
    for path in ("/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{staff.pk}/change/"):
        page.goto(path)
        assert csp_violations(page) == [], path
    response = page.goto("/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
