"""What staff do to another account, and the one rule that says who may.

The rule (issue 10), in ``staff_may``:

- a change of another account's credentials or identity (password, phone,
  username, active, role; staff/superuser flags, groups and permissions)
  needs the specific permission for it (``PERM_*`` below) AND a target that is
  neither a superuser nor a staff member; a superuser may do anything;
- ``accounts.change_user`` alone (the ``support`` group) covers what support
  does for ordinary users: unlock, revoke every session, edit the profile,
  remove an avatar. Nothing of a staff member or a superuser.
- staff, superuser flags, groups and direct permissions: superusers only (a
  member of staff granting access would make the rule above meaningless).

A staff member's own account counts as "another staff member": what they
change about themselves goes through the owner's doors (``/admin/password_change/``
asks for the current password) or through a superuser. Every function here
takes the ``origin`` and checks its ``actor`` (the staff member, from
``Origin.from_request``) itself; the admin only hides what it would refuse.
``Origin.system()`` (no actor) is the system: account creation, management
commands, tests; no door builds it. Each change leaves the security event its
API counterpart leaves, with the actor in ``detail``.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts.errors import PhoneTaken, StaffPermissionDenied
from accounts.lockout import lockout_clear, lockout_key
from accounts.models import Role, User, role_group
from accounts.services.avatar import avatar_remove
from accounts.services.common import (
    Kind,
    actor_detail,
    password_validate_new,
    phone_parse,
    security_event_record,
    user_tokens_revoke,
    username_clean,
)
from accounts.services.deletion import user_delete
from accounts.services.profile import PROFILE_FIELDS, user_profile_update
from config.errors import InvalidInput
from config.origin import Origin

PERM_CHANGE = "accounts.change_user"  # profile, unlock, revoke sessions, avatar
PERM_DELETE = "accounts.delete_user"
PERM_PASSWORD = "accounts.change_user_password"  # noqa: S105 - a permission name
PERM_PHONE = "accounts.change_user_phone"
PERM_USERNAME = "accounts.change_user_username"
PERM_ACTIVE = "accounts.change_user_active"
PERM_ROLE = "accounts.change_user_role"
PERM_SUPERUSER = "superuser"  # no permission grants it: only superusers pass

# Admin change-form field -> the permission that guards it.
FIELD_PERMISSIONS = {
    "phone": PERM_PHONE,
    "username": PERM_USERNAME,
    "is_active": PERM_ACTIVE,
    "role": PERM_ROLE,
    **{name: PERM_CHANGE for name in PROFILE_FIELDS if name != "username"},
    **dict.fromkeys(("is_staff", "is_superuser", "groups", "user_permissions"), PERM_SUPERUSER),
}


def staff_may(*, actor: Any, target: User | None, permission: str) -> bool:
    """Whether ``actor`` may exercise ``permission`` on ``target`` (None: on accounts in general).

    Active staff only. A superuser may do anything; anyone else needs the
    permission, and a target that is neither a superuser nor staff.
    """
    if actor is None or not actor.is_active or not (actor.is_staff or actor.is_superuser):
        return False
    if actor.is_superuser:
        return True
    if permission == PERM_SUPERUSER:
        return False
    if target is not None and (target.is_superuser or target.is_staff):
        return False
    return actor.has_perm(permission)


def staff_check(*, origin: Origin, target: User, permission: str) -> None:
    """Raise StaffPermissionDenied unless ``staff_may`` for ``origin.actor``; the system (no actor) may."""
    if origin.actor is None:
        return
    if not staff_may(actor=origin.actor, target=target, permission=permission):
        raise StaffPermissionDenied()


def _perm_cache_clear(user: User) -> None:
    for cached in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cached, None)


# --- role ------------------------------------------------------------------------------


def user_set_role(
    *,
    user: User,
    role: str,
    origin: Origin,
    new_user: bool = False,
) -> User:
    """Change ``user``'s role and move them to the matching group, together.

    Permissions follow roles through groups, so the two must never disagree.
    ``origin.actor``: the staff member asking (``accounts.change_user_role``
    on an account ``staff_may`` lets them touch; StaffPermissionDenied
    otherwise). ``new_user``: the account was just created (the admin's add
    form) and belongs to no group yet: it joins its role's group, which is the
    default every account starts with, not a staff decision (no permission
    asked). Writes a ``role_changed`` event when the role changes. Raises
    ValueError for an unknown role (the admin offers only the choices).
    """
    if role not in Role.values:
        raise ValueError(f"Unknown role: {role!r}")
    group = role_group(role)
    if new_user:
        user.groups.add(group)
        return user
    staff_check(origin=origin, target=user, permission=PERM_ROLE)
    old_role = user.role
    with transaction.atomic():
        # Leave the other role groups (one DELETE), join this one (one INSERT, a no-op if already in).
        User.groups.through._default_manager.filter(user=user, group__name__in=Role.values).exclude(
            group=group
        ).delete()
        user.groups.add(group)
        if old_role != role:
            user.role = role
            user.save(update_fields=["role"])
            security_event_record(
                Kind.ROLE_CHANGED, user=user, origin=origin, old_role=old_role, new_role=role, **actor_detail(origin)
            )
    _perm_cache_clear(user)  # the cached permissions were the old role's
    return user


# --- what support does for ordinary users ---------------------------------------------------


@transaction.atomic
def user_revoke_all_sessions(*, user: User, origin: Origin) -> None:
    """End every token and browser session of ``user`` issued until now.

    ``actor`` needs ``accounts.change_user`` on an account ``staff_may`` lets
    them touch, else StaffPermissionDenied.
    """
    staff_check(origin=origin, target=user, permission=PERM_CHANGE)
    user_tokens_revoke(user)
    security_event_record(Kind.SESSIONS_REVOKED, user=user, origin=origin, **actor_detail(origin))


def user_unlock(*, user: User, origin: Origin) -> None:
    """Lift ``user``'s login lockout and forget their failed attempts (``accounts.change_user``)."""
    staff_check(origin=origin, target=user, permission=PERM_CHANGE)
    lockout_clear(lockout_key(user=user))
    security_event_record(Kind.UNLOCKED, user=user, origin=origin, **actor_detail(origin))


