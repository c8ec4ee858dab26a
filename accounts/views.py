"""Account pages: thin views over the same services as the API.

Each view parses a form, calls one service and renders. A ``ServiceError`` is
shown next to the field it concerns (``form_add_service_error``); success is a
Django message and a redirect. Forms with a phone number carry the send-code
control: without JavaScript its button submits the form with
``send_code``, and the view sends the code and re-renders the same form with
what was typed and the countdown.
"""

from typing import Any

import phonenumbers
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django.views.static import serve

from accounts import conf, services
from accounts.authentication import authenticated_user
from accounts.errors import ConsentRequired
from accounts.forms import (
    ConsentForm,
    LoginCodeForm,
    LoginPasswordForm,
    PasswordChangeForm,
    PasswordResetForm,
    PhoneChangeForm,
    ProfileForm,
    SignupForm,
)
from accounts.models import LegalDocument, User
from accounts.recent_auth import auth_time_after_password_change, request_authenticated_at
from accounts.selectors import (
    LEGAL_KINDS,
    consent_outstanding,
    devices_live,
    legal_document_get,
    legal_documents_current,
)
from accounts.services.avatar import avatar_remove, avatar_set
from accounts.services.common import password_validate_new, username_clean
from accounts.services.consent import consent_check
from accounts.sessions import AVATAR_ERROR_SESSION_KEY, session_device_id, session_login
from accounts.upload import LimitedUploadHandler, check_upload, limit_upload
from config.errors import InvalidInput, RateLimited, ServiceError
from config.forms import error_message_with_wait, form_add_service_error
from config.origin import Origin
from config.phone_display import phone_display
from smscodes.budget import code_budget_spend
from smscodes.errors import SmsCooldown, SmsLimitExceeded
from smscodes.models import Purpose
from smscodes.services import sms_code_verify, sms_resend_in
from smscodes.validators import sms_phone_validate

# Never let a code or a password reach an error report.
_sensitive = sensitive_post_parameters("password", "new_password", "old_password", "code")


