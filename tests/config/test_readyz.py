"""/readyz for load balancers: database, migrations and cache, at most one query and one cache round trip."""

import pytest
from django.db import connection

from config import health

pytestmark = pytest.mark.django_db

DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
}


@pytest.fixture(autouse=True)
def _fresh_process():
    # Each test starts like a new process: migrations not yet seen applied.
    health._migrated.clear()
    yield
    health._migrated.clear()


def test_ready_when_database_migrations_and_cache_are_fine(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(1) as first:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert "django_migrations" in first.captured_queries[0]["sql"]
    assert response["Cache-Control"].startswith("max-age=0")
    # Once seen applied, the answer is kept: the query is a plain SELECT 1.
    with django_assert_max_num_queries(1) as later:
        assert client.get("/readyz").status_code == 200
    assert later.captured_queries[0]["sql"] == "SELECT 1"


def test_not_ready_while_a_migration_is_not_applied(client):
    with connection.cursor() as cursor:  # undone with the test's transaction
        cursor.execute("DELETE FROM django_migrations WHERE app = 'smscodes' AND name = '0001_initial'")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "migrations_pending"
    assert response.json()["code"] == "service_unavailable"


def test_not_ready_when_the_cache_does_not_answer(client, settings):
    settings.CACHES = DEAD_REDIS
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert (body["database"], body["cache"]) == ("ok", "error")
    assert "cache" in body["message"]


def test_probes_and_the_scraper_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/").status_code == 301
    for path in ("/readyz", "/healthz", "/metrics"):
        assert client.get(path).status_code == 200, path
