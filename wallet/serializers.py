import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from wallet.amounts import AmountParseError, parse_amount
from wallet.models import Transaction, Wallet


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^\d+(\.\d{1,2})?$", "example": "10.00"})
class AmountField(serializers.Field):
    """An amount given as a JSON number or a string, parsed to Decimal (never a float)."""

    default_error_messages = {"invalid": _("Enter an amount such as 10 or 12.50.")}

    def to_internal_value(self, data):
        try:
            return parse_amount(data)
        except AmountParseError:
            self.fail("invalid")

    def to_representation(self, value):
        return f"{value:.2f}"


class TransactionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Transaction
        fields = ("id", "kind", "amount", "balance_after", "description", "created_at")
        read_only_fields = fields


class WalletSerializer(serializers.ModelSerializer):
    class Meta:
        model = Wallet
        fields = ("balance", "currency", "updated_at")
        read_only_fields = fields


class LedgerResultSerializer(serializers.Serializer):
    transaction = TransactionSerializer()
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)


class TopUpInputSerializer(serializers.Serializer):
    amount = AmountField()


class PaymentInputSerializer(serializers.Serializer):
    amount = AmountField()
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


def ledger_body(transaction: Transaction) -> dict:
    """The API body for a balance change, as stored for idempotent replays.

    Rendered in UTC whatever door asked (API.md), so a replay through the API
    of a request first made elsewhere looks the same.
    """
    with timezone.override(datetime.UTC):
        data = LedgerResultSerializer({"transaction": transaction, "balance": transaction.balance_after}).data
    return {"transaction": dict(data["transaction"]), "balance": data["balance"]}
