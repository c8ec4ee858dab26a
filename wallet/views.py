from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import ServiceError
from wallet.forms import PaymentForm, TopUpForm, new_idempotency_key
from wallet.selectors import wallet_transactions
from wallet.services import wallet_get_or_create, wallet_pay, wallet_top_up

HISTORY_PAGE_SIZE = 10


def _page(request, *, top_up_form=None, payment_form=None, status=200):
    wallet = wallet_get_or_create(user=request.user)
    history = Paginator(wallet_transactions(user=request.user), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "wallet": wallet,
        "history": history,
        "top_up_form": top_up_form or TopUpForm(initial={"idempotency_key": new_idempotency_key()}),
        "payment_form": payment_form or PaymentForm(initial={"idempotency_key": new_idempotency_key()}),
    }
    return render(request, "wallet/wallet.html", context, status=status)


def _show_error(form, exc: ServiceError) -> None:
    fields = exc.fields or {}
    for name, problems in fields.items():
        for text in problems:
            form.add_error(name if name in form.fields else None, text)
    if not fields:
        form.add_error(None, exc.message)


@login_required
def wallet_page(request):
    return _page(request)


@login_required
@require_POST
def top_up(request):
    form = TopUpForm(request.POST)
    if form.is_valid():
        try:
            result = wallet_top_up(
                user=request.user,
                amount=form.cleaned_data["amount"],
                idempotency_key=form.cleaned_data["idempotency_key"] or None,
            )
        except ServiceError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("Topped up %(amount)s.") % {"amount": result.body["transaction"]["amount"]})
            return redirect("wallet:wallet")
    return _page(request, top_up_form=form, status=400)


@login_required
@require_POST
def pay(request):
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            result = wallet_pay(
                user=request.user,
                amount=form.cleaned_data["amount"],
                description=form.cleaned_data["description"],
                idempotency_key=form.cleaned_data["idempotency_key"] or None,
            )
        except ServiceError as exc:
            _show_error(form, exc)
        else:
            amount = result.body["transaction"]["amount"].lstrip("-")
            messages.success(request, _("Paid %(amount)s.") % {"amount": amount})
            return redirect("wallet:wallet")
    return _page(request, payment_form=form, status=400)
