"""The security side of the user admin: events (read-only), unlock, revoke all sessions.

Kept out of ``accounts/admin.py`` so the shared UserAdmin only gains a base
class. Every change goes through a service (``user_unlock``,
``user_revoke_all_sessions``, ``user_deactivate``) and is written to the
admin history too.
"""

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.models import SecurityEvent
from accounts.services import user_deactivate, user_revoke_all_sessions, user_unlock
from accounts.sessions import session_keep_after_revocation
from config.admin import ReadOnlyAdminMixin
from config.origin import Origin

INLINE_EVENTS = 50


class SecurityEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The user's latest security events on their admin page."""

    model = SecurityEvent
    fields = ("created_at", "kind", "ip", "user_agent", "login", "detail")
    readonly_fields = fields
    extra = 0
    ordering = ("-created_at",)
    verbose_name_plural = _("Latest security events")

    def has_view_permission(self, request, obj=None):
        # Whoever may see the user may see what happened to the account.
        return request.user.has_perm("accounts.view_user") or request.user.has_perm("accounts.change_user")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        if object_id is None:
            return queryset.none()
        latest = list(queryset.filter(user_id=object_id).values_list("pk", flat=True)[:INLINE_EVENTS])
        return queryset.filter(pk__in=latest)


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every security event, searchable; nobody edits or deletes them."""

    list_display = ("created_at", "kind", "user", "login", "ip", "user_agent")
    list_filter = ("kind",)
    search_fields = ("login", "user__username", "user_agent")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    raw_id_fields = ("user",)


class SecurityEventAdminMixin:
    """Mixed into UserAdmin: events inline, unlock / revoke buttons and actions, deactivation."""

    inlines = (SecurityEventInline,)
    security_actions_names = ("unlock_logins", "revoke_all_sessions")

    def get_inline_instances(self, request, obj=None):
        # The events are read-only: a POST of the user form has nothing to
        # save in them and needs no management form for them.
        if request.method == "POST":
            return []
        return super().get_inline_instances(request, obj)

    def get_actions(self, request):
        # Added here rather than in ``actions`` so UserAdmin can keep its own list.
        actions = super().get_actions(request)
        if actions is not None and IS_POPUP_VAR not in request.GET and self.has_change_permission(request):
            for name in self.security_actions_names:
                actions[name] = self.get_action(name)
        return actions

    # --- buttons on the user page (they post the page's form, CSRF token included) ---

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/unlock/", view(self.unlock_view), name="accounts_user_unlock"),
            path("<path:object_id>/revoke-sessions/", view(self.revoke_view), name="accounts_user_revoke_sessions"),
            *super().get_urls(),
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "security_actions"] if obj is not None else readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and self.has_change_permission(request, obj):
            fieldsets.append((_("Security"), {"fields": ("security_actions",)}))
        return fieldsets

    @admin.display(description=_("Actions"))
    def security_actions(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return format_html(
            '<button type="submit" class="button" formaction="{}" formnovalidate>{}</button> '
            '<button type="submit" class="button" formaction="{}" formnovalidate>{}</button>',
            reverse("admin:accounts_user_unlock", args=[obj.pk]),
            _("Unlock login"),
            reverse("admin:accounts_user_revoke_sessions", args=[obj.pk]),
            _("Revoke all sessions"),
        )

    def _change_target(self, request, object_id):
        if request.method != "POST":
            return None
        user = self.get_object(request, object_id)
        if user is None:
            raise Http404
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        return user

    def unlock_view(self, request, object_id):
        user = self._change_target(request, object_id)
        if user is None:
            return HttpResponseNotAllowed(["POST"])
        user_unlock(user=user, origin=Origin.from_request(request))
        self.log_change(request, user, str(_("Unlocked login")))
        self.message_user(request, _("Login unlocked for %(user)s.") % {"user": user}, messages.SUCCESS)
        return redirect("admin:accounts_user_change", user.pk)

    def revoke_view(self, request, object_id):
        user = self._change_target(request, object_id)
        if user is None:
            return HttpResponseNotAllowed(["POST"])
        user_revoke_all_sessions(user=user, origin=Origin.from_request(request))
        self.log_change(request, user, str(_("Revoked all sessions")))
        self.message_user(request, _("Every session of %(user)s has ended.") % {"user": user}, messages.SUCCESS)
        return redirect("admin:accounts_user_change", user.pk)

    # --- the same on the list, for several users -----------------------------------

    @admin.action(description=_("Unlock login"), permissions=["change"])
    def unlock_logins(self, request, queryset):
        for user in queryset:
            user_unlock(user=user, origin=Origin.from_request(request))
            self.log_change(request, user, str(_("Unlocked login")))
        self.message_user(
            request, _("Login unlocked for %(count)d users.") % {"count": len(queryset)}, messages.SUCCESS
        )

    @admin.action(description=_("Revoke all sessions"), permissions=["change"])
    def revoke_all_sessions(self, request, queryset):
        for user in queryset:
            user_revoke_all_sessions(user=user, origin=Origin.from_request(request))
            self.log_change(request, user, str(_("Revoked all sessions")))
        self.message_user(
            request, _("Every session of %(count)d users has ended.") % {"count": len(queryset)}, messages.SUCCESS
        )

    # --- a password set here, or deactivation, ends every token and session ------------

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        # Django's view redirects once the new password is saved. Sessions end
        # by themselves (their hash follows the password); JWTs would not.
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, id)
            user_revoke_all_sessions(user=user, origin=Origin.from_request(request))
            if user.pk == request.user.pk:  # Django keeps this session on purpose: so do we
                session_keep_after_revocation(request)
        return response

    def save_model(self, request, obj, form, change):
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        super().save_model(request, obj, form, change)
        if deactivating:
            user_deactivate(user=obj, origin=Origin.from_request(request))
