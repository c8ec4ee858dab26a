"""The admin site: its two password doors obey the account rules like every other door.

- ``/admin/login/``: ``authenticate()`` goes through ``accounts.backends``
  (lockout, per-IP limit, security events); the form says "locked" or "too
  many attempts" when that is why it refused.
- ``/admin/password_change/`` (a staff member's own password): Django's view
  compares the current password with no lockout and leaves JWTs alive; here
  it is ``user_password_change``, as on the API and the account page.

Installed as the default site by ``accounts.apps.AccountsAdminConfig``, so
``admin.site`` everywhere is this one.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.backends import authentication_refusal
from accounts.errors import InvalidCredentials
from accounts.models import User
from accounts.services.password import user_password_change
from accounts.sessions import session_keep_after_revocation
from config.errors import ServiceError
from config.forms import form_add_service_error
from config.origin import Origin


class AdminLoginForm(AdminAuthenticationForm):
    """Django's admin login form, saying "locked" or "too many attempts" when that is why.

    The check itself is ``authenticate()`` (``accounts.backends``): lockout,
    per-IP limit and security events are the API's.
    """

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            refusal = authentication_refusal(self.request)
            if refusal is None or isinstance(refusal, InvalidCredentials):
                raise
            form_add_service_error(self, refusal)
            return self.cleaned_data


class OwnPasswordChangeForm(PasswordChangeForm):
    """Parses the three fields; the current password is checked by the service (with the lockout)."""

    def clean_old_password(self) -> str:
        return str(self.cleaned_data["old_password"])


class AccountsAdminSite(admin.AdminSite):
    login_form = AdminLoginForm

    # The stubs promise a TemplateResponse; Django's own view redirects on success too.
    def password_change(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        user = request.user
        assert isinstance(user, User)  # admin_view let only active staff in
        form = OwnPasswordChangeForm(user, request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                user_password_change(
                    user=form.user,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password1"],
                    origin=Origin.from_request(request),
                )
            except ServiceError as exc:
                form_add_service_error(form, exc, fields={"new_password": "new_password2"})
            else:
                # The service ended every other session and token; this one goes on.
                update_session_auth_hash(request, form.user)
                session_keep_after_revocation(request)
                return HttpResponseRedirect(reverse("admin:password_change_done", current_app=self.name))
        request.current_app = self.name
        context = {
            **self.each_context(request),
            "form": form,
            "title": _("Password change"),
            "subtitle": None,
            **(extra_context or {}),
        }
        return TemplateResponse(
            request, self.password_change_template or "registration/password_change_form.html", context
        )
