"""accounts.services.staff, called directly: the rule (``staff_may``) and every staff service."""

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.errors import PhoneTaken, StaffPermissionDenied, UsernameTaken
from accounts.lockout import lockout_check, lockout_key, lockout_record_failure
from accounts.models import Role, SecurityEvent, User
from accounts.services.staff import (
    PERM_CHANGE,
    PERM_PASSWORD,
    PERM_PHONE,
    PERM_SUPERUSER,
    staff_may,
    user_access_set,
    user_activate,
    user_changes_check,
    user_deactivate,
    user_delete_by_staff,
    user_password_set_by_staff,
    user_phone_set_by_staff,
    user_profile_update_by_staff,
    user_revoke_all_sessions,
    user_set_role,
    user_unlock,
    user_update_by_staff,
)
from config.errors import InvalidInput
from config.origin import Origin
from smscodes.errors import InvalidPhone
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def staff_with(*codenames: str, username: str = "staff1") -> User:
    member = User.objects.create_user(username=username, password="St4ff-pass-1", is_staff=True)
    member.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames))
    return User.objects.get(pk=member.pk)  # a fresh permission cache


def as_(actor: User) -> Origin:
    return Origin(ip="203.0.113.20", user_agent="Admin/1.0", actor=actor)


@pytest.fixture
def support() -> User:
    member = User.objects.create_user(username="support1", password="Supp0rt-pass-1", is_staff=True)
    member.groups.add(Group.objects.get(name="support"))
    return User.objects.get(pk=member.pk)


@pytest.fixture
def boss() -> User:
    return User.objects.create_superuser(
        username="boss", password="B0ss-pass-1", phone="+8613700000100"
    )  # outside UserFactory's +86139… sequence


# --- the rule -------------------------------------------------------------------------------


def test_staff_may_needs_the_permission_and_an_ordinary_target(support, boss):
    ordinary = UserFactory()
    colleague = staff_with("change_user", username="colleague")
    phone_staff = staff_with("change_user", "change_user_phone", username="phones")
    assert staff_may(actor=support, target=ordinary, permission=PERM_CHANGE)
    assert not staff_may(actor=support, target=ordinary, permission=PERM_PHONE)
    assert staff_may(actor=phone_staff, target=ordinary, permission=PERM_PHONE)
    for protected in (boss, colleague, phone_staff):  # a superuser, another staff member, oneself
        assert not staff_may(actor=phone_staff, target=protected, permission=PERM_PHONE)
        assert not staff_may(actor=support, target=protected, permission=PERM_CHANGE)
    assert not staff_may(actor=phone_staff, target=ordinary, permission=PERM_SUPERUSER)


def test_a_superuser_may_do_anything_but_only_while_active(boss):
    other = User.objects.create_superuser(username="boss2", password="B0ss-pass-2")
    assert staff_may(actor=boss, target=other, permission=PERM_PASSWORD)
    assert staff_may(actor=boss, target=other, permission=PERM_SUPERUSER)
    boss.is_active = False
    assert not staff_may(actor=boss, target=other, permission=PERM_PASSWORD)


def test_a_permission_without_staff_status_is_nothing():
    member = staff_with("change_user", "change_user_password")
    User.objects.filter(pk=member.pk).update(is_staff=False)
    member.refresh_from_db()
    assert not staff_may(actor=member, target=UserFactory(), permission=PERM_PASSWORD)
    assert not staff_may(actor=None, target=UserFactory(), permission=PERM_CHANGE)


# --- passwords -------------------------------------------------------------------------------


def test_password_set_by_staff_revokes_tokens_and_names_the_actor(boss):
    target = UserFactory()
    user_password_set_by_staff(user=target, password="Adm1n-set-pass", origin=as_(boss))
    target.refresh_from_db()
    assert target.check_password("Adm1n-set-pass")
    assert target.tokens_valid_after is not None
    event = SecurityEvent.objects.get(user=target, kind="password_changed")
    assert event.detail == {"usable": True, "actor_id": boss.pk, "actor": "boss"}
    assert (event.ip, event.user_agent) == ("203.0.113.20", "Admin/1.0")


def test_password_set_by_staff_can_remove_the_password(boss):
    target = UserFactory()
    user_password_set_by_staff(user=target, password=None, origin=as_(boss))
    target.refresh_from_db()
    assert not target.has_usable_password()


def test_password_set_by_staff_runs_the_validators(boss):
    target = UserFactory()
    with pytest.raises(InvalidInput) as refused:
        user_password_set_by_staff(user=target, password="short", origin=as_(boss))
    assert "password" in refused.value.fields


def test_support_cannot_set_a_password_even_of_an_ordinary_user(support, boss):
    for target in (UserFactory(), boss):
        before = target.password
        with pytest.raises(StaffPermissionDenied):
            user_password_set_by_staff(user=target, password="Adm1n-set-pass", origin=as_(support))
        target.refresh_from_db()
        assert target.password == before