def user_avatar_remove_by_staff(*, user: User, origin: Origin) -> User:
    """Remove ``user``'s avatar (moderation; ``accounts.change_user``)."""
    staff_check(origin=origin, target=user, permission=PERM_CHANGE)
    return avatar_remove(user=user)


# --- credentials and identity -----------------------------------------------------------


def user_password_set_by_staff(*, user: User, origin: Origin, password: str | None) -> User:
    """Set ``user``'s password (``None``: no password, the account signs in by code only).

    ``actor`` needs ``accounts.change_user_password`` on an account
    ``staff_may`` lets them touch (StaffPermissionDenied). The password must
    pass the validators (InvalidInput on ``password``). Like the owner's own
    change, every token and browser session issued before ends and a
    ``password_changed`` event is written, naming the actor.
    """
    staff_check(origin=origin, target=user, permission=PERM_PASSWORD)
    if password is None:
        user.set_unusable_password()
    else:
        password_validate_new(password, user=user, field="password")
        user.set_password(password)
    with transaction.atomic():
        user_tokens_revoke(user, extra_fields=("password",))
        security_event_record(
            Kind.PASSWORD_CHANGED,
            user=user,
            origin=origin,
            usable=password is not None,
            **actor_detail(origin),
        )
    return user


def _phone_for(user: User, phone: str | None, *, username: str | None) -> str | None:
    """The E.164 form of ``phone`` for ``user``, checked (None clears it, if a username remains)."""
    if not (phone or "").strip():
        if not username:
            raise InvalidInput(fields={"phone": [_("An account without a username needs a phone number.")]})
        return None
    e164 = phone_parse(phone)
    if User.objects.filter(phone=e164).exclude(pk=user.pk).exists():
        raise PhoneTaken()
    return e164


def user_phone_set_by_staff(*, user: User, origin: Origin, phone: str | None) -> User:
    """Move ``user`` to ``phone`` without a code (``accounts.change_user_phone``), or clear it.

    The same ``phone_changed`` event as the owner's change
    (``user_phone_change``), plus the actor. Raises StaffPermissionDenied,
    InvalidPhone, PhoneTaken, InvalidInput (clearing the phone of an account
    without a username).
    """
    staff_check(origin=origin, target=user, permission=PERM_PHONE)
    e164 = _phone_for(user, phone, username=user.username)
    old_phone = str(user.phone) if user.phone else ""
    if (e164 or "") == old_phone:
        return user
    try:
        with transaction.atomic():
            user.phone = e164
            user.save(update_fields=["phone"])
            security_event_record(
                Kind.PHONE_CHANGED,
                user=user,
                origin=origin,
                old_phone=old_phone,
                new_phone=e164 or "",
                **actor_detail(origin),
            )
    except IntegrityError:
        user.phone = old_phone or None
        raise PhoneTaken() from None
    return user


def user_profile_update_by_staff(*, user: User, origin: Origin, data: Mapping[str, Any]) -> User:
    """``user_profile_update`` for staff: the username needs ``accounts.change_user_username``,
    the other profile fields ``accounts.change_user``; the same rules otherwise."""
    for name in data:
        staff_check(origin=origin, target=user, permission=PERM_USERNAME if name == "username" else PERM_CHANGE)
    return user_profile_update(user=user, data=dict(data))


@transaction.atomic
def user_deactivate(*, user: User, origin: Origin) -> None:
    """Disable ``user``: no login, and every token and browser session ends (``accounts.change_user_active``)."""
    staff_check(origin=origin, target=user, permission=PERM_ACTIVE)
    user.is_active = False
    user_tokens_revoke(user, extra_fields=("is_active",))
    security_event_record(Kind.DEACTIVATED, user=user, origin=origin, **actor_detail(origin))


