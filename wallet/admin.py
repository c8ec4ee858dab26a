"""Support and finance staff: read the ledger, top-ups and notifications; act only through services.

Balances move only through "Adjust balance" (``wallet_adjust``) and
"Refund to the channel" (``top_up_refund``); each checks its own permission.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.selectors import user_ids_for_search
from config.admin import ReadOnlyAdminMixin, ScaleSafeAdminMixin, fixed_choices_filter
from config.errors import ServiceError
from config.forms import form_restore, form_stash
from wallet.amounts import money_display
from wallet.channels import ADAPTERS
from wallet.forms import AdjustBalanceForm, TopUpRefundForm
from wallet.models import (
    AccountKind,
    JournalEntry,
    LedgerAccount,
    LedgerLine,
    PaymentNotification,
    ReconciliationMismatch,
    ReconciliationRun,
    TopUp,
    TopUpRefund,
    TopUpRefundStatus,
)
from wallet.services import top_up_refund, top_up_refund_check, wallet_adjust


def _owner_q(term: str, field: str) -> Q:
    """Rows whose ``field`` (a user id) is the owner a term names: phone in any format, username or id.

    The owner is resolved first (one indexed query, accounts.selectors) and
    the rows filtered by id: an OR across joined user columns would be
    evaluated for every row of the table, for the count and again for the page.
    """
    return Q(**{f"{field}__in": user_ids_for_search(term)})


def _channel_filter(field: str = "channel") -> type:
    # The channels the code knows, not SELECT DISTINCT over every top-up.
    return fixed_choices_filter(field, gettext_lazy("channel"), lambda: [(name, name) for name in ADAPTERS])


def _form_errors(form, exc: ServiceError) -> None:
    for name, problems in (exc.fields or {"__all__": [exc.message]}).items():
        for text in problems:
            form.add_error(name if name in form.fields else None, text)


# The account page shows only the newest lines; the full list is the line
# list filtered by account (linked from the page).
LEDGER_INLINE_LIMIT = 50


class LedgerLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LedgerLine
    verbose_name_plural = gettext_lazy("latest ledger lines")
    fields = ("seq", "created_at", "entry", "amount", "balance_after")
    readonly_fields = fields
    ordering = ("-created_at",)
    extra = 0
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("entry")


@admin.register(LedgerAccount)
class LedgerAccountAdmin(admin.ModelAdmin):
    list_display = ("key", "kind", "user", "balance", "currency", "updated_at")
    list_filter = ("kind",)
    list_select_related = ("user",)
    search_fields = ("key", "user__username")  # plus phone in any format, see get_search_results
    search_help_text = gettext_lazy("Owner's phone number (any format), username or user id; or the account key.")
    readonly_fields = ("key", "kind", "user", "name", "balance", "currency", "line_count", "created_at", "updated_at")
    fields = readonly_fields
    inlines = [LedgerLineInline]
    change_form_template = "admin/wallet/ledgeraccount/change_form.html"

    def has_add_permission(self, request):
        return False  # created on first use

    def has_change_permission(self, request, obj=None):
        return False  # nothing to save: balances move only through services

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(_owner_q(search_term, "user_id") | Q(key=search_term.strip())), False

    def get_urls(self):
        return [
            path(
                "<int:account_id>/adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="wallet_ledgeraccount_adjust",
            ),
            *super().get_urls(),
        ]

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, LedgerLineInline) and obj is not None and obj.tracked:
            # Tracked lines are numbered 1..n, so the newest are a range of seq
            # (a slice would break the formset's own filtering).
            kwargs["queryset"] = kwargs["queryset"].filter(seq__gt=obj.line_count - LEDGER_INLINE_LIMIT)
        return kwargs

    def get_inlines(self, request, obj):
        # A channel's clearing account has a line per top-up in the system: no inline there.
        return self.inlines if obj is not None and obj.tracked else []

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_adjust": request.user.has_perm("wallet.adjust_balance")}
        return super().change_view(request, object_id, form_url, extra_context)

    def adjust_view(self, request, account_id):
        if not request.user.has_perm("wallet.adjust_balance"):
            raise PermissionDenied
        account = get_object_or_404(
            LedgerAccount.objects.select_related("user"), pk=account_id, kind=AccountKind.WALLET
        )
        # Post/redirect/get: a refused adjustment comes back to this page (a GET) with its errors.
        stash = f"wallet-adjust-{account.pk}"
        form = AdjustBalanceForm(request.POST or None)
        if request.method == "GET":
            form = form_restore(request, stash, AdjustBalanceForm) or form
        if request.method == "POST" and form.is_valid():
            try:
                result = wallet_adjust(
                    actor=request.user,
                    user=account.user,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                )
            except ServiceError as exc:
                _form_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Balance adjusted by %(amount)s; new balance %(balance)s.")
                    % {
                        "amount": money_display(result.line.amount, account.currency, signed=True),
                        "balance": money_display(result.balance, account.currency),
                    },
                )
                return redirect(reverse("admin:wallet_ledgeraccount_change", args=[account.pk]))
        if request.method == "POST":
            form_stash(request, stash, form)
            return redirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": account,
            "form": form,
            "title": _("Adjust balance"),
            "summary": _("Owner: %(owner)s · current balance %(balance)s")
            % {"owner": account.user, "balance": money_display(account.balance, account.currency)},
        }
        return TemplateResponse(request, "admin/wallet/action_form.html", context)


class JournalLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LedgerLine
    fields = ("account", "amount", "seq", "balance_after")
    readonly_fields = fields
    extra = 0
    max_num = 0


@admin.register(JournalEntry)
class JournalEntryAdmin(ScaleSafeAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "kind", "reference", "description", "actor")
    list_filter = ("kind", "created_at")  # a date range, not date_hierarchy
    ordering = ("-created_at", "-id")  # the index wallet_entry_created
    list_select_related = ("actor",)
    search_fields = ("=reference",)
    fields = ("id", "kind", "reference", "description", "actor", "reason", "origin", "created_at")
    readonly_fields = fields
    inlines = [JournalLineInline]


@admin.register(LedgerLine)
class LedgerLineAdmin(ScaleSafeAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "account", "kind", "amount", "balance_after", "reference")
    list_filter = ("entry__kind", "account__kind", "created_at")  # a date range, not date_hierarchy
    list_select_related = ("account__user", "entry")  # the account's name shows its owner
    search_fields = ("account__user__username",)  # plus phone in any format, see get_search_results
    search_help_text = gettext_lazy("Owner's phone number (any format), username or user id.")
    ordering = ("-created_at", "-id")  # the index wallet_line_created
    fields = ("id", "entry", "account", "seq", "amount", "balance_after", "created_at")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("kind"), ordering="entry__kind")
    def kind(self, obj):
        return obj.entry.get_kind_display()

    @admin.display(description=gettext_lazy("reference"))
    def reference(self, obj):
        return obj.entry.reference

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        # The owner's accounts first (wallet, frozen): then (account_id, -created_at, -id) serves the page.
        accounts = LedgerAccount.objects.filter(_owner_q(search_term, "user_id")).values_list("pk", flat=True)
        return queryset.filter(account_id__in=list(accounts)), False


class TopUpRefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TopUpRefund
    fields = ("id", "amount", "status", "reason", "actor", "channel_refund_id", "error", "created_at", "finished_at")
    readonly_fields = fields
    extra = 0
    max_num = 0


class NotificationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaymentNotification
    fields = ("received_at", "event", "verified", "outcome", "error")
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True


@admin.register(TopUp)
class TopUpAdmin(ScaleSafeAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "user", "amount", "channel", "status", "trade_no", "created_at", "paid_at", "refunded_amount")
    list_filter = ("status", _channel_filter(), "created_at")  # a date range, not date_hierarchy
    ordering = ("-created_at", "-id")  # the index wallet_topup_created
    list_select_related = ("user",)
    search_fields = ("=id", "=trade_no")  # plus phone in any format, see get_search_results
    search_help_text = gettext_lazy(
        "Order number, channel trade number, or the owner's phone (any format), username or id."
    )
    fields = (
        "id",
        "user",
        "amount",
        "currency",
        "channel",
        "method",
        "status",
        "trade_no",
        "refunded_amount",
        "credit_entry",
        "created_at",
        "expires_at",
        "paid_at",
        "queried_at",
        "pay",
    )
    readonly_fields = fields
    inlines = [TopUpRefundInline, NotificationInline]
    change_form_template = "admin/wallet/topup/change_form.html"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # trade_no through its (channel, trade_no) index: every channel named, so no scan.
        by_trade_no = Q(channel__in=list(ADAPTERS), trade_no=term)
        return queryset.filter(Q(pk=term) | by_trade_no | _owner_q(term, "user_id")), False

    def get_urls(self):
        return [
            path("<str:top_up_id>/refund/", self.admin_site.admin_view(self.refund_view), name="wallet_topup_refund"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_refund": request.user.has_perm("wallet.refund_top_up")}
        return super().change_view(request, object_id, form_url, extra_context)

    def refund_view(self, request, top_up_id):
        if not request.user.has_perm("wallet.refund_top_up"):
            raise PermissionDenied
        top_up = get_object_or_404(TopUp.objects.select_related("user", "account"), pk=top_up_id)
        stash = f"wallet-refund-{top_up.pk}"
        form = TopUpRefundForm(request.POST or None)
        if request.method == "GET":
            form = form_restore(request, stash, TopUpRefundForm) or form
        if request.method == "POST" and form.is_valid():
            try:
                refund = top_up_refund(
                    actor=request.user,
                    top_up_id=top_up.id,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                )
            except ServiceError as exc:
                _form_errors(form, exc)
            else:
                if refund.status == "succeeded":
                    messages.success(
                        request,
                        _("Refunded %(amount)s to the channel.")
                        % {"amount": money_display(refund.amount, top_up.currency)},
                    )
                elif refund.status == "failed":
                    messages.error(
                        request,
                        _("The channel refused the refund; %(amount)s is back in the wallet. %(error)s")
                        % {"amount": money_display(refund.amount, top_up.currency), "error": refund.error},
                    )
                else:
                    messages.warning(request, _("The refund is pending at the channel; the amount stays frozen."))
                return redirect(reverse("admin:wallet_topup_change", args=[top_up.pk]))
        if request.method == "POST":
            form_stash(request, stash, form)
            return redirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": top_up,
            "form": form,
            "title": _("Refund to the channel"),
            "summary": _("%(amount)s paid through %(channel)s; %(refunded)s refunded; wallet balance %(balance)s.")
            % {
                "amount": money_display(top_up.amount, top_up.currency),
                "channel": top_up.channel,
                "refunded": money_display(top_up.refunded_amount, top_up.currency),
                "balance": money_display(top_up.account.balance, top_up.currency),
            },
        }
        return TemplateResponse(request, "admin/wallet/action_form.html", context)


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(ScaleSafeAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "channel", "event", "top_up_ref", "trade_no", "amount", "verified", "outcome")
    list_filter = (_channel_filter(), "outcome", "verified", "received_at")  # a date range, not date_hierarchy
    ordering = ("-received_at", "-id")  # the index wallet_notification_received
    search_fields = ("=top_up_ref", "=trade_no")
    fields = (
        "received_at",
        "channel",
        "remote_addr",
        "verified",
        "outcome",
        "error",
        "top_up",
        "top_up_ref",
        "trade_no",
        "event",
        "amount",
        "currency",
        "headers",
        "raw_body",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("body"))
    def raw_body(self, obj):
        return bytes(obj.body).decode("utf-8", errors="replace")


@admin.register(TopUpRefund)
class TopUpRefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "top_up", "amount", "status", "actor", "created_at", "finished_at")
    list_filter = ("status", "created_at")
    search_fields = ("=id", "=top_up__id", "=channel_refund_id")
    list_select_related = ("actor",)
    fields = (
        "id",
        "top_up",
        "amount",
        "status",
        "reason",
        "actor",
        "channel_refund_id",
        "error",
        "freeze_entry",
        "finish_entry",
        "created_at",
        "finished_at",
        "queried_at",  # a pending one: when wallet_sync last asked the channel
    )
    readonly_fields = fields
    actions = ["ask_the_channel"]

    def has_refund_permission(self, request):
        return request.user.has_perm("wallet.refund_top_up")

    @admin.action(
        description=gettext_lazy("Ask the channel now about the selected pending refunds"), permissions=["refund"]
    )
    def ask_the_channel(self, request, queryset):
        """What wallet_sync does every minute, now, for the refunds staff chose (the service checks the actor)."""
        for refund_id in queryset.filter(status=TopUpRefundStatus.PENDING).values_list("pk", flat=True):
            try:
                refund = top_up_refund_check(actor=request.user, refund_id=refund_id)
            except ServiceError as exc:
                messages.error(request, f"{refund_id}: {exc.message}")
                continue
            label = TopUpRefundStatus(refund.status).label
            messages.info(request, _("%(id)s: %(status)s") % {"id": refund.pk, "status": label})


# --- Reconciliation (read-only: runs are written by wallet_reconcile only) ----------------------

#: mismatches shown on a run's page; the rest are in the mismatch list, filtered by run
RUN_PAGE_MISMATCHES = 100


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("date", "channel", "status", "bill_lines", "mismatch_count", "started_at", "finished_at")
    list_filter = (_channel_filter(), "status", "date")  # no SELECT DISTINCT, no date_hierarchy
    fields = (
        "channel",
        "date",
        "status",
        "started_at",
        "finished_at",
        "bill_lines",
        "mismatch_count",
        "error",
        "mismatch_table",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("mismatches"))
    def mismatch_table(self, obj):
        if not obj.mismatch_count:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{} {}</td></tr>",
            (
                (
                    m.get_kind_display(),
                    m.get_record_display(),
                    m.top_up_id,
                    m.refund_id,
                    m.trade_no,
                    m.our_amount if m.our_amount is not None else "—",
                    m.our_status,
                    m.their_amount if m.their_amount is not None else "—",
                    m.their_status,
                )
                for m in obj.mismatches.order_by("pk")[:RUN_PAGE_MISMATCHES]
            ),
        )
        link = reverse("admin:wallet_reconciliationmismatch_changelist") + f"?run__id__exact={obj.pk}"
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            '</thead><tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
            _("kind"),
            _("record"),
            _("order number"),
            _("refund number"),
            _("channel trade number"),
            _("ours"),
            _("channel's"),
            rows,
            link,
            _("All %(count)s mismatches") % {"count": obj.mismatch_count},
        )


@admin.register(ReconciliationMismatch)
class ReconciliationMismatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "run",
        "kind",
        "record",
        "top_up_id",
        "refund_id",
        "trade_no",
        "our_amount",
        "our_status",
        "their_amount",
        "their_status",
    )
    list_filter = ("kind", "record", _channel_filter("run__channel"), "run__date")
    search_fields = ("=top_up_id", "=refund_id", "=trade_no")
    list_select_related = ("run",)
    fields = list_display
    readonly_fields = fields


# Client applications, their keys, charges and refunds: their own module.
from wallet import admin_clients  # noqa: E402, F401