def _next_url(request: HttpRequest) -> str:
    """``?next=`` (or the form's hidden ``next``) when it stays on this site, else ""."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if allowed else ""


def _redirect_after_login(request: HttpRequest) -> HttpResponse:
    # HttpResponseRedirect, not redirect(): that would take ?next=home for a URL pattern name.
    return HttpResponseRedirect(_next_url(request) or resolve_url(settings.LOGIN_REDIRECT_URL))


def send_code_from_form(request: HttpRequest, *, phone: str, purpose: str) -> tuple[bool, str, int]:
    """The send-code button of a page: ``phone_code_send``; returns (ok, message to show, seconds before a resend).

    Never raises a domain error: its message is returned for the form instead.
    """
    try:
        sent = services.phone_code_send(phone=phone or "", purpose=purpose, origin=Origin.from_request(request))
    except SmsCooldown as exc:
        seconds = int(exc.retry_after or 0)
        message = ngettext(
            "Please wait %(seconds)d second before asking for another code.",
            "Please wait %(seconds)d seconds before asking for another code.",
            seconds,
        ) % {"seconds": seconds}
        return False, message, seconds
    except SmsLimitExceeded as exc:
        minutes = max(1, -(-int(exc.retry_after or 60) // 60))  # rounded up
        message = ngettext(
            "Too many codes were requested. Please try again in %(minutes)d minute.",
            "Too many codes were requested. Please try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
        return False, message, 0
    except ServiceError as exc:
        message = str(exc.message)
        if exc.fields:  # a field error says more than the general message
            message = "; ".join(str(m) for msgs in exc.fields.values() for m in msgs) or message
        return False, message, 0
    if not sent.resend_in:
        return True, _("A code was sent to %(phone)s.") % {"phone": phone_display(sent.phone)}, 0
    # Without JavaScript the button stays enabled (the server enforces the
    # cooldown), so the page itself says how long to wait.
    message = ngettext(
        "A code was sent to %(phone)s. You can ask for another one in %(seconds)d second.",
        "A code was sent to %(phone)s. You can ask for another one in %(seconds)d seconds.",
        sent.resend_in,
    ) % {"phone": phone_display(sent.phone), "seconds": sent.resend_in}
    return True, message, sent.resend_in


def _posted(request: HttpRequest):
    """The POST, with the region picked next to the phone input applied to a number typed without ``+``.

    The picker is shown only when ``SMS_ALLOWED_REGIONS`` has several regions;
    a region outside them is ignored (the number is then read in the default region).
    """
    region = request.POST.get("phone_region", "")
    phone = request.POST.get("phone", "").strip()
    if region in settings.SMS_ALLOWED_REGIONS and phone and not phone.startswith(("+", "00")):
        data = request.POST.copy()
        data["phone"] = f"+{phonenumbers.country_code_for_region(region)} {phone}"
        return data
    return request.POST


def _code_form_post(
    request: HttpRequest, form_class: type[forms.Form], *, purpose: str, consent_gate: bool = False, **form_kwargs: Any
) -> tuple[forms.Form, dict[str, Any] | None]:
    """Bind a phone + code form to the POST, or handle its send-code button.

    Returns ``(form, send_code)``: ``send_code`` is None for a real submit
    (validate ``form``), or the send-code outcome ``{"ok", "message",
    "resend_in"}`` with an unbound ``form`` that keeps what was typed (so no
    "required" errors for the fields not filled in yet).

    Either way the post draws on the per-IP budget of every door that sends or
    takes a code (``smscodes.budget``), like the API; once it is spent the
    form comes back with the error and nothing is sent or checked.
    With ``consent_gate`` the send-code button needs the agreement ticked: the
    script disables it until then, and without the script this refuses.
    """
    try:
        code_budget_spend(origin=Origin.from_request(request))
    except RateLimited as exc:
        refused = error_message_with_wait(exc)
    else:
        refused = ""
    posted = _posted(request)
    if "send_code" not in posted:
        form = form_class(posted, **form_kwargs)
        if request.POST.get("verification_token"):
            # The code was right on an earlier submit (see _verify_code): not asked for again.
            form.fields["code"].required = False
        if refused:
            form.add_error(None, refused)  # is_valid() is now False: the view shows the form again
        return form, None
    if refused:
        ok, message, resend_in = False, refused, 0
    elif consent_gate and not posted.get("consent"):
        ok, message, resend_in = False, str(ConsentRequired.default_message), 0
    else:
        ok, message, resend_in = send_code_from_form(request, phone=posted.get("phone", ""), purpose=purpose)
    kept = {
        name: value
        for name, value in request.POST.items()
        if name not in ("csrfmiddlewaretoken", "send_code", "verification_token")
    }
    return form_class(initial=kept, **form_kwargs), {"ok": ok, "message": message, "resend_in": resend_in}


def _add_errors(form, check, *, fields: dict[str, str] | None = None) -> None:
    """Run one of the service's own checks and show its error on ``form`` instead of stopping."""
    try:
        check()
    except ServiceError as exc:
        form_add_service_error(form, exc, fields=fields)


def _check_all(form, *, secret_field: str | None = None, username: bool = False) -> None:
    """Every field's own rule in one pass, so a page shows every error at once.

    The form checks what is required; here the service's checks of the number,
    the new password and the username run too, whatever the others said (the
    service runs them again when it acts — they are its rules, not the page's).
    """
    data = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    phone = form.data.get("phone", "").strip()
    if phone and "phone" not in form.errors:
        _add_errors(form, lambda: sms_phone_validate(phone))
    if username and form.data.get("username") and "username" not in form.errors:
        _add_errors(form, lambda: username_clean(form.data.get("username")))
    if secret_field is None:
        return
    field = secret_field
    password = data.get(field)
    if password and field not in form.errors:
        candidate = User(username=data.get("username") or None, nickname=data.get("nickname") or "")
        _add_errors(
            form, lambda: password_validate_new(password, user=candidate, field=field), fields={"password": field}
        )


