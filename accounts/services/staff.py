"""What support staff do to an account: role, session revocation, unlock, deactivation.

The staff member acting is ``origin.actor``; the event records who it was.
"""

from django.db import transaction

from accounts.lockout import lockout_clear, lockout_key
from accounts.models import Role, User, role_group
from accounts.services.common import Kind, actor_detail, security_event_record, user_tokens_revoke
from config.origin import Origin


def user_set_role(*, user: User, role: str, new_user: bool = False) -> User:
    """Change ``user``'s role and move them to the matching group, together.

    Permissions follow roles through groups, so the two must never disagree.
    ``new_user``: the user was just created and belongs to no group yet, so
    there is nothing to leave (what ``UserManager.create_user`` does itself:
    two queries, the group and the membership). Raises ValueError for an
    unknown role. Callers check the ``accounts.change_user_role`` permission
    of whoever asked.
    """
    if role not in Role.values:
        raise ValueError(f"Unknown role: {role!r}")
    group = role_group(role)
    if new_user:
        user.groups.add(group)
        return user
    with transaction.atomic():
        # Leave the other role groups (one DELETE), join this one (one INSERT, a no-op if already in).
        User.groups.through.objects.filter(user=user, group__name__in=Role.values).exclude(group=group).delete()
        user.groups.add(group)
        if user.role != role:
            user.role = role
            user.save(update_fields=["role"])
    # Permissions cached on this instance were the old role's.
    for cached in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cached, None)
    return user


@transaction.atomic
def user_revoke_all_sessions(*, user: User, origin: Origin) -> None:
    """End every token and browser session of ``user`` issued until now."""
    user_tokens_revoke(user)
    security_event_record(Kind.SESSIONS_REVOKED, user=user, origin=origin, **actor_detail(origin))


def user_unlock(*, user: User, origin: Origin) -> None:
    """Lift ``user``'s login lockout and forget their failed attempts."""
    lockout_clear(lockout_key(user=user))
    security_event_record(Kind.UNLOCKED, user=user, origin=origin, **actor_detail(origin))


@transaction.atomic
def user_deactivate(*, user: User, origin: Origin) -> None:
    """Disable ``user``: no login, and every token and browser session ends."""
    user.is_active = False
    user_tokens_revoke(user, extra_fields=("is_active",))
    security_event_record(Kind.DEACTIVATED, user=user, origin=origin, **actor_detail(origin))
