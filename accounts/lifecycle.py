"""Other apps' parts in deleting and exporting an account, without accounts importing them.

The wallet must be able to refuse a deletion (money still in it) and to add
its records to a person's data export, but accounts may not import wallet
(the layering contract in ``pyproject.toml``). So, as Django does with
``AUTHENTICATION_BACKENDS``, the setting ``ACCOUNTS_LIFECYCLE_HOOKS`` lists
dotted paths of classes, loaded with ``import_string``; an instance of each
provides the two methods of ``LifecycleHook``. The wallet's is
``wallet.lifecycle.WalletLifecycle``.
"""

from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.models import User


class LifecycleHook(Protocol):
    def deletion_check(self, *, user: User) -> None:
        """Raise a ``config.errors.ServiceError`` when ``user``'s account may not be deleted now.

        Called before a deletion is scheduled and again, under the user's row
        lock, before ``accounts_purge`` erases it (a purge it refuses is skipped).
        """

    def export(self, *, user: User) -> dict[str, Any]:
        """This app's sections of ``user``'s data export: values ``DjangoJSONEncoder`` writes, nothing secret."""


@cache
def _load(paths: tuple[str, ...]) -> tuple[LifecycleHook, ...]:
    return tuple(import_string(path)() for path in paths)


def lifecycle_hooks() -> tuple[LifecycleHook, ...]:
    """The configured hooks, instantiated once per list of paths (tests may change the setting)."""
    return _load(tuple(settings.ACCOUNTS_LIFECYCLE_HOOKS))
