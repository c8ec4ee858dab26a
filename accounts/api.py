"""API views of docs/API.md's "Auth", "The current user" and the send-code endpoint.

Thin: parse with an input serializer, call one service, render. Every call
that logs someone in answers a Session ``{"user": User, "tokens": Tokens}``.
The caller (``Origin``) and when they last authenticated
(``accounts.recent_auth``) are read from the request here and handed to the
services, which decide.
"""

import datetime
import time
from typing import Any

from django.contrib.auth import logout as django_logout
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.authentication import authenticated_user
from accounts.errors import (
    AccountDisabled,
    AccountLocked,
    FileTooLarge,
    InvalidCredentials,
    PasswordIncorrect,
    PhoneNotRegistered,
    PhoneTaken,
    UnsupportedImage,
    UsernameTaken,
)
from accounts.models import User
from accounts.recent_auth import auth_time_after_password_change, request_authenticated_at
from accounts.serializers import (
    LoginCodeInputSerializer,
    LoginInputSerializer,
    LogoutInputSerializer,
    MeUpdateInputSerializer,
    PasswordChangeInputSerializer,
    PasswordResetInputSerializer,
    PhoneChangeInputSerializer,
    RegisterInputSerializer,
    SessionSerializer,
    SmsCodeSendInputSerializer,
    SmsCodeSendOutputSerializer,
    TokenRefreshInputSerializer,
    TokensSerializer,
    TokenVerifyInputSerializer,
    TokenVerifyOutputSerializer,
    UserSerializer,
)
from accounts.services.avatar import avatar_remove, avatar_set
from accounts.tokens import token_refresh, token_verify, tokens_issue
from accounts.upload import check_upload, limit_upload
from config.errors import InvalidInput, NotAuthenticated, RateLimited, TokenInvalid
from config.openapi import error_responses
from config.origin import Origin
from config.ratelimit import IPRateThrottle
from smscodes.errors import (
    CodeAttemptsExceeded,
    CodeInvalid,
    InvalidPhone,
    PhoneRegionNotAllowed,
    SmsCooldown,
    SmsLimitExceeded,
    SmsSendFailed,
    VerificationTokenInvalid,
)

# What every endpoint that takes a code or a verification token may answer.
CODE_ERRORS = (CodeInvalid, CodeAttemptsExceeded, VerificationTokenInvalid, InvalidPhone, PhoneRegionNotAllowed)
AUTH_ERRORS = (NotAuthenticated, TokenInvalid, AccountDisabled)


def _session(
    request: Request, user: User, *, auth_time: float | None = None, status_code: int = status.HTTP_200_OK
) -> Response:
    body = {
        "user": UserSerializer(user, context={"request": request}).data,
        "tokens": tokens_issue(user, auth_time=auth_time),
    }
    return Response(body, status=status_code)


def _timestamp(when: datetime.datetime | None) -> float:
    # No known authentication time: as old as can be, never "just now".
    return when.timestamp() if when is not None else 0.0


class _AnonymousApi(APIView):
    # No session authentication, hence no CSRF check: these are called
    # before anyone is logged in, by apps that hold no cookie.
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


class RegisterApi(_AnonymousApi):
    @extend_schema(
        operation_id="auth_register",
        tags=["auth"],
        summary="Sign up",
        description="Phone + SMS code (or verification token); password, username, nickname, gender optional. "
        "With ACCOUNTS_PHONE_REQUIRED off, username + password alone. Any `role` sent is ignored.",
        request=RegisterInputSerializer,
        responses={
            201: SessionSerializer,
            **error_responses(InvalidInput, *CODE_ERRORS, PhoneTaken, UsernameTaken),
        },
    )
    def post(self, request: Request) -> Response:
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data, origin=Origin.from_request(request))
        return _session(request, user, auth_time=time.time(), status_code=status.HTTP_201_CREATED)


