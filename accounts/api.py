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
from django.urls import reverse
from django.utils.translation import get_language
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
    ConsentRequired,
    FileTooLarge,
    InvalidCredentials,
    PasswordIncorrect,
    PhoneNotRegistered,
    PhoneTaken,
    UnsupportedImage,
    UsernameTaken,
)
from accounts.models import Device, User
from accounts.recent_auth import auth_time_after_password_change, request_authenticated_at
from accounts.selectors import devices_live, legal_documents_current
from accounts.serializers import (
    CodeSessionSerializer,
    ConsentInputSerializer,
    DeviceListSerializer,
    DeviceSerializer,
    LegalDocumentListSerializer,
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
from accounts.services.devices import device_end_by_owner, device_sign_in, tokens_refresh
from accounts.sessions import session_device_id
from accounts.tokens import DEVICE_CLAIM, token_verify, tokens_issue
from accounts.upload import check_upload, limit_upload
from config.errors import InvalidInput, NotAuthenticated, NotFound, RateLimited, TokenInvalid
from config.openapi import error_responses
from config.origin import Origin
from config.serializers import input_validate
from smscodes.budget import CodeBudgetThrottle
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
    request: Request,
    user: User,
    *,
    auth_time: float | None = None,
    status_code: int = status.HTTP_200_OK,
    extra: dict[str, Any] | None = None,
    device: Device | None = None,
) -> Response:
    # Every token pair is a new signed-in device (one INSERT, unless the login flow wrote it); refreshing keeps it.
    if device is None:
        device = device_sign_in(user=user, kind=Device.Kind.APP, origin=Origin.from_request(request))
    body = {
        "user": UserSerializer(user, context={"request": request}).data,
        "tokens": tokens_issue(user, device_id=device.pk, auth_time=auth_time),
        **(extra or {}),
    }
    return Response(body, status=status_code)


def _current_device_id(request: Request) -> str | None:
    """The signed-in device making this call: the access token's ``sid``, or the browser session's."""
    token: Any = request.auth
    if token is not None:
        device_id = token.get(DEVICE_CLAIM)
        return str(device_id) if device_id is not None else None
    return session_device_id(request._request)


def _timestamp(when: datetime.datetime | None) -> float:
    # No known authentication time: as old as can be, never "just now".
    return when.timestamp() if when is not None else 0.0


class _AnonymousApi(APIView):
    # No session authentication, hence no CSRF check: these are called
    # before anyone is logged in, by apps that hold no cookie.
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


