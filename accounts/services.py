"""Every write of the accounts app: the one place each account rule lives.

API views, page views and admin actions call these functions; they parse and
render, these decide. Codes and verification tokens go through
``smscodes.services.verification_consume`` only. Errors are the
``ServiceError`` subclasses of ``accounts.errors`` / ``config.errors``.
"""

import copy
import ipaddress
from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.avatars import avatar_files_delete
from accounts.errors import (
    AccountDisabled,
    AccountLocked,
    InvalidCredentials,
    PasswordIncorrect,
    PhoneNotRegistered,
    PhoneTaken,
    RecentLoginRequired,
    UsernameTaken,
)
from accounts.lockout import lockout_check, lockout_clear, lockout_key, lockout_record_failure, login_ip_throttle
from accounts.models import Gender, Role, SecurityEvent, User, username_validator
from accounts.selectors import user_get_by_login
from accounts.tokens import access_deny, refresh_revoke
from config import metrics
from config.errors import InvalidInput, ServiceError
from config.phones import looks_like_phone, phone_to_e164

Kind = SecurityEvent.Kind

# smscodes.models.Purpose values (CONTRACTS.md); plain strings keep this
# module importable on its own.
PURPOSE_REGISTER = "register"
PURPOSE_LOGIN = "login"
PURPOSE_RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name, not a password
PURPOSE_CHANGE_PHONE = "change_phone"

PROFILE_FIELDS = ("username", "nickname", "gender", "email", "job", "company")


# --- helpers -------------------------------------------------------------------------


def _verification_consume(*, phone: str, purpose: str, code: str | None, verification_token: str | None) -> str:
    from smscodes.services import verification_consume

    return verification_consume(
        phone=phone, purpose=purpose, code=code or None, verification_token=verification_token or None
    )


def _phone_e164(phone: str | None) -> str:
    e164 = phone_to_e164(phone or "")
    if e164 is None:
        from smscodes.errors import InvalidPhone

        raise InvalidPhone()
    return e164


def _required(*names: str) -> InvalidInput:
    return InvalidInput(fields={name: [_("This field is required.")] for name in names})


def _event(kind: str, *, user=None, login: str = "", client_ip: str = "", user_agent: str = "", **detail) -> None:
    try:
        ip = str(ipaddress.ip_address(client_ip)) if client_ip else None
    except ValueError:
        ip = None
    SecurityEvent.objects.create(
        user=user, kind=kind, login=(login or "")[:150], ip=ip, user_agent=(user_agent or "")[:300], detail=detail
    )


def _validate_new_password(password: str, *, user: User, field: str) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise InvalidInput(fields={field: exc.messages}) from exc


def _clean_username(raw: str | None, *, user: User | None = None) -> str | None:
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
        raise UsernameTaken(fields={"username": [UsernameTaken.default_message]})
    return username


def _validate_fields(user: User, names) -> None:
    exclude = [field.name for field in User._meta.fields if field.name not in names]
    try:
        user.clean_fields(exclude=exclude)
    except DjangoValidationError as exc:
        raise InvalidInput(fields=exc.message_dict) from exc


def _login_succeeded(user: User, *, method: str, client_ip: str, user_agent: str) -> None:
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login=now)
    user.last_login = now
    _event(Kind.LOGIN_SUCCEEDED, user=user, client_ip=client_ip, user_agent=user_agent, method=method)
    metrics.login_attempted(method=method, outcome="succeeded")


def _revoke_tokens(user: User, *, extra_fields: tuple[str, ...] = ()) -> None:
    # Tokens and browser sessions issued before this moment are refused.
    user.tokens_valid_after = timezone.now()
    user.save(update_fields=["tokens_valid_after", *extra_fields])


# --- roles -----------------------------------------------------------------------------


def user_set_role(*, user: User, role: str, new_user: bool = False) -> User:
    """Change ``user``'s role and move them to the matching group, together.

    Permissions follow roles through groups, so the two must never disagree.
    ``new_user``: the user was just created and belongs to no group yet, so
    there is nothing to leave (``UserManager.create_user``: two queries, the
    group and the membership). Raises ValueError for an unknown role. Callers
    check the ``accounts.change_user_role`` permission of whoever asked.
    """
    if role not in Role.values:
        raise ValueError(f"Unknown role: {role!r}")
    group = Group.objects.get_or_create(name=role)[0]
    if new_user:
        user.groups.add(group)
        return user
    with transaction.atomic():
        # Leave the other role groups (one DELETE), join this one (one INSERT, a no-op if already in).
        User.groups.through.objects.filter(user=user, group__name__in=Role.values).exclude(group=group).delete()
        user.groups.add(group)
        if user.role != role:
            user.role = role
            user.save(update_fields=["role"])
    # Permissions cached on this instance were the old role's.
    for cached in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cached, None)
    return user


