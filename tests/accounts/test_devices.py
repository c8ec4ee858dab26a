"""API.md "Signed-in devices" and the revocation they carry (issue 13 item 3, issue 16's DB-backed revocation)."""

import datetime
import time

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.device_state import ENDED, SEEN_INTERVAL, state_key
from accounts.models import Device, SecurityEvent
from accounts.services.devices import device_name
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
IPHONE_APP = "MyApp/2.3 (iPhone; iOS 17.1) CFNetwork/1485 Darwin/23.1.0"
DESKTOP_CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


def sign_in(user_agent: str = IPHONE_APP, ip: str = "203.0.113.7") -> dict:
    response = APIClient().post(
        "/api/v1/auth/login/",
        {"login": PHONE, "password": PASSWORD},
        HTTP_USER_AGENT=user_agent,
        REMOTE_ADDR=ip,
    )
    assert response.status_code == 200, response.json()
    return response.json()["tokens"]


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def sid(access: str) -> str:
    return AccessToken(access, verify=False)["sid"]


@pytest.fixture
def owner(db):
    return UserFactory(phone=PHONE)


def test_each_sign_in_is_a_device_listed_newest_first_with_the_current_one_marked(owner):
    first = sign_in(IPHONE_APP, "203.0.113.7")
    second = sign_in(DESKTOP_CHROME, "198.51.100.2")
    response = bearer(second["access"]).get("/api/v1/me/devices/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [d["id"] for d in results] == [sid(second["access"]), sid(first["access"])]
    assert [d["current"] for d in results] == [True, False]
    newest = results[0]
    assert set(newest) == {"id", "kind", "name", "ip", "created_at", "last_seen_at", "current"}
    assert newest["kind"] == "app"
    assert newest["ip"] == "198.51.100.2"
    assert "Chrome 120" in newest["name"]
    assert results[1]["name"].startswith("iPhone")
    assert newest["id"].startswith("d_")


def test_ending_one_device_refuses_its_tokens_at_once_and_the_other_keeps_working(owner):
    first = sign_in()
    second = sign_in()
    assert bearer(first["access"]).get("/api/v1/me/").status_code == 200  # its state is now cached
    response = bearer(second["access"]).delete(f"/api/v1/me/devices/{sid(first['access'])}/")
    assert response.status_code == 204
    assert_api_error(bearer(first["access"]).get("/api/v1/me/"), 401, "token_invalid")
    refresh = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]})
    assert_api_error(refresh, 401, "token_invalid")
    verify = APIClient().post("/api/v1/auth/token/verify/", {"token": first["access"]})
    assert_api_error(verify, 401, "token_invalid")
    assert bearer(second["access"]).get("/api/v1/me/").status_code == 200
    listed = bearer(second["access"]).get("/api/v1/me/devices/").json()["results"]
    assert [d["id"] for d in listed] == [sid(second["access"])]
    assert SecurityEvent.objects.filter(user=owner, kind="device_ended").count() == 1


def test_another_users_device_is_not_found(owner):
    mine = sign_in()
    stranger = UserFactory(phone="+8613900139000")
    theirs = APIClient().post("/api/v1/auth/login/", {"login": str(stranger.phone), "password": PASSWORD}).json()
    response = bearer(mine["access"]).delete(f"/api/v1/me/devices/{sid(theirs['tokens']['access'])}/")
    assert_api_error(response, 404, "not_found")
    assert bearer(theirs["tokens"]["access"]).get("/api/v1/me/").status_code == 200
    assert_api_error(bearer(mine["access"]).delete("/api/v1/me/devices/d_nothing/"), 404, "not_found")


def test_a_browser_session_ended_from_the_api(owner, client):
    client.post(reverse("accounts:login"), {"login": PHONE, "password": PASSWORD}, HTTP_USER_AGENT=DESKTOP_CHROME)
    assert client.get(reverse("accounts:account")).status_code == 200
    app = sign_in()
    listed = bearer(app["access"]).get("/api/v1/me/devices/").json()["results"]
    browser = next(d for d in listed if d["kind"] == "browser")
    assert "Chrome" in browser["name"]
    assert bearer(app["access"]).delete(f"/api/v1/me/devices/{browser['id']}/").status_code == 204
    response = client.get(reverse("accounts:account"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert bearer(app["access"]).get("/api/v1/me/").status_code == 200


def test_logging_out_of_a_page_ends_its_browser_device(owner, client):
    client.post(reverse("accounts:login"), {"login": PHONE, "password": PASSWORD})
    device = Device.objects.get(user=owner, kind="browser")
    client.post(reverse("accounts:logout"))
    device.refresh_from_db()
    assert device.ended_at is not None


def test_logout_ends_the_device_and_the_database_still_says_so_when_the_cache_forgot(owner):
    tokens = sign_in()
    client = bearer(tokens["access"])
    assert client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}).status_code == 204
    device = Device.objects.get(pk=sid(tokens["access"]))
    assert device.ended_at is not None
    assert device.end_reason == "logged_out"
    # Redis restarted empty, or the key was evicted: an access token is checked in the database alone.
    cache.delete(state_key(device.pk))
    assert_api_error(client.get("/api/v1/me/"), 401, "token_invalid")


