"""Account pages of the lifecycle: signed-in devices, deletion (注销), the data download.

Thin, like ``accounts.views`` (whose helpers they reuse): parse, call one
service, then a message and a redirect back to /account/ — or the same form
again with the error next to its field.
"""

from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import conf
from accounts.api_deletion import export_response
from accounts.authentication import authenticated_user
from accounts.forms import DeletionForm
from accounts.services.deletion import user_deletion_cancel, user_deletion_schedule
from accounts.services.devices import device_end_by_owner
from accounts.services.export import user_data_export
from accounts.sessions import session_device_id
from accounts.views import _render, _sensitive, send_code_from_form
from config.errors import NotFound, RateLimited, ServiceError
from config.forms import error_message_with_wait, form_add_service_error
from config.origin import Origin
from smscodes.budget import code_budget_spend
from smscodes.models import Purpose


def _to_account(anchor: str) -> HttpResponse:
    return redirect(reverse("accounts:account") + f"#{anchor}")


def _when(value) -> str:
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


# --- Signed-in devices ---------------------------------------------------------------------


@never_cache
@login_required
@require_POST
def device_end(request: HttpRequest, device_id: str) -> HttpResponse:
    """Sign one of my devices out; this browser's own device logs this browser out."""
    current = device_id == session_device_id(request)
    try:
        device_end_by_owner(user=authenticated_user(request), device_id=device_id, origin=Origin.from_request(request))
    except NotFound:
        messages.error(request, _("That device is not signed in any more."))
        return _to_account("devices")
    if current:
        auth_logout(request)
        messages.success(request, _("You have logged out."))
        return redirect("home")
    messages.success(request, _("The device has been signed out."))
    return _to_account("devices")


# --- Deletion --------------------------------------------------------------------------------


@_sensitive
@never_cache
@login_required
def deletion(request: HttpRequest) -> HttpResponse:
    """/account/delete/: what deletion does, then the password or a code sent to the account's own number."""
    user = authenticated_user(request)
    if user.delete_after is not None:
        return _to_account("deletion")
    send_code = None
    wallet_not_empty = False
    form = DeletionForm(user=user)
    if request.method == "POST":
        try:
            code_budget_spend(origin=Origin.from_request(request))  # a code door, like the API's
        except RateLimited as exc:
            refused = error_message_with_wait(exc)
        else:
            refused = ""
        if "send_code" in request.POST:
            if refused:
                send_code = {"ok": False, "message": refused, "resend_in": 0}
            else:
                ok, message, resend_in = send_code_from_form(
                    request, phone=str(user.phone or ""), purpose=Purpose.DELETE_ACCOUNT
                )
                send_code = {"ok": ok, "message": message, "resend_in": resend_in}
        else:
            form = DeletionForm(request.POST, user=user)
            if refused:
                form.add_error(None, refused)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    user_deletion_schedule(
                        user=user,
                        password=data.get("password") or None,
                        code=data.get("code") or None,
                        keep_device_id=session_device_id(request),
                        origin=Origin.from_request(request),
                    )
                except ServiceError as exc:
                    wallet_not_empty = exc.code == "wallet_not_empty"
                    renames = {"verification_token": "code"}
                    if "password" not in form.fields:
                        renames["password"] = "code"  # noqa: S105 - a field name
                    form_add_service_error(form, exc, fields=renames)
                else:
                    messages.success(
                        request,
                        _("Your account will be deleted after %(when)s. Until then you can log in and cancel.")
                        % {"when": _when(user.delete_after)},
                    )
                    return _to_account("deletion")
    return _render(
        request,
        "accounts/deletion.html",
        {
            "form": form,
            "send_code": send_code,
            "grace_days": conf.deletion_grace_days(),
            "wallet_not_empty": wallet_not_empty,
        },
    )


@never_cache
@login_required
@require_POST
def deletion_cancel(request: HttpRequest) -> HttpResponse:
    user_deletion_cancel(user=authenticated_user(request), origin=Origin.from_request(request))
    messages.success(request, _("The deletion of your account has been cancelled."))
    return _to_account("deletion")


# --- My data ---------------------------------------------------------------------------------


@never_cache
@login_required
@require_POST
def data_export(request: HttpRequest) -> HttpResponse:
    """The same JSON file as ``GET /api/v1/me/export/`` (a POST: it records an event and is throttled)."""
    try:
        export = user_data_export(user=authenticated_user(request), origin=Origin.from_request(request))
    except RateLimited as exc:
        messages.error(request, error_message_with_wait(exc))
        return _to_account("data")
    return export_response(export)
