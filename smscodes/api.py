"""``POST /api/v1/sms/codes/verify/`` (docs/API.md, "SMS codes").

The send endpoint, ``POST /api/v1/sms/codes/``, is the accounts app's
(``accounts.api.SmsCodeSendApi``): which numbers may get a code for which
purpose is an account rule.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import InvalidInput, RateLimited
from config.openapi import error_responses
from config.origin import Origin
from config.ratelimit import ScopedRateThrottle
from smscodes.errors import CodeAttemptsExceeded, CodeInvalid, InvalidPhone, PhoneRegionNotAllowed
from smscodes.models import Purpose
from smscodes.services import code_normalize, sms_code_verify


class PhonePurposeInput(serializers.Serializer):
    phone = serializers.CharField(max_length=32, help_text="Mobile number in any common format, e.g. 13800138000.")
    purpose = serializers.ChoiceField(choices=Purpose.choices)


def _validate_code(value: str) -> None:
    # DRF ignores a validator's return value: the service normalises the code itself.
    value = code_normalize(value)
    # Test numbers may have a fixed code of another length; the service checks that case.
    if not (value.isascii() and value.isdigit() and 4 <= len(value) <= 8):
        raise serializers.ValidationError(_("Enter the code from the text message (digits only)."))


class SmsCodeVerifyInputSerializer(PhonePurposeInput):
    # The exact length (SMS_CODE_LENGTH, or a test number's own) is checked by the service.
    code = serializers.CharField(max_length=8, validators=[_validate_code])


class SmsCodeVerifyOutputSerializer(serializers.Serializer):
    verification_token = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds the token stays valid.")


class SmsCodeVerifyApi(APIView):
    """Check and consume a code; the answer's token stands in for the code once, within 10 minutes."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "sms_verify"  # attempts are limited per code; this limits guessing across numbers

    InputSerializer = SmsCodeVerifyInputSerializer
    OutputSerializer = SmsCodeVerifyOutputSerializer

    @extend_schema(
        operation_id="sms_code_verify",
        tags=["sms"],
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(
                InvalidInput, InvalidPhone, PhoneRegionNotAllowed, CodeInvalid, CodeAttemptsExceeded, RateLimited
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verification = sms_code_verify(**data.validated_data, origin=Origin.from_request(request))
        return Response(self.OutputSerializer(verification).data)
