"""Deleting an account: the person's own deletion (注销) with its grace period, the purge, staff's hard delete.

A person asks (``user_deletion_schedule``), may sign in and cancel during
``ACCOUNTS_DELETION_GRACE_DAYS`` (``user_deletion_cancel``), and then
``users_purge`` (the ``accounts_purge`` command, from cron) erases what
identifies them and keeps the anonymised row, to which the ledger entries and
the consent records stay attached. What is erased and what is kept, field by
field: docs/ARCHITECTURE.md, "Account deletion".

Other apps take part through ``accounts.lifecycle`` (the wallet refuses while
it holds money); accounts never imports them.
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import conf
from accounts.device_state import devices_end
from accounts.lifecycle import lifecycle_hooks
from accounts.models import Device, SecurityEvent, User
from accounts.services.avatar import avatar_files_delete
from accounts.services.common import Kind, code_consume, password_confirm, security_event_record
from config.errors import InvalidInput, ServiceError
from config.origin import Origin
from smscodes.models import Purpose, SmsMessage

logger = logging.getLogger("accounts.deletion")

PURGE_BATCH_SIZE = 100


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete ``user``'s account; their avatar files go once that is committed.

    Money history protects its owner: a user with wallet ledger entries
    raises ``ProtectedError`` and nothing is deleted (the admin lists why).
    """
    files = [user.avatar.name, user.avatar_thumbnail.name]
    user.delete()
    transaction.on_commit(lambda: avatar_files_delete(files), robust=True)


def user_deletion_check(*, user: User) -> None:
    """Raise what an app refuses the deletion with (the wallet: ``wallet_not_empty``, 409)."""
    for hook in lifecycle_hooks():
        hook.deletion_check(user=user)


def _proof_check(
    *, user: User, password: str | None, code: str | None, verification_token: str | None, origin: Origin
) -> None:
    """The account's password, or a ``delete_account`` code sent to the account's own number."""
    if password:
        password_confirm(user, password, field="password", origin=origin)
        return
    if code or verification_token:
        if not user.phone:
            message = _("This account has no phone number: confirm with your password.")
            raise InvalidInput(fields={"code" if code else "verification_token": [message]})
        code_consume(
            phone=str(user.phone),
            purpose=Purpose.DELETE_ACCOUNT,
            code=code,
            verification_token=verification_token,
            origin=origin,
        )
        return
    message = _("Enter your password or the code sent to your phone.")
    raise InvalidInput(fields={"password": [message]})


def user_deletion_schedule(
    *,
    user: User,
    password: str | None = None,
    code: str | None = None,
    verification_token: str | None = None,
    keep_device_id: str | None = None,
    origin: Origin,
) -> User:
    """Schedule the deletion of ``user``'s account after the grace period; every other device is signed out.

    Proof: the ``password`` (wrong tries count towards the login lockout), or
    a ``code`` / ``verification_token`` of purpose ``delete_account`` for the
    account's own number. ``keep_device_id``: the device making the request,
    which stays signed in so that the person can still cancel (None: every
    device ends). Already scheduled: nothing is checked and nothing changes
    (the first date stands).

    Raises what a lifecycle hook refuses with (``wallet_not_empty``) before
    the proof is checked, so a code is not spent on a refusal;
    InvalidInput (no proof, or a code for an account without a phone),
    PasswordIncorrect, AccountLocked and the code errors. Writes the user row,
    one security event and the ended devices, in one transaction.
    """
    if user.delete_after is not None:
        return user  # asked already: nothing to prove, nothing changes
    user_deletion_check(user=user)
    _proof_check(user=user, password=password, code=code, verification_token=verification_token, origin=origin)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.delete_after is not None:
            user.deletion_scheduled_at, user.delete_after = locked.deletion_scheduled_at, locked.delete_after
            return user
        user_deletion_check(user=locked)  # again under the lock: nothing arrived since
        now = timezone.now()
        user.deletion_scheduled_at = now
        user.delete_after = now + datetime.timedelta(days=conf.deletion_grace_days())
        user.save(update_fields=["deletion_scheduled_at", "delete_after"])
        others = Device.objects.filter(user=user)
        if keep_device_id:
            others = others.exclude(pk=keep_device_id)
        ended = devices_end(others, reason="deletion_scheduled")
        security_event_record(
            Kind.DELETION_SCHEDULED,
            user=user,
            origin=origin,
            delete_after=user.delete_after.isoformat(),
            devices_ended=len(ended),
        )
    return user


