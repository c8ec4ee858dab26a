from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from config.admin import ReadOnlyAdminMixin, ScaleSafeAdminMixin, fixed_choices_filter
from config.phones import phone_to_e164
from smscodes.models import SmsMessage

#: every value ``backend`` takes: the backends' names, and "test" for the test numbers
BACKENDS = ("aliyun", "tencent", "twilio", "console", "locmem", "test")


@admin.register(SmsMessage)
class SmsMessageAdmin(ScaleSafeAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The send log, read-only: support staff look up what was sent to a number (never a code)."""

    list_display = ("created_at", "phone", "purpose", "status", "backend", "provider_message_id", "client_ip")
    list_filter = (
        "purpose",
        "status",
        fixed_choices_filter("backend", _("backend"), lambda: [(name, name) for name in BACKENDS]),
        ("created_at", admin.DateFieldListFilter),  # a date range (no date_hierarchy over a million rows)
    )
    search_fields = ("phone",)  # shows the box; the search itself is get_search_results
    search_help_text = _("A phone number in any format, or the provider's message id.")
    ordering = ("-created_at", "-id")  # the index smscodes_msg_time
    list_per_page = 50

    def get_search_results(self, request, queryset, search_term):
        """A number typed in any format (138 0013 8000, +86…, 0086…) finds its E.164 rows."""
        term = search_term.strip()
        e164 = phone_to_e164(term) if term else None
        if e164:
            return queryset.filter(phone=e164), False
        if term:
            # Exact and indexed only: a substring search would scan the whole log.
            return queryset.filter(provider_message_id=term), False
        return queryset, False
