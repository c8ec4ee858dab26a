"""A person's data export (``GET /api/v1/me/export/``, the account page's "download my data").

Everything the service holds about the person, as one JSON document: the
account, its devices, security events, consents, the SMS log of its number,
and the other apps' sections (``accounts.lifecycle``: the wallet adds
``wallet``, ``transactions`` and ``top_ups``). Never a password hash, an SMS
code or its HMAC (the SMS log holds neither), a token, a session key or a
payment's checkout credentials: each section lists its fields explicitly.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from accounts.lifecycle import lifecycle_hooks
from accounts.models import User
from accounts.services.common import Kind, security_event_record
from config.errors import RateLimited
from config.origin import Origin
from config.ratelimit import ratelimit_hit, throttle_identity, throttle_rate, throttle_scope_key
from smscodes.models import SmsMessage

# THROTTLE_DATA_EXPORT: each export reads every row of the person (the API and the page share it).
EXPORT_THROTTLE_SCOPE = "data_export"
FORMAT_VERSION = 1

# The sections of API.md, in this order; the other apps' sections are empty when none is installed.
SECTIONS = ("user", "devices", "security_events", "consents", "wallet", "transactions", "top_ups", "sms_messages")


@dataclass(frozen=True)
class DataExport:
    filename: str
    content: bytes


def _throttle(user: User) -> None:
    rate = throttle_rate(EXPORT_THROTTLE_SCOPE)
    if rate is None:
        return
    result = ratelimit_hit(
        scope=throttle_scope_key(EXPORT_THROTTLE_SCOPE), key=throttle_identity(user_pk=user.pk), rate=rate
    )
    if not result.allowed:
        raise RateLimited(retry_after=result.retry_after)


def _user_section(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.username,
        "phone": str(user.phone) if user.phone else None,
        "nickname": user.nickname,
        "gender": user.gender,
        "email": user.email,
        "job": user.job,
        "company": user.company,
        "avatar": user.avatar.name or None,
        "role": user.role,
        "has_password": user.has_usable_password(),
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "documents_agreed_to": user.consents_accepted,
        "deletion": {"scheduled_at": user.deletion_scheduled_at, "delete_after": user.delete_after}
        if user.delete_after
        else None,
    }


def user_data_collect(*, user: User) -> dict[str, Any]:
    """The export's document as a dict (reads only). A handful of queries, one per section."""
    data: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "exported_at": timezone.now(),
        "user": _user_section(user),
        "devices": list(
            user.devices.order_by("-created_at").values(
                "id", "kind", "name", "user_agent", "ip", "created_at", "last_seen_at", "ended_at", "end_reason"
            )
        ),
        "security_events": list(
            user.security_events.order_by("-created_at").values(
                "kind", "login", "ip", "user_agent", "detail", "created_at"
            )
        ),
        "consents": [
            {
                "document": consent.document.kind,
                "version": consent.document.version,
                "accepted_at": consent.accepted_at,
                "ip": consent.ip,
                "user_agent": consent.user_agent,
            }
            for consent in user.consents.select_related("document").order_by("-accepted_at")
        ],
        "wallet": None,
        "transactions": [],
        "top_ups": [],
        "sms_messages": list(
            SmsMessage.objects.filter(phone=str(user.phone))
            .order_by("-created_at")
            .values("purpose", "status", "backend", "client_ip", "created_at")
        )
        if user.phone
        else [],
    }
    for hook in lifecycle_hooks():
        data.update(hook.export(user=user))
    return data


def user_data_export(*, user: User, origin: Origin) -> DataExport:
    """``user``'s data as a JSON file (UTF-8, times in UTC); records a ``data_exported`` security event.

    Throttled per user (``THROTTLE_DATA_EXPORT``, RateLimited past it).
    """
    _throttle(user)
    data = user_data_collect(user=user)
    security_event_record(Kind.DATA_EXPORTED, user=user, origin=origin)
    content = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()
    filename = f"my-data-{user.pk}-{timezone.now():%Y%m%d}.json"
    return DataExport(filename=filename, content=content)
