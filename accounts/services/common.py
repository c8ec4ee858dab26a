"""Pieces several account flows share: input checks, security events, token revocation.

Not a flow of its own; each flow module imports what it needs from here.
"""

import ipaddress

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import PasswordIncorrect, UsernameTaken
from accounts.lockout import lockout_check, lockout_key, lockout_record_failure
from accounts.models import SecurityEvent, User, username_validator
from config.errors import InvalidInput
from config.phones import looks_like_phone, phone_to_e164
from smscodes.errors import InvalidPhone
from smscodes.services import verification_consume

Kind = SecurityEvent.Kind


def code_consume(*, phone: str, purpose: str, code: str | None, verification_token: str | None) -> str:
    return verification_consume(
        phone=phone, purpose=purpose, code=code or None, verification_token=verification_token or None
    )


def phone_parse(phone: str | None) -> str:
    e164 = phone_to_e164(phone or "")
    if e164 is None:
        raise InvalidPhone()
    return e164


def fields_required(*names: str) -> InvalidInput:
    return InvalidInput(fields={name: [_("This field is required.")] for name in names})


def security_event_record(
    kind: str, *, user=None, login: str = "", client_ip: str = "", user_agent: str = "", **detail
) -> None:
    try:
        ip = str(ipaddress.ip_address(client_ip)) if client_ip else None
    except ValueError:
        ip = None
    SecurityEvent.objects.create(
        user=user, kind=kind, login=(login or "")[:150], ip=ip, user_agent=(user_agent or "")[:300], detail=detail
    )


def password_validate_new(password: str, *, user: User, field: str) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise InvalidInput(fields={field: exc.messages}) from exc


def username_clean(raw: str | None, *, user: User | None = None) -> str | None:
    """A valid, free username, or None for "no username"."""
    username = (raw or "").strip()
    if not username:
        return None
    if looks_like_phone(username) or phone_to_e164(username):
        raise InvalidInput(fields={"username": [_("A username cannot look like a phone number.")]})
    try:
        username_validator(username)
    except DjangoValidationError as exc:
        raise InvalidInput(fields={"username": exc.messages}) from exc
    taken = User.objects.filter(username__iexact=username)
    if user is not None:
        taken = taken.exclude(pk=user.pk)
    if taken.exists():
        raise UsernameTaken()
    return username


def user_fields_validate(user: User, names) -> None:
    exclude = [field.name for field in User._meta.fields if field.name not in names]
    try:
        user.clean_fields(exclude=exclude)
    except DjangoValidationError as exc:
        raise InvalidInput(fields=exc.message_dict) from exc


def login_record_success(user: User, *, method: str, client_ip: str, user_agent: str) -> None:
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login=now)
    user.last_login = now
    security_event_record(Kind.LOGIN_SUCCEEDED, user=user, client_ip=client_ip, user_agent=user_agent, method=method)


def user_tokens_revoke(user: User, *, extra_fields: tuple[str, ...] = ()) -> None:
    # Tokens and browser sessions issued before this moment are refused.
    user.tokens_valid_after = timezone.now()
    user.save(update_fields=["tokens_valid_after", *extra_fields])


def password_confirm(user: User, password: str, *, field: str, client_ip: str, user_agent: str) -> None:
    """The account's own password again; wrong tries count towards its lockout."""
    key = lockout_key(user=user)
    lockout_check(key)
    if not user.check_password(password):
        locked = lockout_record_failure(key)
        security_event_record(
            Kind.LOGIN_FAILED,
            user=user,
            client_ip=client_ip,
            user_agent=user_agent,
            reason="wrong_current_password",
            locked=locked,
        )
        raise PasswordIncorrect(fields={field: [PasswordIncorrect.default_message]})


def actor_detail(actor: User | None) -> dict:
    return {"actor_id": actor.pk, "actor": str(actor)} if actor is not None else {}
