"""Fixtures for the whole suite.

- Every test starts with an empty cache (only this run's key prefix is
  deleted, never anything else in a shared Redis).
- Passwords hash with a fast hasher unless a test asks for the real one.
- ``browser_page``: real Chromium (Debian's /usr/bin/chromium) driven by
  Playwright through the live server. With REQUIRE_BROWSER=1 (CI) a missing
  browser fails the test instead of skipping it.
- Tests marked ``postgres`` / ``redis`` skip on the embedded set-up, and fail
  instead of skipping when REQUIRE_SERVICES=1 (CI's PostgreSQL + Redis pass).
- The SMS outbox (locmem backend) is empty at the start of every test.
- ``frozen_clock``: time stands still for a test whose result depends on a
  window (fixed-window throttles end on the minute, SMS caps on the hour).
- ``--fake-now=2026-12-31T23:59:30+08:00`` (or PYTEST_FAKE_NOW): the whole
  session runs on a clock that starts there and ticks, so a test that
  assumes "UTC day == local day" or "the minute will not end" fails in CI
  (.ci/run's third pass) instead of at night. Tests that freeze time
  themselves still do: time-machine nests travels.
"""

import os
import shutil
from datetime import datetime

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from rest_framework.test import APIClient

from smscodes.backends import locmem
from tests.factories import UserFactory
from tests.helpers import bearer_client

# Playwright's sync API runs an event loop in this thread; Django's ORM would
# otherwise refuse to run next to it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


_FAKE_NOW = pytest.StashKey["time_machine.travel"]()


def pytest_addoption(parser):
    parser.addoption(
        "--fake-now",
        metavar="ISO-8601",
        default=os.environ.get("PYTEST_FAKE_NOW") or None,
        help="start the session's clock at this instant (with its UTC offset) and let it tick",
    )


def pytest_configure(config):
    start = config.getoption("--fake-now")
    if start:
        moment = datetime.fromisoformat(start)
        if moment.tzinfo is None:
            raise pytest.UsageError("--fake-now needs a UTC offset, e.g. 2026-12-31T23:59:30+08:00")
        traveller = time_machine.travel(moment, tick=True)
        traveller.start()
        config.stash[_FAKE_NOW] = traveller


def pytest_unconfigure(config):
    traveller = config.stash.get(_FAKE_NOW, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config):
    start = config.getoption("--fake-now")
    return [f"fake clock: started at {start}, ticking"] if start else []


def _skip_or_fail(reason: str, env_var: str):
    if os.environ.get(env_var) == "1":
        pytest.fail(f"{reason} ({env_var}=1 forbids skipping)")
    pytest.skip(reason)


def uses_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def uses_redis() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


@pytest.fixture(autouse=True)
def _services_required(request):
    if request.node.get_closest_marker("postgres") and not uses_postgres():
        _skip_or_fail("needs PostgreSQL (set DATABASE_URL)", "REQUIRE_SERVICES")
    if request.node.get_closest_marker("redis") and not uses_redis():
        _skip_or_fail("needs Redis (set REDIS_URL)", "REQUIRE_SERVICES")


def clear_cache():
    if uses_redis():
        cache.delete_pattern("*")  # only keys under this run's KEY_PREFIX
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _clean_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture(autouse=True)
def _default_language():
    # LocaleMiddleware activates a request's language and leaves it active in
    # the thread; reset it so no test depends on the one that ran before.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    settings.SMS_BACKEND = "locmem"
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()
    locmem.fail_with = None


# Five seconds into a minute and into an hour: every hit of a test lands in
# one fixed window, whatever the real clock says. UTC 10:00 is 18:00 in
# Asia/Shanghai, the same calendar day in both zones.
FROZEN_AT = "2026-12-01T10:00:05Z"


@pytest.fixture
def frozen_clock():
    """Stop the clock at FROZEN_AT (``traveller.shift(seconds)`` moves it).

    List it before fixtures that create users or tokens, so their timestamps
    are taken on the frozen clock too.
    """
    with time_machine.travel(FROZEN_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def legal_v1(db):
    """Version 1 of both legal documents, as migration accounts/0006 publishes them.

    A transactional test empties every table when it ends, migration data
    included: a test about consent asks for this to be sure they exist.
    """
    from accounts.models import LegalDocument

    return [
        LegalDocument.objects.get_or_create(
            kind=kind,
            version=1,
            defaults={"title_zh_hans": zh, "title_en": en, "text_zh_hans": f"{zh}正文", "text_en": f"{en} text"},
        )[0]
        for kind, zh, en in (("terms", "用户协议", "User agreement"), ("privacy", "隐私政策", "Privacy policy"))
    ]


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def support_client(client, db):
    """The test client logged in as support staff (may view and change users, nothing more)."""
    from django.contrib.auth.models import Permission

    from accounts.models import User

    staff = User.objects.create_user(username="support1", password="Supp0rt-pass-1", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client.force_login(staff)
    return client


@pytest.fixture
def user_client(user) -> APIClient:
    return bearer_client(user)


# --- Real browser -------------------------------------------------------------


@pytest.fixture(scope="session")
def _chromium():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _skip_or_fail(f"Chromium not found at {CHROMIUM}", "REQUIRE_BROWSER")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - dev requirements install it
        _skip_or_fail("playwright is not installed", "REQUIRE_BROWSER")
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        # The machine's network is closed: without these Chromium keeps
        # trying to reach Google's services.
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def browser_page(_chromium, live_server, legal_v1):
    """A fresh browser context (no cookies) with ``page.base_url`` set to the live server.

    The legal documents are published, as migration accounts/0006 does in every
    deployment (a transactional test empties the tables): the forms that create
    an account show their agreement checkbox, as people see them.
    """
    context = _chromium.new_context(base_url=live_server.url, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base_url = live_server.url
    yield page
    context.close()


@pytest.fixture
def browser_login(live_server):
    """``browser_login(page, user)``: give the browser a logged-in session for ``user``.

    For tests whose subject is not the login page itself (wallet, avatar…).
    """
    from django.test import Client

    def login(page, user):
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])

    return login
