"""Sign-in, by password (phone or username) or by SMS code."""

from collections.abc import Callable

from django.contrib.auth.hashers import make_password

from accounts.errors import AccountDisabled, AccountLocked, InvalidCredentials, PhoneNotRegistered
from accounts.lockout import lockout_check, lockout_clear, lockout_key, lockout_record_failure, login_ip_throttle
from accounts.models import User
from accounts.password_pool import password_hash_turn
from accounts.selectors import user_get_by_login
from accounts.services.common import Kind, code_consume, login_record_success, phone_parse, security_event_record
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
    Costs: the user row, one INSERT (event), one UPDATE (last_login), plus
    one when the password hash is upgraded. Not atomic on purpose: a failed
    login must still leave its event behind. First of all it takes a place in
    this process's password-hashing bound (``accounts.password_pool``): when
    there is none, RateLimited at once, and nothing is read, written or counted.
    """
    with password_hash_turn() as hashed:
        return _user_login_password(login=login, password=password, origin=origin, hashed=hashed)


def _user_login_password(*, login: str, password: str, origin: Origin, hashed: Callable[[], None]) -> User:
    login = (login or "").strip()
    login_ip_throttle(origin.ip)
    user = user_get_by_login(login) if login else None
    normalised = phone_to_e164(login) or login.lower()
    key = lockout_key(user=user, login=normalised)
    try:
        lockout_check(key)
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
    lockout_clear(key)
    login_record_success(user, method="password", origin=origin)
    return user


def user_login_code(
    *,
    phone: str,
    code: str | None = None,
    verification_token: str | None = None,
    origin: Origin,
) -> User:
    """The user owning ``phone``, verified by a ``login`` code or verification token.

    Raises InvalidPhone, PhoneNotRegistered, AccountDisabled and the code
    errors; a wrong code or a disabled account is recorded as a failed login.
    """
    e164 = phone_parse(phone)
    user = User.objects.filter(phone=e164).first()
    if user is None:
        metrics.login_attempted(method="code", outcome="failed")
        raise PhoneNotRegistered()
    try:
        code_consume(phone=e164, purpose=Purpose.LOGIN, code=code, verification_token=verification_token, origin=origin)
    except ServiceError as exc:
        security_event_record(Kind.LOGIN_FAILED, user=user, login=e164, origin=origin, method="code", reason=exc.code)
        metrics.login_attempted(method="code", outcome="failed")
        raise
    if not user.is_active:
        security_event_record(Kind.LOGIN_FAILED, user=user, login=e164, origin=origin, method="code", reason="disabled")
        metrics.login_attempted(method="code", outcome="disabled")
        raise AccountDisabled()
    login_record_success(user, method="code", origin=origin)
    return user
