"""The security side of the user admin: events (read-only), unlock, revoke all sessions.

Kept out of ``accounts/admin.py`` so the shared UserAdmin only gains a base
class. Every change goes through a service of ``accounts.services.staff``
(``user_unlock``, ``user_revoke_all_sessions``), which checks that the staff
member may touch the account; the list actions leave alone, and count, the
accounts they may not. Each change is written to the admin history too.
"""

import datetime
from typing import ClassVar

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.errors import StaffPermissionDenied
from accounts.lockout import lockout_key, lockout_until
from accounts.models import SecurityEvent
from accounts.selectors import user_ids_for_search
from accounts.services.staff import user_revoke_all_sessions, user_unlock
from config.admin import ReadOnlyAdminMixin, ScaleSafeAdminMixin
from config.origin import Origin
from config.phones import phone_to_e164
from config.user_agents import user_agent_label

INLINE_EVENTS = 50

# What support reads instead of an event's raw JSON detail.
_REASONS = {
    "wrong_password": _("wrong password"),
    "wrong_current_password": _("wrong current password"),
    "unknown_account": _("no such account"),
    "no_password": _("the account has no password"),
    "disabled": _("account disabled"),
    "code_invalid": _("wrong or expired code"),
    "code_attempts_exceeded": _("too many wrong codes"),
    "verification_token_invalid": _("phone verification expired"),
}
_METHODS = {"password": _("password"), "code": _("SMS code")}


def local_time(value) -> str:
    """One time, in the pages' time zone, with the zone said ("2026-12-02 02:51:30 CST")."""
    if value is None:
        return "-"
    return date_format(timezone.localtime(value), "Y-m-d H:i:s T")


def event_reason(detail) -> str:
    """An event's detail as words: "wrong password · account locked · by helper"."""
    if not isinstance(detail, dict) or not detail:
        return "-"
    parts = []
    if detail.get("reason"):
        parts.append(str(_REASONS.get(detail["reason"], detail["reason"])))
    if detail.get("method"):
        method = _METHODS.get(detail["method"], detail["method"])
        parts.append(gettext("by %(method)s") % {"method": method})
    if detail.get("locked"):
        parts.append(gettext("account locked"))
    if detail.get("actor"):
        parts.append(gettext("staff: %(name)s") % {"name": detail["actor"]})
    known = {"reason", "method", "locked", "actor", "actor_id"}
    parts += [f"{key}: {value}" for key, value in detail.items() if key not in known]
    return " · ".join(parts) or "-"


class _EventDisplay:
    """Columns of a security event as support reads them (one local time, words, device names)."""

    @admin.display(description=_("time"), ordering="created_at")
    def when(self, obj):
        return local_time(obj.created_at)

    @admin.display(description=_("device"))
    def device(self, obj):
        if not obj.user_agent:
            return "-"
        # The full header stays one hover away.
        return format_html('<span title="{}">{}</span>', obj.user_agent, user_agent_label(obj.user_agent))

    @admin.display(description=_("detail"))
    def reason(self, obj):
        return event_reason(obj.detail)


def report_skipped(model_admin, request, skipped: int) -> None:
    """Say how many selected accounts a list action left alone (staff and superusers, for most staff)."""
    if skipped:
        model_admin.message_user(
            request,
            ngettext(
                "%(count)d selected account was left alone: you may not change it.",
                "%(count)d selected accounts were left alone: you may not change them.",
                skipped,
            )
            % {"count": skipped},
            messages.WARNING,
        )


