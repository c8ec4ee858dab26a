"""Random sequences of top-ups, payments and adjustments never lose a cent."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from config.errors import InvalidInput
from tests.factories import UserFactory
from wallet.errors import IdempotencyKeyReused, InsufficientFunds
from wallet.models import Transaction, Wallet
from wallet.services import wallet_adjust, wallet_get_or_create, wallet_pay, wallet_top_up

pytestmark = pytest.mark.django_db

MAX_TOP_UP = Decimal("500.00")
MAX_BALANCE = Decimal("2000.00")

cents = st.integers(min_value=-300_00, max_value=800_00).map(lambda n: Decimal(n) / 100)
keys = st.one_of(st.none(), st.sampled_from(["a", "b", "c"]))


class WalletMachine(RuleBasedStateMachine):
    """The model is a plain Decimal; the system is the real services and database."""

    def __init__(self):
        super().__init__()
        self.user = UserFactory()
        self.staff = self.__class__.staff
        self.expected = Decimal("0.00")
        self.keys: dict[str, tuple] = {}  # idempotency key -> (operation, amount) first used with it

    def _idempotent(self, op, amount, key):
        """What a request with ``key`` should do: 'new', 'replay' or 'reused' (422)."""
        if key is None:
            return "new"
        if key not in self.keys:
            return "new"
        return "replay" if self.keys[key] == (op, amount) else "reused"

    def _apply(self, op, amount, key, call, *, valid, within_rules):
        expect = self._idempotent(op, amount, key)
        if not valid:
            with pytest.raises(InvalidInput):
                call()
            return
        if expect == "reused":
            with pytest.raises(IdempotencyKeyReused):
                call()
            return
        if expect == "replay":
            result = call()
            assert result.replayed
            return
        error = within_rules()
        if error is not None:
            with pytest.raises(error):
                call()
            return
        result = call()
        assert not result.replayed
        self.expected += result.transaction.amount
        assert result.balance == self.expected
        if key is not None:
            self.keys[key] = (op, amount)

    @rule(amount=cents, key=keys)
    def top_up(self, amount, key):
        def rules():
            return InvalidInput if self.expected + amount > MAX_BALANCE else None

        self._apply(
            "top_up",
            amount,
            key,
            lambda: wallet_top_up(user=self.user, amount=amount, idempotency_key=key),
            valid=Decimal("0") < amount <= MAX_TOP_UP,
            within_rules=rules,
        )

    @rule(amount=cents, key=keys)
    def pay(self, amount, key):
        self._apply(
            "pay",
            amount,
            key,
            lambda: wallet_pay(user=self.user, amount=amount, idempotency_key=key),
            valid=amount > 0,
            within_rules=lambda: InsufficientFunds if amount > self.expected else None,
        )

    @rule(amount=cents)
    def adjust(self, amount):
        def rules():
            after = self.expected + amount
            return InvalidInput if after < 0 or (amount > 0 and after > MAX_BALANCE) else None

        self._apply(
            "adjust",
            amount,
            None,
            lambda: wallet_adjust(actor=self.staff, user=self.user, amount=amount, reason="test"),
            valid=amount != 0,
            within_rules=rules,
        )

    @invariant()
    def books_balance(self):
        wallet = wallet_get_or_create(user=self.user)
        entries = list(Transaction.objects.filter(wallet=wallet).order_by("seq"))
        assert wallet.balance == self.expected == sum((e.amount for e in entries), Decimal("0.00"))
        assert wallet.balance >= 0
        running = Decimal("0.00")
        for number, entry in enumerate(entries, start=1):
            running += entry.amount
            assert (entry.seq, entry.balance_after) == (number, running)


def test_random_operations_keep_balance_equal_to_ledger_and_never_negative(staff, settings_override):
    WalletMachine.staff = staff
    run_state_machine_as_test(
        WalletMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    assert Wallet.objects.count() >= 1


@pytest.fixture
def settings_override(settings):
    settings.WALLET_MAX_TOP_UP = MAX_TOP_UP
    settings.WALLET_MAX_BALANCE = MAX_BALANCE
    return settings
