"""Money out: a client application charges a wallet, and refunds its charges.

A charge is one journal entry (kind ``charge``): the person's wallet account
−amount, the application's revenue account +amount, ``reference`` the charge
id, ``origin`` naming the application and its key. A refund is the reverse
entry (kind ``refund``, same ``reference``), for at most what is left of the
charge. Both are written under the wallet account's row lock, together with
their ``Charge`` / ``ChargeRefund`` row, in one transaction.

Idempotency. A charge is idempotent on (application, ``order_id``): the
application's order number is its key. The same request again (same user,
amount, description) gets the first answer again (``replayed``); another
request with that order number is ``IdempotencyKeyReused``. A refund is
idempotent on (application, ``Idempotency-Key``) the same way. Nothing is
stored for a request that failed, so it may be retried.

Cost of a new charge (the hot path; ``tests/wallet/test_charges.py`` counts
it). On PostgreSQL: one statement, ``wallet_charge_create(...)`` (migration
0012), run in autocommit, which locks the wallet, looks for the order number,
refuses an overdraft and inserts the charge, the entry and its lines inside
the server — the wallet's row lock is held for that statement and its commit
only, never across a round trip or a wait for the GIL. On SQLite (the ORM
path, ``_charge_write``): BEGIN, the lock query (which also looks for the
order number and checks the API key), the charge INSERT, the entry INSERT,
the lines INSERT (a trigger moves the balance), COMMIT — six statements. Both
paths run the same tests. The API's key lookup for a charge is in the
process's memory (``wallet.clients.client_key_authenticate_in_process``): given
the key's id, the charge checks the key, the application and its scope again
first (migration 0013), so the memory may be up to a minute old.
"""

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Exists, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from config import metrics
from config.sql import prepared_cursor
from wallet import lock_objects
from wallet.conf import wallet_settings
from wallet.errors import (
    ApiKeyInvalid,
    ApiKeyScopeMissing,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidInput,
    NotFound,
    RefundExceedsCharge,
)
from wallet.ledger import ledger_post, mark_locked
from wallet.models import (
    CENT,
    AccountKind,
    Charge,
    ChargeRefund,
    ClientApplication,
    ClientApplicationKey,
    EntryKind,
    LedgerAccount,
    LedgerLine,
    Scope,
    new_order_id,
)
from wallet.models_charges import ORDER_ID_MAX_LENGTH, ZERO
from wallet.selectors import AuditFinding
from wallet.services import _check_amount, _check_key

_Row = TypeVar("_Row", bound=models.Model)

CHARGE_ID_PREFIX = "C"
REFUND_ID_PREFIX = "CR"  # "R…" are top-up refunds (the channel's out_refund_no)
DESCRIPTION_MAX_LENGTH = 200
REASON_MAX_LENGTH = 200


@dataclass(frozen=True)
class ChargeResult:
    """A charge as its first answer showed it: ``balance`` then, nothing refunded yet."""

    charge: Charge
    balance: Decimal
    replayed: bool = False


@dataclass(frozen=True)
class RefundResult:
    """A refund as its first answer showed it: the charge's refunded total and the balance right after it."""

    refund: ChargeRefund
    charge: Charge
    refunded_amount: Decimal
    balance: Decimal
    replayed: bool = False


# --- Checks ----------------------------------------------------------------------------------


def _check_text(value: str | None, *, field: str, max_length: int) -> str:
    value = (value or "").strip()
    if len(value) > max_length:
        raise InvalidInput(fields={field: [_("At most %(n)d characters.") % {"n": max_length}]})
    if "\x00" in value:
        raise InvalidInput(fields={field: [_("Must not contain NUL characters.")]})
    return value


def _check_order_id(order_id: str | None) -> str:
    order_id = (order_id or "").strip()
    if not order_id:
        raise InvalidInput(fields={"order_id": [_("This field is required.")]})
    return _check_text(order_id, field="order_id", max_length=ORDER_ID_MAX_LENGTH)