def _verify_code(request: HttpRequest, form, *, purpose: str) -> str:
    """The verification token of this submit: from an earlier one, or by checking the code now.

    Checking the code before the other fields are fixed is what lets one
    submit report a wrong code next to a weak password. A right code becomes
    a verification token (``sms_code_verify``) kept in the re-rendered form,
    so the person fixes the other fields without a new code. "" when there is
    no valid token (the error, if any, is on the code field).
    """
    token = request.POST.get("verification_token", "")
    if token:
        form.verification_token = token
        return token
    code = form.data.get("code", "").strip()
    phone = form.data.get("phone", "").strip()
    if not code or not phone or "phone" in form.errors or "code" in form.errors:
        return ""
    try:
        form.verification_token = sms_code_verify(
            phone=phone, purpose=purpose, code=code, origin=Origin.from_request(request)
        ).verification_token
    except ServiceError as exc:
        form_add_service_error(form, exc)
        return ""
    return form.verification_token


def _send_code_state(request: HttpRequest, send_code: dict | None, *, purpose: str) -> dict | None:
    """The send-code control after a submit that failed: the server's real remaining seconds.

    Without this the button said "send code" again while the server still
    refused for up to a minute. Without JavaScript the line under the number
    says how long; with it the button counts down.
    """
    if send_code is not None or request.method != "POST":
        return send_code
    seconds = sms_resend_in(phone=_posted(request).get("phone", ""), purpose=purpose)
    if not seconds:
        return None
    message = ngettext(
        "You can ask for another code in %(seconds)d second.",
        "You can ask for another code in %(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}
    return {"ok": True, "message": message, "resend_in": seconds}


def _focus_first_error(form) -> None:
    """``autofocus`` on the first invalid field: the browser scrolls to it, even without JavaScript."""
    if form is None or not form.is_bound:
        return
    for name, field in form.fields.items():
        if name in form.errors:
            field.widget.attrs["autofocus"] = True
            return


def _kept_token(form) -> str:
    """The token to carry in the re-rendered form: only while the number it proves is unchanged and valid."""
    token = getattr(form, "verification_token", "")
    return "" if "phone" in form.errors or "code" in form.errors else token


def _consent_context() -> dict[str, Any]:
    """The agreement checkbox of a form that may create an account (accounts/_consent.html).

    Its value names the versions shown, so a version published while the
    page was open is caught by the service (``consent_required``), not
    agreed to unseen. ``consent_gate``: the send-code button waits for it.
    """
    documents = legal_documents_current()
    return {
        "legal_documents": documents,
        "consent_value": " ".join(doc.label for doc in documents),
        "consent_gate": bool(documents) and conf.consent_required(),
    }


def _render(request, template: str, context: dict) -> HttpResponse:
    context.setdefault("next", _next_url(request))
    _focus_first_error(context.get("form"))
    return render(request, template, context)


# --- Sign up, log in, log out ----------------------------------------------------------


@_sensitive
@never_cache
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return _redirect_after_login(request)
    send_code = None
    if request.method == "POST":
        consent = _consent_context()
        form, send_code = _code_form_post(
            request, SignupForm, purpose=Purpose.REGISTER, consent_gate=consent["consent_gate"]
        )
        if send_code is None:
            form.is_valid()
            _check_all(form, secret_field="password", username=True)  # noqa: S106 - a field name
            _add_errors(form, lambda: consent_check(consent=form.data.get("consent")))
            token = _verify_code(request, form, purpose=Purpose.REGISTER)
        if send_code is None and not form.errors:
            data = form.cleaned_data
            try:
                user = services.user_register(
                    phone=data["phone"],
                    verification_token=token,
                    password=data["password"] or None,
                    username=data["username"] or None,
                    nickname=data["nickname"],
                    consent=data["consent"],
                    origin=Origin.from_request(request),
                )
            except ServiceError as exc:
                # A token of an earlier submit that no longer fits the number: ask for the code again.
                form_add_service_error(form, exc, fields={"verification_token": "code"})
            else:
                session_login(request, user)
                messages.success(request, _("Welcome! Your account has been created."))
                return _redirect_after_login(request)
    else:
        form = SignupForm()
    send_code = _send_code_state(request, send_code, purpose=Purpose.REGISTER)
    return _render(
        request,
        "accounts/signup.html",
        {"form": form, "send_code": send_code, "verification_token": _kept_token(form), **_consent_context()},
    )


def _login_method(request: HttpRequest) -> str:
    """Which login form: the one-step code form ("手机号快捷登录") unless the password one is asked for.

    A POST names its form (``method``); one without it (an older page, a
    script) is read by its fields.
    """
    if request.method == "POST":
        method = request.POST.get("method") or ("password" if "login" in request.POST else "code")
    else:
        method = request.GET.get("method") or "code"
    return "password" if method == "password" else "code"


@_sensitive
@never_cache
def login(request: HttpRequest) -> HttpResponse:
    """Log in: by SMS code in one step (signing a new number up, with the agreement), or by password."""
    if request.user.is_authenticated:
        return _redirect_after_login(request)
    method = _login_method(request)
    signs_up = conf.code_login_signs_up()
    consent = _consent_context() if signs_up else {"consent_gate": False}
    send_code = None
    if request.method == "POST":
        if method == "code":
            form, send_code = _code_form_post(
                request, LoginCodeForm, purpose=Purpose.LOGIN, consent_gate=consent["consent_gate"]
            )
            if send_code is None:
                form.is_valid()
                _check_all(form)
        else:
            form = LoginPasswordForm(request.POST)
        if send_code is None and form.is_valid() and not form.errors:
            data = form.cleaned_data
            created = False
            try:
                if method == "code":
                    result = services.user_login_code(
                        phone=data["phone"],
                        code=data["code"],
                        consent=data.get("consent") or None,
                        origin=Origin.from_request(request),
                    )
                    user, created = result.user, result.created
                else:
                    user = services.user_login_password(
                        login=data["login"], password=data["password"], origin=Origin.from_request(request)
                    )
            except ServiceError as exc:
                form_add_service_error(form, exc)
            else:
                session_login(request, user)
                if created:
                    messages.success(request, _("Welcome! Your account has been created."))
                return _redirect_after_login(request)
        if method == "code":
            send_code = _send_code_state(request, send_code, purpose=Purpose.LOGIN)
    else:
        form = LoginCodeForm() if method == "code" else LoginPasswordForm()
    # Both tabs' forms: the tab control switches between them without a reload.
    password_form = form if method == "password" else LoginPasswordForm()
    code_form = form if method == "code" else LoginCodeForm()
    return _render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "password_form": password_form,
            "code_form": code_form,
            "method": method,
            "send_code": send_code,
            "code_signs_up": signs_up,
            **consent,
        },
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.user_logout(
            user=authenticated_user(request), device_id=session_device_id(request), origin=Origin.from_request(request)
        )
        auth_logout(request)
        messages.success(request, _("You have logged out."))
    return HttpResponseRedirect(_next_url(request) or resolve_url(settings.LOGOUT_REDIRECT_URL))


