from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import UserFactory
from tests.wallet.conftest import fund
from wallet.models import Kind, Transaction, Wallet
from wallet.services import wallet_pay

pytestmark = pytest.mark.django_db


def test_audit_is_clean_after_normal_use(user):
    fund(user, "10")
    wallet_pay(user=user, amount=Decimal("3"))
    UserFactory()  # a user without a wallet
    out = StringIO()
    call_command("wallet_audit", stdout=out)
    assert "every wallet matches" in out.getvalue()


def test_audit_names_wallet_whose_balance_differs_from_its_ledger(user):
    fund(user, "10")
    healthy = UserFactory()
    fund(healthy, "5")
    wallet = Wallet.objects.get(user=user)
    Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("11.00"))
    err = StringIO()
    with pytest.raises(CommandError, match=rf"\b{wallet.pk}\b"):
        call_command("wallet_audit", stderr=err)
    assert f"wallet {wallet.pk}" in err.getvalue()
    assert f"wallet {Wallet.objects.get(user=healthy).pk}" not in err.getvalue()


def test_audit_finds_broken_balance_after_continuity(user):
    fund(user, "10")
    wallet = Wallet.objects.get(user=user)
    # A forged entry whose balance_after does not follow from the previous one.
    Transaction.objects.create(wallet=wallet, seq=2, kind=Kind.TOP_UP, amount=Decimal("5"), balance_after=Decimal("20"))
    Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("15"), entry_count=2)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("wallet_audit", stderr=err)
    assert "balance_after 20.00 != 10.00 + 5.00" in err.getvalue()
