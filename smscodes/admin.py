from django.contrib import admin
from django.db.models import Q

from config.admin import ReadOnlyAdminMixin
from config.phones import phone_to_e164
from smscodes.models import SmsMessage


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The send log, read-only: support staff look up what was sent to a number (never a code)."""

    list_display = ("created_at", "phone", "purpose", "status", "backend", "provider_message_id", "client_ip")
    list_filter = ("purpose", "status", "backend", ("created_at", admin.DateFieldListFilter))
    search_fields = ("phone", "provider_message_id", "client_ip")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    list_per_page = 50
    show_full_result_count = False  # counting a large log on every page is slow

    def get_search_results(self, request, queryset, search_term):
        """A number typed in any format (138 0013 8000, +86…, 0086…) finds its E.164 rows."""
        term = search_term.strip()
        e164 = phone_to_e164(term) if term else None
        if e164:
            return queryset.filter(phone=e164), False
        if term:
            return queryset.filter(
                Q(phone__contains=term) | Q(provider_message_id=term) | Q(client_ip__startswith=term)
            ), False
        return queryset, False