@_sensitive
@never_cache
def password_reset(request: HttpRequest) -> HttpResponse:
    send_code = None
    if request.method == "POST":
        form, send_code = _code_form_post(request, PasswordResetForm, purpose=Purpose.RESET_PASSWORD)
        if send_code is None:
            form.is_valid()
            _check_all(form, secret_field="new_password")  # noqa: S106 - a field name
            token = _verify_code(request, form, purpose=Purpose.RESET_PASSWORD)
        if send_code is None and not form.errors:
            data = form.cleaned_data
            try:
                user = services.user_password_reset(
                    phone=data["phone"],
                    verification_token=token,
                    new_password=data["new_password"],
                    origin=Origin.from_request(request),
                )
            except ServiceError as exc:
                form_add_service_error(form, exc, fields={"password": "new_password", "verification_token": "code"})
            else:
                # Every older session and token is revoked; this browser starts afresh.
                session_login(request, user)
                messages.success(request, _("Your password has been reset and you are logged in."))
                return _redirect_after_login(request)
    else:
        form = PasswordResetForm()
    send_code = _send_code_state(request, send_code, purpose=Purpose.RESET_PASSWORD)
    return _render(
        request,
        "accounts/password_reset.html",
        {"form": form, "send_code": send_code, "verification_token": _kept_token(form)},
    )


