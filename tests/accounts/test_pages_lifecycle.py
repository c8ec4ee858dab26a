"""The /account/ page's 登录设备, 下载我的数据 and 注销账号 sections, and /account/delete/ (issue 13 items 3–5)."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Device, User
from smscodes.backends import locmem
from tests.factories import PASSWORD, UserFactory
from tests.wallet.charges_helpers import fund

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"


@pytest.fixture
def owner(db):
    return UserFactory(phone=PHONE)


@pytest.fixture
def browser(owner):
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148 Safari/604.1")
    response = client.post("/login/", {"login": PHONE, "password": PASSWORD})
    assert response.status_code == 302
    return client


def app_sign_in() -> dict:
    response = APIClient().post(
        "/api/v1/auth/login/", {"login": PHONE, "password": PASSWORD}, HTTP_USER_AGENT="MyApp/2.3 (Android 14)"
    )
    return response.json()["tokens"]


def test_account_page_lists_devices_with_this_one_marked_and_a_sign_out_button_each(owner, browser):
    app_sign_in()
    html = browser.get("/account/").content.decode()
    assert html.count('data-testid="device"') == 2
    assert html.count('data-testid="device-end"') == 2
    assert html.count('data-testid="current-device"') == 1
    assert "Android" in html


def test_signing_out_another_device_from_the_page_kills_its_tokens(owner, browser):
    tokens = app_sign_in()
    app = Device.objects.get(user=owner, kind="app")
    response = browser.post(f"/account/devices/{app.pk}/end/")
    assert response.status_code == 302 and response["Location"].endswith("#devices")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/v1/me/").status_code == 401
    assert browser.get("/account/").status_code == 200  # this browser stays logged in


def test_signing_out_this_device_logs_this_browser_out(owner, browser):
    this = Device.objects.get(user=owner, kind="browser")
    browser.post(f"/account/devices/{this.pk}/end/")
    assert browser.get("/account/").status_code == 302  # to the login page


def test_another_users_device_cannot_be_ended_from_the_page(owner, browser):
    stranger = UserFactory()
    device = Device.objects.create(user=stranger, kind="app")
    browser.post(f"/account/devices/{device.pk}/end/")
    device.refresh_from_db()
    assert device.ended_at is None


def test_deletion_page_explains_and_schedules_with_the_password(owner, browser, settings):
    settings.ACCOUNTS_DELETION_GRACE_DAYS = 15
    page = browser.get("/account/delete/").content.decode()
    assert 'data-testid="deletion-consequences"' in page and "15" in page
    wrong = browser.post("/account/delete/", {"password": "Wrong-pass-1"})
    assert wrong.status_code == 200
    assert 'data-testid="form-errors"' in wrong.content.decode()
    assert User.objects.get(pk=owner.pk).delete_after is None
    response = browser.post("/account/delete/", {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"].endswith("/account/#deletion")
    assert User.objects.get(pk=owner.pk).delete_after is not None
    account = browser.get("/account/").content.decode()
    assert 'data-testid="deletion-scheduled"' in account and 'data-testid="deletion-cancel"' in account
    browser.post("/account/delete/cancel/")
    assert User.objects.get(pk=owner.pk).delete_after is None


def test_deletion_page_sends_a_code_to_the_accounts_own_number_without_javascript(owner, browser):
    locmem.outbox.clear()
    response = browser.post("/account/delete/", {"send_code": "1", "phone": "+8613999999999"})
    assert response.status_code == 200
    assert [m.phone for m in locmem.outbox] == [PHONE]  # the account's own, whatever was posted
    assert locmem.outbox[0].purpose == "delete_account"
    response = browser.post("/account/delete/", {"code": locmem.outbox[0].code})
    assert response.status_code == 302
    assert User.objects.get(pk=owner.pk).delete_after is not None


def test_deletion_page_says_how_to_empty_the_wallet(owner, browser):
    fund(owner, "8.00")
    response = browser.post("/account/delete/", {"password": PASSWORD})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="wallet-not-empty"' in html
    assert "客服" in html  # ask customer support for a refund
    assert User.objects.get(pk=owner.pk).delete_after is None


def test_other_browser_sessions_end_when_deletion_is_scheduled_from_the_page(owner, browser):
    other = Client()
    other.post("/login/", {"login": PHONE, "password": PASSWORD})
    browser.post("/account/delete/", {"password": PASSWORD})
    assert other.get("/account/").status_code == 302
    assert browser.get("/account/").status_code == 200


def test_download_my_data_from_the_page(owner, browser):
    response = browser.post("/account/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert json.loads(response.content)["user"]["phone"] == PHONE


def test_download_my_data_is_throttled_with_a_message(owner, browser, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "data_export": "1/h"},
    }
    assert browser.post("/account/export/").status_code == 200
    response = browser.post("/account/export/", follow=True)
    assert response.redirect_chain[-1][0].endswith("#data")
    assert 'role="alert"' in response.content.decode() or "messages" in response.content.decode()
