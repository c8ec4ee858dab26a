"""Admin pages of the account lifecycle: signed-in devices, legal documents, consents.

Devices and consents are records, never edited here: staff see them and may
end a device, through ``accounts.services.devices.device_end_by_staff``,
which checks the actor (``accounts.end_device`` on an ordinary account).
Legal documents are published here: a new version is a new row; a published
one is not edited afterwards (people agreed to that text).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.admin_security import report_skipped
from accounts.errors import StaffPermissionDenied
from accounts.models import Consent, Device, LegalDocument
from accounts.selectors import user_ids_for_search
from accounts.services.devices import PERM_END_DEVICE, device_end_by_staff
from config.admin import ScaleSafeAdminMixin
from config.origin import Origin


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Device)
class DeviceAdmin(ScaleSafeAdminMixin, _ReadOnlyAdmin):
    list_display = ("id", "user", "kind", "name", "ip", "created_at", "last_seen_at", "ended_at", "end_reason")
    list_filter = ("kind", ("ended_at", admin.EmptyFieldListFilter))
    search_fields = ("id",)  # shows the box; the search itself is get_search_results
    search_help_text = _("The device id, or the person's phone (any format), username or id.")
    ordering = ("-created_at", "-id")  # the index accounts_device_time
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    fields = list_display + ("user_agent",)
    readonly_fields = fields
    actions = ["end_devices"]

    def get_search_results(self, request, queryset, search_term):
        # Indexed matches only: the device id, or the person resolved first (one query).
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(pk=term) | Q(user_id__in=user_ids_for_search(term))), False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm(PERM_END_DEVICE):
            actions.pop("end_devices", None)
        return actions

    @admin.action(description=_("Sign out the selected devices"))
    def end_devices(self, request, queryset):
        skipped = ended = 0
        for device in queryset.select_related("user").filter(ended_at__isnull=True):
            try:
                device_end_by_staff(device=device, origin=Origin.from_request(request))
                ended += 1
            except StaffPermissionDenied:
                skipped += 1
        if ended:
            self.message_user(request, _("Devices signed out."), messages.SUCCESS)
        report_skipped(self, request, skipped)


class DeviceInline(admin.TabularInline):
    """A user's signed-in devices on their change page (ending one: the device list's action)."""

    model = Device
    extra = 0
    can_delete = False
    fields = ("id", "kind", "name", "ip", "created_at", "last_seen_at", "ended_at", "end_reason")
    readonly_fields = fields
    ordering = ("-created_at",)
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ConsentInline(admin.TabularInline):
    """Consent history of a user: append-only, shown read-only."""

    model = Consent
    extra = 0
    can_delete = False
    fields = ("document", "accepted_at", "ip", "user_agent")
    readonly_fields = fields
    ordering = ("-accepted_at",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Consent)
class ConsentAdmin(ScaleSafeAdminMixin, _ReadOnlyAdmin):
    list_display = ("user", "document", "accepted_at", "ip")
    list_filter = ("document__kind",)
    search_fields = ("user__username",)  # shows the box; the search itself is get_search_results
    search_help_text = _("The person's phone (any format), username or id.")
    ordering = ("-accepted_at", "-id")  # the index accounts_consent_time
    list_select_related = ("user", "document")
    raw_id_fields = ("user",)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(user_id__in=user_ids_for_search(search_term)), False


@admin.register(LegalDocument)
class LegalDocumentAdmin(admin.ModelAdmin):
    list_display = ("kind", "version", "title_zh_hans", "title_en", "published_at")
    list_filter = ("kind",)
    ordering = ("kind", "-version")

    def has_delete_permission(self, request, obj=None):
        return False  # people agreed to it: the record of what they agreed to stays

    def get_readonly_fields(self, request, obj=None):
        # A published version is what people agreed to; a change is a new version.
        if obj is not None:
            return [field.name for field in LegalDocument._meta.fields]
        return []