# --- The account ---------------------------------------------------------------------------


@never_cache
@login_required
def account(request: HttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    initial = ProfileForm.initial_for(user)
    if request.method == "POST":
        form = ProfileForm(request.POST, initial=initial)
        form.is_valid()
        username = form.data.get("username", "").strip()
        if username and username != (user.username or "") and "username" not in form.errors:
            # The username's rule too, in the same pass as the form's own checks (every error at once).
            _add_errors(form, lambda: username_clean(username, user=user))
        if not form.errors:
            # Only what changed: an untouched empty username stays unset.
            data = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                if data:
                    services.user_profile_update(user=user, data=data)
            except ServiceError as exc:
                form_add_service_error(form, exc)
            else:
                messages.success(request, _("Your profile has been saved."))
                return redirect("accounts:account")
    else:
        form = ProfileForm(initial=initial)
    context = {
        "form": form,
        # The "登录设备" and "注销账号" sections (their forms post to accounts.views_lifecycle).
        "devices": devices_live(user=user),
        "current_device": session_device_id(request),
        "deletion_grace_days": conf.deletion_grace_days(),
    }
    return _render(request, "accounts/account.html", context)


@_sensitive
@never_cache
@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    had_password = user.has_usable_password()
    if request.method == "POST":
        authenticated_at = auth_time_after_password_change(
            proved_old_password=had_password, previous=request_authenticated_at(request)
        )
        form = PasswordChangeForm(request.POST, user=user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.user_password_change(
                    user=user,
                    old_password=data.get("old_password") or None,
                    new_password=data["new_password"],
                    origin=Origin.from_request(request),
                )
            except ServiceError as exc:
                form_add_service_error(
                    form, exc, fields={"invalid_credentials": "old_password", "password": "new_password"}
                )
            else:
                # The change ends every other session; this one continues (as fresh as the proof given).
                session_login(request, user, authenticated_at=authenticated_at)
                messages.success(
                    request, _("Your password has been changed.") if had_password else _("Your password has been set.")
                )
                return redirect("accounts:account")
    else:
        form = PasswordChangeForm(user=user)
    return _render(request, "accounts/password_change.html", {"form": form, "had_password": had_password})


@_sensitive
@never_cache
@login_required
def phone_change(request: HttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    send_code = None
    if request.method == "POST":
        form, send_code = _code_form_post(request, PhoneChangeForm, purpose=Purpose.CHANGE_PHONE, user=user)
        if send_code is None:
            form.is_valid()
            _check_all(form)
            token = _verify_code(request, form, purpose=Purpose.CHANGE_PHONE)
        if send_code is None and not form.errors:
            data = form.cleaned_data
            try:
                services.user_phone_change(
                    user=user,
                    phone=data["phone"],
                    verification_token=token,
                    password=data.get("password") or None,
                    authenticated_at=request_authenticated_at(request),
                    origin=Origin.from_request(request),
                )
            except ServiceError as exc:
                form_add_service_error(
                    form, exc, fields={"invalid_credentials": "password", "verification_token": "code"}
                )
            else:
                messages.success(request, _("Your phone number has been changed."))
                return redirect("accounts:account")
    else:
        form = PhoneChangeForm(user=user)
    send_code = _send_code_state(request, send_code, purpose=Purpose.CHANGE_PHONE)
    return _render(
        request,
        "accounts/phone_change.html",
        {"form": form, "send_code": send_code, "verification_token": _kept_token(form)},
    )


# --- Legal documents and consent ------------------------------------------------------------


def legal_document(request: HttpRequest, kind: str, version: int | None = None) -> HttpResponse:
    """``/legal/<kind>/`` (the current version) and ``/legal/<kind>/<version>/`` (any published one)."""
    if kind not in LEGAL_KINDS:
        raise Http404
    document = legal_document_get(kind=kind, version=version)
    if document is None:
        raise Http404
    current = document if version is None else legal_document_get(kind=kind)
    language = get_language()
    return render(
        request,
        "accounts/legal.html",
        {
            "document": document,
            "title": document.title_for(language),
            "text": document.text_for(language),
            "current": current,
            "is_current": current is not None and current.pk == document.pk,
        },
    )


@never_cache
@login_required
def consent(request: HttpRequest) -> HttpResponse:
    """Asks a signed-in person to agree to a new version before going on (``accounts.middleware.ConsentGate``)."""
    user = authenticated_user(request)
    outstanding = consent_outstanding(user=user)
    if not outstanding:
        return _redirect_after_login(request)
    documents: list[LegalDocument] = [doc for doc in legal_documents_current() if doc.label in outstanding]
    form = ConsentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_consent_give(
                user=user, consent=form.cleaned_data["consent"], origin=Origin.from_request(request)
            )
        except ServiceError as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, _("Thank you. You can go on."))
            return _redirect_after_login(request)
    language = get_language()
    return _render(
        request,
        "accounts/consent.html",
        {
            "form": form,
            "documents": [(doc, doc.title_for(language)) for doc in documents],
            "consent_value": " ".join(doc.label for doc in documents),
            "updated": bool(user.consents_accepted),
        },
    )


# --- Avatar (the form in /account/; the pipeline is accounts.avatar_pipeline) -------------------


def _back_to_account(request: HttpRequest, *, error: object = None) -> HttpResponse:
    """Every avatar post ends on /account/, a refusal with its error next to the avatar form.

    A redirect even when the upload is refused: a browser never refills a
    file input, so showing the form again elsewhere would keep nothing the
    person chose, while /account/ is where they started. The fragment scrolls
    a phone screen to the error.
    """
    if error is None:
        return redirect("accounts:account")
    request.session[AVATAR_ERROR_SESSION_KEY] = str(error)
    return redirect(reverse("accounts:account") + "#avatar")


@csrf_exempt  # the CSRF check runs in _avatar_upload, once the size-limiting handler is in place
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def avatar_upload(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":  # e.g. back from the login page after the session expired
        return _back_to_account(request)
    try:
        handler = limit_upload(request)
    except ServiceError as exc:  # declared too big: answered without reading the body
        return _back_to_account(request, error=exc.message)
    return _avatar_upload(request, handler)


@csrf_protect
def _avatar_upload(request: HttpRequest, handler: LimitedUploadHandler) -> HttpResponse:
    try:
        file = request.FILES.get("avatar")  # parsed through the handler
        check_upload(handler)
        if file is None:
            message = _("Choose an image to upload.")
            raise InvalidInput(message, fields={"avatar": [message]})
        avatar_set(user=authenticated_user(request), file=file)
    except ServiceError as exc:
        return _back_to_account(request, error=exc.message)
    messages.success(request, _("Your avatar has been updated."))
    return _back_to_account(request)


@never_cache
@login_required
@require_POST
def avatar_delete(request: HttpRequest) -> HttpResponse:
    avatar_remove(user=authenticated_user(request))
    messages.success(request, _("Your avatar has been removed."))
    return _back_to_account(request)


# --- Media in development ---------------------------------------------------------------

# What we store is WebP; the rest covers files stored by earlier versions.
_MEDIA_TYPES = {"webp": "image/webp", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


def media(request: HttpRequest, path: str) -> HttpResponseBase:
    """``MEDIA_URL`` with ``DJANGO_DEBUG`` on; production serves media elsewhere (README, "Avatars").

    The content type comes from our own table, never from a guess: an
    image type for images, anything else is a download. ``nosniff`` and a
    sandboxing CSP keep a browser from treating a file as a page.
    """
    if not settings.DEBUG:
        raise Http404
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    if response.status_code == 200:
        content_type = _MEDIA_TYPES.get(path.rsplit(".", 1)[-1].lower())
        if content_type:
            response["Content-Type"] = content_type
        else:
            response["Content-Type"] = "application/octet-stream"
            response["Content-Disposition"] = "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
