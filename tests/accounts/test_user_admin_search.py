"""Support staff find users however the phone number was typed; roles need a permission."""

import pytest
from django.contrib.auth.models import Permission

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def found(response) -> list[User]:
    """The users the change list shows (not the page text: the admin echoes the query into it)."""
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize("typed", ["13800138000", "+86 138 0013 8000", "008613800138000", "138-0013-8000"])
def test_admin_search_finds_phone_in_any_format(support_client, typed):
    target = UserFactory(phone="+8613800138000", nickname="Target")
    UserFactory(phone="+8613900139000", nickname="Other")
    assert found(support_client.get("/admin/accounts/user/", {"q": typed})) == [target]


def test_admin_search_by_username_nickname_email(support_client):
    alice = UserFactory(username="alice", nickname="Wonder", email="alice@example.com")
    UserFactory(username="bob", nickname="Builder", email="bob@example.com")
    for term in ("ALICE", "wond", "alice@example.com"):
        assert found(support_client.get("/admin/accounts/user/", {"q": term})) == [alice], term
    assert found(support_client.get("/admin/accounts/user/", {"q": "nobody-matches-this"})) == []


def test_admin_list_filters_by_role(support_client):
    vipper = UserFactory(username="vipper", role="vip_user")
    UserFactory(username="plain")
    assert found(support_client.get("/admin/accounts/user/", {"role__exact": "vip_user"})) == [vipper]


def _change_form_data(user, **overrides):
    data = {
        "phone": str(user.phone),
        "username": user.username or "",
        "nickname": user.nickname,
        "gender": "",
        "email": "",
        "job": "",
        "company": "",
        "role": user.role,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    data.update(overrides)
    return data


def test_role_is_read_only_without_the_role_permission(support_client):
    target = UserFactory()
    response = support_client.post(f"/admin/accounts/user/{target.pk}/change/", _change_form_data(target, role="admin"))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role == "normal_user"


def test_role_change_with_permission_moves_groups(client):
    boss = User.objects.create_user(username="boss", password="B0ss-pass-1", is_staff=True)
    boss.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user", "change_user_role"]))
    client.force_login(boss)
    target = UserFactory()
    response = client.post(f"/admin/accounts/user/{target.pk}/change/", _change_form_data(target, role="creator"))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role == "creator"
    assert list(target.groups.values_list("name", flat=True)) == ["creator"]
