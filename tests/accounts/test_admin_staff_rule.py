"""Issue 10 items 1-2: staff cannot take over accounts through the admin.

The rule (``accounts.services.staff``): a change of another account's
credentials or identity (password, phone, username, active, staff/superuser
flags, role) needs the specific permission for it AND a target that is neither
a superuser nor a staff member, unless the actor is a superuser. Support staff
(``change_user``) unlock and revoke the sessions of ordinary users, nothing more.

Every admin page and action is tried by four actors against three targets:

- ``support``: in the ``support`` group (view_user, change_user);
- ``change_user``: staff holding ``view_user`` and ``change_user`` directly;
- ``credentials``: staff holding every specific permission as well;
- ``superuser``.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import SecurityEvent, User
from tests.factories import PASSWORD, UserFactory
from tests.smscodes.utils import last_code_for

pytestmark = pytest.mark.django_db

ACTORS = ("support", "change_user", "credentials", "superuser")
TARGETS = ("ordinary", "staff", "superuser")
CREDENTIAL_PERMISSIONS = (
    "change_user_password",
    "change_user_phone",
    "change_user_username",
    "change_user_active",
    "change_user_role",
    "delete_user",
)
NEW_PASSWORD = "Adm1n-set-pass"
NEW_PHONE = "+8613700000001"


def make_actor(kind: str) -> User:
    if kind == "superuser":
        return User.objects.create_superuser(username="root1", password="R00t-pass-1")
    actor = User.objects.create_user(username=f"{kind.replace('_', '-')}1", password="St4ff-pass-1", is_staff=True)
    if kind == "support":
        actor.groups.add(Group.objects.get(name="support"))
    else:
        codenames = ["view_user", "change_user"]
        if kind == "credentials":
            codenames += CREDENTIAL_PERMISSIONS
        actor.user_permissions.add(
            *Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames)
        )
    return User.objects.get(pk=actor.pk)


def make_target(kind: str) -> User:
    if kind == "superuser":
        return User.objects.create_superuser(username="boss", password=PASSWORD, phone="+8613900000100")
    phone = "+8613900000200" if kind == "ordinary" else "+8613900000201"
    target = UserFactory(phone=phone, username=f"{kind}-target", is_staff=kind == "staff")
    if kind == "staff":
        target.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    return target


def may_change_credentials(actor: str, target: str) -> bool:
    return actor == "superuser" or (actor == "credentials" and target == "ordinary")


def may_support(actor: str, target: str) -> bool:
    """Unlock, revoke sessions, profile fields: change_user on an ordinary account."""
    return actor == "superuser" or target == "ordinary"


def client_for(actor: User) -> Client:
    client = Client()
    client.force_login(actor)
    return client


def change_form_data(user: User, **overrides) -> dict:
    data = {
        "phone": str(user.phone or ""),
        "username": user.username or "",
        "nickname": user.nickname,
        "gender": user.gender,
        "email": user.email,
        "job": user.job,
        "company": user.company,
        "role": user.role,
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    if user.is_active:
        data["is_active"] = "on"
    if user.is_staff:
        data["is_staff"] = "on"
    if user.is_superuser:
        data["is_superuser"] = "on"
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def api_login(login: str, password: str = PASSWORD):
    return APIClient().post("/api/v1/auth/login/", {"login": login, "password": password})


# --- the password page --------------------------------------------------------------------


@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("actor_kind", ACTORS)
def test_password_page_get(actor_kind, target_kind):
    client = client_for(make_actor(actor_kind))
    target = make_target(target_kind)
    response = client.get(f"/admin/accounts/user/{target.pk}/password/")
    assert response.status_code == (200 if may_change_credentials(actor_kind, target_kind) else 403)


@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("actor_kind", ACTORS)
def test_password_page_post(actor_kind, target_kind):
    client = client_for(make_actor(actor_kind))
    target = make_target(target_kind)
    before = target.password
    new = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    response = client.post(f"/admin/accounts/user/{target.pk}/password/", new)
    target.refresh_from_db()
    if may_change_credentials(actor_kind, target_kind):
        assert response.status_code == 302
        assert target.check_password(NEW_PASSWORD)
        event = SecurityEvent.objects.get(user=target, kind="password_changed")
        assert event.detail["actor_id"] != target.pk
        assert target.tokens_valid_after is not None
    else:
        assert response.status_code == 403
        assert target.password == before
        assert not SecurityEvent.objects.filter(user=target, kind="password_changed").exists()


def test_support_cannot_take_over_a_superuser_by_password():
    """Issue 10, defect 1, exactly as reported."""
    support = client_for(make_actor("support"))
    boss = make_target("superuser")
    assert support.get(f"/admin/accounts/user/{boss.pk}/password/").status_code == 403
    new = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    assert support.post(f"/admin/accounts/user/{boss.pk}/password/", new).status_code == 403
    assert api_login("boss", NEW_PASSWORD).status_code == 401
    assert api_login("boss").status_code == 200


# --- the change form ----------------------------------------------------------------------


@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("actor_kind", ACTORS)
def test_change_form_shows_editable_only_what_the_actor_may_change(actor_kind, target_kind):
    client = client_for(make_actor(actor_kind))
    target = make_target(target_kind)
    response = client.get(f"/admin/accounts/user/{target.pk}/change/")
    assert response.status_code == 200
    fields = set(response.context["adminform"].form.fields)
    credentials = {"phone", "username", "is_active", "role"}
    if may_change_credentials(actor_kind, target_kind):
        assert credentials <= fields
    else:
        assert not credentials & fields
        assert f"/admin/accounts/user/{target.pk}/password/" not in response.content.decode()
    flags = {"is_staff", "is_superuser", "groups", "user_permissions"}
    assert (flags <= fields) if actor_kind == "superuser" else not flags & fields
    assert ("nickname" in fields) == may_support(actor_kind, target_kind)


@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("actor_kind", ACTORS)
def test_change_form_phone(actor_kind, target_kind):
    client = client_for(make_actor(actor_kind))
    target = make_target(target_kind)
    old_phone = str(target.phone)
    response = client.post(f"/admin/accounts/user/{target.pk}/change/", change_form_data(target, phone=NEW_PHONE))
    target.refresh_from_db()
    if may_change_credentials(actor_kind, target_kind):
        assert response.status_code == 302, response.content.decode()[:3000]
        assert str(target.phone) == NEW_PHONE
        event = SecurityEvent.objects.get(user=target, kind="phone_changed")
        assert (event.detail["old_phone"], event.detail["new_phone"]) == (old_phone, NEW_PHONE)
    else:
        # Read-only for this actor: an ordinary target's page saves the rest
        # and ignores the phone; a protected target's page saves nothing.
        assert response.status_code == (302 if may_support(actor_kind, target_kind) else 403)
        assert str(target.phone) == old_phone
        assert not SecurityEvent.objects.filter(user=target, kind="phone_changed").exists()


def test_support_cannot_take_over_a_superuser_by_phone():
    """Issue 10, defect 2, exactly as reported: the phone cannot be moved, so no SMS code signs in."""
    support = client_for(make_actor("support"))
    boss = make_target("superuser")
    response = support.post(f"/admin/accounts/user/{boss.pk}/change/", change_form_data(boss, phone=NEW_PHONE))
    assert response.status_code == 403
    boss.refresh_from_db()
    assert str(boss.phone) == "+8613900000100"


@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("actor_kind", ACTORS)
def test_change_form_username(actor_kind, target_kind):
    client = client_for(make_actor(actor_kind))
    target = make_target(target_kind)
    old = target.username
    response = client.post(f"/admin/accounts/user/{target.pk}/change/", change_form_data(target, username="renamed"))
    target.refresh_from_db()
    if may_change_credentials(actor_kind, target_kind):
        assert response.status_code == 302, response.content.decode()[:3000]
        assert target.username == "renamed"
    else:
        assert response.status_code == (302 if may_support(actor_kind, target_kind) else 403)
        assert target.username == old


def test_change_form_refuses_a_username_shaped_like_a_phone_number():
    """The service's rule, which the admin used to skip."""
    client = client_for(make_actor("superuser"))
    target = make_target("ordinary")
    response = client.post(
        f"/admin/accounts/user/{target.pk}/change/", change_form_data(target, username="13800138000")
    )
    assert response.status_code == 200
    assert "username" in response.context["adminform"].form.errors
    target.refresh_from_db()
    assert target.username == "ordinary-target"


