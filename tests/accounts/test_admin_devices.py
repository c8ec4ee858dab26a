"""Staff see a user's devices and may end one (issue 13 item 3), through the staff rule."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from accounts.models import Device, SecurityEvent, User
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db


def signed_in(user) -> dict:
    login = str(user.phone) if user.phone else user.username
    return APIClient().post("/api/v1/auth/login/", {"login": login, "password": PASSWORD}).json()["tokens"]


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def device_staff(client):
    staff = User.objects.create_user(username="support2", password=PASSWORD, is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user", "view_device", "end_device"])
    )
    client.force_login(staff)
    return client


def test_the_user_page_lists_their_devices(device_staff):
    user = UserFactory(phone="+8613800138000")
    signed_in(user)
    response = device_staff.get(f"/admin/accounts/user/{user.pk}/change/")
    assert response.status_code == 200
    device = Device.objects.get(user=user)
    assert device.pk in response.content.decode()


def test_staff_end_an_ordinary_users_device_and_its_tokens_die(device_staff):
    user = UserFactory(phone="+8613800138000")
    tokens = signed_in(user)
    device = Device.objects.get(user=user)
    response = device_staff.post(
        "/admin/accounts/device/", {"action": "end_devices", "_selected_action": [device.pk]}, follow=True
    )
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.end_reason == "ended_by_staff"
    assert_api_error(bearer(tokens["access"]).get("/api/v1/me/"), 401, "token_invalid")
    event = SecurityEvent.objects.get(user=user, kind="device_ended")
    assert event.detail["actor"] == "support2"


def test_staff_without_the_superuser_flag_cannot_end_a_superusers_device(device_staff):
    boss = User.objects.create_superuser(username="boss", password=PASSWORD)
    tokens = signed_in(boss)
    device = Device.objects.get(user=boss)
    device_staff.post("/admin/accounts/device/", {"action": "end_devices", "_selected_action": [device.pk]})
    device.refresh_from_db()
    assert device.ended_at is None
    assert bearer(tokens["access"]).get("/api/v1/me/").status_code == 200


def test_staff_without_the_permission_get_no_action(support_client):
    response = support_client.get("/admin/accounts/device/")
    assert response.status_code == 403  # support_client here has no view_device
