from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import Role, User


@transaction.atomic
def user_set_role(*, user: User, role: str) -> User:
    """Change ``user``'s role and move them to the matching group, together.

    Permissions follow roles through groups, so the two must never disagree.
    Raises ValueError for an unknown role. Callers check the
    ``accounts.change_user_role`` permission of whoever asked.
    """
    if role not in Role.values:
        raise ValueError(f"Unknown role: {role!r}")
    role_groups = Group.objects.filter(name__in=Role.values)
    user.groups.remove(*role_groups)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    if user.role != role:
        user.role = role
        user.save(update_fields=["role"])
    return user
