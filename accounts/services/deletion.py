"""Deleting an account."""

from django.db import transaction

from accounts.models import User
from accounts.services.avatar import avatar_files_delete


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete ``user``'s account; their avatar files go once that is committed.

    Money history protects its owner: a user with wallet ledger entries
    raises ``ProtectedError`` and nothing is deleted (the admin lists why).
    """
    files = [user.avatar.name, user.avatar_thumbnail.name]
    user.delete()
    transaction.on_commit(lambda: avatar_files_delete(files), robust=True)
