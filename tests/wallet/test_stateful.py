"""Random sequences of top-ups, notifications, queries, refunds, charges, charge refunds and adjustments never lose a cent.

The model is a few Decimals and a dict of orders; the system is the real
services, the sandbox channel and the database. After every step the
ledger audit (balanced entries, balances = sum of lines, top-ups credited
once, charges and their refunds booked once) must be clean, and the wallet
and the application's revenue must equal the model. Charges reuse a few
order numbers and refunds a few Idempotency-Keys, so replays and refused
reuses happen too. Refunds may be left processing by the channel (frozen)
and settled later by wallet_sync, out or back.
"""

import json
import uuid
from decimal import Decimal
from unittest.mock import patch

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from config.errors import InvalidInput
from tests.factories import UserFactory
from wallet.channels.base import RefundResult, RefundState
from wallet.channels.sandbox import SandboxChannel, sandbox_sign
from wallet.charges import charge_create, charge_refund, charges_audit
from wallet.clients import client_application_create
from wallet.errors import IdempotencyKeyReused, InsufficientFunds, RefundExceedsCharge, RefundNotAllowed
from wallet.models import LedgerLine, SandboxRefund, SandboxTrade
from wallet.selectors import wallet_audit
from wallet.services import (
    notification_receive,
    top_up_create,
    top_up_get,
    top_up_refund,
    top_up_refunds_sync,
    wallet_adjust,
    wallet_get,
)

pytestmark = pytest.mark.django_db

MAX_TOP_UP = Decimal("500.00")
MAX_BALANCE = Decimal("2000.00")
ZERO = Decimal("0.00")

cents = st.integers(min_value=-300_00, max_value=800_00).map(lambda n: Decimal(n) / 100)
positive = st.integers(min_value=1, max_value=500_00).map(lambda n: Decimal(n) / 100)


class Order:
    def __init__(self, top_up_id: str, amount: Decimal):
        self.id, self.amount = top_up_id, amount
        self.status, self.refunded, self.channel_blocked = "pending", ZERO, False
        self.in_flight = ZERO  # refunds the channel is still processing (frozen)


class WalletMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.user = UserFactory()
        self.staff = self.__class__.staff
        self.balance = ZERO
        self.frozen = ZERO
        self.processing: list[tuple[str, Order, Decimal]] = []  # (refund id, its order, amount)
        self.orders: list[Order] = []
        self.application = client_application_create(name=f"shop {uuid.uuid4()}", scopes=["charge", "refund"])[0]
        self.charges: dict[str, dict] = {}  # order_id -> {"id", "amount", "description", "refunded"}
        self.refund_keys: dict[str, tuple] = {}  # Idempotency-Key -> (charge id, amount asked) first used with it

    def _pending(self) -> Decimal:
        return sum((o.amount for o in self.orders if o.status == "pending"), ZERO)

    def _credit(self, order: Order) -> None:
        order.status = "paid"
        self.balance += order.amount

    # --- money in ---------------------------------------------------------------------

    @rule(amount=cents)
    def order(self, amount):
        if not (ZERO < amount <= MAX_TOP_UP):
            with pytest.raises(InvalidInput):
                top_up_create(user=self.user, amount=amount, channel="sandbox")
            return
        if self.balance + self._pending() + amount > MAX_BALANCE:
            with pytest.raises(InvalidInput):
                top_up_create(user=self.user, amount=amount, channel="sandbox")
            return
        top_up = top_up_create(user=self.user, amount=amount, channel="sandbox").top_up
        self.orders.append(Order(top_up.id, amount))

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), event=st.sampled_from(["payment.succeeded", "payment.failed"]), copies=st.integers(1, 3))
    def notify(self, data, event, copies):
        """The channel's notification, possibly repeated, in any order relative to the others."""
        order = data.draw(st.sampled_from(self.orders))
        trade = SandboxTrade.objects.get(out_trade_no=order.id)
        # The provider's books say what the notification says (a later refund is asked of them).
        if event == "payment.succeeded":
            SandboxTrade.objects.filter(pk=trade.pk).update(state="succeeded", paid_at=timezone.now())
        elif trade.state != "succeeded":
            SandboxTrade.objects.filter(pk=trade.pk).update(state="failed")
        body = json.dumps(
            {
                "event": event,
                "top_up_id": order.id,
                "trade_no": trade.trade_no,
                "amount": f"{order.amount:.2f}",
                "currency": "CNY",
            }
        ).encode()
        for _ in range(copies):
            notification_receive(channel="sandbox", headers={"Sandbox-Signature": sandbox_sign(body)}, body=body)
        if event == "payment.succeeded" and order.status in ("pending", "failed"):
            self._credit(order)
        elif event == "payment.failed" and order.status == "pending":
            order.status = "failed"

    @precondition(lambda self: any(o.status == "pending" for o in self.orders))
    @rule(data=st.data())
    def paid_but_notification_lost_then_queried(self, data):
        order = data.draw(st.sampled_from([o for o in self.orders if o.status == "pending"]))
        SandboxTrade.objects.filter(out_trade_no=order.id).update(state="succeeded", paid_at=timezone.now())
        top_up = top_up_get(user=self.user, top_up_id=order.id)
        assert top_up.status == "paid"
        self._credit(order)

    # --- money out --------------------------------------------------------------------

    @rule(
        amount=positive,
        order_id=st.sampled_from(["o1", "o2", "o3", "o4", "o5"]),
        description=st.sampled_from(["", "会员"]),
    )
    def charge(self, amount, order_id, description):
        def call():
            return charge_create(
                application=self.application,
                user_id=self.user.pk,
                amount=amount,
                order_id=order_id,
                description=description,
            )

        known = self.charges.get(order_id)
        if known is not None:
            if (known["amount"], known["description"]) != (amount, description):
                with pytest.raises(IdempotencyKeyReused):
                    call()
                return
            result = call()
            assert result.replayed and result.charge.pk == known["id"]
            return
        if amount > self.balance:
            with pytest.raises(InsufficientFunds):
                call()
            return
        result = call()
        assert not result.replayed and result.balance == self.balance - amount
        self.balance -= amount
        self.charges[order_id] = {
            "id": result.charge.pk,
            "amount": amount,
            "description": description,
            "refunded": ZERO,
        }

    @precondition(lambda self: self.charges)
    @rule(data=st.data(), amount=st.one_of(st.none(), positive), key=st.sampled_from([None, "k1", "k2", "k3"]))
    def refund_charge(self, data, amount, key):
        """Part or (no amount) all of what is left; credited whatever WALLET_MAX_BALANCE says."""
        known = self.charges[data.draw(st.sampled_from(sorted(self.charges)))]

        def call():
            return charge_refund(
                application=self.application, charge_id=known["id"], amount=amount, idempotency_key=key
            )

        if key is not None and key in self.refund_keys:
            if self.refund_keys[key] != (known["id"], amount):
                with pytest.raises(IdempotencyKeyReused):
                    call()
                return
            assert call().replayed
            return
        left = known["amount"] - known["refunded"]
        wanted = left if amount is None else amount
        if wanted <= 0 or wanted > left:
            with pytest.raises(RefundExceedsCharge):
                call()
            return
        result = call()
        assert not result.replayed and result.balance == self.balance + wanted
        self.balance += wanted
        known["refunded"] += wanted
        if key is not None:
            self.refund_keys[key] = (known["id"], amount)

    @rule(amount=cents)
    def adjust(self, amount):
        after = self.balance + amount
        if amount == 0 or after < 0 or (amount > 0 and after > MAX_BALANCE):
            with pytest.raises(InvalidInput):
                wallet_adjust(actor=self.staff, user=self.user, amount=amount, reason="test")
            return
        wallet_adjust(actor=self.staff, user=self.user, amount=amount, reason="test")
        self.balance = after

    @precondition(lambda self: any(o.status in ("paid", "partially_refunded") for o in self.orders))
    @rule(data=st.data(), amount=positive, channel_refuses=st.booleans())
    def refund(self, data, amount, channel_refuses):
        order = data.draw(st.sampled_from([o for o in self.orders if o.status in ("paid", "partially_refunded")]))
        if channel_refuses and not order.channel_blocked:
            # Refunded in full in the provider's own console: the channel refuses ours from now on.
            trade = SandboxTrade.objects.get(out_trade_no=order.id)
            SandboxRefund.objects.create(
                trade=trade,
                out_refund_no=f"console-{order.id}",
                refund_no=f"C-{order.id}",
                amount=order.amount,
                state="succeeded",
            )
            order.channel_blocked = True
        refundable = min(order.amount - order.refunded - order.in_flight, self.balance)
        if amount > refundable:
            with pytest.raises((RefundNotAllowed, InvalidInput)):
                top_up_refund(actor=self.staff, top_up_id=order.id, amount=amount, reason="test")
            return
        refund = top_up_refund(actor=self.staff, top_up_id=order.id, amount=amount, reason="test")
        if order.channel_blocked:
            assert refund.status == "failed"
            return
        assert refund.status == "succeeded", refund.error
        self.balance -= amount
        order.refunded += amount
        order.status = "refunded" if order.refunded == order.amount else "partially_refunded"

    @precondition(lambda self: any(o.status in ("paid", "partially_refunded") for o in self.orders))
    @rule(data=st.data(), amount=positive)
    def refund_left_processing(self, data, amount):
        """The channel takes the refund but has not decided (WeChat Pay's PROCESSING): it stays frozen."""
        order = data.draw(st.sampled_from([o for o in self.orders if o.status in ("paid", "partially_refunded")]))
        if amount > min(order.amount - order.refunded - order.in_flight, self.balance):
            return  # the refusal is the refund rule's business

        def processing(channel, *, top_up_id, refund_id, amount, total, reason=""):
            # The sandbox's books record it as processing, as WeChat Pay's would.
            trade = SandboxTrade.objects.get(out_trade_no=top_up_id)
            SandboxRefund.objects.create(
                trade=trade, out_refund_no=refund_id, refund_no=f"P-{refund_id}", amount=amount, state="pending"
            )
            return RefundResult(state=RefundState.PENDING, channel_refund_id=f"P-{refund_id}")

        with patch.object(SandboxChannel, "refund", processing):
            refund = top_up_refund(actor=self.staff, top_up_id=order.id, amount=amount, reason="test")
        assert refund.status == "pending"
        self.balance -= amount
        self.frozen += amount
        order.in_flight += amount
        self.processing.append((refund.id, order, amount))

    @precondition(lambda self: self.processing)
    @rule(data=st.data(), succeeds=st.booleans())
    def channel_decides_and_wallet_sync_asks(self, data, succeeds):
        refund_id, order, amount = data.draw(st.sampled_from(self.processing))
        SandboxRefund.objects.filter(out_refund_no=refund_id).update(state="succeeded" if succeeds else "failed")
        report = top_up_refunds_sync()  # asks about every processing one; only this one is decided
        assert (report.succeeded, report.failed) == ((1, 0) if succeeds else (0, 1))
        self.processing.remove((refund_id, order, amount))
        self.frozen -= amount
        order.in_flight -= amount
        if succeeds:
            order.refunded += amount
            order.status = "refunded" if order.refunded == order.amount else "partially_refunded"
        else:
            self.balance += amount

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def books_balance(self):
        state = wallet_get(user=self.user)
        assert (state.balance, state.frozen) == (self.balance, self.frozen)
        assert state.balance >= 0
        assert wallet_audit() == []
        assert charges_audit() == []
        revenue = LedgerLine.objects.filter(account=self.application.revenue_account).values_list("amount", flat=True)
        assert sum(revenue, ZERO) == sum((c["amount"] - c["refunded"] for c in self.charges.values()), ZERO)


def test_random_operations_keep_every_ledger_invariant(staff, settings_override):
    WalletMachine.staff = staff
    run_state_machine_as_test(
        WalletMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


@pytest.fixture
def settings_override(settings):
    settings.WALLET_MAX_TOP_UP = MAX_TOP_UP
    settings.WALLET_MAX_BALANCE = MAX_BALANCE
    settings.WALLET_QUERY_AFTER = 0  # wallet_sync asks about a processing refund at once
    return settings
