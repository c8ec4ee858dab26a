"""Staff sending a paid top-up back to its channel: frozen, asked, moved out or back."""

from decimal import Decimal

import pytest

from config.errors import InvalidInput
from tests.factories import UserFactory
from tests.wallet.charges_helpers import spend
from tests.wallet.conftest import fund
from wallet.errors import RefundNotAllowed, WalletPermissionDenied
from wallet.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, SandboxRefund, SandboxTrade, TopUp
from wallet.selectors import wallet_audit
from wallet.services import top_up_create, top_up_refund, wallet_get

pytestmark = pytest.mark.django_db


def _accounts(user) -> tuple[Decimal, Decimal]:
    state = wallet_get(user=user)
    return state.balance, state.frozen


def test_a_full_refund_moves_the_money_out_through_frozen(user, staff):
    top_up = fund(user, "30.00")
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, reason="customer asked")
    assert (refund.status, refund.amount, refund.actor) == ("succeeded", Decimal("30.00"), staff)
    assert refund.channel_refund_id.startswith("SBXR")
    top_up.refresh_from_db()
    assert (top_up.status, top_up.refunded_amount) == ("refunded", Decimal("30.00"))
    assert _accounts(user) == (Decimal("0.00"), Decimal("0.00"))
    kinds = list(JournalEntry.objects.filter(reference__in=[top_up.id, refund.id]).values_list("kind", flat=True))
    assert sorted(kinds) == sorted([EntryKind.TOP_UP, EntryKind.TOP_UP_REFUND, EntryKind.TOP_UP_REFUND_SETTLED])
    assert LedgerAccount.objects.get(key="channel:sandbox").lines.count() == 2
    assert SandboxRefund.objects.get().amount == Decimal("30.00")
    assert wallet_audit() == []


def test_a_partial_refund_is_at_most_what_is_still_unspent(user, staff):
    top_up = fund(user, "30.00")
    spend(user, "25.00")
    with pytest.raises(RefundNotAllowed) as info:
        top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("5.01"), reason="r")
    assert "5.00" in str(info.value.message)
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("5.00"), reason="r")
    assert refund.status == "succeeded"
    top_up.refresh_from_db()
    assert (top_up.status, top_up.refunded_amount) == ("partially_refunded", Decimal("5.00"))
    assert _accounts(user) == (Decimal("0.00"), Decimal("0.00"))
    assert wallet_audit() == []


def test_a_channel_failure_puts_the_money_back_into_the_wallet(user, staff):
    top_up = fund(user, "30.00")
    # Refunded meanwhile in the provider's own console: the channel refuses ours.
    trade = SandboxTrade.objects.get(out_trade_no=top_up.id)
    SandboxRefund.objects.create(
        trade=trade, out_refund_no="console-1", refund_no="SBXR-C", amount=Decimal("30.00"), state="succeeded"
    )
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("10.00"), reason="r")
    assert refund.status == "failed" and "exceed" in refund.error
    top_up.refresh_from_db()
    assert (top_up.status, top_up.refunded_amount) == ("paid", Decimal("0.00"))
    assert _accounts(user) == (Decimal("30.00"), Decimal("0.00"))
    frozen = LedgerAccount.objects.get(user=user, kind=AccountKind.FROZEN)
    assert list(frozen.lines.order_by("seq").values_list("amount", flat=True)) == [Decimal("10.00"), Decimal("-10.00")]
    assert wallet_audit() == []


def test_refunds_need_their_own_permission(user, staff):
    top_up = fund(user, "10.00")
    adjuster = UserFactory(is_staff=True)
    for actor in (user, adjuster, None):
        with pytest.raises(WalletPermissionDenied):
            top_up_refund(actor=actor, top_up_id=top_up.id, reason="r")


def test_an_unpaid_top_up_cannot_be_refunded_and_a_reason_is_required(user, staff):
    pending = top_up_create(user=user, amount=Decimal("5"), channel="sandbox").top_up
    with pytest.raises(RefundNotAllowed):
        top_up_refund(actor=staff, top_up_id=pending.id, reason="r")
    with pytest.raises(InvalidInput):
        top_up_refund(actor=staff, top_up_id=pending.id, reason=" ")
    assert TopUp.objects.get(pk=pending.pk).status == "pending"


def test_frozen_shows_in_the_wallet_while_a_refund_is_pending(user, staff, monkeypatch):
    from wallet.channels.base import RefundResult, RefundState
    from wallet.channels.sandbox import SandboxChannel

    top_up = fund(user, "30.00")
    monkeypatch.setattr(SandboxChannel, "refund", lambda self, **kw: RefundResult(state=RefundState.PENDING))
    refund = top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("12.00"), reason="r")
    assert refund.status == "pending"
    assert _accounts(user) == (Decimal("18.00"), Decimal("12.00"))
    with pytest.raises(RefundNotAllowed):  # the frozen part cannot be refunded twice
        top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("18.01"), reason="r")
