"""Finance staff: client applications and their API keys, charges and refunds.

Nothing here writes a row itself: creating an application, issuing and
revoking keys and switching an application on or off call ``wallet.clients``;
charges and refunds are read-only (they are made by the applications).
A new key is shown once, on the page that answers its creation (not in a
message, which would travel in a cookie), and never again.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, DecimalField, F, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework_api_key.admin import APIKey

from accounts.selectors import user_ids_for_search
from config.admin import ReadOnlyAdminMixin, ScaleSafeAdminMixin
from config.errors import ServiceError
from wallet.clients import client_application_create, client_application_update, client_key_issue, client_key_revoke
from wallet.models import Charge, ChargeRefund, ChargeStatus, ClientApplication, ClientApplicationKey, LedgerLine, Scope

# djangorestframework-api-key registers its own (unused) APIKey model; our keys belong to applications.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class ClientApplicationForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = ClientApplication
        fields = ("name", "scopes", "active")


class KeyInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ClientApplicationKey
    fields = ("prefix", "name", "created", "last_used_at", "revoked", "revoked_at", "revoked_by")
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True
    verbose_name_plural = gettext_lazy("API keys (the secret part is never stored)")


def _show_keys(modeladmin: admin.ModelAdmin, request: HttpRequest, issued: list[tuple[Any, str]]) -> HttpResponse:
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": ClientApplication._meta,
        "title": _("New API key"),
        "issued": issued,
    }
    return TemplateResponse(request, "admin/wallet/clientapplication/key_created.html", context)


@admin.register(ClientApplication)
class ClientApplicationAdmin(admin.ModelAdmin):
    form = ClientApplicationForm
    list_display = ("name", "scope_list", "active", "revenue", "key_count", "last_used", "created_at")
    list_filter = ("active",)
    search_fields = ("name",)
    inlines = [KeyInline]
    actions = ["issue_key", "deactivate", "activate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClientApplication]:
        # Subqueries, not joins: a join over keys and revenue lines would multiply both.
        money = DecimalField(max_digits=16, decimal_places=2)
        revenue = (
            LedgerLine.objects.filter(account=OuterRef("revenue_account"))
            .order_by()
            .values("account")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        keys = ClientApplicationKey.objects.filter(application=OuterRef("pk")).order_by().values("application")
        return (
            super()
            .get_queryset(request)
            .annotate(
                _revenue=Coalesce(Subquery(revenue, output_field=money), Value(0, output_field=money)),
                _key_count=Coalesce(Subquery(keys.annotate(n=Count("pk")).values("n")), 0),
                _last_used=Subquery(keys.annotate(at=Max("last_used_at")).values("at")),
            )
            .select_related("created_by", "revenue_account")
        )

    def get_inlines(self, request: HttpRequest, obj: ClientApplication | None) -> list[Any]:
        return [] if obj is None else self.inlines

    def get_fields(self, request: HttpRequest, obj: ClientApplication | None = None) -> Any:
        if obj is None:
            return ["name", "scopes"]
        return ["name", "scopes", "active", "revenue", "revenue_account", "created_at", "created_by"]

    def get_readonly_fields(self, request: HttpRequest, obj: ClientApplication | None = None) -> Any:
        return [] if obj is None else ["name", "revenue", "revenue_account", "created_at", "created_by"]

    def has_delete_permission(self, request: HttpRequest, obj: ClientApplication | None = None) -> bool:
        return False  # its charges and its revenue stay: switch it off instead

    @admin.display(description=gettext_lazy("scopes"))
    def scope_list(self, obj: ClientApplication) -> str:
        return ", ".join(obj.scopes) or "-"

    @admin.display(description=gettext_lazy("revenue (charged − refunded)"), ordering="_revenue")
    def revenue(self, obj: ClientApplication) -> str:
        return f"{getattr(obj, '_revenue', 0):.2f}"

    @admin.display(description=gettext_lazy("keys"), ordering="_key_count")
    def key_count(self, obj: ClientApplication) -> int:
        return getattr(obj, "_key_count", 0)

    @admin.display(description=gettext_lazy("last used at"), ordering="_last_used")
    def last_used(self, obj: ClientApplication) -> Any:
        return getattr(obj, "_last_used", None)

    def save_model(self, request: HttpRequest, obj: ClientApplication, form: Any, change: bool) -> None:
        # The form only parses; the services decide (and raise ServiceError, shown by _changeform_view).
        if change:
            client_application_update(
                application=obj,
                actor=request.user,
                active=form.cleaned_data["active"],
                scopes=form.cleaned_data["scopes"],
            )
        else:
            application, raw_key = client_application_create(
                name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], actor=request.user
            )
            obj.pk = application.pk
            obj._issued_key = raw_key  # type: ignore[attr-defined]

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as exc:
            # Rolled back by the admin's atomic block. The form has already
            # checked what it can (unique name, known scopes), so this is rare.
            self.message_user(request, _problem_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def response_add(self, request: HttpRequest, obj: ClientApplication, post_url_continue: str | None = None):
        raw_key = getattr(obj, "_issued_key", None)
        if raw_key is None:  # pragma: no cover - save_model always sets it
            return super().response_add(request, obj, post_url_continue)
        return _show_keys(self, request, [(obj, raw_key)])

    @admin.action(description=gettext_lazy("Issue a new API key"), permissions=["change"])
    def issue_key(self, request: HttpRequest, queryset: QuerySet[ClientApplication]) -> HttpResponse | None:
        issued = []
        for application in queryset:
            _key, raw_key = client_key_issue(application=application, actor=request.user)
            issued.append((application, raw_key))
        return _show_keys(self, request, issued) if issued else None

    @admin.action(description=gettext_lazy("Switch off (refuse all their keys)"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[ClientApplication]) -> None:
        for application in queryset:
            client_application_update(application=application, actor=request.user, active=False)
        self.message_user(request, _("Switched off: %(n)d.") % {"n": len(queryset)}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Switch on"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[ClientApplication]) -> None:
        for application in queryset:
            client_application_update(application=application, actor=request.user, active=True)
        self.message_user(request, _("Switched on: %(n)d.") % {"n": len(queryset)}, messages.SUCCESS)


def _problem_text(exc: ServiceError) -> str:
    problems = [str(text) for texts in (exc.fields or {}).values() for text in texts]
    return " ".join(problems) or str(exc.message)


@admin.register(ClientApplicationKey)
class ClientApplicationKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("prefix", "application", "name", "created", "last_used_at", "revoked", "revoked_at")
    list_filter = ("revoked", "application")
    list_select_related = ("application",)
    search_fields = ("prefix", "application__name", "name")
    fields = (
        "prefix",
        "application",
        "name",
        "created",
        "created_by",
        "expiry_date",
        "last_used_at",
        "revoked",
        "revoked_at",
        "revoked_by",
    )
    readonly_fields = fields
    actions = ["revoke"]

    @admin.action(description=gettext_lazy("Revoke the selected keys (cannot be undone)"), permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ClientApplicationKey]) -> None:
        count = 0
        for key in queryset:
            if not key.revoked:
                client_key_revoke(key=key, actor=request.user)
                count += 1
        self.message_user(request, _("Revoked: %(n)d.") % {"n": count}, messages.SUCCESS)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("wallet.change_clientapplication")


# --- Charges and refunds (read-only: the applications make them) ----------------------------


def _search(term: str, *, charge: str, person: str) -> Q:
    """The charge's number or order number (``charge`` prefixes the charge's fields), or the person's
    phone (any format), username or id (``person`` prefixes the user's fields)."""
    # The person is resolved first (one indexed query) and matched by id: an OR
    # across joined user columns would be evaluated for every charge.
    return (
        Q(**{f"{charge}pk": term})
        | Q(**{f"{charge}order_id": term})
        | Q(**{f"{person}id__in": user_ids_for_search(term)})
    )


class ChargeStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(ChargeStatus.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Charge]) -> QuerySet[Charge]:
        value = self.value()
        if value == ChargeStatus.SUCCEEDED:
            return queryset.filter(refunded_amount=0)
        if value == ChargeStatus.PARTIALLY_REFUNDED:
            return queryset.filter(refunded_amount__gt=0, refunded_amount__lt=F("amount"))
        if value == ChargeStatus.REFUNDED:
            return queryset.filter(refunded_amount=F("amount"))
        return queryset


class ChargeRefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ChargeRefund
    fk_name = "charge"
    fields = ("id", "created_at", "amount", "reason", "idempotency_key")
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True


@admin.register(Charge)
class ChargeAdmin(ScaleSafeAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "created_at", "application", "user", "order_id", "amount", "refunded_amount", "status_label")
    list_filter = ("application", ChargeStatusFilter, "created_at")  # a date range, not date_hierarchy
    list_select_related = ("application", "user")
    search_fields = ("=id",)  # plus order number and the person, see get_search_results
    search_help_text = gettext_lazy("Charge number, order number, or the person's phone (any format), username or id.")
    fields = (
        "id",
        "application",
        "user",
        "order_id",
        "amount",
        "currency",
        "refunded_amount",
        "status_label",
        "description",
        "balance_after",
        "created_at",
        "ledger",
    )
    readonly_fields = fields
    inlines = [ChargeRefundInline]

    @admin.display(description=gettext_lazy("status"))
    def status_label(self, obj: Charge) -> str:
        return obj.get_status_display()

    @admin.display(description=gettext_lazy("ledger entries"))
    def ledger(self, obj: Charge) -> str:
        url = reverse("admin:wallet_journalentry_changelist") + "?" + urlencode({"q": obj.pk})
        return format_html('<a href="{}">{}</a>', url, _("The charge and its refunds in the ledger"))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Charge], search_term: str):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(_search(term, charge="", person="user__")), False


@admin.register(ChargeRefund)
class ChargeRefundAdmin(ScaleSafeAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "created_at", "application", "charge", "person", "amount", "reason")
    list_filter = ("application", "created_at")  # a date range, not date_hierarchy
    list_select_related = ("application", "charge__user")
    search_fields = ("=id",)
    search_help_text = gettext_lazy(
        "Refund or charge number, order number, or the person's phone (any format), username or id."
    )
    fields = (
        "id",
        "charge",
        "application",
        "amount",
        "reason",
        "idempotency_key",
        "refunded_after",
        "balance_after",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("person"), ordering="charge__user")
    def person(self, obj: ChargeRefund) -> Any:
        return obj.charge.user

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[ChargeRefund], search_term: str):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(pk=term) | _search(term, charge="charge__", person="charge__user__")), False