@transaction.atomic
def user_deletion_cancel(*, user: User, origin: Origin) -> User:
    """Cancel ``user``'s scheduled deletion (nothing to do when none is scheduled). Writes one security event."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.delete_after is None or locked.deleted_at is not None:
        return user
    user.deletion_scheduled_at = user.delete_after = None
    user.save(update_fields=["deletion_scheduled_at", "delete_after"])
    security_event_record(Kind.DELETION_CANCELLED, user=user, origin=origin)
    return user


# --- The purge ------------------------------------------------------------------------------

# Profile fields a purge empties (each to its "not set" value).
ERASED_PROFILE_FIELDS = ("nickname", "gender", "email", "job", "company")


@dataclass
class PurgeResult:
    purged: list[int] = field(default_factory=list)
    # user id -> why it was left scheduled (a hook refused, or the erase failed)
    skipped: dict[int, str] = field(default_factory=dict)


def _due(now: datetime.datetime) -> QuerySet[User]:
    return User.objects.filter(delete_after__lte=now, deleted_at__isnull=True)


def user_erase(*, user: User, origin: Origin) -> None:
    """Erase ``user``'s personal data now, keeping the anonymised row (call inside a transaction, row locked).

    Idempotent. The avatar files are deleted after the commit.
    """
    now = timezone.now()
    phone = str(user.phone) if user.phone else ""
    files = [user.avatar.name, user.avatar_thumbnail.name]
    # Devices first: their tokens and browser sessions die, and their rows lose what identified the person.
    devices_end(Device.objects.filter(user=user), reason="account_deleted")
    Device.objects.filter(user=user).update(ip=None, user_agent="", name="", session_key="")
    SecurityEvent.objects.filter(user=user).update(ip=None, user_agent="", login="", detail={})
    if phone:
        # The SMS log is kept for SMS cost reconciliation, without the number or the IP. Only rows up to
        # now: a later owner of the number (it is free again) has their own.
        SmsMessage.objects.filter(phone=phone, created_at__lte=now).update(phone="", client_ip=None)
    user.phone = None
    user.username = None
    for name in ERASED_PROFILE_FIELDS:
        setattr(user, name, "")
    user.avatar = user.avatar_thumbnail = ""
    user.set_unusable_password()
    user.last_login = None
    user.is_active = False
    user.is_staff = user.is_superuser = False
    user.tokens_valid_after = now
    user.deleted_at = now
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    security_event_record(Kind.ACCOUNT_PURGED, user=user, origin=origin)
    transaction.on_commit(lambda: avatar_files_delete(files), robust=True)


def users_purge(
    *, origin: Origin, now: datetime.datetime | None = None, batch_size: int = PURGE_BATCH_SIZE
) -> PurgeResult:
    """Erase every account whose ``delete_after`` has passed (``accounts_purge``).

    Safe on several hosts at once: each batch is taken with
    ``select_for_update(skip_locked=True)`` in its own transaction, so two
    runs never take the same account, and an erased one (``deleted_at`` set)
    is never taken again (idempotent). Memory stays bounded by ``batch_size``
    rows. An account a lifecycle hook refuses (money arrived in its wallet
    during the grace period) is left scheduled and reported; so is one whose
    erase raised (logged), so that one bad row never stops the rest.
    """
    now = now or timezone.now()
    result = PurgeResult()
    while True:
        with transaction.atomic():
            batch = list(
                _due(now)
                .exclude(pk__in=list(result.skipped))
                .select_for_update(skip_locked=True)
                .order_by("delete_after", "pk")[:batch_size]
            )
            if not batch:
                return result
            for user in batch:
                try:
                    with transaction.atomic():
                        user_deletion_check(user=user)
                        user_erase(user=user, origin=origin)
                except ServiceError as exc:
                    result.skipped[user.pk] = exc.code
                except Exception:
                    logger.exception("accounts_purge: could not erase user %s", user.pk)
                    result.skipped[user.pk] = "error"
                else:
                    result.purged.append(user.pk)
                    logger.info("accounts_purge: erased user %s", user.pk)