class RegisterApi(_AnonymousApi):
    throttle_classes = [CodeBudgetThrottle]  # takes a code: the budget of every code door

    @extend_schema(
        operation_id="auth_register",
        tags=["auth"],
        summary="Sign up",
        description="Phone + SMS code (or verification token); password, username, nickname, gender optional. "
        "With ACCOUNTS_PHONE_REQUIRED off, username + password alone. Any `role` sent is ignored. "
        "`consent` must list the current legal documents (GET /api/v1/legal/).",
        request=RegisterInputSerializer,
        responses={
            201: SessionSerializer,
            **error_responses(InvalidInput, ConsentRequired, *CODE_ERRORS, PhoneTaken, UsernameTaken, RateLimited),
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
                notes={
                    "invalid_credentials": "never says which part was wrong",
                    "rate_limited": "per client IP, or the server's password-hashing bound is full (Retry-After: 1)",
                },
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = input_validate(LoginInputSerializer, request.data)  # the hot path: fields built once per class
        result = services.user_login_password_device(**data, kind=Device.Kind.APP, origin=Origin.from_request(request))
        return _session(request, result.user, auth_time=time.time(), device=result.device)


class LoginCodeApi(_AnonymousApi):
    throttle_classes = [CodeBudgetThrottle]  # takes a code: the budget of every code door

    @extend_schema(
        operation_id="auth_login_code",
        tags=["auth"],
        summary="Log in (or sign up) with an SMS code",
        description="One step: a registered number signs in (200, `created: false`); an unknown one gets a "
        "phone-only account (201, `created: true`) when ACCOUNTS_CODE_LOGIN_SIGNS_UP is on, which needs `consent` "
        "(`consent_required` after the code was checked, and the right code is kept for the retry).",
        request=LoginCodeInputSerializer,
        responses={
            200: CodeSessionSerializer,
            201: CodeSessionSerializer,
            **error_responses(
                InvalidInput,
                ConsentRequired,
                *CODE_ERRORS,
                AccountDisabled,
                PhoneNotRegistered,
                RateLimited,
                notes={"phone_not_registered": "only with ACCOUNTS_CODE_LOGIN_SIGNS_UP off"},
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = LoginCodeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.user_login_code(**data.validated_data, origin=Origin.from_request(request))
        return _session(
            request,
            result.user,
            auth_time=time.time(),
            status_code=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
            extra={"created": result.created},
        )


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
        return Response(tokens_refresh(refresh=data.validated_data["refresh"], origin=Origin.from_request(request)))


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
            device_id=_current_device_id(request),
            all_devices=data.validated_data["all_devices"],
            origin=Origin.from_request(request),
        )
        if token is None:  # authenticated by the browser session: end it too
            django_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetApi(_AnonymousApi):
    throttle_classes = [CodeBudgetThrottle]  # takes a code: the budget of every code door

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
                RateLimited,
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


def me_data(request: Any, user: User) -> Any:
    """``GET /api/v1/me/``'s body (both the DRF view and its fast path, ``config.fast_reads``)."""
    return UserSerializer(user, context={"request": request}).data


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_retrieve", tags=["me"], responses={200: UserSerializer, **error_responses(*AUTH_ERRORS)}
    )
    def get(self, request: Request) -> Response:
        return Response(me_data(request, authenticated_user(request)))

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
    throttle_classes = [CodeBudgetThrottle]  # per client IP, signed in or not

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
            **error_responses(
                InvalidInput, *CODE_ERRORS, PasswordIncorrect, PhoneTaken, AccountLocked, RateLimited, *AUTH_ERRORS
            ),
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

    # Per IP, on top of the SMS limits: those count codes sent, this counts
    # answers such as phone_taken that would let a script map which numbers
    # have accounts (shared with every door that takes a code).
    throttle_classes = [CodeBudgetThrottle]

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


# --- Signed-in devices (docs/API.md, "Signed-in devices") ----------------------------------


class DevicesApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_devices_list",
        tags=["me"],
        summary="Signed-in devices",
        description="Every live sign-in (token pair or browser session), newest first; `current` marks this one.",
        responses={200: DeviceListSerializer, **error_responses(*AUTH_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        devices = devices_live(user=authenticated_user(request))
        context = {"request": request, "current": _current_device_id(request)}
        return Response({"results": DeviceSerializer(devices, many=True, context=context).data})


class DeviceApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_device_end",
        tags=["me"],
        summary="Sign a device out",
        description="Its access and refresh tokens are refused at once (401 token_invalid); "
        "a browser session ends. Another user's device: 404 not_found.",
        responses={204: None, **error_responses(NotFound, *AUTH_ERRORS)},
    )
    def delete(self, request: Request, device_id: str) -> Response:
        device_end_by_owner(user=authenticated_user(request), device_id=device_id, origin=Origin.from_request(request))
        if device_id == _current_device_id(request) and request.auth is None:
            django_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Consent (docs/API.md, "Consent") ------------------------------------------------------------


class LegalDocumentsApi(_AnonymousApi):
    @extend_schema(
        operation_id="legal_documents",
        tags=["legal"],
        summary="The current legal documents",
        description="The current version of the user agreement and the privacy policy; "
        'sign-up sends `consent: ["terms:<version>", "privacy:<version>"]`.',
        responses={200: LegalDocumentListSerializer},
    )
    def get(self, request: Request) -> Response:
        language = get_language()
        documents = [
            {
                "kind": doc.kind,
                "version": doc.version,
                "title": doc.title_for(language),
                "url": request.build_absolute_uri(reverse("accounts:legal", kwargs={"kind": doc.kind})),
                "published_at": doc.published_at,
            }
            for doc in legal_documents_current()
        ]
        return Response(LegalDocumentListSerializer({"documents": documents}).data)


class MeConsentsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_consents_give",
        tags=["me"],
        summary="Agree to the current legal documents",
        description='`consent` lists the documents of `consent_required` (`"<kind>:<version>"`); '
        "each acceptance is recorded with the time, IP and user agent.",
        request=ConsentInputSerializer,
        responses={200: UserSerializer, **error_responses(InvalidInput, ConsentRequired, *AUTH_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        data = ConsentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_consent_give(
            user=authenticated_user(request),
            consent=data.validated_data["consent"],
            origin=Origin.from_request(request),
        )
        return Response(UserSerializer(user, context={"request": request}).data)
