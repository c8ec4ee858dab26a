from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ServiceError
from config.http import client_ip
from config.origin import Origin
from wallet.channels import channel_get
from wallet.selectors import top_ups_of, wallet_lines
from wallet.serializers import (
    LedgerResultSerializer,
    TopUpInputSerializer,
    TopUpSerializer,
    TransactionSerializer,
    WalletSerializer,
)
from wallet.services import (
    WALLET_WITH_USER,
    LedgerResult,
    notification_receive,
    top_up_create,
    top_up_get,
    wallet_state,
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Up to 255 characters, unique per request you mean once. A retry with the same key and body "
    "returns the first response with `Idempotent-Replayed: true`; a different body is `422 idempotency_key_reused`.",
)
ERRORS = {
    400: OpenApiResponse(description="validation_error / channel_unavailable"),
    401: OpenApiResponse(description="not_authenticated / token_invalid"),
    409: OpenApiResponse(description="insufficient_funds (payments) / idempotency_in_progress"),
    422: OpenApiResponse(description="idempotency_key_reused"),
}


def _replayed(response: Response, replayed: bool) -> Response:
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _ledger_response(result: LedgerResult) -> Response:
    body = LedgerResultSerializer(result).data
    return _replayed(Response(body, status=201), result.replayed)


def wallet_data(request, user):
    """``GET /api/v1/wallet/``'s body (both the DRF view and its fast path, ``config.fast_reads``)."""
    return WalletSerializer(wallet_state(user=user)).data


class WalletView(APIView):
    def get_authenticators(self):
        authenticators = super().get_authenticators()
        for authenticator in authenticators:
            if hasattr(authenticator, "also"):  # the API's Bearer check (accounts.authentication)
                # The balance is read in the token check's own statement: one round trip, not two.
                authenticator.also = WALLET_WITH_USER
        return authenticators

    @extend_schema(operation_id="wallet_retrieve", responses={200: WalletSerializer}, tags=["wallet"])
    def get(self, request):
        return Response(wallet_data(request, request.user))


class NewestTopUpsFirst(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class TopUpListView(generics.ListAPIView):
    serializer_class = TopUpSerializer
    pagination_class = NewestTopUpsFirst

    def get_queryset(self):
        return top_ups_of(user=self.request.user)

    @extend_schema(operation_id="wallet_top_ups_list", tags=["wallet"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="wallet_top_up_create",
        request=TopUpInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: TopUpSerializer, **ERRORS},
        tags=["wallet"],
    )
    def post(self, request):
        data = TopUpInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = top_up_create(
            user=request.user,
            amount=data.validated_data["amount"],
            channel=data.validated_data["channel"],
            method=data.validated_data["method"],
            idempotency_key=request.headers.get("Idempotency-Key"),
            origin=Origin.from_request(request),
        )
        body = TopUpSerializer(result.top_up, context={"request": request}).data
        return _replayed(Response(body, status=201), result.replayed)


class TopUpDetailView(APIView):
    @extend_schema(
        operation_id="wallet_top_up_retrieve",
        responses={200: TopUpSerializer, 404: OpenApiResponse(description="not_found")},
        tags=["wallet"],
    )
    def get(self, request, top_up_id: str):
        top_up = top_up_get(user=request.user, top_up_id=top_up_id)
        return Response(TopUpSerializer(top_up, context={"request": request}).data)


class NotifyView(APIView):
    """A payment channel's server calls this: no user, no CSRF, the signature is the authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []  # the raw body is verified as received: never parse it first

    @extend_schema(
        operation_id="wallet_notify",
        request=None,
        responses={
            200: OpenApiResponse(description='{"status": "ok"} (sandbox) or what the channel expects'),
            400: OpenApiResponse(description="notification_mismatch / channel_unavailable"),
            401: OpenApiResponse(description="signature_invalid"),
            404: OpenApiResponse(description="not_found"),
        },
        tags=["wallet"],
    )
    def post(self, request, channel: str):
        adapter = channel_get(channel)  # ChannelUnavailable -> 400 before anything is read
        headers = dict(request.headers.items())
        try:
            answer = notification_receive(
                channel=channel, headers=headers, body=request.body, remote_addr=client_ip(request._request)
            )
        except ServiceError:
            if getattr(adapter, "api_errors", False):
                raise  # the sandbox's protocol is API.md's error bodies
            answer = adapter.notification_answer(ok=False)
        return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)


class NewestFirst(CursorPagination):
    ordering = "-seq"  # unique and never changes within one wallet account
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


@extend_schema_view(get=extend_schema(operation_id="wallet_transactions_list", tags=["wallet"]))
class TransactionListView(generics.ListAPIView):
    serializer_class = TransactionSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        return wallet_lines(user=self.request.user)
