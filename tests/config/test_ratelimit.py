"""Counters behind every limit: atomic, windowed, and the API throttle built on them."""

import threading

import pytest
from django.core.cache import cache

from config.ratelimit import (
    Rate,
    counter_incr,
    counter_incr_and_get,
    rate_parse,
    ratelimit_get,
    ratelimit_hit,
    ratelimit_key,
    ratelimit_reset,
)
from tests.helpers import assert_api_error


@pytest.mark.parametrize(
    "rate, expected", [("5/m", (5, 60)), ("20/h", (20, 3600)), ("10/d", (10, 86400)), ("3/15m", (3, 900))]
)
def test_rate_parse(rate, expected):
    assert rate_parse(rate) == Rate(*expected)
    assert rate_parse(str(rate_parse(rate))) == rate_parse(rate)  # str() writes the same syntax back


def test_hits_past_the_limit_are_refused_until_the_window_ends():
    results = [ratelimit_hit(scope="t", key="k", rate="3/m", now=1_000_040) for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert results[-1].retry_after == 40  # windows are aligned to the clock: this one ends at 1_000_080
    assert ratelimit_hit(scope="t", key="k", rate="3/m", now=1_000_080).allowed  # next window


def _hammer(key: str, threads: int, hits: int) -> list[int]:
    seen: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker():
        barrier.wait()
        for _ in range(hits):
            value = counter_incr(key, timeout=60)
            with lock:
                seen.append(value)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return seen


def test_counter_loses_no_hit_under_threads():
    seen = _hammer("threads-locmem", threads=8, hits=25)
    assert sorted(seen) == list(range(1, 201))


@pytest.mark.redis
def test_counter_loses_no_hit_under_threads_on_redis():
    seen = _hammer("threads-redis", threads=20, hits=25)
    assert sorted(seen) == list(range(1, 501))


@pytest.mark.redis
def test_counter_on_redis_is_one_round_trip_and_expires():
    from django.core.cache import caches

    backend = caches["default"]
    counter_incr("ttl-check", timeout=30)
    ttl = backend.ttl("ttl-check")
    assert 0 < ttl <= 30
    counter_incr("ttl-check", timeout=30)  # EXPIRE NX: a later hit does not extend the window
    assert backend.ttl("ttl-check") <= ttl
    assert backend.get("ttl-check") == 2


def test_counter_incr_and_get_counts_and_reads_the_other_keys():
    # The password login's gate: on Redis one script (INCRBY, EXPIRE NX, GETs), elsewhere plain calls.
    from django.core.cache import caches

    cache.set("peek-number", 1234.5, timeout=60)
    cache.set("peek-count", 3, timeout=60)
    first = counter_incr_and_get("incr-get", timeout=30, peek=["peek-number", "peek-absent", "peek-count"])
    assert first == (1, [1234.5, None, 3])
    assert counter_incr_and_get("incr-get", timeout=30, amount=2) == (3, [])
    if type(caches["default"]).__module__.startswith("django_redis"):
        ttl = caches["default"].ttl("incr-get")
        assert 0 < ttl <= 30  # set by the first hit only (EXPIRE NX)
        counter_incr_and_get("incr-get", timeout=300)
        assert caches["default"].ttl("incr-get") <= ttl


@pytest.mark.django_db
def test_sms_send_endpoint_is_throttled_per_ip(frozen_clock, api_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"sms_send": "2/m"}}
    for _ in range(2):
        response = api_client.post("/api/v1/sms/codes/", {"phone": "12", "purpose": "login"}, REMOTE_ADDR="10.0.0.1")
        assert response.status_code == 400
    response = api_client.post("/api/v1/sms/codes/", {"phone": "12", "purpose": "login"}, REMOTE_ADDR="10.0.0.1")
    assert_api_error(response, 429, "rate_limited")
    other_ip = api_client.post("/api/v1/sms/codes/", {"phone": "12", "purpose": "login"}, REMOTE_ADDR="10.0.0.2")
    assert other_ip.status_code == 400


def test_client_ip_ignores_forwarded_junk(rf, settings):
    from config.http import client_ip

    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")) == "203.0.113.7"
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="x" * 5000)) == "10.0.0.9"
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.2.3.4\x00")) == "10.0.0.9"
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.2.3.4")) == "10.0.0.9"


@pytest.mark.parametrize("text", ["", "5", "5/x", "/m", "five/m", "5/0m", "-1/m"])
def test_rate_parse_refuses_anything_else(text):
    with pytest.raises(ValueError):
        rate_parse(text)


def test_cost_get_and_reset_count_in_the_same_window():
    now = 2_000_010
    assert ratelimit_hit(scope="t", key="k", rate="5/m", cost=3, now=now).count == 3
    assert ratelimit_get(scope="t", key="k", rate="5/m", now=now).count == 3
    assert not ratelimit_hit(scope="t", key="k", rate="5/m", cost=3, now=now).allowed
    ratelimit_reset(scope="t", key="k", rate="5/m", now=now)
    assert ratelimit_get(scope="t", key="k", rate="5/m", now=now).count == 0


def test_a_rate_of_zero_is_no_limit():
    assert all(ratelimit_hit(scope="t", key="k", rate="0/m").allowed for _ in range(5))


def test_keys_hold_a_hash_of_what_they_count_never_the_value():
    key = ratelimit_key(scope="login-ip", key="198.51.100.23", rate=Rate(30, 60), now=1_000_000)
    assert "198.51.100.23" not in key and key.startswith("rl:login-ip:60:16666:")
    ratelimit_hit(scope="login-ip", key="198.51.100.23", rate="30/m", now=1_000_000)
    assert cache.get(key) == 1
