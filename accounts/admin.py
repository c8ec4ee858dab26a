from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import user_search_q
from accounts.services import user_set_role


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("phone", "username")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
    list_display = ("id", "phone", "username", "nickname", "role", "is_active", "date_joined")
    list_display_links = ("id", "phone", "username")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username", "nickname", "email")
    ordering = ("-date_joined",)
    readonly_fields = ("last_login", "date_joined", "tokens_valid_after")
    fieldsets = (
        (None, {"fields": ("phone", "username", "password")}),
        (_("Profile"), {"fields": ("nickname", "gender", "email", "job", "company", "avatar")}),
        (
            _("Role and permissions"),
            {"fields": ("role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined", "tokens_valid_after")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("phone", "username", "usable_password", "password1", "password2")}),
    )

    def get_search_results(self, request, queryset, search_term):
        # A phone typed as "138 0013 8000" or "+86 13800138000" is normalised
        # to E.164 before the lookup (the column holds E.164 only).
        if not search_term.strip():
            return queryset, False
        return queryset.filter(user_search_q(search_term)), False

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("accounts.change_user_role"):
            readonly.append("role")
        return readonly

    def save_model(self, request, obj, form, change):
        role_changed = "role" in form.changed_data
        new_role = obj.role
        if role_changed and change:
            obj.role = form.initial.get("role", obj.role)  # the service sets it with the groups
        super().save_model(request, obj, form, change)
        if role_changed or not change:
            user_set_role(user=obj, role=new_role)
