"""The client-application API: charges and refunds (API.md "Charges and refunds").

Only ``Authorization: Api-Key <key>`` is a credential here (``wallet.authentication``);
each view names the scope it needs. All keys of one application share one
rate limit (``WALLET_CLIENT_RATE``). The charge POST authenticates its key
without a cache call and has its statement check the key and the scope
again (``ChargeListView.get_authenticators``): a refusal there is answered exactly as
the authentication or the scope permission would have answered it.
"""

from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.origin import Origin
from config.renderers import rendered_response
from config.serializers import FieldsOnce, input_validate
from wallet.amounts import AmountParseError, parse_amount
from wallet.authentication import (
    ApiKeyInvalidFailure,
    ClientKeyAuthentication,
    scope_required,
)
from wallet.charges import (
    DESCRIPTION_MAX_LENGTH,
    ChargeResult,
    RefundResult,
    charge_create,
    charge_get,
    charge_refund,
)
from wallet.clients import ClientPrincipal, client_key_forget_in_process
from wallet.errors import ApiKeyInvalid, ApiKeyScopeMissing
from wallet.models import Charge, ChargeRefund, Scope, charge_status
from wallet.models_charges import ORDER_ID_MAX_LENGTH
from wallet.serializers import AmountField
from wallet.throttling import ClientApplicationThrottle

# --- Shapes ----------------------------------------------------------------------------------


class ChargeSerializer(FieldsOnce, serializers.Serializer):
    id = serializers.CharField()
    order_id = serializers.CharField()
    user_id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    refunded_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    status = serializers.ChoiceField(choices=["succeeded", "partially_refunded", "refunded"])
    description = serializers.CharField()
    created_at = serializers.DateTimeField()


class ChargeResultSerializer(FieldsOnce, serializers.Serializer):
    charge = ChargeSerializer()
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)


class RefundSerializer(FieldsOnce, serializers.Serializer):
    id = serializers.CharField()
    charge_id = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class RefundResultSerializer(FieldsOnce, serializers.Serializer):
    refund = RefundSerializer()
    charge = ChargeSerializer()
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)


class ChargeInputSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(min_value=1)
    amount = AmountField()
    order_id = serializers.CharField(max_length=ORDER_ID_MAX_LENGTH)
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True, default="")


class RefundInputSerializer(serializers.Serializer):
    amount = AmountField(required=False, help_text=_("Default: all that is left of the charge."))
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


ZERO_REFUNDED = Decimal("0.00")


def _text(value: Any, *, max_length: int, blank: bool) -> str | None:
    """A ``CharField(max_length=…)``'s value for plain text it surely accepts; None: ask DRF."""
    if type(value) is not str or not value.isascii() or "\x00" in value:  # ASCII: no surrogates
        return None
    value = value.strip()
    if len(value) > max_length or (not value and not blank):
        return None
    return value


def _charge_input(data: Any) -> dict[str, Any]:
    """``ChargeInputSerializer``'s validated data.

    The usual request (a JSON object with an int ``user_id``, an amount,
    ASCII text) is answered here by the same rules, field by field, in a few
    microseconds; anything else (a form body, other types, non-ASCII text,
    anything DRF might refuse) goes to the serializer, which also writes every
    error. tests/config/test_hot_paths_charges.py checks both give the same.
    """
    if type(data) is dict:
        user_id, amount = data.get("user_id"), data.get("amount")
        order_id = _text(data.get("order_id"), max_length=ORDER_ID_MAX_LENGTH, blank=False)
        description = _text(data.get("description", ""), max_length=DESCRIPTION_MAX_LENGTH, blank=True)
        if type(user_id) is int and user_id >= 1 and amount is not None and None not in (order_id, description):
            try:
                amount = parse_amount(amount)
            except AmountParseError:
                pass  # DRF's error body
            else:
                return {"user_id": user_id, "amount": amount, "order_id": order_id, "description": description}
    return input_validate(ChargeInputSerializer, data)


def _charge_data(charge: Charge, *, refunded_amount: Decimal | None = None) -> dict[str, Any]:
    """``charge`` as it is, or — for a first answer and its replays — with ``refunded_amount`` as it was then."""
    refunded = charge.refunded_amount if refunded_amount is None else refunded_amount
    return {
        "id": charge.pk,
        "order_id": charge.order_id,
        "user_id": charge.user_id,
        "amount": charge.amount,
        "refunded_amount": refunded,
        "status": charge_status(charge.amount, refunded),
        "description": charge.description,
        "created_at": charge.created_at,
    }


# ChargeResultSerializer's fields, applied directly: the hottest answer skips building the
# serializer, its nested one and their ReturnDicts on every charge. Same field classes with
# the same arguments, so the same text (tests/config/test_hot_paths_charges.py compares).
_MONEY = serializers.DecimalField(max_digits=14, decimal_places=2)
_TIME = serializers.DateTimeField()


def _charge_result_body(result: ChargeResult) -> dict[str, Any]:
    """``ChargeResultSerializer(...).data`` for a charge's first answer (nothing refunded yet)."""
    charge, money = result.charge, _MONEY.to_representation
    return {
        "charge": {
            "id": str(charge.pk),
            "order_id": str(charge.order_id),
            "user_id": int(charge.user_id),
            "amount": money(charge.amount),
            "refunded_amount": money(ZERO_REFUNDED),
            "status": str(charge_status(charge.amount, ZERO_REFUNDED)),
            "description": str(charge.description),
            "created_at": _TIME.to_representation(charge.created_at),
        },
        "balance": money(result.balance),
    }


