from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from tests.factories import UserFactory
from wallet.channels.sandbox import sandbox_checkout, sandbox_sign
from wallet.models import SandboxTrade, TopUp
from wallet.services import notification_receive, top_up_create

STAFF_PERMISSIONS = [
    "adjust_balance",
    "refund_top_up",
    "view_ledgeraccount",
    "view_journalentry",
    "view_ledgerline",
    "view_topup",
    "view_topuprefund",
    "view_paymentnotification",
]


@pytest.fixture
def staff(db):
    """Active staff with the wallet's staff permissions (adjust, refund) and admin access to its records."""
    member = UserFactory(is_staff=True)
    member.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="wallet", codename__in=STAFF_PERMISSIONS)
    )
    return type(member).objects.get(pk=member.pk)  # fresh permission cache


def sandbox_pay(top_up: TopUp, *, succeed: bool = True) -> bytes:
    """Press 支付成功/支付失败 at the sandbox checkout and deliver its notification; returns the body sent."""
    trade = SandboxTrade.objects.get(out_trade_no=top_up.id)
    outcome = sandbox_checkout(token=trade.token, succeed=succeed)
    assert outcome is not None
    _trade, body = outcome
    notification_receive(channel="sandbox", headers={"Sandbox-Signature": sandbox_sign(body)}, body=body)
    return body


def fund(user, amount: str) -> TopUp:
    """Put ``amount`` into ``user``'s wallet the only way money enters: a paid sandbox top-up."""
    top_up = top_up_create(user=user, amount=Decimal(amount), channel="sandbox").top_up
    sandbox_pay(top_up)
    top_up.refresh_from_db()
    assert top_up.status == "paid"
    return top_up
