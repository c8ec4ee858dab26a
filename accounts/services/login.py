"""Sign-in, by password (phone or username) or by SMS code (which signs up a new number in one step)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction

from accounts import conf
from accounts.device_state import device_new
from accounts.errors import AccountDisabled, AccountLocked, ConsentRequired, InvalidCredentials, PhoneNotRegistered
from accounts.lockout import lockout_clear, lockout_key, lockout_record_failure, login_gate
from accounts.models import Device, User
from accounts.password_pool import password_hash_turn
from accounts.selectors import user_get_by_login, users_with_legal_versions
from accounts.services.common import (
    Kind,
    code_check,
    code_consume,
    login_record_success,
    phone_parse,
    security_event_record,
)
from accounts.services.consent import consent_check, consent_record
from config import metrics
from config.errors import ServiceError
from config.origin import Origin
from config.phones import phone_to_e164
from smscodes.models import Purpose


def user_login_password(*, login: str, password: str, origin: Origin) -> User:
    """The user whose phone (any format) or username is ``login``, if ``password`` is theirs.

    Whatever went wrong (no such account, no usable password, wrong
    password) the answer is InvalidCredentials, after the same amount of
    password hashing. Failures count towards the account's lockout
    (AccountLocked with ``retry_after``, even for the right password) and every
    attempt towards the client IP's throttle (RateLimited). AccountDisabled
    only after the right password. Records a security event either way.
    Costs: the user row, then (on PostgreSQL) one statement for last_login
    and the event (``login_record_success``), plus one when the password hash
    is upgraded; two cache round trips (the IP's count with the account's
    lock and failures, then clearing failures only if there were any).
    Not atomic on purpose: a failed
    login must still leave its event behind. First of all it takes a place in
    this process's password-hashing bound (``accounts.password_pool``): when
    there is none, RateLimited at once, and nothing is read, written or counted.
    """
    with password_hash_turn() as hashed:
        return _user_login_password(login=login, password=password, origin=origin, hashed=hashed).user


@dataclass(frozen=True)
class PasswordSignIn:
    """A password login that started a signed-in device (``user_login_password_device``)."""

    user: User
    device: Device


def user_login_password_device(*, login: str, password: str, kind: str, origin: Origin) -> PasswordSignIn:
    """``user_login_password``, and the new signed-in device of ``kind`` for its tokens.

    The device row is written in the same statement as ``last_login`` and the
    event (``login_record_success``): on PostgreSQL a successful login costs
    two statements, the user row and that one.
    """
    with password_hash_turn() as hashed:
        result = _user_login_password(login=login, password=password, origin=origin, hashed=hashed, device_kind=kind)
    assert result.device is not None  # asked for
    return PasswordSignIn(user=result.user, device=result.device)


@dataclass(frozen=True)
class _Outcome:
    user: User
    device: Device | None


def _user_login_password(
    *, login: str, password: str, origin: Origin, hashed: Callable[[], None], device_kind: str | None = None
) -> _Outcome:
    login = (login or "").strip()
    user = user_get_by_login(login) if login else None
    normalised = phone_to_e164(login) or login.lower()
    key = lockout_key(user=user, login=normalised)
    try:
        # The client IP's throttle, then the account's lock: one cache round trip.
        failures_counted = login_gate(client_ip=origin.ip, key=key)
    except AccountLocked:
        security_event_record(Kind.LOGIN_LOCKED, user=user, login=normalised, origin=origin)
        metrics.login_attempted(method="password", outcome="locked")
        raise
    if user is not None and user.has_usable_password():
        valid = user.check_password(password)
        reason = "wrong_password"
    else:
        make_password(password)  # equal time for unknown and password-less accounts
        valid = False
        reason = "unknown_account" if user is None else "no_password"
    hashed()  # the place in the hashing bound goes to the next login
    if not valid:
        locked = lockout_record_failure(key)
        security_event_record(
            Kind.LOGIN_FAILED,
            user=user,
            login=normalised,
            origin=origin,
            reason=reason,
            locked=locked,
        )
        metrics.login_attempted(method="password", outcome="failed")
        raise InvalidCredentials()
    assert user is not None  # only an existing account's password can be valid
    if not user.is_active:
        security_event_record(
            Kind.LOGIN_FAILED,
            user=user,
            login=normalised,
            origin=origin,
            reason="disabled",
        )
        metrics.login_attempted(method="password", outcome="disabled")
        raise AccountDisabled()
    if failures_counted:
        lockout_clear(key)
    device = device_new(user=user, kind=device_kind, origin=origin) if device_kind else None
    login_record_success(user, method="password", origin=origin, device=device)
    return _Outcome(user=user, device=device)


@dataclass(frozen=True)
class CodeSignIn:
    """The outcome of the one-step code sign-in: who, and whether the account was created just now."""

    user: User
    created: bool


def user_login_code(
    *,
    phone: str,
    code: str | None = None,
    verification_token: str | None = None,
    consent: Iterable[object] | str | None = None,
    origin: Origin,
) -> CodeSignIn:
    """One step ("手机号快捷登录"): sign in the owner of ``phone``, or create their account, with a login code.

    A registered number signs in (``created`` False); a ``consent`` list given
    on the way records the current documents it names that the person had not
    yet agreed to. An unknown number, with ``ACCOUNTS_CODE_LOGIN_SIGNS_UP`` on,
    gets a phone-only account (``created`` True) once ``consent`` covers the
    current documents: ``ConsentRequired`` otherwise, raised only after the
    code or token was checked (so it tells nothing to someone without it) and
    without consuming it, so the person can agree and send the same code
    again. With the setting off: ``PhoneNotRegistered`` as before.
    Raises InvalidPhone, PhoneNotRegistered, ConsentRequired, AccountDisabled
    and the code errors; a wrong code or a disabled account is recorded as a
    failed login.
    """
    e164 = phone_parse(phone)
    user = users_with_legal_versions().filter(phone=e164).first()
    if user is None:
        if not conf.code_login_signs_up():
            metrics.login_attempted(method="code", outcome="failed")
            raise PhoneNotRegistered()
        return _sign_up_by_code(
            phone=e164, code=code, verification_token=verification_token, consent=consent, origin=origin
        )
    _code_or_failure(user=user, phone=e164, code=code, verification_token=verification_token, origin=origin)
    if not user.is_active:
        security_event_record(Kind.LOGIN_FAILED, user=user, login=e164, origin=origin, method="code", reason="disabled")
        metrics.login_attempted(method="code", outcome="disabled")
        raise AccountDisabled()
    login_record_success(user, method="code", origin=origin)
    if consent:
        documents = consent_check(consent=consent, accepted=user.consents_accepted, required=False)
        consent_record(user=user, documents=documents, origin=origin)
    return CodeSignIn(user=user, created=False)


def _code_or_failure(
    *,
    user: User | None,
    phone: str,
    code: str | None,
    verification_token: str | None,
    origin: Origin,
    keep: bool = False,
) -> None:
    # Consume (or, with ``keep``, only check) the code; a refusal is a failed login.
    check = code_check if keep else code_consume
    try:
        check(phone=phone, purpose=Purpose.LOGIN, code=code, verification_token=verification_token, origin=origin)
    except ServiceError as exc:
        security_event_record(Kind.LOGIN_FAILED, user=user, login=phone, origin=origin, method="code", reason=exc.code)
        metrics.login_attempted(method="code", outcome="failed")
        raise


def _sign_up_by_code(
    *,
    phone: str,
    code: str | None,
    verification_token: str | None,
    consent: Iterable[object] | str | None,
    origin: Origin,
) -> CodeSignIn:
    try:
        documents = consent_check(consent=consent)
    except ConsentRequired:
        # Only whoever holds the right code learns that consent is missing; the code stays usable.
        _code_or_failure(
            user=None, phone=phone, code=code, verification_token=verification_token, origin=origin, keep=True
        )
        raise
    _code_or_failure(user=None, phone=phone, code=code, verification_token=verification_token, origin=origin)
    try:
        with transaction.atomic():
            user = User.objects.create_user(phone=phone)
            security_event_record(Kind.REGISTERED, user=user, origin=origin, method="code")
            consent_record(user=user, documents=documents, origin=origin)
    except IntegrityError:
        # The same number signed up a moment ago (another code, the sign-up page): this proof signs into it.
        existing = users_with_legal_versions().filter(phone=phone).first()
        if existing is None:
            raise
        if not existing.is_active:
            raise AccountDisabled() from None
        login_record_success(existing, method="code", origin=origin)
        return CodeSignIn(user=existing, created=False)
    login_record_success(user, method="code", origin=origin)
    return CodeSignIn(user=user, created=True)