# --- sign-up and login -------------------------------------------------------------------


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
    client_ip: str = "",
    user_agent: str = "",
) -> User:
    """Create an account (role ``normal_user``) and return it.

    Needs a phone verified for ``register`` (code or verification token),
    unless ``ACCOUNTS_PHONE_REQUIRED`` is off: then a username and a password
    alone will do. Without a password the account logs in by code.
    Every field is checked before the code is consumed, so a weak password
    does not burn it. Two concurrent sign-ups of one number: the database's
    unique constraint lets one through, the other gets PhoneTaken.
    Raises InvalidInput, InvalidPhone, PhoneTaken, UsernameTaken and the
    code errors of ``verification_consume``.
    """
    phone = (phone or "").strip() or None
    password = password or None
    nickname = (nickname or "").strip()
    gender = gender or ""
    if phone is None:
        if settings.ACCOUNTS_PHONE_REQUIRED:
            raise _required("phone")
        missing = [name for name, value in (("username", username), ("password", password)) if not value]
        if missing:
            raise _required(*missing)
    username = _clean_username(username)
    e164 = _phone_e164(phone) if phone else None
    candidate = User(phone=e164, username=username, nickname=nickname, gender=gender)
    _validate_fields(candidate, ("nickname", "gender"))
    if password:
        _validate_new_password(password, user=candidate, field="password")
    if e164:
        if User.objects.filter(phone=e164).exists():
            raise PhoneTaken(fields={"phone": [PhoneTaken.default_message]})
        e164 = _verification_consume(
            phone=e164, purpose=PURPOSE_REGISTER, code=code, verification_token=verification_token
        )
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                phone=e164, username=username, password=password, nickname=nickname, gender=gender
            )
    except IntegrityError:
        if e164 and User.objects.filter(phone=e164).exists():
            raise PhoneTaken(fields={"phone": [PhoneTaken.default_message]}) from None
        if username and User.objects.filter(username__iexact=username).exists():
            raise UsernameTaken(fields={"username": [UsernameTaken.default_message]}) from None
        raise
    _event(Kind.REGISTERED, user=user, client_ip=client_ip, user_agent=user_agent)
    return user


def user_login_password(*, login: str, password: str, client_ip: str = "", user_agent: str = "") -> User:
    """The user whose phone (any format) or username is ``login``, if ``password`` is theirs.

    Whatever went wrong (no such account, no usable password, wrong
    password) the answer is InvalidCredentials, after the same amount of
    password hashing. Failures count towards the account's lockout
    (AccountLocked with ``retry_after``, even for the right password) and every
    attempt towards the client IP's throttle (RateLimited). AccountDisabled
    only after the right password. Records a security event either way.
    Costs: the user row, one INSERT (event), one UPDATE (last_login), plus
    one when the password hash is upgraded. Not atomic on purpose: a failed
    login must still leave its event behind.
    """
    login = (login or "").strip()
    login_ip_throttle(client_ip)
    user = user_get_by_login(login) if login else None
    normalised = phone_to_e164(login) or login.lower()
    key = lockout_key(user=user, login=normalised)
    try:
        lockout_check(key)
    except AccountLocked:
        _event(Kind.LOGIN_LOCKED, user=user, login=normalised, client_ip=client_ip, user_agent=user_agent)
        metrics.login_attempted(method="password", outcome="locked")
        raise
    if user is not None and user.has_usable_password():
        valid = user.check_password(password)
        reason = "wrong_password"
    else:
        make_password(password)  # equal time for unknown and password-less accounts
        valid = False
        reason = "unknown_account" if user is None else "no_password"
    if not valid:
        locked = lockout_record_failure(key)
        _event(
            Kind.LOGIN_FAILED,
            user=user,
            login=normalised,
            client_ip=client_ip,
            user_agent=user_agent,
            reason=reason,
            locked=locked,
        )
        metrics.login_attempted(method="password", outcome="failed")
        raise InvalidCredentials()
    if not user.is_active:
        _event(
            Kind.LOGIN_FAILED,
            user=user,
            login=normalised,
            client_ip=client_ip,
            user_agent=user_agent,
            reason="disabled",
        )
        metrics.login_attempted(method="password", outcome="disabled")
        raise AccountDisabled()
    lockout_clear(key)
    _login_succeeded(user, method="password", client_ip=client_ip, user_agent=user_agent)
    return user


