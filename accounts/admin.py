"""The user admin: a door to ``accounts.services.staff``, which decides what each staff member may change.

The change form shows editable only the fields the service would let the
staff member change on this account (``staff_may``); the rest are read-only.
A saved form goes through ``user_update_by_staff`` (each field through the
service that owns it, with the same security event as the API), never
through ``ModelForm.save()``. The password page, deletion and the list actions
call their services too. ``/admin/login/`` authenticates through
``accounts.backends.AccountBackend`` (lockout and per-IP limit) and says why
it refused.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import PermissionDenied
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.admin_lifecycle import ConsentInline, DeletionDisplayMixin, DeletionStatusFilter, DeviceInline
from accounts.admin_security import SecurityEventAdminMixin, SecurityEventInline, report_skipped
from accounts.errors import StaffPermissionDenied
from accounts.models import User
from accounts.selectors import user_search_q
from accounts.services.staff import (
    FIELD_PERMISSIONS,
    PERM_CHANGE,
    PERM_DELETE,
    PERM_PASSWORD,
    staff_may,
    user_avatar_remove_by_staff,
    user_changes_check,
    user_delete_by_staff,
    user_password_set_by_staff,
    user_set_role,
    user_update_by_staff,
)
from accounts.sessions import session_keep_after_revocation
from config.admin import ScaleSafeAdminMixin
from config.errors import ServiceError
from config.forms import form_add_service_error
from config.origin import Origin
from config.phone_display import phone_display


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("phone", "username")

    def clean(self) -> dict[str, Any]:
        super().clean()
        # The database refuses a user with neither; say so on the form instead of a 500.
        if not self.cleaned_data.get("phone") and not self.cleaned_data.get("username"):
            raise forms.ValidationError(_("Enter a phone number or a username."))
        return self.cleaned_data


class UserChangeForm(DjangoUserChangeForm):
    """The fields of a user; the staff service checks what changed before the admin saves it."""

    # Who is asking (the staff member is its actor); set per request by UserAdmin.get_form.
    origin: Origin = Origin.system()

    class Meta:
        model = User
        # Django's form would use its UsernameField, which cannot hold the
        # empty (NULL) username of a phone-only account.
        fields = (
            "phone",
            "username",
            "password",
            "nickname",
            "gender",
            "email",
            "job",
            "company",
            # No "avatar": avatars change only through accounts.avatars (validated, re-encoded).
            "role",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        password = self.fields.get("password")
        if password is not None and not staff_may(
            actor=self.origin.actor, target=self.instance, permission=PERM_PASSWORD
        ):
            password.help_text = ""  # no link to a page that would answer 403

    def staff_changes(self) -> dict[str, Any]:
        """The changed fields the staff service owns, as it wants them."""
        changes = {name: self.cleaned_data[name] for name in self.changed_data if name in FIELD_PERMISSIONS}
        if "phone" in changes:
            changes["phone"] = str(changes["phone"]) if changes["phone"] else None
        return changes

    def clean(self) -> dict[str, Any]:
        super().clean()
        if not self.errors:
            # Before the admin saves, while self.instance still holds the stored values.
            try:
                user_changes_check(user=self.instance, changes=self.staff_changes(), origin=self.origin)
            except ServiceError as exc:
                form_add_service_error(self, exc)
        return self.cleaned_data


@admin.register(User)
class UserAdmin(DeletionDisplayMixin, ScaleSafeAdminMixin, SecurityEventAdminMixin, DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserChangeForm
    list_display = (
        "id",
        "avatar_column",
        "phone_column",
        "username",
        "nickname",
        "role",
        "is_active",
        "login_lock",
        "deletion_status",
        "date_joined",
    )
    list_display_links = ("id", "phone_column", "username")
    list_filter = ("role", "is_active", "is_staff", DeletionStatusFilter)
    search_fields = ("username", "nickname", "email")
    ordering = ("-date_joined", "-id")  # the index accounts_user_joined, read backwards: no sort
    # The deletion dates are shown, never edited: staff cannot bring a deletion forward (admin_lifecycle).
    readonly_fields = (
        "last_login",
        "date_joined",
        "tokens_valid_after",
        "avatar_preview",
        "deletion_scheduled_at",
        "delete_after",
        "deleted_at",
    )
    fieldsets = (
        (None, {"fields": ("phone", "username", "password")}),
        (_("Profile"), {"fields": ("nickname", "gender", "email", "job", "company", "avatar_preview")}),
        (
            _("Role and permissions"),
            {"fields": ("role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined", "tokens_valid_after")}),
        (_("Account deletion"), {"fields": ("deletion_scheduled_at", "delete_after", "deleted_at")}),
    )
    actions = ["remove_avatars"]
    inlines = (SecurityEventInline, DeviceInline, ConsentInline)
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("phone", "username", "usable_password", "password1", "password2")}),
    )

    @admin.display(description=_("phone number"), ordering="phone")
    def phone_column(self, obj):
        # As people write it (138 0013 8000), not E.164; search takes any format.
        return phone_display(obj.phone) or "-"

    # --- who may do what: the staff service's rule, asked per account ---------------------

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or staff_may(actor=request.user, target=obj, permission=PERM_CHANGE)

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or staff_may(actor=request.user, target=obj, permission=PERM_DELETE)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly += [
                name
                for name, permission in FIELD_PERMISSIONS.items()
                if not staff_may(actor=request.user, target=obj, permission=permission)
            ]
        return readonly

    def get_form(
        self, request: HttpRequest, obj: Any | None = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm[Any]]:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form
        return type(form.__name__, (form,), {"origin": Origin.from_request(request)})

    # --- saving: through the services ------------------------------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)  # the creation form; its role group below
            return
        # The form has copied its values onto ``obj``: the service starts from the stored row.
        user = User.objects.get(pk=obj.pk)
        user_update_by_staff(user=user, changes=form.staff_changes(), origin=Origin.from_request(request))
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        if change:
            # Groups and permissions went through user_update_by_staff: no save_m2m.
            for formset in formsets:
                self.save_formset(request, form, formset, change=change)
            return
        super().save_related(request, form, formsets, change)
        # A new account starts in its role's group (the system's default, not a staff decision).
        user_set_role(user=form.instance, role=form.instance.role, origin=Origin.from_request(request), new_user=True)

    def delete_model(self, request, obj):
        user_delete_by_staff(user=obj, origin=Origin.from_request(request))  # the avatar files go too

    def delete_queryset(self, request, queryset):
        # Django's confirmation page already refused a selection holding an
        # account this actor may not delete; the service checks again.
        for user in queryset:
            user_delete_by_staff(user=user, origin=Origin.from_request(request))

    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404
        if not staff_may(actor=request.user, target=user, permission=PERM_PASSWORD):
            raise PermissionDenied
        if request.method == "POST":
            form = self.change_password_form(user, request.POST)
            set_usable = form.is_valid() and form.cleaned_data["set_usable_password"]
            if form.is_valid() and (set_usable or "unset-password" in request.POST):
                return self._password_set(
                    request, user, form, password=form.cleaned_data["password1"] if set_usable else None
                )
        # The page, a refused form, a conflicting submission: Django's view, which saves nothing then.
        return super().user_change_password(request, id, form_url)

    def _password_set(self, request, user, form, *, password):
        user_password_set_by_staff(user=user, password=password, origin=Origin.from_request(request))
        self.log_change(request, user, self.construct_change_message(request, form, []))
        if user.has_usable_password():
            messages.success(request, gettext("Password changed successfully."))
        else:
            messages.success(request, gettext("Password-based authentication was disabled."))
        if user.pk == request.user.pk:
            # Django keeps this session on purpose: so do we (it started after the revocation).
            update_session_auth_hash(request, user)
            session_keep_after_revocation(request)
        return HttpResponseRedirect(reverse(f"{self.admin_site.name}:accounts_user_change", args=(user.pk,)))

    # --- the list ----------------------------------------------------------------------------

    def _avatar_img(self, obj, side: int):
        if not obj.avatar:
            return "—"
        thumbnail = obj.avatar_thumbnail or obj.avatar
        return format_html(
            '<a href="{}"><img src="{}" width="{}" height="{}" alt="" class="admin-avatar"></a>',
            obj.avatar.url,
            thumbnail.url,
            side,
            side,
        )

    @admin.display(description=_("Avatar"))
    def avatar_column(self, obj):
        return self._avatar_img(obj, 32)

    @admin.display(description=_("Avatar"))
    def avatar_preview(self, obj):
        return self._avatar_img(obj, 128)

    @admin.action(description=_("Remove the avatar of the selected users"), permissions=["change"])
    def remove_avatars(self, request, queryset):
        skipped = 0
        for user in queryset.exclude(avatar=""):
            try:
                user_avatar_remove_by_staff(user=user, origin=Origin.from_request(request))
            except StaffPermissionDenied:
                skipped += 1
        self.message_user(request, _("Avatars removed."), messages.SUCCESS)
        report_skipped(self, request, skipped)

    def get_search_results(self, request, queryset, search_term):
        # A phone typed as "138 0013 8000" or "+86 13800138000" is normalised
        # to E.164 before the lookup (the column holds E.164 only).
        if not search_term.strip():
            return queryset, False
        return queryset.filter(user_search_q(search_term)), False