class SecurityEventInline(_EventDisplay, ReadOnlyAdminMixin, admin.TabularInline):
    """The user's latest security events on their admin page."""

    model = SecurityEvent
    fields = ("when", "kind", "ip", "device", "login", "reason")
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
class SecurityEventAdmin(ScaleSafeAdminMixin, _EventDisplay, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every security event, searchable; nobody edits or deletes them."""

    list_display = ("when", "kind", "user", "login", "ip", "device", "reason")
    list_filter = ("kind", "created_at")  # a date range, not date_hierarchy (SELECT DISTINCT over every event)
    search_fields = ("login",)  # shows the box; the search itself is get_search_results
    search_help_text = _("The login name used (phone in any format, or username), or the person's username or id.")
    ordering = ("-created_at", "-id")  # the index accounts_sec_time
    list_select_related = ("user",)
    raw_id_fields = ("user",)

    def get_search_results(self, request, queryset, search_term):
        # Exact, indexed matches only (no icontains over millions of events):
        # what was typed at a login, normalised as the login service stores
        # it, or the events of the person the term names.
        term = search_term.strip()
        if not term:
            return queryset, False
        login = phone_to_e164(term) or term.lower()
        return queryset.filter(Q(login=login) | Q(user_id__in=user_ids_for_search(term))), False


class SecurityEventAdminMixin(admin.ModelAdmin):
    """Mixed into UserAdmin: events inline, unlock / revoke buttons and actions, deactivation."""

    inlines: ClassVar[tuple[type[admin.options.InlineModelAdmin], ...]] = (SecurityEventInline,)
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
        return [*readonly, "login_lock", "security_actions"] if obj is not None else readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and self.has_change_permission(request, obj):
            fieldsets.append((_("Security"), {"fields": ("login_lock", "security_actions")}))
        return fieldsets

    @admin.display(description=_("Login lock"))
    def login_lock(self, obj):
        """A badge while the account is locked out of password logins: until when, in local time."""
        if obj is None or obj.pk is None:
            return "-"
        until = lockout_until(lockout_key(user=obj))
        if until is None:
            return "-"
        moment = datetime.datetime.fromtimestamp(until, tz=datetime.UTC)
        return format_html(
            '<span class="lock-badge" data-testid="lock-badge">{}</span>',
            gettext("Locked until %(time)s") % {"time": local_time(moment)},
        )

    @admin.display(description=_("Actions"))
    def security_actions(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        # Revoking signs the person out everywhere: a link to a page that asks first.
        return format_html(
            '<button type="submit" class="button" formaction="{}" formnovalidate>{}</button> '
            '<a class="button" href="{}" data-testid="revoke-sessions">{}</a>',
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
        try:
            user_unlock(user=user, origin=Origin.from_request(request))
        except StaffPermissionDenied:
            raise PermissionDenied from None
        self.log_change(request, user, str(_("Unlocked login")))
        self.message_user(request, _("Login unlocked for %(user)s.") % {"user": user}, messages.SUCCESS)
        return redirect("admin:accounts_user_change", user.pk)

    def revoke_view(self, request, object_id):
        if request.method == "GET":
            return self._revoke_confirm(request, object_id)
        user = self._change_target(request, object_id)
        if user is None:
            return HttpResponseNotAllowed(["GET", "POST"])
        try:
            user_revoke_all_sessions(user=user, origin=Origin.from_request(request))
        except StaffPermissionDenied:
            raise PermissionDenied from None
        self.log_change(request, user, str(_("Revoked all sessions")))
        self.message_user(request, _("Every session of %(user)s has ended.") % {"user": user}, messages.SUCCESS)
        return redirect("admin:accounts_user_change", user.pk)

    def _revoke_confirm(self, request, object_id):
        """ "Revoke all sessions?": what it does, and a button that posts it."""
        user = self.get_object(request, object_id)
        if user is None:
            raise Http404
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": user,
            "title": _("Revoke all sessions?"),
            "action_url": reverse("admin:accounts_user_revoke_sessions", args=[user.pk]),
            "back_url": reverse("admin:accounts_user_change", args=[user.pk]),
        }
        return TemplateResponse(request, "admin/accounts/user/revoke_sessions_confirm.html", context)

    # --- the same on the list, for several users -----------------------------------

    @admin.action(description=_("Unlock login"), permissions=["change"])
    def unlock_logins(self, request, queryset):
        done = self._each(request, queryset, user_unlock, str(_("Unlocked login")))
        self.message_user(request, _("Login unlocked for %(count)d users.") % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Revoke all sessions"), permissions=["change"])
    def revoke_all_sessions(self, request, queryset):
        done = self._each(request, queryset, user_revoke_all_sessions, str(_("Revoked all sessions")))
        self.message_user(request, _("Every session of %(count)d users has ended.") % {"count": done}, messages.SUCCESS)

    def _each(self, request, queryset, service, log_message: str) -> int:
        done = skipped = 0
        for user in queryset:
            try:
                service(user=user, origin=Origin.from_request(request))
            except StaffPermissionDenied:
                skipped += 1
                continue
            self.log_change(request, user, log_message)
            done += 1
        report_skipped(self, request, skipped)
        return done
