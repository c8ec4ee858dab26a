"""The one way to lock a wallet row (Saleor's ``lock_objects`` habit).

Every balance change goes through :func:`wallet_lock`, so all writers queue
on the same row lock in the same way and nothing can interleave between
reading the balance and writing the new one.
"""

from django.db import transaction
from django.db.models import Exists, OuterRef

from wallet.models import IdempotencyRecord, Wallet


def wallet_qs_select_for_update():
    return Wallet.objects.select_for_update(of=("self",))


def wallet_lock(*, user, idempotency_key: str = "") -> Wallet:
    """The user's wallet, locked until the surrounding transaction ends (created on first use).

    Must be called inside ``transaction.atomic``. On PostgreSQL a concurrent
    writer waits here and then reads the committed balance (READ COMMITTED
    re-reads a locked row once its lock is released).

    With ``idempotency_key`` the same statement also answers whether a
    response is stored under that key (``wallet.has_idempotency_record``),
    saving a round trip while the lock is held. That answer comes from the
    statement's snapshot, taken before any wait for the lock: a same-key
    request that committed during the wait is not seen here, and the caller
    must handle the unique key conflict that follows (see
    ``wallet.services._ledger_change``).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("wallet_lock() needs an atomic block")
    queryset = wallet_qs_select_for_update()
    if idempotency_key:
        stored = IdempotencyRecord.objects.filter(user=OuterRef("user"), key=idempotency_key)
        queryset = queryset.annotate(has_idempotency_record=Exists(stored))
    try:
        return queryset.get(user=user)
    except Wallet.DoesNotExist:
        Wallet.objects.get_or_create_for(user)
        return queryset.get(user=user)