@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("actor_kind", ACTORS)
def test_change_form_deactivate(actor_kind, target_kind):
    client = client_for(make_actor(actor_kind))
    target = make_target(target_kind)
    response = client.post(f"/admin/accounts/user/{target.pk}/change/", change_form_data(target, is_active=None))
    target.refresh_from_db()
    if may_change_credentials(actor_kind, target_kind):
        assert response.status_code == 302, response.content.decode()[:3000]
        assert target.is_active is False
        assert SecurityEvent.objects.filter(user=target, kind="deactivated").exists()
    else:
        assert response.status_code == (302 if may_support(actor_kind, target_kind) else 403)
        assert target.is_active is True


@pytest.mark.parametrize("actor_kind", ["credentials", "superuser"])
def test_change_form_reactivate(actor_kind):
    client = client_for(make_actor(actor_kind))
    target = make_target("ordinary")
    User.objects.filter(pk=target.pk).update(is_active=False)
    target.refresh_from_db()
    response = client.post(f"/admin/accounts/user/{target.pk}/change/", change_form_data(target, is_active="on"))
    assert response.status_code == 302, response.content.decode()[:3000]
    target.refresh_from_db()
    assert target.is_active is True
    assert SecurityEvent.objects.filter(user=target, kind="activated").exists()