def user_login_code(
    *,
    phone: str,
    code: str | None = None,
    verification_token: str | None = None,
    client_ip: str = "",
    user_agent: str = "",
) -> User:
    """The user owning ``phone``, verified by a ``login`` code or verification token.

    Raises InvalidPhone, PhoneNotRegistered, AccountDisabled and the code
    errors; a wrong code or a disabled account is recorded as a failed login.
    """
    e164 = _phone_e164(phone)
    user = User.objects.filter(phone=e164).first()
    if user is None:
        metrics.login_attempted(method="code", outcome="failed")
        raise PhoneNotRegistered()
    origin = {"user": user, "login": e164, "client_ip": client_ip, "user_agent": user_agent, "method": "code"}
    try:
        _verification_consume(phone=e164, purpose=PURPOSE_LOGIN, code=code, verification_token=verification_token)
    except ServiceError as exc:
        _event(Kind.LOGIN_FAILED, reason=exc.code, **origin)
        metrics.login_attempted(method="code", outcome="failed")
        raise
    if not user.is_active:
        _event(Kind.LOGIN_FAILED, reason="disabled", **origin)
        metrics.login_attempted(method="code", outcome="disabled")
        raise AccountDisabled()
    _login_succeeded(user, method="code", client_ip=client_ip, user_agent=user_agent)
    return user


