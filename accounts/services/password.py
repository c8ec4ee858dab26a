"""Passwords: reset by SMS code, change by the account's owner."""

from django.db import transaction

from accounts.errors import AccountDisabled, PhoneNotRegistered
from accounts.lockout import lockout_clear, lockout_key
from accounts.models import User
from accounts.services.common import (
    Kind,
    code_consume,
    fields_required,
    password_confirm,
    password_validate_new,
    phone_parse,
    security_event_record,
    user_tokens_revoke,
)
from config.origin import Origin
from smscodes.models import Purpose


@transaction.atomic
def user_password_reset(
    *,
    phone: str,
    new_password: str,
    code: str | None = None,
    verification_token: str | None = None,
    origin: Origin,
) -> User:
    """Set a new password for the owner of ``phone`` (verified for ``reset_password``).

    Every token and browser session issued before ends; the login lockout is
    lifted (the owner proved they hold the phone). Raises InvalidPhone,
    PhoneNotRegistered, InvalidInput (weak ``new_password``), AccountDisabled
    and the code errors.
    """
    e164 = phone_parse(phone)
    user = User.objects.filter(phone=e164).first()
    if user is None:
        raise PhoneNotRegistered()
    password_validate_new(new_password, user=user, field="new_password")
    code_consume(
        phone=e164, purpose=Purpose.RESET_PASSWORD, code=code, verification_token=verification_token, origin=origin
    )
    if not user.is_active:
        raise AccountDisabled()
    user.set_password(new_password)
    user_tokens_revoke(user, extra_fields=("password",))
    lockout_clear(lockout_key(user=user))
    security_event_record(Kind.PASSWORD_RESET, user=user, origin=origin)
    return user


def user_password_change(
    *,
    user: User,
    new_password: str,
    old_password: str | None = None,
    origin: Origin,
) -> User:
    """Change ``user``'s password; ``old_password`` is required when they have one.

    Every other token and browser session of the user ends (the caller issues
    new ones). Raises InvalidInput (missing/weak fields), PasswordIncorrect
    (``old_password``), AccountLocked.
    """
    if user.has_usable_password():
        if not old_password:
            raise fields_required("old_password")
        password_confirm(user, old_password, field="old_password", origin=origin)
    password_validate_new(new_password, user=user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user_tokens_revoke(user, extra_fields=("password",))
        security_event_record(Kind.PASSWORD_CHANGED, user=user, origin=origin)
    return user
