"""Pieces several account flows share: input checks, security events, token revocation.

Not a flow of its own; each flow module imports what it needs from here.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.device_state import devices_end
from accounts.errors import PasswordIncorrect, UsernameTaken
from accounts.lockout import lockout_check, lockout_key, lockout_record_failure
from accounts.models import Device, SecurityEvent, User, username_validator
from accounts.validators import password_problems_merge
from config import metrics
from config.errors import InvalidInput
from config.origin import Origin
from config.phones import looks_like_phone, phone_to_e164
from config.sql import rows_write_together
from smscodes.errors import InvalidPhone
from smscodes.services import verification_check, verification_consume

Kind = SecurityEvent.Kind


def code_consume(*, phone: str, purpose: str, code: str | None, verification_token: str | None, origin: Origin) -> str:
    """``smscodes.services.verification_consume`` with empty strings meaning "not given"."""
    return verification_consume(
        phone=phone, purpose=purpose, code=code or None, verification_token=verification_token or None, origin=origin
    )


def code_check(*, phone: str, purpose: str, code: str | None, verification_token: str | None, origin: Origin) -> str:
    """``code_consume`` that leaves a right code (or token) usable: ``smscodes.services.verification_check``."""
    return verification_check(
        phone=phone, purpose=purpose, code=code or None, verification_token=verification_token or None, origin=origin
    )


def phone_parse(phone: str | None) -> str:
    """``phone`` (any common format) in E.164, or InvalidPhone."""
    e164 = phone_to_e164(phone or "")
    if e164 is None:
        raise InvalidPhone()
    return e164


def fields_required(*names: str) -> InvalidInput:
    return InvalidInput(fields={name: [_("This field is required.")] for name in names})


def security_event_record(
    kind: str, *, origin: Origin, user: User | None = None, login: str = "", **detail: Any
) -> SecurityEvent:
    """Write one security event: what happened, to whom, from where (``origin``)."""
    return SecurityEvent.objects.create(
        user=user,
        kind=kind,
        login=(login or "")[:150],
        ip=origin.ip or None,
        user_agent=origin.user_agent[:300],
        detail=detail,
    )


def password_validate_new(password: str, *, user: User, field: str) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        # One message for one password (API and pages alike), not a sentence per validator.
        raise InvalidInput(fields={field: [password_problems_merge(exc)]}) from exc


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


def user_fields_validate(user: User, names: Iterable[str]) -> None:
    """``clean_fields`` on ``names`` only, as an InvalidInput naming the culprits."""
    names = set(names)
    exclude = [field.name for field in User._meta.fields if field.name not in names]
    try:
        user.clean_fields(exclude=exclude)
    except DjangoValidationError as exc:
        raise InvalidInput(fields=exc.message_dict) from exc


def login_record_success(user: User, *, method: str, origin: Origin, device: Device | None = None) -> None:
    """``last_login``, the LOGIN_SUCCEEDED event and, when given, the new signed-in ``device`` (an unsaved row).

    One statement on PostgreSQL (``config.sql.rows_write_together``): one
    round trip and one commit instead of three, on the password login's hot path.
    """
    now = timezone.now()
    user.last_login = now
    event = SecurityEvent(
        user=user,
        kind=Kind.LOGIN_SUCCEEDED,
        ip=origin.ip or None,
        user_agent=origin.user_agent[:300],
        detail={"method": method},
    )
    rows_write_together(
        inserts=[event] if device is None else [event, device], update=user, update_fields=["last_login"]
    )
    metrics.login_attempted(method=method, outcome="succeeded")


def user_tokens_revoke(user: User, *, extra_fields: tuple[str, ...] = (), reason: str = "revoked") -> None:
    # Tokens and browser sessions issued before this moment are refused, and
    # every signed-in device of the user ends (the list shows none left).
    user.tokens_valid_after = timezone.now()
    user.save(update_fields=["tokens_valid_after", *extra_fields])
    devices_end(Device.objects.filter(user=user), reason=reason)


def password_confirm(user: User, password: str, *, field: str, origin: Origin) -> None:
    """The account's own password again; wrong tries count towards its lockout."""
    key = lockout_key(user=user)
    lockout_check(key)
    if not user.check_password(password):
        locked = lockout_record_failure(key)
        security_event_record(
            Kind.LOGIN_FAILED, user=user, origin=origin, reason="wrong_current_password", locked=locked
        )
        raise PasswordIncorrect(fields={field: [PasswordIncorrect.default_message]})


def actor_detail(origin: Origin) -> dict[str, Any]:
    """The staff member acting, for an event's detail ({} when the call has no actor)."""
    actor = origin.actor
    return {"actor_id": actor.pk, "actor": str(actor)} if actor is not None else {}
