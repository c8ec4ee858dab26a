"""Sign-up: a new account for a verified phone (or a username and password)."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from accounts import conf
from accounts.errors import PhoneTaken, UsernameTaken
from accounts.models import User
from accounts.services.common import (
    Kind,
    code_consume,
    fields_required,
    password_validate_new,
    phone_parse,
    security_event_record,
    user_fields_validate,
    username_clean,
)
from accounts.services.consent import consent_check, consent_record
from config.origin import Origin
from smscodes.models import Purpose


@transaction.atomic
def user_register(
    *,
    phone: str | None,
    code: str | None = None,
    verification_token: str | None = None,
    password: str | None = None,
    username: str | None = None,
    nickname: str = "",
    gender: str = "",
    consent: Iterable[object] | str | None = None,
    origin: Origin,
) -> User:
    """Create an account (role ``normal_user``) and return it.

    Needs a phone verified for ``register`` (code or verification token),
    unless ``ACCOUNTS_PHONE_REQUIRED`` is off: then a username and a password
    alone will do. Without a password the account logs in by code.
    ``consent`` must name the current legal documents (``ConsentRequired``
    otherwise, see ``accounts.services.consent``); they are recorded with the account.
    Every field is checked before the code is consumed, so a weak password
    or a missing consent does not burn it. Two concurrent sign-ups of one number: the database's
    unique constraint lets one through, the other gets PhoneTaken.
    Raises InvalidInput, InvalidPhone, ConsentRequired, PhoneTaken, UsernameTaken and the
    code errors of ``verification_consume``.
    """
    phone = (phone or "").strip() or None
    password = password or None
    nickname = (nickname or "").strip()
    gender = gender or ""
    if phone is None:
        if conf.phone_required():
            raise fields_required("phone")
        missing = [name for name, value in (("username", username), ("password", password)) if not value]
        if missing:
            raise fields_required(*missing)
    username = username_clean(username)
    e164 = phone_parse(phone) if phone else None
    candidate = User(phone=e164, username=username, nickname=nickname, gender=gender)
    user_fields_validate(candidate, ("nickname", "gender"))
    if password:
        password_validate_new(password, user=candidate, field="password")
    documents = consent_check(consent=consent)
    if e164:
        if User.objects.filter(phone=e164).exists():
            raise PhoneTaken()
        e164 = code_consume(
            phone=e164, purpose=Purpose.REGISTER, code=code, verification_token=verification_token, origin=origin
        )
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                phone=e164, username=username, password=password, nickname=nickname, gender=gender
            )
    except IntegrityError:
        if e164 and User.objects.filter(phone=e164).exists():
            raise PhoneTaken() from None
        if username and User.objects.filter(username__iexact=username).exists():
            raise UsernameTaken() from None
        raise
    security_event_record(Kind.REGISTERED, user=user, origin=origin)
    consent_record(user=user, documents=documents, origin=origin)
    return user
