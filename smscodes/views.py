"""The HTML side of SMS codes: a helper for pages that offer "send code".

The account pages include ``smscodes/_send_code.html`` in their form; when the
form comes back with ``send_code`` in it, the page view calls
``send_code_from_form`` and re-renders the same form with its answer.
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.errors import ServiceError
from config.http import client_ip
from config.phone_display import phone_display
from smscodes.errors import SmsCooldown, SmsLimitExceeded
from smscodes.services import sms_code_send


def send_code_from_form(request, *, phone: str, purpose: str) -> tuple[bool, str, int]:
    """Send a code from a page; returns (ok, message to show, seconds before a resend).

    Never raises a domain error: its message is returned for the form instead.
    """
    try:
        sent = sms_code_send(phone=phone or "", purpose=purpose, client_ip=client_ip(request))
    except SmsCooldown as exc:
        seconds = int(exc.retry_after or 0)
        message = ngettext(
            "Please wait %(seconds)d second before asking for another code.",
            "Please wait %(seconds)d seconds before asking for another code.",
            seconds,
        ) % {"seconds": seconds}
        return False, message, seconds
    except SmsLimitExceeded as exc:
        minutes = max(1, -(-int(exc.retry_after or 60) // 60))  # rounded up
        message = ngettext(
            "Too many codes were requested. Please try again in %(minutes)d minute.",
            "Too many codes were requested. Please try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
        return False, message, 0
    except ServiceError as exc:
        message = str(exc.message)
        if exc.fields:  # a field error says more than the general message
            message = "; ".join(str(m) for msgs in exc.fields.values() for m in msgs) or message
        return False, message, 0
    if not sent.resend_in:
        return True, _("A code was sent to %(phone)s.") % {"phone": phone_display(sent.phone)}, 0
    # Without JavaScript the button stays enabled (the server enforces the
    # cooldown), so the page itself says how long to wait.
    message = ngettext(
        "A code was sent to %(phone)s. You can ask for another one in %(seconds)d second.",
        "A code was sent to %(phone)s. You can ask for another one in %(seconds)d seconds.",
        sent.resend_in,
    ) % {"phone": phone_display(sent.phone), "seconds": sent.resend_in}
    return True, message, sent.resend_in