@transaction.atomic
def user_logout(
    *,
    user: User,
    refresh: str | None = None,
    access_jti: str | None = None,
    access_exp: int | None = None,
    all_devices: bool = False,
    client_ip: str = "",
    user_agent: str = "",
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
        _revoke_tokens(user)
    _event(Kind.LOGOUT_ALL if all_devices else Kind.LOGOUT, user=user, client_ip=client_ip, user_agent=user_agent)


# --- passwords ----------------------------------------------------------------------------


@transaction.atomic
def user_password_reset(
    *,
    phone: str,
    new_password: str,
    code: str | None = None,
    verification_token: str | None = None,
    client_ip: str = "",
    user_agent: str = "",
) -> User:
    """Set a new password for the owner of ``phone`` (verified for ``reset_password``).

    Every token and browser session issued before ends; the login lockout is
    lifted (the owner proved they hold the phone). Raises InvalidPhone,
    PhoneNotRegistered, InvalidInput (weak ``new_password``), AccountDisabled
    and the code errors.
    """
    e164 = _phone_e164(phone)
    user = User.objects.filter(phone=e164).first()
    if user is None:
        raise PhoneNotRegistered()
    _validate_new_password(new_password, user=user, field="new_password")
    _verification_consume(phone=e164, purpose=PURPOSE_RESET_PASSWORD, code=code, verification_token=verification_token)
    if not user.is_active:
        raise AccountDisabled()
    user.set_password(new_password)
    _revoke_tokens(user, extra_fields=("password",))
    lockout_clear(lockout_key(user=user))
    _event(Kind.PASSWORD_RESET, user=user, client_ip=client_ip, user_agent=user_agent)
    return user


def _check_current_password(user: User, password: str, *, field: str, client_ip: str, user_agent: str) -> None:
    """The account's own password again; wrong tries count towards its lockout."""
    key = lockout_key(user=user)
    lockout_check(key)
    if not user.check_password(password):
        locked = lockout_record_failure(key)
        _event(
            Kind.LOGIN_FAILED,
            user=user,
            client_ip=client_ip,
            user_agent=user_agent,
            reason="wrong_current_password",
            locked=locked,
        )
        raise PasswordIncorrect(fields={field: [PasswordIncorrect.default_message]})


def user_password_change(
    *,
    user: User,
    new_password: str,
    old_password: str | None = None,
    client_ip: str = "",
    user_agent: str = "",
) -> User:
    """Change ``user``'s password; ``old_password`` is required when they have one.

    Every other token and browser session of the user ends (the caller issues
    new ones). Raises InvalidInput (missing/weak fields), PasswordIncorrect
    (``old_password``), AccountLocked.
    """
    if user.has_usable_password():
        if not old_password:
            raise _required("old_password")
        _check_current_password(user, old_password, field="old_password", client_ip=client_ip, user_agent=user_agent)
    _validate_new_password(new_password, user=user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        _revoke_tokens(user, extra_fields=("password",))
        _event(Kind.PASSWORD_CHANGED, user=user, client_ip=client_ip, user_agent=user_agent)
    return user


# --- profile and phone ----------------------------------------------------------------------


def user_phone_change(
    *,
    user: User,
    phone: str,
    code: str | None = None,
    verification_token: str | None = None,
    password: str | None = None,
    authenticated_at: datetime | None = None,
    client_ip: str = "",
    user_agent: str = "",
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
        _check_current_password(user, password, field="password", client_ip=client_ip, user_agent=user_agent)
    elif (
        authenticated_at is None
        or (timezone.now() - authenticated_at).total_seconds() > settings.ACCOUNTS_RECENT_LOGIN_SECONDS
    ):
        raise RecentLoginRequired(fields={"password": [RecentLoginRequired.default_message]})
    e164 = _phone_e164(phone)
    if user.phone and str(user.phone) == e164:
        raise InvalidInput(fields={"phone": [_("This is already your phone number.")]})
    if User.objects.filter(phone=e164).exclude(pk=user.pk).exists():
        raise PhoneTaken(fields={"phone": [PhoneTaken.default_message]})
    e164 = _verification_consume(
        phone=e164, purpose=PURPOSE_CHANGE_PHONE, code=code, verification_token=verification_token
    )
    old_phone = str(user.phone) if user.phone else ""
    try:
        with transaction.atomic():
            user.phone = e164
            user.save(update_fields=["phone"])
            _event(
                Kind.PHONE_CHANGED,
                user=user,
                client_ip=client_ip,
                user_agent=user_agent,
                old_phone=old_phone,
                new_phone=e164,
            )
    except IntegrityError:
        user.phone = old_phone or None
        raise PhoneTaken(fields={"phone": [PhoneTaken.default_message]}) from None
    return user


def user_profile_update(*, user: User, data: dict) -> User:
    """Update profile fields (keys among username, nickname, gender, email, job, company).

    The username is 3-30 letters, digits, ``_ . -``, never shaped like a phone
    number, unique case-insensitively (UsernameTaken); an empty one removes it
    (only for accounts with a phone). Other keys: InvalidInput naming them.
    """
    unknown = sorted(set(data) - set(PROFILE_FIELDS))
    if unknown:
        raise InvalidInput(fields={name: [_("This field cannot be changed here.")] for name in unknown})
    candidate = copy.copy(user)
    changed = []
    for name in PROFILE_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name == "username":
            value = _clean_username(value, user=user)
            if value is None and not user.phone:
                raise InvalidInput(fields={"username": [_("An account without a phone number needs a username.")]})
        else:
            value = "" if value is None else str(value).strip()
        setattr(candidate, name, value)
        changed.append(name)
    if "gender" in changed and candidate.gender not in Gender.values:
        raise InvalidInput(fields={"gender": [_("Choose female, male or nothing.")]})
    _validate_fields(candidate, changed)
    if not changed:
        return user
    for name in changed:
        setattr(user, name, getattr(candidate, name))
    try:
        with transaction.atomic():
            user.save(update_fields=changed)
    except IntegrityError:
        user.refresh_from_db()
        raise UsernameTaken(fields={"username": [UsernameTaken.default_message]}) from None
    return user


# --- support staff ---------------------------------------------------------------------------


@transaction.atomic
def user_revoke_all_sessions(
    *, user: User, actor: User | None = None, client_ip: str = "", user_agent: str = ""
) -> None:
    """End every token and browser session of ``user`` issued until now (``actor``: staff who asked)."""
    _revoke_tokens(user)
    _event(Kind.SESSIONS_REVOKED, user=user, client_ip=client_ip, user_agent=user_agent, **_actor(actor))


def user_unlock(*, user: User, actor: User | None = None, client_ip: str = "", user_agent: str = "") -> None:
    """Lift ``user``'s login lockout and forget their failed attempts."""
    lockout_clear(lockout_key(user=user))
    _event(Kind.UNLOCKED, user=user, client_ip=client_ip, user_agent=user_agent, **_actor(actor))


@transaction.atomic
def user_deactivate(*, user: User, actor: User | None = None, client_ip: str = "", user_agent: str = "") -> None:
    """Disable ``user``: no login, and every token and browser session ends."""
    user.is_active = False
    _revoke_tokens(user, extra_fields=("is_active",))
    _event(Kind.DEACTIVATED, user=user, client_ip=client_ip, user_agent=user_agent, **_actor(actor))


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete ``user``'s account; their avatar files go once that is committed.

    Money history protects its owner: a user with wallet ledger entries
    raises ``ProtectedError`` and nothing is deleted (the admin lists why).
    """
    files = [user.avatar.name, user.avatar_thumbnail.name]
    user.delete()
    transaction.on_commit(lambda: avatar_files_delete(files), robust=True)


def _actor(actor: User | None) -> dict:
    return {"actor_id": actor.pk, "actor": str(actor)} if actor is not None else {}
