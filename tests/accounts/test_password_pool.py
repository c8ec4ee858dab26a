"""The per-process bound on password hashing (accounts/password_pool.py).

No clock is involved: the test holds the pool's admission semaphore itself,
so "the bound is full" is a fact, not a race, and the refusal is checked by
what is answered (429 rate_limited, Retry-After) and what is not written.
"""

import os
import sys
import threading

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import password_pool
from accounts.models import Device, SecurityEvent
from config.errors import RateLimited
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

BOUNDED_HASHERS = [
    "accounts.hashers.OwaspArgon2PasswordHasher",
    "accounts.hashers.BoundedPBKDF2PasswordHasher",
    "accounts.hashers.BoundedPBKDF2SHA1PasswordHasher",
]


@pytest.fixture
def bound(settings):
    """The production hashers, one hash at a time and ``queue`` waiting; a fresh pool before and after."""

    def configure(*, queue: int) -> password_pool._Pool:
        settings.PASSWORD_HASHERS = BOUNDED_HASHERS
        settings.ACCOUNTS_PASSWORD_HASH_CONCURRENCY = 1
        settings.ACCOUNTS_PASSWORD_HASH_QUEUE = queue
        password_pool.pool_reset()
        return password_pool.pool()

    yield configure
    password_pool.pool_reset()


def _login(password=PASSWORD):
    return APIClient().post("/api/v1/auth/login/", {"login": "13900000000", "password": password})


def _hold(pool: password_pool._Pool, times: int) -> None:
    for _ in range(times):
        assert pool.admission.acquire(blocking=False)


def _release(pool: password_pool._Pool, times: int) -> None:
    for _ in range(times):
        pool.admission.release()


def test_a_login_beyond_the_bound_is_answered_429_at_once_and_counts_as_nothing(bound):
    pool = bound(queue=0)
    user = UserFactory(phone="+8613900000000")
    assert identify_hasher(user.password).algorithm == "argon2"
    _hold(pool, 1)  # the one slot is taken (a hash in progress elsewhere)
    try:
        refused = _login()
        wrong = _login("Wrong-passw0rd")
    finally:
        _release(pool, 1)

    body = assert_api_error(refused, 429, "rate_limited")
    assert refused["Retry-After"] == "1" and body["retry_after"] == 1
    assert_api_error(wrong, 429, "rate_limited")
    # The password was never looked at: no failed login recorded, no lockout, no device.
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGIN_FAILED).exists()
    assert not Device.objects.exists()
    for _ in range(6):  # more than the lockout's 5 failures had they counted
        _hold(pool, 1)
        try:
            assert _login("Wrong-passw0rd").status_code == 429
        finally:
            _release(pool, 1)

    assert _login().status_code == 200  # the slot is free again: the same login goes through


def test_a_refused_login_does_not_count_towards_the_per_ip_limit(bound, settings):
    settings.ACCOUNTS_LOGIN_IP_RATE = "2/m"
    pool = bound(queue=0)
    UserFactory(phone="+8613900000000")
    _hold(pool, 1)
    try:
        for _ in range(4):
            assert_api_error(_login(), 429, "rate_limited")
    finally:
        _release(pool, 1)
    assert _login().status_code == 200  # the per-IP limit (2 a minute) saw only this one


def test_logins_may_wait_for_a_turn_up_to_the_queue_then_are_refused(bound):
    pool = bound(queue=2)
    UserFactory(phone="+8613900000000")
    _hold(pool, 2)  # one hashing, one waiting: one more place in the queue
    try:
        assert _login().status_code == 200  # its hash runs within the place the login holds
        _hold(pool, 1)  # now every place is taken
        try:
            assert_api_error(_login(), 429, "rate_limited")
        finally:
            _release(pool, 1)
    finally:
        _release(pool, 2)


def test_every_hash_runs_on_the_pools_own_lower_priority_thread(bound, settings):
    settings.ACCOUNTS_PASSWORD_HASH_NICE = 10
    bound(queue=0)
    seen: list[tuple[str, int | None]] = []

    def where() -> None:
        nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) if sys.platform == "linux" else None
        seen.append((threading.current_thread().name, nice))

    password_pool.password_hash_run(where)
    name, nice = seen[0]
    assert name.startswith("password-hash") and name != threading.current_thread().name
    if nice is not None:
        assert nice >= min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10) or nice == 19


def test_a_hasher_that_calls_itself_does_not_wait_for_its_own_slot(bound):
    # PBKDF2's verify calls its own encode: inside the pool it runs in place, so one slot is enough.
    bound(queue=0)
    encoded = make_password(PASSWORD, hasher="pbkdf2_sha256")
    assert check_password(PASSWORD, encoded)
    assert check_password(PASSWORD, make_password(PASSWORD))  # Argon2


def test_hashing_outside_a_login_is_bounded_too(bound):
    pool = bound(queue=0)
    encoded = make_password(PASSWORD)
    _hold(pool, 1)
    try:
        with pytest.raises(RateLimited):
            check_password(PASSWORD, encoded)
        with pytest.raises(RateLimited):
            make_password("An0ther-password")
    finally:
        _release(pool, 1)


def test_the_login_page_shows_an_error_when_the_bound_is_full(bound, client):
    pool = bound(queue=0)
    user = UserFactory(phone="+8613900000000")
    _hold(pool, 1)
    try:
        response = client.post(reverse("accounts:login"), {"login": str(user.phone), "password": PASSWORD})
    finally:
        _release(pool, 1)
    assert response.status_code == 200  # the form again, with the error; not a 500
    assert "_auth_user_id" not in client.session