def test_the_password_permission_does_not_reach_a_superuser(boss):
    member = staff_with("change_user", "change_user_password")
    with pytest.raises(StaffPermissionDenied):
        user_password_set_by_staff(user=boss, password="Adm1n-set-pass", origin=as_(member))
    user_password_set_by_staff(user=UserFactory(), password="Adm1n-set-pass", origin=as_(member))


# --- phone, username, profile -------------------------------------------------------------


def test_phone_set_by_staff_writes_the_phone_changed_event(boss):
    target = UserFactory(phone="+8613900000001")
    user_phone_set_by_staff(user=target, phone="138 0013 8000", origin=as_(boss))
    target.refresh_from_db()
    assert str(target.phone) == "+8613800138000"
    event = SecurityEvent.objects.get(user=target, kind="phone_changed")
    assert event.detail == {
        "old_phone": "+8613900000001",
        "new_phone": "+8613800138000",
        "actor_id": boss.pk,
        "actor": "boss",
    }


def test_phone_set_by_staff_refuses_bad_taken_and_last_identifiers(boss):
    UserFactory(phone="+8613800138000")
    target = UserFactory(phone="+8613900000001")
    with pytest.raises(InvalidPhone):
        user_phone_set_by_staff(user=target, phone="12345", origin=as_(boss))
    with pytest.raises(PhoneTaken) as taken:
        user_phone_set_by_staff(user=target, phone="+8613800138000", origin=as_(boss))
    assert taken.value.fields == {"phone": [PhoneTaken.default_message]}
    with pytest.raises(InvalidInput):
        user_phone_set_by_staff(user=target, phone=None, origin=as_(boss))  # no username left
    assert not SecurityEvent.objects.filter(kind="phone_changed").exists()


def test_the_phone_permission_does_not_reach_staff(support):
    member = staff_with("change_user", "change_user_phone")
    with pytest.raises(StaffPermissionDenied):
        user_phone_set_by_staff(user=support, phone="+8613700000001", origin=as_(member))


def test_profile_update_by_staff_username_needs_its_permission(support):
    target = UserFactory()
    user_profile_update_by_staff(user=target, data={"nickname": "Moderated"}, origin=as_(support))
    with pytest.raises(StaffPermissionDenied):
        user_profile_update_by_staff(user=target, data={"username": "renamed"}, origin=as_(support))
    namer = staff_with("change_user", "change_user_username", username="namer")
    with pytest.raises(InvalidInput):
        user_profile_update_by_staff(user=target, data={"username": "13800138000"}, origin=as_(namer))
    user_profile_update_by_staff(user=target, data={"username": "renamed"}, origin=as_(namer))
    target.refresh_from_db()
    assert (target.nickname, target.username) == ("Moderated", "renamed")


# --- active, role, access, unlock, revoke, delete -------------------------------------------


def test_deactivate_and_activate_need_the_active_permission(support):
    target = UserFactory()
    with pytest.raises(StaffPermissionDenied):
        user_deactivate(user=target, origin=as_(support))
    manager = staff_with("change_user", "change_user_active", username="manager")
    user_deactivate(user=target, origin=as_(manager))
    target.refresh_from_db()
    assert target.is_active is False and target.tokens_valid_after is not None
    user_activate(user=target, origin=as_(manager))
    target.refresh_from_db()
    assert target.is_active is True
    kinds = list(SecurityEvent.objects.filter(user=target).order_by("created_at").values_list("kind", flat=True))
    assert kinds == ["deactivated", "activated"]


def test_role_change_is_checked_in_the_service(support, boss):
    target = UserFactory()
    with pytest.raises(StaffPermissionDenied):
        user_set_role(user=target, role="creator", origin=as_(support))
    target.refresh_from_db()
    assert target.role == "normal_user"
    roles = staff_with("change_user", "change_user_role", username="roles")
    with pytest.raises(StaffPermissionDenied):
        user_set_role(user=boss, role="normal_user", origin=as_(roles))
    user_set_role(user=target, role="creator", origin=as_(roles))
    event = SecurityEvent.objects.get(user=target, kind="role_changed")
    assert event.detail == {"old_role": "normal_user", "new_role": "creator", "actor_id": roles.pk, "actor": "roles"}


