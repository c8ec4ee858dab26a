"""The wallet's part in deleting and exporting an account (``accounts.lifecycle``'s hook).

Listed in ``ACCOUNTS_LIFECYCLE_HOOKS``: accounts loads it by name and never
imports wallet. Reads only: nothing here writes (the export does not even
create a missing wallet account, as ``wallet_get`` would).
"""

from decimal import Decimal
from typing import Any

from wallet.conf import wallet_settings
from wallet.errors import WalletNotEmpty
from wallet.models import ZERO, AccountKind, LedgerAccount, TopUpStatus
from wallet.selectors import top_ups_of, wallet_lines
from wallet.types import Person


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


class WalletLifecycle:
    """``deletion_check`` and ``export`` of ``accounts.lifecycle.LifecycleHook``."""

    def deletion_check(self, *, user: Person) -> None:
        """WalletNotEmpty while any money is the person's (spendable or frozen) or a top-up is pending.

        Two queries. A pending top-up may still be paid and credited, so it
        blocks like money does; a closed or failed one does not.
        """
        holds_money = (
            LedgerAccount.objects.filter(user=user, kind__in=[AccountKind.WALLET, AccountKind.FROZEN])
            .exclude(balance=ZERO)
            .exists()
        )
        if holds_money or top_ups_of(user=user).filter(status=TopUpStatus.PENDING).exists():
            raise WalletNotEmpty()

    def export(self, *, user: Person) -> dict[str, Any]:
        """``wallet``, ``transactions`` (the wallet account's ledger lines) and ``top_ups``, as the API shows them.

        A top-up's payment instructions (``pay``: a checkout URL with its
        token, signed SDK parameters) are left out: they are credentials of a
        payment, not data about the person.
        """
        accounts = {
            a.kind: a
            for a in LedgerAccount.objects.filter(user=user, kind__in=[AccountKind.WALLET, AccountKind.FROZEN])
        }
        wallet = accounts.get(AccountKind.WALLET)
        frozen = accounts.get(AccountKind.FROZEN)
        transactions = [
            {
                "id": str(line.pk),
                "kind": line.entry.kind,
                "amount": _money(line.amount),
                "balance_after": _money(line.balance_after) if line.balance_after is not None else None,
                "description": line.entry.description,
                "reference": line.entry.reference,
                "created_at": line.created_at,
            }
            for line in wallet_lines(user=user).iterator(chunk_size=500)
        ]
        top_ups = [
            {
                "id": top_up.pk,
                "amount": _money(top_up.amount),
                "currency": top_up.currency,
                "channel": top_up.channel,
                "method": top_up.method,
                "status": top_up.status,
                "trade_no": top_up.trade_no,
                "refunded_amount": _money(top_up.refunded_amount),
                "created_at": top_up.created_at,
                "expires_at": top_up.expires_at,
                "paid_at": top_up.paid_at,
            }
            for top_up in top_ups_of(user=user).iterator(chunk_size=500)
        ]
        return {
            "wallet": {
                "balance": _money(wallet.balance if wallet is not None else ZERO),
                "frozen": _money(frozen.balance if frozen is not None else ZERO),
                "currency": wallet.currency if wallet is not None else wallet_settings.CURRENCY,
            },
            "transactions": transactions,
            "top_ups": top_ups,
        }
