"""Signed-in devices: start one per sign-in, end one (by its owner or by staff).

``device_name`` (re-exported) turns a User-Agent into the name people see.
"""

from django.db import transaction

from accounts.device_state import device_name, device_record, devices_end
from accounts.errors import StaffPermissionDenied
from accounts.models import Device, User
from accounts.services.common import Kind, actor_detail, security_event_record
from accounts.services.staff import staff_may
from accounts.tokens import RefreshTokenReused, token_refresh
from config.errors import NotFound
from config.origin import Origin

__all__ = [
    "device_end",
    "device_end_by_owner",
    "device_end_by_staff",
    "device_name",
    "device_sign_in",
    "tokens_refresh",
]

PERM_END_DEVICE = "accounts.end_device"


def device_sign_in(*, user: User, kind: str, origin: Origin, session_key: str = "") -> Device:
    """Record a new sign-in of ``user`` (one INSERT); its id goes into the tokens (``sid``) or the session."""
    return device_record(user=user, kind=kind, origin=origin, session_key=session_key)


def device_end(*, device: Device, reason: str, origin: Origin) -> None:
    """End ``device`` now: its tokens are refused (401 token_invalid), its browser session is gone."""
    with transaction.atomic():
        if devices_end(Device.objects.filter(pk=device.pk), reason=reason):
            security_event_record(
                Kind.DEVICE_ENDED,
                user=device.user,
                origin=origin,
                device=device.pk,
                reason=reason,
                **actor_detail(origin),
            )


def device_end_by_owner(*, user: User, device_id: str, origin: Origin) -> None:
    """``user`` signs out one of their devices; another user's (or an unknown) id is NotFound."""
    device = Device.objects.filter(pk=device_id, user=user).first()
    if device is None:
        raise NotFound()
    device_end(device=device, reason="signed_out", origin=origin)


def device_end_by_staff(*, device: Device, origin: Origin) -> None:
    """Staff sign out a user's device: ``accounts.end_device`` on an account ``staff_may`` lets them touch."""
    if origin.actor is not None and not staff_may(actor=origin.actor, target=device.user, permission=PERM_END_DEVICE):
        raise StaffPermissionDenied()
    device_end(device=device, reason="ended_by_staff", origin=origin)


def tokens_refresh(*, refresh: str, origin: Origin) -> dict:
    """Rotate a refresh token (``accounts.tokens.token_refresh``); a reuse is recorded as a security event.

    The reused token's device has been ended by then (its newer tokens die
    too); the answer is TokenInvalid either way.
    """
    try:
        return token_refresh(refresh=refresh, ip=origin.ip)
    except RefreshTokenReused as exc:
        user = exc.user if isinstance(exc.user, User) else None
        security_event_record(Kind.REFRESH_REUSED, user=user, origin=origin, device=str(exc.device_id or ""))
        raise