def test_access_set_is_for_superusers_and_keeps_the_role_group(support, boss):
    target = UserFactory()
    with pytest.raises(StaffPermissionDenied):
        user_access_set(
            user=target, is_staff=True, is_superuser=False, groups=[], user_permissions=[], origin=as_(support)
        )
    support_group = Group.objects.get(name="support")
    user_access_set(
        user=target,
        is_staff=True,
        is_superuser=False,
        groups=[support_group, Group.objects.get(name="creator")],  # not its role: ignored
        user_permissions=[],
        origin=as_(boss),
    )
    target.refresh_from_db()
    assert target.is_staff is True
    assert sorted(target.groups.values_list("name", flat=True)) == ["normal_user", "support"]
    event = SecurityEvent.objects.get(user=target, kind="access_changed")
    assert event.detail["is_staff"] == {"old": False, "new": True}
    assert event.detail["groups"] == {"old": ["normal_user"], "new": ["normal_user", "support"]}


def test_unlock_and_revoke_reach_ordinary_users_only(support, boss, settings):
    target = UserFactory()
    key = lockout_key(user=target)
    for _ in range(settings.ACCOUNTS_LOGIN_MAX_FAILURES):
        lockout_record_failure(key)
    user_unlock(user=target, origin=as_(support))
    lockout_check(key)  # no longer locked
    user_revoke_all_sessions(user=target, origin=as_(support))
    for service in (user_unlock, user_revoke_all_sessions):
        with pytest.raises(StaffPermissionDenied):
            service(user=boss, origin=as_(support))
    assert not SecurityEvent.objects.filter(user=boss).exists()


def test_delete_by_staff_needs_delete_permission_and_an_ordinary_target(support, boss):
    target = UserFactory()
    with pytest.raises(StaffPermissionDenied):
        user_delete_by_staff(user=target, origin=as_(support))
    deleter = staff_with("delete_user", username="deleter")
    with pytest.raises(StaffPermissionDenied):
        user_delete_by_staff(user=boss, origin=as_(deleter))
    user_delete_by_staff(user=target, origin=as_(deleter))
    assert not User.objects.filter(pk=target.pk).exists()
    assert User.objects.filter(pk=boss.pk).exists()


# --- the change form in one call ---------------------------------------------------------------


def test_update_by_staff_is_all_or_nothing(support):
    target = UserFactory(phone="+8613900000001", nickname="Before")
    with pytest.raises(StaffPermissionDenied):
        user_update_by_staff(user=target, changes={"nickname": "After", "phone": "+8613700000001"}, origin=as_(support))
    target.refresh_from_db()
    assert (target.nickname, str(target.phone)) == ("Before", "+8613900000001")


def test_update_by_staff_may_swap_the_phone_for_a_username(boss):
    target = UserFactory(phone="+8613900000001")
    user_update_by_staff(user=target, changes={"phone": None, "username": "nophone"}, origin=as_(boss))
    target.refresh_from_db()
    assert (target.phone, target.username) == (None, "nophone")
    with pytest.raises(InvalidInput):
        user_changes_check(user=target, changes={"username": ""}, origin=as_(boss))


def test_changes_check_refuses_a_taken_username(boss):
    UserFactory(username="taken")
    with pytest.raises(UsernameTaken):
        user_changes_check(user=UserFactory(), changes={"username": "TAKEN"}, origin=as_(boss))


def test_the_system_origin_is_not_a_staff_member():
    """Commands and account creation pass Origin.system(): no actor, no permission asked."""
    target = UserFactory()
    user_set_role(user=target, role="vip_user", origin=Origin.system())
    target.refresh_from_db()
    assert target.role == "vip_user"


# --- from the accounts branch: every action records who did it ------------------------------


@pytest.fixture
def staff_origin() -> Origin:
    # The permissions these actions need (accounts.services.staff checks them).
    actor = staff_with("change_user", "change_user_active", username="support9")
    return Origin(ip="192.0.2.44", user_agent="Admin/1", actor=actor)


@pytest.mark.parametrize(
    "service, kind",
    [(user_revoke_all_sessions, "sessions_revoked"), (user_unlock, "unlocked"), (user_deactivate, "deactivated")],
)
def test_each_staff_action_records_who_did_it(service, kind, staff_origin):
    user = UserFactory()
    service(user=user, origin=staff_origin)
    event = SecurityEvent.objects.get(kind=kind, user=user)
    assert event.detail == {"actor_id": staff_origin.actor.pk, "actor": str(staff_origin.actor)}
    assert (event.ip, event.user_agent) == ("192.0.2.44", "Admin/1")


def test_deactivation_disables_and_revokes(staff_origin):
    user = UserFactory()
    user_deactivate(user=user, origin=staff_origin)
    user.refresh_from_db()
    assert not user.is_active and user.tokens_valid_after is not None


def test_a_role_change_moves_the_user_between_role_groups_together():
    user = UserFactory()
    user_set_role(user=user, role=Role.VIP_USER, origin=Origin.system())
    user.refresh_from_db()
    assert user.role == Role.VIP_USER
    assert list(user.groups.values_list("name", flat=True)) == [Role.VIP_USER]
    with pytest.raises(ValueError):
        user_set_role(user=user, role="emperor", origin=Origin.system())
