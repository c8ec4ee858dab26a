"""Admin pages of the account lifecycle: signed-in devices, legal documents, consents, deletion state.

Devices and consents are records, never edited here: staff see them and may
end a device, through ``accounts.services.devices.device_end_by_staff``,
which checks the actor (``accounts.end_device`` on an ordinary account).
Legal documents are published here, through
``accounts.services.consent.legal_document_publish`` (the next version number
only, the actor's ``accounts.add_legaldocument``): a new version is a new
row; a published one is not edited afterwards (people agreed to that text).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from accounts.admin_security import report_skipped
from accounts.errors import StaffPermissionDenied
from accounts.models import Consent, Device, LegalDocument
from accounts.selectors import user_ids_for_search
from accounts.services.consent import legal_document_publish, legal_version_check
from accounts.services.devices import PERM_END_DEVICE, device_end_by_staff
from config.admin import ScaleSafeAdminMixin
from config.errors import ServiceError
from config.forms import form_add_service_error
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


class LegalDocumentForm(forms.ModelForm):
    """Publishing a version: the number must be the next one of its kind (``legal_version_check``)."""

    class Meta:
        model = LegalDocument
        fields = ("kind", "version", "title_zh_hans", "title_en", "text_zh_hans", "text_en")

    def clean(self):
        data = super().clean() or {}
        if data.get("kind") and not self.errors.get("version"):
            try:
                legal_version_check(kind=data["kind"], version=data.get("version"))
            except ServiceError as exc:
                form_add_service_error(self, exc)
        return data


@admin.register(LegalDocument)
class LegalDocumentAdmin(admin.ModelAdmin):
    list_display = ("kind", "version", "title_zh_hans", "title_en", "published_at")
    list_filter = ("kind",)
    ordering = ("kind", "-version")
    form = LegalDocumentForm

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        kind = initial.get("kind") or LegalDocument.Kind.TERMS
        return {"kind": kind, "version": legal_version_check(kind=str(kind), version=None), **initial}

    def save_model(self, request, obj, form, change):
        if change:  # never reached: a published version is read-only
            raise PermissionDenied
        # Published through the service (the actor's permission, the version rule), never a bare save.
        fields = ("title_zh_hans", "title_en", "text_zh_hans", "text_en")
        document = legal_document_publish(
            kind=obj.kind,
            version=obj.version,
            origin=Origin.from_request(request),
            **{name: getattr(obj, name) for name in fields},
        )
        obj.pk, obj.published_at = document.pk, document.published_at

    def has_delete_permission(self, request, obj=None):
        return False  # people agreed to it: the record of what they agreed to stays

    def get_readonly_fields(self, request, obj=None):
        # A published version is what people agreed to; a change is a new version.
        if obj is not None:
            return [field.name for field in LegalDocument._meta.fields]
        return []


class DeletionStatusFilter(admin.SimpleListFilter):
    """Users by account deletion state: none, scheduled (in the grace period), erased."""

    title = _("account deletion")
    parameter_name = "deletion"

    def lookups(self, request, model_admin):
        return (("none", _("Not requested")), ("scheduled", _("Scheduled")), ("erased", _("Erased")))

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(delete_after__isnull=True, deleted_at__isnull=True)
        if self.value() == "scheduled":
            return queryset.filter(delete_after__isnull=False, deleted_at__isnull=True)
        if self.value() == "erased":
            # A purge keeps delete_after: the condition on it lets the database use its index.
            return queryset.filter(delete_after__isnull=False, deleted_at__isnull=False)
        return queryset


class DeletionDisplayMixin:
    """The deletion state on the user list and page: shown, never editable.

    Staff see when a person asked and when ``accounts_purge`` will erase the
    account, but have no control to bring it forward: the grace period is the
    person's, to change their mind (only they can cancel, by signing in).
    """

    @admin.display(description=_("Deletion"), ordering="delete_after")
    def deletion_status(self, obj):
        if obj.deleted_at is not None:
            return _("Erased %(when)s") % {"when": date_format(localtime(obj.deleted_at), "SHORT_DATETIME_FORMAT")}
        if obj.delete_after is not None:
            return _("Erased after %(when)s") % {
                "when": date_format(localtime(obj.delete_after), "SHORT_DATETIME_FORMAT")
            }
        return "—"