class LoginApi(_AnonymousApi):
    @extend_schema(
        operation_id="auth_login",
        tags=["auth"],
        summary="Log in with a password",
        description="`login` is a phone number in any format or a username.",
        request=LoginInputSerializer,
        responses={
            200: SessionSerializer,
            **error_responses(
                InvalidInput,
                InvalidCredentials,
                AccountDisabled,
                AccountLocked,
                RateLimited,
                notes={"invalid_credentials": "never says which part was wrong", "rate_limited": "per client IP"},
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_login_password(**data.validated_data, origin=Origin.from_request(request))
        return _session(request, user, auth_time=time.time())


class LoginCodeApi(_AnonymousApi):
    @extend_schema(
        operation_id="auth_login_code",
        tags=["auth"],
        summary="Log in with an SMS code",
        request=LoginCodeInputSerializer,
        responses={
            200: SessionSerializer,
            **error_responses(InvalidInput, *CODE_ERRORS, AccountDisabled, PhoneNotRegistered),
        },
    )
    def post(self, request: Request) -> Response:
        data = LoginCodeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_login_code(**data.validated_data, origin=Origin.from_request(request))
        return _session(request, user, auth_time=time.time())


class TokenRefreshApi(_AnonymousApi):
    @extend_schema(
        operation_id="auth_token_refresh",
        tags=["auth"],
        summary="Rotate a refresh token",
        description="New Tokens; the refresh token sent is blacklisted and refused from now on.",
        request=TokenRefreshInputSerializer,
        responses={200: TokensSerializer, **error_responses(InvalidInput, *AUTH_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        data = TokenRefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(token_refresh(refresh=data.validated_data["refresh"]))


class TokenVerifyApi(_AnonymousApi):
    @extend_schema(
        operation_id="auth_token_verify",
        tags=["auth"],
        summary="Check an access or refresh token",
        description="Valid means: signature and expiry good, not revoked, user active.",
        request=TokenVerifyInputSerializer,
        responses={
            200: TokenVerifyOutputSerializer,
            **error_responses(InvalidInput, TokenInvalid),
        },
    )
    def post(self, request: Request) -> Response:
        data = TokenVerifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = token_verify(token=data.validated_data["token"])
        return Response(TokenVerifyOutputSerializer(result).data)


class LogoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout",
        tags=["auth"],
        summary="Log out",
        description="The access token used for this call and the refresh token sent are refused from now on; "
        "with `all_devices: true`, every token and browser session of the user.",
        request=LogoutInputSerializer,
        responses={204: None, **error_responses(InvalidInput, *AUTH_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        data = LogoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token: Any = request.auth  # an AccessToken from JWTAuthentication, or None (session)
        services.user_logout(
            user=authenticated_user(request),
            refresh=data.validated_data.get("refresh") or None,
            access_jti=token.get("jti") if token is not None else None,
            access_exp=token.get("exp") if token is not None else None,
            all_devices=data.validated_data["all_devices"],
            origin=Origin.from_request(request),
        )
        if token is None:  # authenticated by the browser session: end it too
            django_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetApi(_AnonymousApi):
    @extend_schema(
        operation_id="auth_password_reset",
        tags=["auth"],
        summary="Reset the password with an SMS code",
        description="Every token issued before the reset is refused afterwards.",
        request=PasswordResetInputSerializer,
        responses={
            200: SessionSerializer,
            **error_responses(
                InvalidInput,
                *CODE_ERRORS,
                AccountDisabled,
                PhoneNotRegistered,
                notes={"validation_error": "weak new_password"},
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = PasswordResetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_password_reset(**data.validated_data, origin=Origin.from_request(request))
        return _session(request, user, auth_time=time.time())


class PasswordChangeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_password_change",
        tags=["auth"],
        summary="Change the password",
        description="`old_password` is required when the account has a usable password. "
        "Every other token of the user is refused afterwards; use the returned ones.",
        request=PasswordChangeInputSerializer,
        responses={
            200: SessionSerializer,
            **error_responses(
                InvalidInput,
                PasswordIncorrect,
                AccountLocked,
                *AUTH_ERRORS,
                notes={"validation_error": "old_password missing, new_password weak"},
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        had_password = authenticated_user(request).has_usable_password()
        authenticated_at = auth_time_after_password_change(
            proved_old_password=had_password, previous=request_authenticated_at(request)
        )
        user = services.user_password_change(
            user=authenticated_user(request),
            new_password=data.validated_data["new_password"],
            old_password=data.validated_data.get("old_password") or None,
            origin=Origin.from_request(request),
        )
        return _session(request, user, auth_time=_timestamp(authenticated_at))


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_retrieve", tags=["me"], responses={200: UserSerializer, **error_responses(*AUTH_ERRORS)}
    )
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user, context={"request": request}).data)

    @extend_schema(
        operation_id="me_update",
        tags=["me"],
        summary="Edit the profile",
        description="Any of username, nickname, gender, email, job, company. "
        "Sending role, phone, id or has_password is a validation_error naming the field.",
        request=MeUpdateInputSerializer,
        responses={
            200: UserSerializer,
            **error_responses(InvalidInput, UsernameTaken, *AUTH_ERRORS),
        },
    )
    def patch(self, request: Request) -> Response:
        data = MeUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        # Other fields of the User object are passed on as sent: the service refuses them by name.
        sent: Any = request.data
        others = {name: sent[name] for name in UserSerializer.Meta.fields if name in sent}
        changes = {**others, **data.validated_data}
        user = services.user_profile_update(user=authenticated_user(request), data=changes)
        return Response(UserSerializer(user, context={"request": request}).data)


class MePhoneApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_phone_change",
        tags=["me"],
        summary="Change the phone number",
        description="Code sent to the new number with purpose change_phone. Allowed within "
        "ACCOUNTS_RECENT_LOGIN_SECONDS of a login, or with the current `password` "
        "(otherwise a validation_error on `password`).",
        request=PhoneChangeInputSerializer,
        responses={
            200: UserSerializer,
            **error_responses(InvalidInput, *CODE_ERRORS, PasswordIncorrect, PhoneTaken, AccountLocked, *AUTH_ERRORS),
        },
    )
    def post(self, request: Request) -> Response:
        data = PhoneChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_phone_change(
            user=authenticated_user(request),
            **data.validated_data,
            authenticated_at=request_authenticated_at(request),
            origin=Origin.from_request(request),
        )
        return Response(UserSerializer(user, context={"request": request}).data)


class SmsCodeSendApi(_AnonymousApi):
    """Send a verification code by SMS. The code is never in the response."""

    # Per IP, on top of the SMS limits: those count codes sent, this also
    # counts answers such as phone_taken that would let a script map which
    # numbers have accounts.
    throttle_classes = [IPRateThrottle]
    throttle_scope = "sms_send"

    @extend_schema(
        operation_id="sms_code_send",
        tags=["sms"],
        request=SmsCodeSendInputSerializer,
        responses={
            200: SmsCodeSendOutputSerializer,
            **error_responses(
                InvalidInput,
                InvalidPhone,
                PhoneRegionNotAllowed,
                PhoneNotRegistered,
                PhoneTaken,
                SmsCooldown,
                SmsLimitExceeded,
                RateLimited,
                SmsSendFailed,
                notes={
                    "phone_not_registered": "login, reset_password",
                    "phone_taken": "register, change_phone",
                    "sms_send_failed": "nothing counted against the limits",
                },
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = SmsCodeSendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sent = services.phone_code_send(**data.validated_data, origin=Origin.from_request(request))
        return Response(SmsCodeSendOutputSerializer(sent).data)


# --- Avatar (docs/API.md, "The current user") -------------------------------------------


class AvatarApi(APIView):
    """``PUT/DELETE /api/v1/me/avatar/``: size gates from ``accounts.upload``, then one avatar service."""

    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        avatar = serializers.FileField(allow_empty_file=False, use_url=False)

    @extend_schema(
        operation_id="me_avatar_set",
        summary="Set the avatar",
        tags=["me"],
        request={"multipart/form-data": InputSerializer},
        responses={
            200: UserSerializer,
            **error_responses(
                InvalidInput,
                FileTooLarge,
                UnsupportedImage,
                RateLimited,
                *AUTH_ERRORS,
                notes={
                    "validation_error": "corrupt image, too many pixels, too small",
                    "file_too_large": "larger than AVATAR_MAX_BYTES",
                    "unsupported_media_type": "not JPEG, PNG, WebP or GIF content",
                    "rate_limited": "too many uploads (THROTTLE_AVATAR_UPLOAD, default 10/m)",
                },
            ),
        },
    )
    def put(self, request: Request) -> Response:
        # Before request.data: the body must not be read when it is too big.
        handler = limit_upload(request._request)
        serializer = self.InputSerializer(data=request.data)
        check_upload(handler)
        serializer.is_valid(raise_exception=True)
        user = avatar_set(user=authenticated_user(request), file=serializer.validated_data["avatar"])
        return Response(UserSerializer(user, context={"request": request}).data)

    # Only an upload costs CPU: removing an avatar is never refused.
    @extend_schema(
        operation_id="me_avatar_remove",
        summary="Remove the avatar",
        tags=["me"],
        responses={204: None, **error_responses(*AUTH_ERRORS)},
    )
    def delete(self, request: Request) -> Response:
        avatar_remove(user=authenticated_user(request))
        return Response(status=204)
