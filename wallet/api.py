from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from wallet.selectors import wallet_transactions
from wallet.serializers import (
    LedgerResultSerializer,
    PaymentInputSerializer,
    TopUpInputSerializer,
    TransactionSerializer,
    WalletSerializer,
)
from wallet.services import LedgerResult, wallet_get_or_create, wallet_pay, wallet_top_up

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Up to 255 characters, unique per request you mean once. A retry with the same key and body "
    "returns the first response with `Idempotent-Replayed: true`; a different body is `422 idempotency_key_reused`.",
)
ERRORS = {
    400: OpenApiResponse(description="validation_error"),
    401: OpenApiResponse(description="not_authenticated / token_invalid"),
    409: OpenApiResponse(description="insufficient_funds (payments) / idempotency_in_progress"),
    422: OpenApiResponse(description="idempotency_key_reused"),
}


def _ledger_response(result: LedgerResult) -> Response:
    response = Response(result.body, status=result.status)
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


class WalletView(APIView):
    @extend_schema(operation_id="wallet_retrieve", responses={200: WalletSerializer}, tags=["wallet"])
    def get(self, request):
        return Response(WalletSerializer(wallet_get_or_create(user=request.user)).data)


class TopUpView(APIView):
    @extend_schema(
        operation_id="wallet_top_up",
        request=TopUpInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: LedgerResultSerializer, **ERRORS},
        tags=["wallet"],
    )
    def post(self, request):
        data = TopUpInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = wallet_top_up(
            user=request.user,
            amount=data.validated_data["amount"],
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        return _ledger_response(result)


class PaymentView(APIView):
    @extend_schema(
        operation_id="wallet_pay",
        request=PaymentInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: LedgerResultSerializer, **ERRORS},
        tags=["wallet"],
    )
    def post(self, request):
        data = PaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = wallet_pay(
            user=request.user,
            amount=data.validated_data["amount"],
            description=data.validated_data["description"],
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        return _ledger_response(result)


class NewestFirst(CursorPagination):
    ordering = "-seq"  # unique and never changes within one wallet
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


@extend_schema_view(get=extend_schema(operation_id="wallet_transactions_list", tags=["wallet"]))
class TransactionListView(generics.ListAPIView):
    serializer_class = TransactionSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        return wallet_transactions(user=self.request.user)
