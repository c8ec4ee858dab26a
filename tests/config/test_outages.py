"""With the cache unreachable: 503 everywhere it is needed, fail closed, nothing half-done.

In-process, against a Redis address nothing listens on (refused at once).
``tests/faults/`` does the same against real processes, with Redis killed
mid-traffic and restarted, and PostgreSQL cut off.
"""

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation

from accounts.models import SecurityEvent
from smscodes import limits
from smscodes.backends import BaseSmsBackend, SmsOutgoing, locmem
from smscodes.models import SmsMessage
from smscodes.store import is_redis
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_api_error, bearer_client

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "KEY_PREFIX": "dead",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
}


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    settings.SMS_BACKEND = "locmem"
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def cache_down(settings):
    settings.CACHES = DEAD_REDIS


def assert_unavailable(response):
    body = assert_api_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5"
    return body


def test_an_authenticated_api_call_is_503_when_the_deny_list_cannot_be_read(user, cache_down):
    assert_unavailable(bearer_client(user).get("/api/v1/me/"))


def test_a_login_is_refused_when_the_lockout_counters_cannot_be_read(api_client, cache_down):
    user = UserFactory(phone=PHONE)
    assert_unavailable(api_client.post("/api/v1/auth/login/", {"login": PHONE, "password": PASSWORD}))
    # Refused before anything was decided: no session, no "login succeeded" on record.
    assert not SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.LOGIN_SUCCEEDED).exists()


def test_no_code_is_sent_or_logged_when_it_could_not_be_stored(api_client, cache_down):
    assert_unavailable(api_client.post("/api/v1/sms/codes/", {"phone": PHONE, "purpose": "register"}))
    assert_unavailable(
        api_client.post("/api/v1/sms/codes/verify/", {"phone": PHONE, "purpose": "register", "code": "123456"})
    )
    assert locmem.outbox == []
    assert not SmsMessage.objects.exists()


class StoredFirstBackend(BaseSmsBackend):
    """Records whether the code was already in the cache when the provider was called."""

    name = "stored-first"
    seen: list[bool] = []

    def send(self, message: SmsOutgoing) -> str:
        key = limits.code_key(purpose=message.purpose, phone=message.phone)
        if is_redis():
            stored = bool(cache.client.get_client().exists(cache.make_and_validate_key(key)))
        else:
            stored = cache.get(key) is not None
        self.seen.append(stored)
        return "ok-1"


def test_the_code_is_stored_before_the_provider_is_called(api_client, settings):
    settings.SMS_BACKEND = "tests.config.test_outages.StoredFirstBackend"
    StoredFirstBackend.seen.clear()
    assert api_client.post("/api/v1/sms/codes/", {"phone": PHONE, "purpose": "register"}).status_code == 200
    assert StoredFirstBackend.seen == [True]


def test_pages_show_a_translated_503_page(cache_down):
    browser = Client(raise_request_exception=False)
    UserFactory(phone=PHONE)
    zh = browser.post("/login/", {"login": PHONE, "password": PASSWORD})
    assert zh.status_code == 503 and zh["Retry-After"] == "5"
    assert "服务暂时不可用" in zh.content.decode()
    en = browser.post("/login/", {"login": PHONE, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en")
    assert en.status_code == 503
    assert "Service temporarily unavailable" in en.content.decode()
    assert "Traceback" not in en.content.decode()


def test_a_session_that_cannot_be_loaded_is_a_503_page_not_a_500(settings, user):
    browser = Client(raise_request_exception=False)
    browser.force_login(user)  # stored while the cache still answered
    settings.CACHES = DEAD_REDIS
    # The session is read by a middleware, before any view: the 500 handler turns it into the 503 page.
    response = browser.get("/account/")
    assert response.status_code == 503
    assert "服务暂时不可用" in response.content.decode()
    api = browser.get("/api/v1/me/")
    assert_unavailable(api)


def test_the_503_page_renders_without_a_request_or_static_files():
    with translation.override("en"):
        html = render_to_string("503.html")
    assert "Service temporarily unavailable" in html and "/static/" not in html


def test_charges_with_the_cache_down_fail_closed_while_counted_and_need_no_cache_otherwise(settings):
    """The charge POST reads no cache for its key (its statement checks the key in the database):
    with the per-application rate limit on (its counter is in the cache) it is a 503 that writes
    nothing; with the limit off it charges. The other client endpoints read the key's cache entry."""
    from tests.wallet.charges_helpers import fund, key_client, new_application
    from wallet.models import Charge, JournalEntry

    person = UserFactory()
    fund(person, "10.00")
    _application, key = new_application("Shop")
    client = key_client(key)

    def charge(order_id):
        return client.post("/api/v1/wallet/charges/", {"user_id": person.pk, "amount": "1", "order_id": order_id})

    settings.CACHES = DEAD_REDIS
    settings.WALLET_CLIENT_RATE = "100/m"
    assert_unavailable(charge("counted"))
    assert not Charge.objects.exists() and not JournalEntry.objects.filter(kind="charge").exists()
    settings.WALLET_CLIENT_RATE = "0"
    response = charge("not-counted")
    assert response.status_code == 201, response.content
    assert_unavailable(client.get(f"/api/v1/wallet/charges/{response.json()['charge']['id']}/"))
