"""Phone change: move an account to a new, verified number."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts.errors import PhoneTaken, RecentLoginRequired
from accounts.models import User
from accounts.recent_auth import auth_is_recent
from accounts.services.common import (
    Kind,
    code_consume,
    password_confirm,
    phone_parse,
    security_event_record,
)
from config.errors import InvalidInput
from config.origin import Origin
from smscodes.models import Purpose


def user_phone_change(
    *,
    user: User,
    phone: str,
    code: str | None = None,
    verification_token: str | None = None,
    password: str | None = None,
    authenticated_at: datetime | None = None,
    origin: Origin,
) -> User:
    """Move ``user`` to the new number ``phone`` (verified for ``change_phone``).

    Allowed with the current ``password``, or within
    ``ACCOUNTS_RECENT_LOGIN_SECONDS`` of ``authenticated_at`` (the login time
    of the token or session making the call); otherwise RecentLoginRequired
    (a validation_error on ``password``). Raises PasswordIncorrect,
    AccountLocked, InvalidPhone, InvalidInput (same number), PhoneTaken and
    the code errors.
    """
    if password:
        password_confirm(user, password, field="password", origin=origin)
    elif not auth_is_recent(authenticated_at):
        raise RecentLoginRequired()
    e164 = phone_parse(phone)
    if user.phone and str(user.phone) == e164:
        raise InvalidInput(fields={"phone": [_("This is already your phone number.")]})
    if User.objects.filter(phone=e164).exclude(pk=user.pk).exists():
        raise PhoneTaken()
    e164 = code_consume(
        phone=e164, purpose=Purpose.CHANGE_PHONE, code=code, verification_token=verification_token, origin=origin
    )
    old_phone = str(user.phone) if user.phone else ""
    try:
        with transaction.atomic():
            user.phone = e164
            user.save(update_fields=["phone"])
            security_event_record(
                Kind.PHONE_CHANGED,
                user=user,
                origin=origin,
                old_phone=old_phone,
                new_phone=e164,
            )
    except IntegrityError:
        user.phone = old_phone or None
        raise PhoneTaken() from None
    return user
