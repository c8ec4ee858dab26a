from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin_security import SecurityEventAdminMixin
from accounts.models import User
from accounts.selectors import user_search_q
from accounts.services import user_delete, user_set_role
from accounts.services.avatar import avatar_remove


class PhoneOrUsernameRequired:
    """The database refuses a user with neither; say so on the form instead of a 500."""

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("phone") and not cleaned.get("username"):
            raise forms.ValidationError(_("Enter a phone number or a username."))
        return cleaned


class UserCreationForm(PhoneOrUsernameRequired, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("phone", "username")


class UserChangeForm(PhoneOrUsernameRequired, DjangoUserChangeForm):
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
            # No "avatar": avatars change only through accounts.services.avatar (validated, re-encoded).
            "role",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        )


@admin.register(User)
class UserAdmin(SecurityEventAdminMixin, DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserChangeForm
    list_display = (
        "id",
        "avatar_column",
        "phone",
        "username",
        "nickname",
        "role",
        "is_active",
        "login_lock",
        "date_joined",
    )
    list_display_links = ("id", "phone", "username")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username", "nickname", "email")
    ordering = ("-date_joined",)
    readonly_fields = ("last_login", "date_joined", "tokens_valid_after", "avatar_preview")
    fieldsets = (
        (None, {"fields": ("phone", "username", "password")}),
        (_("Profile"), {"fields": ("nickname", "gender", "email", "job", "company", "avatar_preview")}),
        (
            _("Role and permissions"),
            {"fields": ("role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined", "tokens_valid_after")}),
    )
    actions = ["remove_avatars"]
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("phone", "username", "usable_password", "password1", "password2")}),
    )

    def delete_model(self, request, obj):
        user_delete(user=obj)  # the avatar files go too

    def delete_queryset(self, request, queryset):
        for user in queryset:
            user_delete(user=user)

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
        for user in queryset.exclude(avatar=""):
            avatar_remove(user=user)
        self.message_user(request, _("Avatars removed."), messages.SUCCESS)

    def get_search_results(self, request, queryset, search_term):
        # A phone typed as "138 0013 8000" or "+86 13800138000" is normalised
        # to E.164 before the lookup (the column holds E.164 only).
        if not search_term.strip():
            return queryset, False
        return queryset.filter(user_search_q(search_term)), False

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("accounts.change_user_role"):
            # Groups carry the permissions of a role: editing them is a role change.
            readonly += ["role", "groups"]
        if not request.user.is_superuser:
            readonly += ["is_superuser", "is_staff", "user_permissions"]
        return readonly

    def save_model(self, request, obj, form, change):
        if change and "role" in form.changed_data:
            obj.role = form.initial["role"]  # user_set_role changes it, with the groups
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # After the form's many-to-many save, which would overwrite the groups.
        super().save_related(request, form, formsets, change)
        if "role" in form.changed_data or not change:
            user_set_role(user=form.instance, role=form.cleaned_data.get("role") or form.instance.role)
