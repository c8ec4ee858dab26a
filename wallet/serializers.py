"""The API's shapes of the wallet (API.md "Wallet"). Used only by ``wallet.api``."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import FieldsOnce
from wallet.amounts import AmountParseError, parse_amount
from wallet.models import LedgerLine, TopUp


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


class TransactionSerializer(FieldsOnce, serializers.ModelSerializer):
    """One line of the person's wallet account, with its entry's kind, description and reference."""

    kind = serializers.CharField(source="entry.kind")
    description = serializers.CharField(source="entry.description")
    reference = serializers.CharField(source="entry.reference")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    balance_after = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        model = LedgerLine
        fields = ("id", "kind", "amount", "balance_after", "description", "reference", "created_at")
        read_only_fields = fields


class WalletSerializer(FieldsOnce, serializers.Serializer):
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    frozen = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    max_balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    updated_at = serializers.DateTimeField()


class LedgerResultSerializer(FieldsOnce, serializers.Serializer):
    transaction = TransactionSerializer(source="line")
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)


class TopUpSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    refunded_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    pay = serializers.SerializerMethodField()

    class Meta:
        model = TopUp
        fields = (
            "id",
            "amount",
            "currency",
            "channel",
            "method",
            "status",
            "created_at",
            "expires_at",
            "paid_at",
            "refunded_amount",
            "pay",
        )
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "Present only while pending: one of url, order_string, code_url, app.",
        }
    )
    def get_pay(self, top_up: TopUp):
        if top_up.status != "pending" or not top_up.pay:
            return None
        pay = dict(top_up.pay)
        request = self.context.get("request")
        if request is not None and isinstance(pay.get("url"), str) and pay["url"].startswith("/"):
            pay["url"] = request.build_absolute_uri(pay["url"])  # the sandbox gives a path on this host
        return pay

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if data["pay"] is None:
            del data["pay"]
        return data


class TopUpInputSerializer(serializers.Serializer):
    amount = AmountField()
    channel = serializers.CharField(max_length=20)
    method = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
