"""``POST /api/v1/sms/codes/`` and ``POST /api/v1/sms/codes/verify/`` (API.md, "SMS codes")."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import client_ip
from config.ratelimit import ScopedRateThrottle
from smscodes.models import Purpose
from smscodes.services import code_normalize, sms_code_send, sms_code_verify

_ERROR = inline_serializer(
    "SmsError",
    fields={
        "code": serializers.CharField(),
        "message": serializers.CharField(),
        "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
        "retry_after": serializers.IntegerField(required=False),
    },
)


class _PhonePurposeInput(serializers.Serializer):
    phone = serializers.CharField(max_length=32, help_text="Mobile number in any common format, e.g. 13800138000.")
    purpose = serializers.ChoiceField(choices=Purpose.choices)


def _validate_code(value: str) -> str:
    value = code_normalize(value)
    # Test numbers may have a fixed code of another length; the service checks that case.
    if not (value.isascii() and value.isdigit() and 4 <= len(value) <= 8):
        raise serializers.ValidationError(_("Enter the code from the text message (digits only)."))
    return value


# Named at module level so the OpenAPI components get unique names (SmsCodeSendInput…).
class SmsCodeSendInputSerializer(_PhonePurposeInput):
    pass


class SmsCodeSendOutputSerializer(serializers.Serializer):
    phone = serializers.CharField(help_text="E.164")
    purpose = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds the code stays valid.")
    resend_in = serializers.IntegerField(help_text="Seconds before another code may be requested.")


class SmsCodeVerifyInputSerializer(_PhonePurposeInput):
    # The exact length (SMS_CODE_LENGTH, or a test number's own) is checked by the service.
    code = serializers.CharField(max_length=8, validators=[_validate_code])


class SmsCodeVerifyOutputSerializer(serializers.Serializer):
    verification_token = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds the token stays valid.")


class SmsCodeSendApi(APIView):
    """Send a verification code by SMS. The code is never in the response."""

    authentication_classes: list = []  # anonymous by design: the account flows need it before login
    permission_classes = [AllowAny]
    # Per IP, on top of the SMS limits: those count codes sent, this also
    # counts answers such as phone_taken that would let a script map which
    # numbers have accounts.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "sms_send"

    InputSerializer = SmsCodeSendInputSerializer
    OutputSerializer = SmsCodeSendOutputSerializer

    @extend_schema(
        operation_id="sms_code_send",
        tags=["sms"],
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(_ERROR, description="validation_error, invalid_phone, phone_region_not_allowed"),
            404: OpenApiResponse(_ERROR, description="phone_not_registered (login, reset_password)"),
            409: OpenApiResponse(_ERROR, description="phone_taken (register, change_phone)"),
            429: OpenApiResponse(_ERROR, description="sms_cooldown, sms_limit_exceeded (with retry_after)"),
            502: OpenApiResponse(_ERROR, description="sms_send_failed (nothing counted against the limits)"),
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sent = sms_code_send(client_ip=client_ip(request), **data.validated_data)
        return Response(self.OutputSerializer(sent).data)


class SmsCodeVerifyApi(APIView):
    """Check and consume a code; the answer's token stands in for the code once, within 10 minutes."""

    authentication_classes: list = []
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
            400: OpenApiResponse(
                _ERROR, description="validation_error, invalid_phone, code_invalid, code_attempts_exceeded"
            ),
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verification = sms_code_verify(**data.validated_data)
        return Response(self.OutputSerializer(verification).data)