def test_an_access_token_is_checked_against_the_database_whatever_the_cache_says(owner):
    tokens = sign_in()
    device_id = sid(tokens["access"])
    cache.set(state_key(device_id), ENDED)  # a stale or wrong cache entry decides nothing for the API
    assert bearer(tokens["access"]).get("/api/v1/me/").status_code == 200
    Device.objects.filter(pk=device_id).update(ended_at=timezone.now(), end_reason="logged_out")
    cache.set(state_key(device_id), time.time())  # nor does a cache that still says "live"
    assert_api_error(bearer(tokens["access"]).get("/api/v1/me/"), 401, "token_invalid")


def test_sign_out_everywhere_ends_every_device(owner):
    first, second = sign_in(), sign_in()
    assert bearer(first["access"]).post("/api/v1/auth/logout/", {"all_devices": True}).status_code == 204
    assert not Device.objects.filter(user=owner, ended_at__isnull=True).exists()
    for tokens in (first, second):
        cache.delete(state_key(sid(tokens["access"])))  # the database alone refuses them too
        assert_api_error(bearer(tokens["access"]).get("/api/v1/me/"), 401, "token_invalid")


def test_refreshing_keeps_the_device_and_records_it_as_seen(owner):
    start = datetime.datetime(2026, 12, 1, 15, 59, 30, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        tokens = sign_in()
    with time_machine.travel(start + datetime.timedelta(minutes=30), tick=False):
        new = (
            APIClient()
            .post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, REMOTE_ADDR="192.0.2.55")
            .json()
        )
    assert sid(new["access"]) == sid(tokens["access"])
    device = Device.objects.get(pk=sid(tokens["access"]))
    assert device.last_seen_at == start + datetime.timedelta(minutes=30)
    assert device.ip == "192.0.2.55"


def test_last_seen_is_written_at_most_every_few_minutes(owner, django_assert_num_queries):
    start = datetime.datetime(2026, 12, 1, 15, 59, 30, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        tokens = sign_in()
        client = bearer(tokens["access"])
        with django_assert_num_queries(1):
            client.get("/api/v1/me/")
    soon = start + datetime.timedelta(seconds=SEEN_INTERVAL - 10)
    with time_machine.travel(soon, tick=False), django_assert_num_queries(1):
        client.get("/api/v1/me/")
    later = start + datetime.timedelta(seconds=SEEN_INTERVAL + 10)
    with time_machine.travel(later, tick=False):
        with django_assert_num_queries(2):  # the user, and one UPDATE of last_seen_at
            client.get("/api/v1/me/")
        with django_assert_num_queries(1):
            client.get("/api/v1/me/")
    assert Device.objects.get(pk=sid(tokens["access"])).last_seen_at == later


def test_a_password_change_ends_the_other_devices_and_the_new_tokens_are_a_new_device(owner):
    first, second = sign_in(), sign_in()
    response = bearer(first["access"]).post(
        "/api/v1/auth/password/change/", {"old_password": PASSWORD, "new_password": "N3w-passw0rd!"}
    )
    assert response.status_code == 200
    new = response.json()["tokens"]
    assert_api_error(bearer(second["access"]).get("/api/v1/me/"), 401, "token_invalid")
    listed = bearer(new["access"]).get("/api/v1/me/devices/").json()["results"]
    assert [d["id"] for d in listed] == [sid(new["access"])]


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (IPHONE_APP, "iPhone"),
        (DESKTOP_CHROME, "Chrome 120"),
        ("okhttp/4.9.3", "okhttp 4"),
        ("", ""),
    ],
)
def test_device_names_come_from_the_user_agent(user_agent, expected):
    assert expected in device_name(user_agent)
