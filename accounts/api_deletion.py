"""API views of docs/API.md's "Account deletion and data export": thin, one service each."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import AUTH_ERRORS, CODE_ERRORS, _current_device_id
from accounts.authentication import authenticated_user
from accounts.errors import AccountLocked, PasswordIncorrect
from accounts.serializers import DeletionInputSerializer, UserSerializer
from accounts.services.deletion import user_deletion_cancel, user_deletion_schedule
from accounts.services.export import DataExport, user_data_export
from config.errors import InvalidInput, RateLimited
from config.openapi import ErrorSerializer, error_responses
from config.origin import Origin
from smscodes.budget import CodeBudgetThrottle

# Raised by the wallet's lifecycle hook (accounts does not import wallet): documented here by its code.
WALLET_NOT_EMPTY = OpenApiResponse(
    ErrorSerializer, description="wallet_not_empty: the wallet holds money (balance or frozen) or a top-up is pending"
)


class DeletionApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [CodeBudgetThrottle]  # takes a code: the per-IP budget of every code door

    @extend_schema(
        operation_id="me_deletion_schedule",
        tags=["me"],
        summary="Delete the account (after the grace period)",
        description="Proof: `password`, or a `code` / `verification_token` of purpose `delete_account` sent to the "
        "account's own number. The account is erased by `accounts_purge` once ACCOUNTS_DELETION_GRACE_DAYS "
        "(default 15) have passed; until then the person may sign in and cancel. Every other device is signed "
        "out now. Already scheduled: answered with the date first set.",
        request=DeletionInputSerializer,
        responses={
            202: UserSerializer,
            **error_responses(InvalidInput, *CODE_ERRORS, PasswordIncorrect, AccountLocked, RateLimited, *AUTH_ERRORS),
            409: WALLET_NOT_EMPTY,
        },
    )
    def post(self, request: Request) -> Response:
        data = DeletionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_deletion_schedule(
            user=authenticated_user(request),
            password=data.validated_data.get("password") or None,
            code=data.validated_data.get("code") or None,
            verification_token=data.validated_data.get("verification_token") or None,
            keep_device_id=_current_device_id(request),
            origin=Origin.from_request(request),
        )
        return Response(UserSerializer(user, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="me_deletion_cancel",
        tags=["me"],
        summary="Cancel the scheduled deletion",
        request=None,
        responses={200: UserSerializer, **error_responses(*AUTH_ERRORS)},
    )
    def delete(self, request: Request) -> Response:
        user = user_deletion_cancel(user=authenticated_user(request), origin=Origin.from_request(request))
        return Response(UserSerializer(user, context={"request": request}).data)

    def get_throttles(self):
        # Cancelling takes no code: only scheduling draws on the code budget.
        return super().get_throttles() if self.request.method == "POST" else []


class ExportApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_export",
        tags=["me"],
        summary="Download my data",
        description="A JSON attachment with `user`, `devices`, `security_events`, `consents`, `wallet`, "
        "`transactions`, `top_ups`, `sms_messages`; never a password hash, a code or a token. "
        "Throttled per user (THROTTLE_DATA_EXPORT, default 5/h).",
        responses={
            (200, "application/json"): OpenApiResponse(description="The JSON document, as an attachment."),
            **error_responses(RateLimited, *AUTH_ERRORS),
        },
    )
    def get(self, request: Request) -> HttpResponse:
        export = user_data_export(user=authenticated_user(request), origin=Origin.from_request(request))
        return export_response(export)


def export_response(export: DataExport) -> HttpResponse:
    """The export as a download (the API and the account page answer the same file)."""
    # The bytes are the document: sent as they are, not through a renderer.
    response = HttpResponse(export.content, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"
    return response
