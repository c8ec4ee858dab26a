from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from tests.factories import UserFactory
from wallet.services import wallet_top_up


@pytest.fixture
def staff(db):
    """Active staff with the ``wallet.adjust_balance`` permission (and admin access to wallets)."""
    member = UserFactory(is_staff=True)
    member.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="wallet",
            codename__in=["adjust_balance", "view_wallet", "view_transaction"],
        )
    )
    return type(member).objects.get(pk=member.pk)  # fresh permission cache


def fund(user, amount: str):
    return wallet_top_up(user=user, amount=Decimal(amount))
