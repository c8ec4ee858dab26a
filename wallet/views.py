from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from config.errors import ServiceError
from config.forms import form_add_service_error, form_restore, form_stash
from config.origin import Origin
from wallet.channels import channel_get, channels_enabled
from wallet.channels.sandbox import sandbox_checkout, sandbox_sign, sandbox_trade_for_token
from wallet.charges import charges_by_id
from wallet.conf import wallet_settings
from wallet.errors import ChannelUnavailable
from wallet.forms import TopUpForm, new_idempotency_key
from wallet.models import EntryKind
from wallet.selectors import top_ups_of, wallet_lines
from wallet.services import notification_receive, top_up_create, top_up_get, wallet_get

HISTORY_PAGE_SIZE = 10
TOP_UPS_SHOWN = 5

CHANNEL_NAMES = {
    "sandbox": gettext_lazy("Sandbox (test payment)"),
    "alipay": gettext_lazy("Alipay"),
    "wechatpay": gettext_lazy("WeChat Pay"),
}


def _channels() -> list[tuple[str, str]]:
    return [(name, str(CHANNEL_NAMES.get(name, name))) for name in channels_enabled()]


def _top_up_form(data=None) -> TopUpForm:
    return TopUpForm(
        data,
        presets=wallet_settings.TOP_UP_PRESETS,
        channels=_channels(),
        initial={"idempotency_key": new_idempotency_key()},
    )


def _page(request, *, top_up_form=None):
    history = Paginator(wallet_lines(user=request.user), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    # Charges and their refunds name the application that made them (one query per page).
    lines = list(history.object_list)
    of_charges = [line.entry.reference for line in lines if line.entry.kind in (EntryKind.CHARGE, EntryKind.REFUND)]
    charges = charges_by_id(ids=of_charges)
    rows = [
        (line, charges.get(line.entry.reference) if line.entry.kind in (EntryKind.CHARGE, EntryKind.REFUND) else None)
        for line in lines
    ]
    context = {
        "wallet": wallet_get(user=request.user),
        "history": history,
        "history_rows": rows,
        "top_ups": top_ups_of(user=request.user)[:TOP_UPS_SHOWN],
        "top_up_form": top_up_form or _top_up_form(),
    }
    return render(request, "wallet/wallet.html", context)


# Post/redirect/get: a refused top-up comes back to /wallet/ with what was typed and why (config.forms).
TOP_UP_STASH = "wallet-top-up"


@login_required
def wallet_page(request):
    form = form_restore(
        request,
        TOP_UP_STASH,
        TopUpForm,
        fresh={"idempotency_key": new_idempotency_key()},
        presets=wallet_settings.TOP_UP_PRESETS,
        channels=_channels(),
    )
    return _page(request, top_up_form=form)


@login_required
@require_POST
def top_up(request):
    form = _top_up_form(request.POST)
    if form.is_valid():
        try:
            result = top_up_create(
                user=request.user,
                amount=form.cleaned_data["amount"],
                channel=form.cleaned_data["channel"],
                idempotency_key=form.cleaned_data["idempotency_key"] or None,
                origin=Origin.from_request(request),
            )
        except ServiceError as exc:
            form_add_service_error(form, exc)
        else:
            top_up = result.top_up
            url = (top_up.pay or {}).get("url") if top_up.status == "pending" else None
            if url:
                return redirect(url)  # to the channel's checkout; it sends the person back to the result page
            return redirect("wallet:top-up-result", top_up_id=top_up.id)
    form_stash(request, TOP_UP_STASH, form)
    return redirect("wallet:wallet")


@login_required
def top_up_result(request, top_up_id: str):
    """Where a person comes back from paying: pending -> paid, polled by static/js/top-up-status.js."""
    try:
        top_up = top_up_get(user=request.user, top_up_id=top_up_id)
    except ServiceError as exc:
        raise Http404 from exc
    context = {
        "top_up": top_up,
        "wallet": wallet_get(user=request.user),
        "channel_name": CHANNEL_NAMES.get(top_up.channel, top_up.channel),
    }
    return render(request, "wallet/top_up_result.html", context)


# No CSRF check: the unguessable token in the URL is the only credential (API.md: whoever holds
# the URL can pay, and no session is involved), so a forged cross-site POST would need the token,
# and whoever has the token can pay directly. It is the provider's page, not ours: any client
# that holds pay.url pays the way API.md describes, with or without our cookies.
@csrf_exempt
def sandbox_checkout_page(request, token: str):
    """The sandbox provider's checkout: whoever holds the URL can pay, as with a real provider's link.

    Paying makes the sandbox send its signed notification through the same
    service (and so the same verification) as any channel's notification at
    ``/api/v1/wallet/notify/sandbox/``, in-process.
    """
    try:
        channel_get("sandbox")
    except ChannelUnavailable as exc:
        raise Http404 from exc
    trade = sandbox_trade_for_token(token)
    if trade is None:
        raise Http404
    result_url = reverse("wallet:top-up-result", args=[trade.out_trade_no])
    if request.method == "POST":
        outcome = sandbox_checkout(token=token, succeed=request.POST.get("outcome") == "succeeded")
        if outcome is None:
            messages.error(request, _("This payment can no longer be made."))
        else:
            _trade, body = outcome
            try:
                notification_receive(
                    channel="sandbox",
                    headers={"Content-Type": "application/json", "Sandbox-Signature": sandbox_sign(body)},
                    body=body,
                    remote_addr="sandbox",
                )
            except ServiceError as exc:  # the wallet refused it: the sandbox's books say paid, reconciliation sees it
                messages.error(request, exc.message)
        return redirect(result_url)
    return render(request, "wallet/sandbox_checkout.html", {"trade": trade, "result_url": result_url})
