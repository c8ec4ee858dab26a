"""The one way to lock ledger accounts and top-ups (Saleor's ``lock_objects`` habit).

Every balance change locks the rows it reads with one of these functions,
so all writers queue on the same row locks in the same order (accounts by
primary key; a top-up before its wallet account) and nothing can interleave
between reading a balance and writing the new one. ``wallet.ledger.ledger_post``
refuses a tracked account that did not come from here.

All of them must run inside ``transaction.atomic``. On PostgreSQL a
concurrent writer waits at the lock and then reads the committed row (READ
COMMITTED re-reads a locked row once its lock is released).
"""

from django.db import transaction
from django.db.models import QuerySet

from wallet.ledger import account_for_frozen, account_for_wallet, mark_locked
from wallet.models import AccountKind, LedgerAccount, TopUp


def _require_atomic(name: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{name}() needs an atomic block")


def ledger_accounts_qs_select_for_update() -> QuerySet[LedgerAccount]:
    return LedgerAccount.objects.select_for_update(of=("self",))


def ledger_accounts_lock(*accounts: LedgerAccount) -> list[LedgerAccount]:
    """Fresh, locked copies of ``accounts``, in the order given (locks taken by primary key)."""
    _require_atomic("ledger_accounts_lock")
    ids = [account.pk for account in accounts]
    locked = {a.pk: a for a in ledger_accounts_qs_select_for_update().filter(pk__in=ids).order_by("pk")}
    return [mark_locked(locked[pk]) for pk in ids]


def wallet_account_lock(*, user) -> LedgerAccount:
    """``user``'s wallet account, locked until the transaction ends (created on first use). One query."""
    _require_atomic("wallet_account_lock")
    queryset = ledger_accounts_qs_select_for_update()
    try:
        return mark_locked(queryset.get(user=user, kind=AccountKind.WALLET))
    except LedgerAccount.DoesNotExist:
        account_for_wallet(user=user)
        return mark_locked(queryset.get(user=user, kind=AccountKind.WALLET))


def wallet_and_frozen_lock(*, user) -> tuple[LedgerAccount, LedgerAccount]:
    """``user``'s wallet and frozen accounts, both locked (created on first use), by primary key."""
    _require_atomic("wallet_and_frozen_lock")
    wallet, frozen = account_for_wallet(user=user), account_for_frozen(user=user)
    return tuple(ledger_accounts_lock(wallet, frozen))  # type: ignore[return-value]


def top_up_qs_select_for_update() -> QuerySet[TopUp]:
    """Top-ups with their wallet account, both locked by the same statement; the clearing account only read."""
    return TopUp.objects.select_related("account", "clearing_account").select_for_update(of=("self", "account"))


def top_up_lock(*, top_up_id: str, user=None) -> TopUp:
    """The top-up ``top_up_id`` and its wallet account, locked in one statement. Raises TopUp.DoesNotExist.

    With ``user`` only that person's top-up is found.
    """
    _require_atomic("top_up_lock")
    filters = {"pk": top_up_id} if user is None else {"pk": top_up_id, "user": user}
    top_up = top_up_qs_select_for_update().get(**filters)
    mark_locked(top_up.account)
    return top_up
