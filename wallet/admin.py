"""Support staff: read wallets and the ledger; correct balances only through ``wallet_adjust``."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.admin import ReadOnlyAdminMixin
from config.errors import ServiceError
from config.phones import phone_to_e164
from wallet.forms import AdjustBalanceForm
from wallet.models import Transaction, Wallet
from wallet.services import wallet_adjust


def _owner_q(term: str, prefix: str) -> Q:
    """Match the owner by phone in any format (normalised to E.164), username or id."""
    term = term.strip()
    q = Q(**{f"{prefix}username__iexact": term})
    e164 = phone_to_e164(term)
    if e164:
        q |= Q(**{f"{prefix}phone": e164})
    if term.isdigit():
        q |= Q(**{f"{prefix}id": int(term)})
    return q


# The wallet page shows only the newest entries; the full ledger is the
# transaction list filtered by wallet (linked from the page).
LEDGER_INLINE_LIMIT = 50


class TransactionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Transaction
    verbose_name_plural = gettext_lazy("latest ledger entries")
    fields = ("seq", "created_at", "kind", "amount", "balance_after", "description", "actor", "reason")
    readonly_fields = fields
    ordering = ("-seq",)
    extra = 0
    max_num = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "balance", "currency", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)  # plus phone in any format, see get_search_results
    readonly_fields = ("user", "balance", "currency", "entry_count", "created_at", "updated_at")
    fields = readonly_fields
    inlines = [TransactionInline]
    change_form_template = "admin/wallet/wallet/change_form.html"

    def has_add_permission(self, request):
        return False  # created on first use

    def has_change_permission(self, request, obj=None):
        return False  # nothing to save: balances move only through "Adjust balance"

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(_owner_q(search_term, "user__")), False

    def get_urls(self):
        return [
            path(
                "<int:wallet_id>/adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="wallet_wallet_adjust",
            ),
            *super().get_urls(),
        ]

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, TransactionInline) and obj is not None:
            # Entries are numbered 1..n per wallet, so the newest ones are a
            # range of seq (a slice would break the formset's own filtering).
            kwargs["queryset"] = kwargs["queryset"].filter(seq__gt=obj.entry_count - LEDGER_INLINE_LIMIT)
        return kwargs

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_adjust": request.user.has_perm("wallet.adjust_balance"),
            "ledger_limit": LEDGER_INLINE_LIMIT,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def adjust_view(self, request, wallet_id):
        if not request.user.has_perm("wallet.adjust_balance"):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet.objects.select_related("user"), pk=wallet_id)
        form = AdjustBalanceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = wallet_adjust(
                    actor=request.user,
                    user=wallet.user,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                )
            except ServiceError as exc:
                for name, problems in (exc.fields or {"__all__": [exc.message]}).items():
                    for text in problems:
                        form.add_error(name if name in form.fields else None, text)
            else:
                messages.success(
                    request,
                    _("Balance adjusted by %(amount)s; new balance %(balance)s.")
                    % {"amount": result.body["transaction"]["amount"], "balance": result.body["balance"]},
                )
                return redirect(reverse("admin:wallet_wallet_change", args=[wallet.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": wallet,
            "wallet": wallet,
            "form": form,
            "title": _("Adjust balance"),
        }
        return TemplateResponse(request, "admin/wallet/wallet/adjust.html", context)


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "owner", "kind", "amount", "balance_after", "description", "actor")
    list_filter = ("kind", "created_at")
    date_hierarchy = "created_at"
    list_select_related = ("wallet__user", "actor")
    search_fields = ("wallet__user__username",)  # plus phone in any format, see get_search_results
    search_help_text = gettext_lazy("Owner's phone number (any format), username or user id.")
    ordering = ("-created_at",)
    fields = (
        "id",
        "wallet",
        "seq",
        "kind",
        "amount",
        "balance_after",
        "description",
        "actor",
        "reason",
        "idempotency_key",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("owner"), ordering="wallet__user")
    def owner(self, obj):
        return obj.wallet.user

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(_owner_q(search_term, "wallet__user__")), False
