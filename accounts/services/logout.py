"""Sign-out: this device, or every device."""

from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError

from accounts.device_state import devices_end
from accounts.models import Device, User
from accounts.services.common import Kind, security_event_record, user_tokens_revoke
from accounts.tokens import DEVICE_CLAIM, RefreshToken, access_deny, refresh_revoke
from config.origin import Origin


def _refresh_device(refresh: str, user: User) -> str | None:
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type] # simplejwt annotates the raw token as Token
    except TokenError:
        return None
    device_id = token.get(DEVICE_CLAIM)
    return str(device_id) if device_id is not None and str(token.get("user_id")) == str(user.pk) else None


@transaction.atomic
def user_logout(
    *,
    user: User,
    refresh: str | None = None,
    access_jti: str | None = None,
    access_exp: int | None = None,
    device_id: str | None = None,
    all_devices: bool = False,
    origin: Origin,
) -> None:
    """Log out: the signed-in device ``device_id`` (the one making the call) ends,
    so every token it holds is refused, and so does the device of ``refresh``
    (blacklisted; a bad or foreign one is ignored). A token without a device
    is refused by its ``access_jti`` (deny-list until ``access_exp``).
    With ``all_devices`` every token and browser session of the user ends.
    """
    if access_jti and access_exp:
        access_deny(jti=access_jti, exp=access_exp)
    ended = {device_id} if device_id else set()
    if refresh:
        refresh_revoke(refresh=refresh, user=user)
        refresh_device = _refresh_device(refresh, user)
        if refresh_device:
            ended.add(refresh_device)
    if ended:
        devices_end(Device.objects.filter(user=user, pk__in=ended), reason="logged_out")
    if all_devices:
        user_tokens_revoke(user, reason="logged_out_everywhere")
    security_event_record(Kind.LOGOUT_ALL if all_devices else Kind.LOGOUT, user=user, origin=origin)
