"""API views of API.md's "Auth" and "The current user" (avatar routes: accounts.avatar_urls).

Thin: parse with an input serializer, call one service, render. Every call
that logs someone in answers a Session ``{"user": User, "tokens": Tokens}``.
"""

import datetime
import time

from django.contrib.auth import logout as django_logout
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.serializers import (
    ErrorSerializer,
    LoginCodeInputSerializer,
    LoginInputSerializer,
    LogoutInputSerializer,
    MeUpdateInputSerializer,
    PasswordChangeInputSerializer,
    PasswordResetInputSerializer,
    PhoneChangeInputSerializer,
    RegisterInputSerializer,
    SessionSerializer,
    TokenRefreshInputSerializer,
    TokensSerializer,
    TokenVerifyInputSerializer,
    TokenVerifyOutputSerializer,
    UserSerializer,
)
from accounts.sessions import session_authenticated_at
from accounts.tokens import token_refresh, token_verify, tokens_issue
from config.http import client_ip


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


CODE_ERRORS = (
    "code_invalid, code_attempts_exceeded, verification_token_invalid, invalid_phone, phone_region_not_allowed"
)
AUTH_ERRORS = {
    401: _error("not_authenticated, token_invalid"),
    403: _error("account_disabled"),
}


def _caller(request) -> dict:
    return {"client_ip": client_ip(request), "user_agent": request.META.get("HTTP_USER_AGENT", "")}


def _session(request, user, *, auth_time: float | None = None, status_code: int = status.HTTP_200_OK) -> Response:
    body = {
        "user": UserSerializer(user, context={"request": request}).data,
        "tokens": tokens_issue(user, auth_time=auth_time),
    }
    return Response(body, status=status_code)


def _datetime(timestamp: float | None) -> datetime.datetime | None:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC) if timestamp is not None else None


def _auth_time(request) -> float | None:
    """When the caller last proved who they are: the JWT's claim, or the session's login."""
    token = request.auth
    if token is not None and hasattr(token, "get"):
        value = token.get("auth_time")
        return float(value) if value is not None else None
    when = session_authenticated_at(request._request)
    return when.timestamp() if when else None


class _AnonymousApi(APIView):
    # No session authentication, hence no CSRF check: these are called
    # before anyone is logged in, by apps that hold no cookie.
    authentication_classes: list = []
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
            400: _error(f"validation_error, {CODE_ERRORS}"),
            409: _error("phone_taken, username_taken"),
        },
    )
    def post(self, request):
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data, **_caller(request))
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
            400: _error("validation_error"),
            401: _error("invalid_credentials (never says which part was wrong)"),
            403: _error("account_disabled"),
            429: _error("account_locked (retry_after), rate_limited (per client IP)"),
        },
    )
    def post(self, request):
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_login_password(**data.validated_data, **_caller(request))
        return _session(request, user, auth_time=time.time())


class LoginCodeApi(_AnonymousApi):
    @extend_schema(
        operation_id="auth_login_code",
        tags=["auth"],
        summary="Log in with an SMS code",
        request=LoginCodeInputSerializer,
        responses={
            200: SessionSerializer,
            400: _error(f"validation_error, {CODE_ERRORS}"),
            403: _error("account_disabled"),
            404: _error("phone_not_registered"),
        },
    )
    def post(self, request):
        data = LoginCodeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_login_code(**data.validated_data, **_caller(request))
        return _session(request, user, auth_time=time.time())


class TokenRefreshApi(_AnonymousApi):
    @extend_schema(
        operation_id="auth_token_refresh",
        tags=["auth"],
        summary="Rotate a refresh token",
        description="New Tokens; the refresh token sent is blacklisted and refused from now on.",
        request=TokenRefreshInputSerializer,
        responses={200: TokensSerializer, 400: _error("validation_error"), **AUTH_ERRORS},
    )
    def post(self, request):
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
            400: _error("validation_error"),
            401: _error("token_invalid"),
        },
    )
    def post(self, request):
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
        responses={204: None, 400: _error("validation_error"), **AUTH_ERRORS},
    )
    def post(self, request):
        data = LogoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = request.auth
        services.user_logout(
            user=request.user,
            refresh=data.validated_data.get("refresh") or None,
            access_jti=token.get("jti") if token is not None else None,
            access_exp=token.get("exp") if token is not None else None,
            all_devices=data.validated_data["all_devices"],
            **_caller(request),
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
            400: _error(f"validation_error (weak new_password), {CODE_ERRORS}"),
            403: _error("account_disabled"),
            404: _error("phone_not_registered"),
        },
    )
    def post(self, request):
        data = PasswordResetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_password_reset(**data.validated_data, **_caller(request))
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
            400: _error("validation_error (old_password wrong or missing, new_password weak)"),
            429: _error("account_locked (too many wrong old passwords)"),
            **AUTH_ERRORS,
        },
    )
    def post(self, request):
        data = PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        had_password = request.user.has_usable_password()
        user = services.user_password_change(
            user=request.user,
            new_password=data.validated_data["new_password"],
            old_password=data.validated_data.get("old_password") or None,
            **_caller(request),
        )
        # Giving the old password is a fresh authentication; otherwise keep the old one.
        return _session(request, user, auth_time=time.time() if had_password else _auth_time(request))


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me_retrieve", tags=["me"], responses={200: UserSerializer, **AUTH_ERRORS})
    def get(self, request):
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
            400: _error("validation_error"),
            409: _error("username_taken"),
            **AUTH_ERRORS,
        },
    )
    def patch(self, request):
        data = MeUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_profile_update(user=request.user, data=dict(data.validated_data))
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
            400: _error(f"validation_error, {CODE_ERRORS}"),
            409: _error("phone_taken"),
            429: _error("account_locked (too many wrong passwords)"),
            **AUTH_ERRORS,
        },
    )
    def post(self, request):
        data = PhoneChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        auth_time = _auth_time(request)
        user = services.user_phone_change(
            user=request.user,
            **data.validated_data,
            authenticated_at=_datetime(auth_time),
            **_caller(request),
        )
        return Response(UserSerializer(user, context={"request": request}).data)