@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("actor_kind", ACTORS)
def test_change_form_role(actor_kind, target_kind):
    client = client_for(make_actor(actor_kind))
    target = make_target(target_kind)
    old = target.role
    response = client.post(f"/admin/accounts/user/{target.pk}/change/", change_form_data(target, role="creator"))
    target.refresh_from_db()
    if may_change_credentials(actor_kind, target_kind):
        assert response.status_code == 302, response.content.decode()[:3000]
        assert target.role == "creator"
        assert "creator" in set(target.groups.values_list("name", flat=True))
    else:
        assert response.status_code == (302 if may_support(actor_kind, target_kind) else 403)
        assert target.role == old


@pytest.mark.parametrize("actor_kind", ACTORS)
def test_change_form_staff_flags_only_by_a_superuser(actor_kind):
    client = client_for(make_actor(actor_kind))
    target = make_target("ordinary")
    data = change_form_data(target, is_staff="on", is_superuser="on")
    response = client.post(f"/admin/accounts/user/{target.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    target.refresh_from_db()
    assert (target.is_staff, target.is_superuser) == ((True, True) if actor_kind == "superuser" else (False, False))


@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("actor_kind", ACTORS)
def test_change_form_profile_field(actor_kind, target_kind):
    client = client_for(make_actor(actor_kind))
    target = make_target(target_kind)
    response = client.post(f"/admin/accounts/user/{target.pk}/change/", change_form_data(target, nickname="Renamed"))
    target.refresh_from_db()
    if may_support(actor_kind, target_kind):
        assert response.status_code == 302, response.content.decode()[:3000]
        assert target.nickname == "Renamed"
    else:
        assert response.status_code == 403
        assert target.nickname != "Renamed"


def test_a_phone_change_in_the_admin_writes_the_same_security_event_as_the_api():
    """Issue 9, item 2: the admin and the API end in the same event (the admin's names its actor)."""
    by_api = UserFactory(phone="+8613900000300")
    token = api_login(str(by_api.phone)).json()["tokens"]["access"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert APIClient().post("/api/v1/sms/codes/", {"phone": NEW_PHONE, "purpose": "change_phone"}).status_code == 200
    response = api.post(
        "/api/v1/me/phone/", {"phone": NEW_PHONE, "code": last_code_for(NEW_PHONE)}, REMOTE_ADDR="10.1.1.1"
    )
    assert response.status_code == 200, response.json()
    api_event = SecurityEvent.objects.get(user=by_api, kind="phone_changed")

    admin_phone = "+8613700000002"
    by_admin = UserFactory(phone="+8613900000301")
    superuser = make_actor("superuser")
    response = client_for(superuser).post(
        f"/admin/accounts/user/{by_admin.pk}/change/",
        change_form_data(by_admin, phone=admin_phone),
        REMOTE_ADDR="10.2.2.2",
        HTTP_USER_AGENT="admin-browser",
    )
    assert response.status_code == 302
    admin_event = SecurityEvent.objects.get(user=by_admin, kind="phone_changed")

    assert api_event.detail == {"old_phone": "+8613900000300", "new_phone": NEW_PHONE}
    assert admin_event.detail == {
        "old_phone": "+8613900000301",
        "new_phone": admin_phone,
        "actor_id": superuser.pk,
        "actor": "root1",
    }
    assert (admin_event.ip, admin_event.user_agent) == ("10.2.2.2", "admin-browser")


# --- buttons and list actions ---------------------------------------------------------------


@pytest.mark.parametrize("button", ["unlock", "revoke-sessions"])
@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("actor_kind", ACTORS)
def test_unlock_and_revoke_buttons(actor_kind, target_kind, button):
    client = client_for(make_actor(actor_kind))
    target = make_target(target_kind)
    response = client.post(f"/admin/accounts/user/{target.pk}/{button}/")
    kind = "unlocked" if button == "unlock" else "sessions_revoked"
    if may_support(actor_kind, target_kind):
        assert response.status_code == 302
        assert SecurityEvent.objects.filter(user=target, kind=kind).exists()
    else:
        assert response.status_code == 403
        assert not SecurityEvent.objects.filter(user=target, kind=kind).exists()


@pytest.mark.parametrize("action", ["unlock_logins", "revoke_all_sessions"])
@pytest.mark.parametrize("actor_kind", ACTORS)
def test_list_actions_skip_the_accounts_the_actor_may_not_touch(actor_kind, action):
    client = client_for(make_actor(actor_kind))
    targets = {kind: make_target(kind) for kind in TARGETS}
    selected = [user.pk for user in targets.values()]
    response = client.post("/admin/accounts/user/", {"action": action, "_selected_action": selected}, follow=True)
    assert response.status_code == 200
    kind = "unlocked" if action == "unlock_logins" else "sessions_revoked"
    for target_kind, user in targets.items():
        done = SecurityEvent.objects.filter(user=user, kind=kind).exists()
        assert done == may_support(actor_kind, target_kind), target_kind
    if actor_kind != "superuser":
        shown = " ".join(str(m) for m in response.context["messages"])
        assert "2" in shown  # two accounts were left alone, and the page says so


@pytest.mark.parametrize("actor_kind", ACTORS)
def test_remove_avatars_action_leaves_protected_accounts_alone(actor_kind):
    client = client_for(make_actor(actor_kind))
    targets = {kind: make_target(kind) for kind in TARGETS}
    User.objects.filter(pk__in=[u.pk for u in targets.values()]).update(avatar="avatars/x.png")
    selected = [user.pk for user in targets.values()]
    response = client.post("/admin/accounts/user/", {"action": "remove_avatars", "_selected_action": selected})
    assert response.status_code == 302
    for target_kind, user in targets.items():
        user.refresh_from_db()
        assert (not user.avatar) == may_support(actor_kind, target_kind), target_kind


@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("actor_kind", ACTORS)
def test_delete_page(actor_kind, target_kind):
    client = client_for(make_actor(actor_kind))
    target = make_target(target_kind)
    response = client.post(f"/admin/accounts/user/{target.pk}/delete/", {"post": "yes"})
    exists = User.objects.filter(pk=target.pk).exists()
    if may_change_credentials(actor_kind, target_kind):
        assert response.status_code == 302
        assert not exists
    else:
        assert response.status_code == 403
        assert exists


@pytest.mark.parametrize("actor_kind", ["credentials", "superuser"])
def test_delete_selected_action_refuses_a_selection_with_a_protected_account(actor_kind):
    client = client_for(make_actor(actor_kind))
    targets = {kind: make_target(kind) for kind in TARGETS}
    selected = [user.pk for user in targets.values()]
    response = client.post(
        "/admin/accounts/user/", {"action": "delete_selected", "_selected_action": selected, "post": "yes"}
    )
    remaining = set(User.objects.filter(pk__in=selected).values_list("pk", flat=True))
    if actor_kind == "superuser":
        assert response.status_code == 302 and remaining == set()
    else:
        # Django's confirmation lists what the actor may not delete and deletes nothing.
        assert response.status_code in (200, 403)
        assert remaining == set(selected)


def test_support_has_no_delete_action():
    client = client_for(make_actor("support"))
    target = make_target("ordinary")
    response = client.get("/admin/accounts/user/")
    assert "delete_selected" not in response.context["action_form"].fields["action"].choices.__repr__()
    response = client.post(
        "/admin/accounts/user/", {"action": "delete_selected", "_selected_action": [target.pk], "post": "yes"}
    )
    assert User.objects.filter(pk=target.pk).exists()


def test_add_user_page_needs_add_permission_and_creates_with_the_role_group():
    client = client_for(make_actor("support"))
    assert client.get("/admin/accounts/user/add/").status_code == 403
    superuser = client_for(make_actor("superuser"))
    response = superuser.post(
        "/admin/accounts/user/add/",
        {"phone": "+8613700000009", "username": "", "usable_password": "false", "password1": "", "password2": ""},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    created = User.objects.get(phone="+8613700000009")
    assert list(created.groups.values_list("name", flat=True)) == ["normal_user"]
    assert not created.has_usable_password()
