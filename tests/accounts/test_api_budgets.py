"""Query and cache budgets of the hot endpoints (issue 4, "Budget").

What is measured matters:
- These tests are transactional (``transaction=True``) so that a request runs
  in autocommit as it does in production. Inside pytest-django's usual
  per-test transaction every ``atomic`` block becomes a SAVEPOINT/RELEASE pair
  that production never sends, and the counts would be inflated.
- Django logs BEGIN/COMMIT in the captured queries too, so a hot path that
  opened a transaction would pay for it here: none of these does.
- The suite's autouse fixture puts the fast MD5 hasher first. The password
  login is measured with the production hashers (Argon2id first), with a
  current hash (no upgrade) and with an old PBKDF2 hash (upgraded: +1).
"""

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core.cache import caches
from rest_framework.test import APIClient

from accounts.models import User
from tests.conftest import clear_cache
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTION_HASHERS = [
    "accounts.hashers.OwaspArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]


@pytest.fixture
def cache_calls(monkeypatch):
    """Names of the cache operations made while the test runs."""
    backend = caches["default"]
    calls: list[str] = []
    for name in ("get", "get_many", "set", "add", "incr", "delete", "delete_many", "has_key", "touch"):
        original = getattr(backend, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(backend, name, counting)
    return calls


def login(client, password=PASSWORD):
    return client.post("/api/v1/auth/login/", {"login": "13900000000", "password": password})


def test_password_login_costs_four_queries_with_the_production_hasher(settings, django_assert_max_num_queries):
    # The user row, last_login, the security event, and the signed-in device.
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    user = UserFactory(phone="+8613900000000")
    assert identify_hasher(user.password).algorithm == "argon2"
    with django_assert_max_num_queries(4):
        response = login(APIClient())
    assert response.status_code == 200, response.json()


def test_password_login_with_an_upgraded_hash_costs_one_more(settings, django_assert_max_num_queries):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user = UserFactory(phone="+8613900000000")
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    with django_assert_max_num_queries(5):
        response = login(APIClient())
    assert response.status_code == 200, response.json()
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"


def test_failed_login_costs_no_more_than_a_successful_one(settings, django_assert_max_num_queries):
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    UserFactory(phone="+8613900000000")
    with django_assert_max_num_queries(2):
        response = login(APIClient(), "Wrong-pass-1")
    assert response.status_code == 401


def test_authenticated_request_costs_one_query_and_no_cache_call(django_assert_num_queries, cache_calls):
    # The user row and the device's state come in one statement; the cache is not asked.
    user = UserFactory(phone="+8613900000000")
    access = login(APIClient()).json()["tokens"]["access"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    cache_calls.clear()
    with django_assert_num_queries(1):
        response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["id"] == user.pk
    assert cache_calls == []


def test_token_refresh_costs_at_most_four_queries(django_assert_max_num_queries):
    UserFactory(phone="+8613900000000")
    refresh = login(APIClient()).json()["tokens"]["refresh"]
    with django_assert_max_num_queries(4):
        response = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh})
    assert response.status_code == 200, response.json()
    assert User.objects.count() == 1


def test_authenticated_request_after_the_cache_forgot_the_device_still_costs_one_query(
    django_assert_num_queries, cache_calls
):
    # The database is the revocation record: an empty cache changes nothing.
    UserFactory(phone="+8613900000000")
    access = login(APIClient()).json()["tokens"]["access"]
    clear_cache()  # as after a Redis restart without persistence
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    cache_calls.clear()
    with django_assert_num_queries(1):
        response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert cache_calls == []


@pytest.mark.postgres
def test_password_login_on_postgresql_costs_two_statements_and_one_cache_call(
    settings, django_assert_num_queries, cache_calls
):
    # The user row, then last_login + the event + the device in one statement (one commit); in the
    # cache the IP's count with the account's lock and failures (the device's state lives in its row).
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    user = UserFactory(phone="+8613900000000")
    cache_calls.clear()
    with django_assert_num_queries(2):
        response = login(APIClient())
    assert response.status_code == 200, response.json()
    assert len(cache_calls) <= 1, cache_calls
    user.refresh_from_db()
    assert user.last_login is not None
    device = user.devices.get()
    assert response.json()["tokens"]["access"] and device.kind == "app"
    event = user.security_events.get()
    assert (event.kind, event.detail) == ("login_succeeded", {"method": "password"})


@pytest.mark.postgres
def test_the_login_write_is_prepared_once_and_stores_each_logins_own_values(settings):
    # The statement is prepared on the server on first use; the next logins (other users, other
    # clients, a client with no User-Agent) run it with their own values, types and all.
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    users = [UserFactory(phone=f"+861390000000{n}") for n in range(3)]
    agents = ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)", "", "okhttp/4.12.0"]
    for n, (user, agent) in enumerate(zip(users, agents, strict=True)):
        client = APIClient(HTTP_USER_AGENT=agent, REMOTE_ADDR=f"203.0.113.{n + 1}")
        response = client.post("/api/v1/auth/login/", {"login": str(user.phone), "password": PASSWORD}, format="json")
        assert response.status_code == 200, response.json()
    for n, (user, agent) in enumerate(zip(users, agents, strict=True)):
        user.refresh_from_db()
        assert user.last_login is not None
        event = user.security_events.get()
        assert (event.ip, event.user_agent, event.detail) == (f"203.0.113.{n + 1}", agent, {"method": "password"})
        device = user.devices.get()
        assert (device.ip, device.user_agent) == (f"203.0.113.{n + 1}", agent)


def test_a_success_clears_the_failures_counted_before_it(settings):
    # The gate reads the account's failures with its lock; a success after failures clears them.
    settings.ACCOUNTS_LOCKOUT_RATE = "3/15m"
    UserFactory(phone="+8613900000000")
    for _ in range(2):
        assert login(APIClient(), "Wrong-pass-1").status_code == 401
    assert login(APIClient()).status_code == 200
    for _ in range(2):  # two more failures do not lock: the count started again
        assert login(APIClient(), "Wrong-pass-1").status_code == 401
    assert login(APIClient()).status_code == 200