@transaction.atomic
def user_activate(*, user: User, origin: Origin) -> None:
    """Enable ``user`` again (``accounts.change_user_active``); old tokens stay revoked."""
    staff_check(origin=origin, target=user, permission=PERM_ACTIVE)
    user.is_active = True
    user.save(update_fields=["is_active"])
    security_event_record(Kind.ACTIVATED, user=user, origin=origin, **actor_detail(origin))


@transaction.atomic
def user_access_set(
    *,
    user: User,
    origin: Origin,
    is_staff: bool,
    is_superuser: bool,
    groups: Iterable[Group],
    user_permissions: Iterable[Permission],
) -> User:
    """Set ``user``'s staff and superuser flags, groups and direct permissions (superusers only).

    Role groups follow the role (``user_set_role``), whatever ``groups`` says.
    Writes an ``access_changed`` event listing what changed, if anything did.
    """
    staff_check(origin=origin, target=user, permission=PERM_SUPERUSER)
    wanted_groups = {group for group in groups if group.name not in Role.values}
    wanted_groups |= set(Group.objects.filter(name=user.role))
    wanted_permissions = set(user_permissions)
    before = {
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "user_permissions": sorted(user.user_permissions.values_list("codename", flat=True)),
    }
    after = {
        "is_staff": is_staff,
        "is_superuser": is_superuser,
        "groups": sorted(group.name for group in wanted_groups),
        "user_permissions": sorted(permission.codename for permission in wanted_permissions),
    }
    if before == after:
        return user
    user.is_staff, user.is_superuser = is_staff, is_superuser
    user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.set(wanted_groups)
    user.user_permissions.set(wanted_permissions)
    _perm_cache_clear(user)
    changed: dict[str, Any] = {
        name: {"old": before[name], "new": after[name]} for name in before if before[name] != after[name]
    }
    security_event_record(Kind.ACCESS_CHANGED, user=user, origin=origin, **changed, **actor_detail(origin))
    return user


def user_delete_by_staff(*, user: User, origin: Origin) -> None:
    """``user_delete`` for staff: ``accounts.delete_user`` on an account ``staff_may`` lets them touch."""
    staff_check(origin=origin, target=user, permission=PERM_DELETE)
    user_delete(user=user)


# --- the admin's change form in one call -------------------------------------------------


def user_changes_check(*, user: User, origin: Origin, changes: Mapping[str, Any]) -> None:
    """Refuse what ``user_update_by_staff`` would refuse, without writing anything.

    For a form that wants to show the refusal next to the field before it
    saves. Raises StaffPermissionDenied, InvalidInput, InvalidPhone,
    PhoneTaken, UsernameTaken.
    """
    for name in changes:
        staff_check(origin=origin, target=user, permission=FIELD_PERMISSIONS.get(name, PERM_SUPERUSER))
    username = user.username
    if "username" in changes:
        username = username_clean(changes["username"], user=user)
    if "phone" in changes:
        _phone_for(user, changes["phone"], username=username)
    elif not username and not user.phone:
        raise InvalidInput(fields={"username": [_("An account without a phone number needs a username.")]})
    if "role" in changes and changes["role"] not in Role.values:
        raise InvalidInput(fields={"role": [_("Choose one of the roles.")]})


@transaction.atomic
def user_update_by_staff(*, user: User, origin: Origin, changes: Mapping[str, Any]) -> User:
    """Apply an admin change form: each changed field through the service that owns it.

    ``changes``: field name -> new value, for the fields that changed
    (``FIELD_PERMISSIONS`` names them). All or nothing: one refusal and no
    field changes. Raises what ``user_changes_check`` raises.
    """
    user_changes_check(user=user, origin=origin, changes=changes)
    # The phone first and the username after, or the reverse, so that the
    # account always keeps one of the two.
    if "phone" in changes and changes["phone"]:
        user_phone_set_by_staff(user=user, origin=origin, phone=changes["phone"])
    profile = {name: changes[name] for name in PROFILE_FIELDS if name in changes}
    if profile:
        user_profile_update_by_staff(user=user, origin=origin, data=profile)
    if "phone" in changes and not changes["phone"]:
        user_phone_set_by_staff(user=user, origin=origin, phone=None)
    if {"is_staff", "is_superuser", "groups", "user_permissions"} & set(changes):
        user_access_set(
            user=user,
            origin=origin,
            is_staff=changes.get("is_staff", user.is_staff),
            is_superuser=changes.get("is_superuser", user.is_superuser),
            groups=changes["groups"] if "groups" in changes else user.groups.all(),
            user_permissions=(
                changes["user_permissions"] if "user_permissions" in changes else user.user_permissions.all()
            ),
        )
    if "role" in changes:
        user_set_role(user=user, role=changes["role"], origin=origin)
    if "is_active" in changes and bool(changes["is_active"]) != user.is_active:
        if changes["is_active"]:
            user_activate(user=user, origin=origin)
        else:
            user_deactivate(user=user, origin=origin)
    return user
