"""The one way to lock a wallet row (Saleor's ``lock_objects`` habit).

Every balance change goes through :func:`wallet_lock`, so all writers queue
on the same row lock in the same way and nothing can interleave between
reading the balance and writing the new one.
"""

from django.db import transaction

from wallet.models import Wallet


def wallet_qs_select_for_update():
    return Wallet.objects.select_for_update(of=("self",))


def wallet_lock(*, user) -> Wallet:
    """The user's wallet, locked until the surrounding transaction ends (created on first use).

    Must be called inside ``transaction.atomic``. On PostgreSQL a concurrent
    writer waits here and then reads the committed balance (READ COMMITTED
    re-reads a locked row once its lock is released).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("wallet_lock() needs an atomic block")
    try:
        return wallet_qs_select_for_update().get(user=user)
    except Wallet.DoesNotExist:
        Wallet.objects.get_or_create_for(user)
        return wallet_qs_select_for_update().get(user=user)
