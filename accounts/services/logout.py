"""Sign-out: this token pair, or every device."""

from django.db import transaction

from accounts.models import User
from accounts.services.common import Kind, security_event_record, user_tokens_revoke
from accounts.tokens import access_deny, refresh_revoke
from config.origin import Origin


@transaction.atomic
def user_logout(
    *,
    user: User,
    refresh: str | None = None,
    access_jti: str | None = None,
    access_exp: int | None = None,
    all_devices: bool = False,
    origin: Origin,
) -> None:
    """Log out: the access token ``access_jti`` (deny-list until ``access_exp``)
    and ``refresh`` (blacklisted; a bad or foreign one is ignored) stop working.
    With ``all_devices`` every token and browser session of the user ends.
    """
    if access_jti and access_exp:
        access_deny(jti=access_jti, exp=access_exp)
    if refresh:
        refresh_revoke(refresh=refresh, user=user)
    if all_devices:
        user_tokens_revoke(user)
    security_event_record(Kind.LOGOUT_ALL if all_devices else Kind.LOGOUT, user=user, origin=origin)