def _refund_data(refund: ChargeRefund) -> dict[str, Any]:
    return {
        "id": refund.pk,
        "charge_id": refund.charge_id,
        "amount": refund.amount,
        "reason": refund.reason,
        "created_at": refund.created_at,
    }


def _created(request: Request, body: dict[str, Any], *, replayed: bool) -> HttpResponse:
    response = rendered_response(request, body, status=201)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _principal(request: Request) -> ClientPrincipal:
    principal = request.auth
    assert isinstance(principal, ClientPrincipal)  # ClientKeyAuthentication is the only authenticator here
    return principal


def _origin(request: Request) -> dict[str, Any]:
    """What the journal entry records of the request: the client's address and user agent, and the key."""
    origin = Origin.from_request(request)
    return {"ip": origin.ip, "user_agent": origin.user_agent[:200], "api_key": _principal(request).key_prefix}


# --- Views -----------------------------------------------------------------------------------

ERRORS = {
    400: OpenApiResponse(description="validation_error"),
    401: OpenApiResponse(description="api_key_invalid"),
    403: OpenApiResponse(description="permission_denied (the key lacks the scope)"),
    404: OpenApiResponse(description="not_found"),
    429: OpenApiResponse(description="rate_limited"),
}


class _ClientView(APIView):
    authentication_classes = [ClientKeyAuthentication]
    throttle_classes = [ClientApplicationThrottle]


_MAY_CHARGE = scope_required(Scope.CHARGE)


class ChargeListView(_ClientView):
    permission_classes = [_MAY_CHARGE]

    def get_authenticators(self) -> list[BaseAuthentication]:
        # The key from this process's memory, no cache call: the charge statement checks it again.
        # (The same class as the other views': one security scheme in the schema.)
        return [ClientKeyAuthentication(rechecked_scope=Scope.CHARGE)]

    @extend_schema(
        operation_id="wallet_charge_create",
        request=ChargeInputSerializer,
        responses={
            201: ChargeResultSerializer,
            **ERRORS,
            409: OpenApiResponse(description="insufficient_funds / idempotency_in_progress"),
            422: OpenApiResponse(description="idempotency_key_reused (same order_id, other body)"),
        },
        description="Charge a person's wallet. `order_id` is the idempotency key: the same application "
        "sending the same order_id and body again gets the first response with `Idempotent-Replayed: true`.",
        tags=["charges"],
    )
    def post(self, request: Request) -> HttpResponse:
        data = _charge_input(request.data)
        principal = _principal(request)
        try:
            result: ChargeResult = charge_create(
                application=principal.application,
                user_id=data["user_id"],
                amount=data["amount"],
                order_id=data["order_id"],
                description=data["description"],
                origin=_origin(request),
                key_id=principal.key_id,  # checked again by the charge itself: see get_authenticators
            )
        except ApiKeyInvalid:  # revoked, expired or switched off since this process read the key
            client_key_forget_in_process(principal.key_prefix)
            raise ApiKeyInvalidFailure() from None
        except ApiKeyScopeMissing:  # the scope was taken away since
            client_key_forget_in_process(principal.key_prefix)
            # What DRF's check_permissions raises for the permission (an authenticated request).
            raise PermissionDenied(detail=getattr(_MAY_CHARGE, "message", None)) from None
        # The first answer: nothing refunded yet (a replay says the same).
        return _created(request, _charge_result_body(result), replayed=result.replayed)


class ChargeDetailView(_ClientView):
    permission_classes = [scope_required(Scope.CHARGE) | scope_required(Scope.REFUND)]

    @extend_schema(
        operation_id="wallet_charge_retrieve",
        responses={200: ChargeSerializer, **ERRORS},
        tags=["charges"],
    )
    def get(self, request: Request, charge_id: str) -> Response:
        charge = charge_get(application=_principal(request).application, charge_id=charge_id)
        return Response(ChargeSerializer(_charge_data(charge)).data)


class ChargeRefundView(_ClientView):
    permission_classes = [scope_required(Scope.REFUND)]

    @extend_schema(
        operation_id="wallet_charge_refund",
        request=RefundInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Up to 255 characters, unique per application. A retry with the same key and body "
                "returns the first response with `Idempotent-Replayed: true`; another body is "
                "`422 idempotency_key_reused`.",
            )
        ],
        responses={
            201: RefundResultSerializer,
            **ERRORS,
            409: OpenApiResponse(description="refund_exceeds_charge"),
            422: OpenApiResponse(description="idempotency_key_reused"),
        },
        description="Give back part or all (the default) of a charge. The money is always credited to the "
        "wallet, even above WALLET_MAX_BALANCE: it is the person's own.",
        tags=["charges"],
    )
    def post(self, request: Request, charge_id: str) -> HttpResponse:
        data = input_validate(RefundInputSerializer, request.data)
        result: RefundResult = charge_refund(
            application=_principal(request).application,
            charge_id=charge_id,
            amount=data.get("amount"),
            reason=data["reason"],
            idempotency_key=request.headers.get("Idempotency-Key"),
            origin=_origin(request),
        )
        body = {
            "refund": _refund_data(result.refund),
            "charge": _charge_data(result.charge, refunded_amount=result.refunded_amount),
            "balance": result.balance,
        }
        return _created(request, RefundResultSerializer(body).data, replayed=result.replayed)