def _origin(application: ClientApplication, origin: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the journal entry records about who asked: always the application, plus the door's details."""
    return {**(origin or {}), "client_application": {"id": application.pk, "name": application.name}}


def _insert_with_fresh_id(row: _Row, *, prefix: str, attempts: int = 8) -> _Row:
    """INSERT ``row`` under a new ``<prefix><UTC time><4 characters>`` id, drawing again on a clash.

    Ids are readable order numbers (API.md), so a clash is possible when
    many rows are made in one second. ``ON CONFLICT (id) DO NOTHING`` makes a
    clash cost one more INSERT instead of a savepoint around every insert
    (two more statements under the wallet lock). Any other unique conflict
    still raises IntegrityError. PostgreSQL and SQLite (>= 3.35) both speak it.
    """
    model = type(row)
    fields = list(model._meta.local_concrete_fields)
    quote = connection.ops.quote_name
    pk_column = quote(str(model._meta.pk.column))
    # Only identifiers from the model's own metadata go into the text; values are parameters.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({pk_column}) DO NOTHING RETURNING {pk_column}"
    )
    for _attempt in range(attempts):
        row.pk = new_order_id(prefix)
        params = [field.get_db_prep_save(field.pre_save(row, add=True), connection) for field in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if cursor.fetchone() is not None:
                row._state.adding = False
                row._state.db = connection.alias
                return row
    raise RuntimeError(f"no free {model.__name__} id after {attempts} draws")  # pragma: no cover


def _revenue_account(application: ClientApplication) -> LedgerAccount:
    # Filled in from the key lookup's cache entry on the API path (no query).
    account = application.revenue_account
    if account is None:  # pragma: no cover - client_application_create always gives one
        raise RuntimeError(f"client application {application.pk} has no revenue account")
    return account


# --- Charges ---------------------------------------------------------------------------------


class _OrderStoredMeanwhile(Exception):
    """A request with the same order number committed after our lock query's snapshot was taken."""


def _replay_charge(charge: Charge, *, user_id: int, amount: Decimal, description: str) -> ChargeResult:
    if (charge.user_id, charge.amount, charge.description) != (user_id, amount, description):
        raise IdempotencyKeyReused(_("This order_id was already used for a different charge."))
    return ChargeResult(charge=charge, balance=charge.balance_after, replayed=True)


def _key_usable(*, application: ClientApplication, key_id: str, now: Any) -> Exists:
    """Whether key ``key_id`` of ``application`` may be used at ``now``: not revoked nor expired, the application active."""
    return Exists(
        ClientApplicationKey.objects.filter(
            Q(expiry_date__isnull=True) | Q(expiry_date__gt=now),
            pk=key_id,
            application_id=application.pk,
            revoked=False,
            application__active=True,
        )
    )


def _application_scopes(application: ClientApplication) -> Subquery:
    return Subquery(ClientApplication.objects.filter(pk=application.pk).values("scopes")[:1])


def _key_check(*, usable: bool, scopes: Any) -> None:
    """What ``wallet_charge_create`` answers for the key: ApiKeyInvalid, ApiKeyScopeMissing, or nothing."""
    if not usable:
        raise ApiKeyInvalid()
    if Scope.CHARGE not in (scopes or ()):
        raise ApiKeyScopeMissing()


def _wallet_lock_for_charge(
    *, user_id: int, application: ClientApplication, order_id: str, key_id: str | None = None
) -> LedgerAccount | None:
    """The active person's wallet account, locked, annotated with the charge already made for ``order_id``.

    One statement. None when there is no such active person or they have no
    wallet yet. ``existing_charge`` comes from the statement's snapshot, taken
    before any wait for the lock: see ``_OrderStoredMeanwhile``. With
    ``key_id``, also annotated with ``key_usable`` and the application's
    ``application_scopes`` (the key's check, in the same statement).
    """
    # order_by(): without it the model's ordering makes PostgreSQL walk all of the application's charges
    # instead of probing the unique (application, order_id) index.
    existing = Charge.objects.filter(application=application, order_id=order_id).order_by().values("pk")[:1]
    accounts = (
        lock_objects.ledger_accounts_qs_select_for_update()
        .filter(user_id=user_id, user__is_active=True, kind=AccountKind.WALLET)
        .annotate(existing_charge=Subquery(existing))
    )
    if key_id is not None:
        accounts = accounts.annotate(
            key_usable=_key_usable(application=application, key_id=key_id, now=timezone.now()),
            application_scopes=_application_scopes(application),
        )
    return accounts.first()


def _charge_write(
    *,
    application: ClientApplication,
    user_id: int,
    amount: Decimal,
    order_id: str,
    description: str,
    origin: Mapping[str, Any] | None,
    key_id: str | None,
) -> ChargeResult:
    wallet = _wallet_lock_for_charge(user_id=user_id, application=application, order_id=order_id, key_id=key_id)
    if key_id is not None:
        if wallet is not None:
            _key_check(usable=wallet.key_usable, scopes=wallet.application_scopes)  # type: ignore[attr-defined]
        else:  # a rare path: the key's check alone, a query
            usable, scopes = (
                ClientApplication.objects.filter(pk=application.pk)
                .annotate(
                    key_usable=_key_usable(application=application, key_id=key_id, now=timezone.now()),
                )
                .values_list("key_usable", "scopes")
                .first()
            ) or (False, [])
            _key_check(usable=usable, scopes=scopes)
    existing_id = wallet.existing_charge if wallet is not None else None  # type: ignore[attr-defined]
    if wallet is None:
        # Rare paths, a query each: the order number may be known (a replay
        # for another person, who may have no wallet), else say what is missing.
        known = Charge.objects.filter(application=application, order_id=order_id).first()
        if known is not None:
            return _replay_charge(known, user_id=user_id, amount=amount, description=description)
        if not get_user_model().objects.filter(pk=user_id, is_active=True).exists():
            raise NotFound(_("No such user."))
        raise InsufficientFunds.short_by(amount, wallet_settings.CURRENCY)  # an active person who never had money
    if existing_id is not None:
        known = Charge.objects.get(pk=existing_id)
        return _replay_charge(known, user_id=user_id, amount=amount, description=description)

    mark_locked(wallet)
    balance = wallet.balance - amount
    if balance < 0:
        raise InsufficientFunds.short_by(-balance, wallet.currency)
    charge = _insert_with_fresh_id(
        Charge(
            application=application,
            user_id=user_id,
            order_id=order_id,
            amount=amount,
            currency=wallet.currency,
            description=description,
            balance_after=balance,
        ),
        prefix=CHARGE_ID_PREFIX,
    )
    ledger_post(
        kind=EntryKind.CHARGE,
        lines=[(wallet, -amount), (_revenue_account(application), amount)],
        reference=charge.pk,
        description=description,
        origin=_origin(application, origin),
    )
    currency = wallet.currency
    transaction.on_commit(
        lambda: metrics.charge_recorded(application=application.name, amount=amount, currency=currency)
    )
    return ChargeResult(charge=charge, balance=balance)


# Charge's columns in its model's order: the values below are given by position.
_CHARGE_COLUMNS = (
    "id",
    "application_id",
    "user_id",
    "order_id",
    "amount",
    "currency",
    "description",
    "refunded_amount",
    "balance_after",
    "created_at",
)

_CHARGE_SQL = (
    "SELECT outcome, charge_id, balance, currency "
    "FROM wallet_charge_create(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def _charge_in_one_statement(
    *,
    application: ClientApplication,
    user_id: int,
    amount: Decimal,
    order_id: str,
    description: str,
    origin: Mapping[str, Any] | None,
    key_id: str | None,
) -> ChargeResult:
    """PostgreSQL: the whole charge in one statement (migrations 0012 and 0013's ``wallet_charge_create``).

    Run in autocommit when no transaction is open, so the wallet row lock is
    held for that one statement and its implicit commit only, with no round
    trip (and no wait for the GIL) in between. Inside a caller's transaction
    it is simply part of it. Nothing is written unless the outcome is
    ``created``; the rules are those of ``_charge_write`` (same tests).
    """
    revenue = _revenue_account(application)
    origin_json = json.dumps(_origin(application, origin), ensure_ascii=False, separators=(",", ":"))
    for _attempt in range(8):
        now = timezone.now()
        charge_id = new_order_id(CHARGE_ID_PREFIX)
        params: list[Any] = [
            user_id,
            application.pk,
            revenue.pk,
            charge_id,
            order_id,
            amount,
            description,
            origin_json,
            now,
            uuid.uuid4(),
            uuid.uuid4(),
            uuid.uuid4(),
            key_id,
        ]
        # Prepared once per connection, like the hot reads: the same statement on every charge.
        cursor = prepared_cursor(connection)
        cursor.execute(_CHARGE_SQL, params)
        outcome, found_id, balance, currency = cursor.fetchone()
        if outcome == "created":
            # Counted once per charge, after its commit (at once in autocommit).
            transaction.on_commit(
                partial(metrics.charge_recorded, application=application.name, amount=amount, currency=currency)
            )
            # The row as the statement wrote it, built as a query would load it (``from_db``:
            # positional, no defaults or descriptors to run), with its application at hand.
            charge = Charge.from_db(
                connection.alias,
                _CHARGE_COLUMNS,
                (found_id, application.pk, user_id, order_id, amount, currency, description, ZERO, balance, now),
            )
            charge._state.fields_cache["application"] = application
            return ChargeResult(charge=charge, balance=balance)
        if outcome == "replay":
            return _replay_charge(
                Charge.objects.get(pk=found_id), user_id=user_id, amount=amount, description=description
            )
        if outcome == "insufficient":
            raise InsufficientFunds.short_by(amount - balance, currency)
        if outcome == "key_invalid":
            raise ApiKeyInvalid()
        if outcome == "scope_missing":
            raise ApiKeyScopeMissing()
        if outcome == "no_wallet":
            # The rare paths of _charge_write, a query each: a replay for another person, else what is missing.
            other = Charge.objects.filter(application=application, order_id=order_id).first()
            if other is not None:
                return _replay_charge(other, user_id=user_id, amount=amount, description=description)
            if not get_user_model().objects.filter(pk=user_id, is_active=True).exists():
                raise NotFound(_("No such user."))
            raise InsufficientFunds.short_by(amount, wallet_settings.CURRENCY)
        # "id_clash": another charge got this id in the same second; nothing was written, draw again.
    raise RuntimeError("no free charge id after 8 draws")  # pragma: no cover


def charge_create(
    *,
    application: ClientApplication,
    user_id: int,
    amount: Decimal,
    order_id: str,
    description: str = "",
    origin: Mapping[str, Any] | None = None,
    key_id: str | None = None,
) -> ChargeResult:
    """Take ``amount`` from person ``user_id``'s wallet for ``application``'s order ``order_id``, atomically.

    Requires an application allowed to charge. With ``key_id`` (the API key
    the request came with) the charge itself checks, before it locks or
    writes anything, that the key is neither revoked nor expired and the
    application active (else ApiKeyInvalid) and allowed to charge (else
    ApiKeyScopeMissing): the door may have authenticated the key from an
    entry up to a minute old. Without it the caller vouches for the
    application. Rules: 0 < amount <= WALLET_MAX_BALANCE with at most two
    decimals, ``order_id`` 1..64 characters, ``description`` at most 200.
    The same (application, order_id) with the same user, amount and
    description returns the first result (``replayed``) and charges nothing.
    Raises InvalidInput, NotFound (no such person, or inactive),
    InsufficientFunds (nothing is written), IdempotencyKeyReused,
    IdempotencyInProgress (not expected in practice).
    """
    amount = _check_amount(amount, maximum=wallet_settings.MAX_BALANCE)
    order_id = _check_order_id(order_id)
    description = _check_text(description, field="description", max_length=DESCRIPTION_MAX_LENGTH)
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
        raise InvalidInput(fields={"user_id": [_("Enter a user id.")]})
    if connection.vendor == "postgresql":
        return _charge_in_one_statement(
            application=application,
            user_id=user_id,
            amount=amount,
            order_id=order_id,
            description=description,
            origin=origin,
            key_id=key_id,
        )
    try:
        with transaction.atomic():
            return _charge_write(
                application=application,
                user_id=user_id,
                amount=amount,
                order_id=order_id,
                description=description,
                origin=origin,
                key_id=key_id,
            )
    except InsufficientFunds:
        # A same-order request may have committed while we waited for the
        # lock (our lookup's snapshot predates it) and spent what we checked:
        # then this is its replay, not a refusal. One query, on this path only.
        known = Charge.objects.filter(application=application, order_id=order_id).first()
        if known is None:
            raise
        return _replay_charge(known, user_id=user_id, amount=amount, description=description)
    except IntegrityError:
        # Everything was rolled back. The only unique conflict left to the
        # charge INSERT is (application, order_id): a same-order request
        # committed while we waited for the lock (or charged another
        # person's wallet meanwhile). PostgreSQL's unique check waited for
        # it, so a fresh statement sees its charge.
        known = Charge.objects.filter(application=application, order_id=order_id).first()
        if known is None:
            raise IdempotencyInProgress() from None
        return _replay_charge(known, user_id=user_id, amount=amount, description=description)


def charge_get(*, application: ClientApplication, charge_id: str) -> Charge:
    """``application``'s charge ``charge_id``; another application's is NotFound, like an unknown one."""
    charge = Charge.objects.filter(pk=charge_id, application=application).first()
    if charge is None:
        raise NotFound()
    return charge


def charges_by_id(*, ids: list[str]) -> dict[str, Charge]:
    """The charges ``ids`` with their applications, by id (one query): for showing a page of history."""
    if not ids:
        return {}
    return {charge.pk: charge for charge in Charge.objects.filter(pk__in=ids).select_related("application")}


# --- Refunds ---------------------------------------------------------------------------------


def _refund_fingerprint(*, charge_id: str, amount: Decimal | None, reason: str) -> str:
    canonical = json.dumps(
        {"charge": charge_id, "amount": None if amount is None else str(amount), "reason": reason},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay_refund(refund: ChargeRefund, *, fingerprint: str) -> RefundResult:
    if refund.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return RefundResult(
        refund=refund,
        charge=refund.charge,
        refunded_amount=refund.refunded_after,
        balance=refund.balance_after,
        replayed=True,
    )


def _known_refund(*, application: ClientApplication, key: str) -> ChargeRefund | None:
    return ChargeRefund.objects.filter(application=application, idempotency_key=key).select_related("charge").first()


def _refund_write(
    *,
    application: ClientApplication,
    charge_id: str,
    amount: Decimal | None,
    reason: str,
    key: str,
    fingerprint: str,
    origin: Mapping[str, Any] | None,
) -> RefundResult:
    found = Charge.objects.filter(pk=charge_id, application=application).select_related("user").first()
    if found is None:
        raise NotFound()
    # Lock order everywhere: the wallet account, then the charge.
    wallet = lock_objects.wallet_account_lock(user=found.user)
    charge = Charge.objects.select_for_update().get(pk=charge_id)
    if key:
        known = _known_refund(application=application, key=key)
        if known is not None:
            return _replay_refund(known, fingerprint=fingerprint)
    left = charge.amount - charge.refunded_amount
    refund_amount = left if amount is None else amount
    if refund_amount <= 0 or refund_amount > left:
        raise RefundExceedsCharge(_("At most %(left)s of this charge can still be refunded.") % {"left": f"{left:.2f}"})
    refunded = charge.refunded_amount + refund_amount
    # A refund returns the person's own money: it is credited even above WALLET_MAX_BALANCE.
    balance = wallet.balance + refund_amount
    refund = _insert_with_fresh_id(
        ChargeRefund(
            charge=charge,
            application=application,
            amount=refund_amount,
            reason=reason,
            idempotency_key=key,
            fingerprint=fingerprint if key else "",
            refunded_after=refunded,
            balance_after=balance,
        ),
        prefix=REFUND_ID_PREFIX,
    )
    ledger_post(
        kind=EntryKind.REFUND,
        lines=[(_revenue_account(application), -refund_amount), (wallet, refund_amount)],
        reference=charge.pk,
        description=reason or charge.description,
        origin=_origin(application, origin),
    )
    # The charge row is locked, so the new total is known here. Written as a value, not
    # F() + amount: SQLite adds decimals as floats, and 0.01 + 9.60 + 457.23 could then
    # exceed 466.84 by a rounding error and trip the refunded-within-amount check.
    Charge.objects.filter(pk=charge.pk).update(refunded_amount=refunded)
    charge.refunded_amount = refunded
    currency = wallet.currency
    transaction.on_commit(
        lambda: metrics.refund_recorded(application=application.name, amount=refund_amount, currency=currency)
    )
    return RefundResult(refund=refund, charge=charge, refunded_amount=refunded, balance=balance)


def charge_refund(
    *,
    application: ClientApplication,
    charge_id: str,
    amount: Decimal | None = None,
    reason: str = "",
    idempotency_key: str | None = None,
    origin: Mapping[str, Any] | None = None,
) -> RefundResult:
    """Give back ``amount`` (default: all that is left) of ``application``'s charge ``charge_id``, atomically.

    Requires an application allowed to refund (the door checks the key's
    scope). Refunds of one charge never add up to more than it
    (RefundExceedsCharge, also when nothing is left). The money goes back to
    the wallet it came from even above WALLET_MAX_BALANCE: it is the person's
    own. With ``idempotency_key`` (unique per application) the same request
    again returns the first result (``replayed``). Raises InvalidInput,
    NotFound (unknown charge, or another application's), RefundExceedsCharge,
    IdempotencyKeyReused, IdempotencyInProgress (not expected in practice).
    """
    if amount is not None:
        amount = _check_amount(amount, maximum=wallet_settings.MAX_BALANCE)
    reason = _check_text(reason, field="reason", max_length=REASON_MAX_LENGTH)
    key = _check_key(idempotency_key)
    charge_id = (charge_id or "").strip()
    fingerprint = _refund_fingerprint(charge_id=charge_id, amount=amount, reason=reason)
    try:
        with transaction.atomic():
            return _refund_write(
                application=application,
                charge_id=charge_id,
                amount=amount,
                reason=reason,
                key=key,
                fingerprint=fingerprint,
                origin=origin,
            )
    except IntegrityError:
        # Only (application, idempotency_key) can conflict: the same key was
        # used meanwhile on another person's charge (a same-charge retry waits
        # on the wallet lock and then finds the first refund).
        known = _known_refund(application=application, key=key) if key else None
        if known is None:
            raise IdempotencyInProgress() from None
        return _replay_refund(known, fingerprint=fingerprint)


# --- Audit -----------------------------------------------------------------------------------


def charges_audit() -> list[AuditFinding]:
    """Every charge whose rows and ledger disagree (``manage.py wallet_audit`` runs it after the ledger's checks).

    - a charge has exactly one ``charge`` entry: its wallet −amount, its
      application's revenue +amount;
    - its ``refunded_amount`` is the sum of its refunds, which is what its
      ``refund`` entries gave back to the wallet, one entry per refund.
    Two aggregate queries plus one pass over the charges.
    """
    findings: dict[str, AuditFinding] = {}

    def problem(subject: str, text: str) -> None:
        findings.setdefault(subject, AuditFinding(subject)).problems.append(text)

    booked: dict[tuple[str, str, str], tuple[Decimal, int]] = {}
    lines = (
        LedgerLine.objects.filter(entry__kind__in=[EntryKind.CHARGE, EntryKind.REFUND])
        .values_list("entry__reference", "entry__kind", "account__kind")
        .annotate(total=Sum("amount"), entries=Count("entry", distinct=True))
        .order_by()
    )
    for reference, kind, account_kind, total, entries in lines.iterator(chunk_size=5000):
        # SQLite adds decimals as floats: back to cents (PostgreSQL's numeric sums are exact anyway).
        booked[(reference, kind, account_kind)] = (Decimal(total).quantize(CENT), entries)
    refunds: dict[str, tuple[Decimal, int]] = {
        charge_id: (Decimal(total).quantize(CENT), n)
        for charge_id, total, n in ChargeRefund.objects.values("charge")
        .annotate(total=Sum("amount"), n=Count("pk"))
        .values_list("charge", "total", "n")
        .order_by()
    }
    charges = Charge.objects.only("pk", "amount", "refunded_amount").iterator(chunk_size=5000)
    for charge in charges:
        subject = f"charge {charge.pk}"
        wallet, wallet_entries = booked.pop((charge.pk, EntryKind.CHARGE, AccountKind.WALLET), (ZERO, 0))
        revenue, _n = booked.pop((charge.pk, EntryKind.CHARGE, AccountKind.REVENUE), (ZERO, 0))
        if wallet_entries != 1 or wallet != -charge.amount or revenue != charge.amount:
            problem(
                subject,
                f"{wallet_entries} charge entries moving {wallet:.2f} / {revenue:.2f}, not one of {charge.amount}",
            )
        back, refund_entries = booked.pop((charge.pk, EntryKind.REFUND, AccountKind.WALLET), (ZERO, 0))
        booked.pop((charge.pk, EntryKind.REFUND, AccountKind.REVENUE), None)
        refunded, count = refunds.get(charge.pk, (ZERO, 0))
        if refunded != charge.refunded_amount:
            problem(subject, f"refunded_amount {charge.refunded_amount} != sum of its refunds {refunded:.2f}")
        if back != refunded or refund_entries != count:
            problem(
                subject,
                f"refunded {refunded:.2f} in {count} refund(s), the ledger gave back {back:.2f} in {refund_entries} entries",
            )
    for reference, kind, _account_kind in booked:
        problem(f"entry {kind} {reference}", "no such charge")
    return sorted(findings.values(), key=lambda finding: finding.subject)


__all__ = [
    "ChargeResult",
    "RefundResult",
    "charge_create",
    "charge_get",
    "charge_refund",
    "charges_audit",
    "charges_by_id",
]
