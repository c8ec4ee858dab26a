"""Client applications and their API keys: create, issue, revoke, (de)activate, authenticate.

Every door (the admin, ``manage.py wallet_client_create``, the API's key
authentication) goes through these functions.

Key lookups are cached (``client_key_authenticate``): a charge must not pay a
query for its key, and the hot wallet's throughput is bounded by statements.
The database stays the record: a cache entry only repeats what the key and
application rows said, for the rest of the current clock minute (entries are
keyed by minute, so every key is read from the database — and its
``last_used_at`` written — at most once a minute, whatever the cache does
with TTLs). Every change here puts a *stale* marker in place of this
minute's and the next minute's entry, at once and again after the commit:
until then lookups of that key go to the database and write nothing back.
A lookup that read the rows just before the change cannot put the old answer
back either: it writes with ``cache.add``, which never overwrites the marker.
A flushed cache only costs a query.

The charge POST alone skips the cache (``client_key_authenticate_in_process``):
its key entry lives in the process's memory for the rest of the minute, and
its one statement checks the key, the application and the scope again in the
database, so none of the changes above waits for that entry to expire.
"""

import datetime
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.core.cache import cache
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import InvalidInput
from wallet.errors import WalletPermissionDenied
from wallet.ledger import account_system
from wallet.models import AccountKind, ClientApplication, ClientApplicationKey, LedgerAccount, Scope

_Model = TypeVar("_Model", bound=Model)

KEY_CACHE_SECONDS = 60  # one clock minute per entry
# ``last_used_at`` is written when a key's entry is rebuilt, and then only if
# the stored value is older than this: at most once a minute per key.
LAST_USED_PRECISION = datetime.timedelta(seconds=60)
_STALE = {"stale": True}
PREFIX_LENGTH = 8


@dataclass(frozen=True)
class ClientPrincipal:
    """Who is calling with an API key: ``request.auth`` on the client-application endpoints."""

    application: ClientApplication
    key_prefix: str
    key_id: str | None = None  # the key's row; the charge statement checks it again (wallet.charges)

    def has_scope(self, scope: str) -> bool:
        return self.application.has_scope(scope)


def _minute(now: float) -> int:
    return int(now // KEY_CACHE_SECONDS)


def _cache_key(prefix: str, minute: int) -> str:
    return f"wallet:client-key:{prefix}:{minute}"


def _check_actor(actor: Any, permission: str) -> None:
    """``actor`` None is the operator at the command line; a person must be active staff with ``permission``."""
    if actor is None:
        return
    if not (actor.is_active and actor.is_staff and actor.has_perm(permission)):
        raise WalletPermissionDenied(_("You do not have permission to manage client applications."))


def _clean_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise InvalidInput(fields={"scopes": [_("Unknown scope: %(scope)s.") % {"scope": ", ".join(unknown)}]})
    return [scope for scope in Scope.values if scope in scopes]  # one order, no duplicates


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": [_("A name is required.")]})
    if len(name) > 100:
        raise InvalidInput(fields={"name": [_("At most 100 characters.")]})
    return name


def _mark_stale(prefixes: list[str]) -> None:
    """Make every lookup of these keys go to the database for a while, from now and again after the commit.

    Now: nothing cached can answer while the change is in flight (the
    database still gives the old answer until the commit, as it should).
    After the commit: the marker outlives any lookup that read the old rows.
    """
    if not prefixes:
        return

    def mark() -> None:
        minute = _minute(timezone.now().timestamp())
        keys = {_cache_key(prefix, m): _STALE for prefix in prefixes for m in (minute, minute + 1)}
        cache.set_many(keys, timeout=2 * KEY_CACHE_SECONDS)

    mark()
    transaction.on_commit(mark)


@transaction.atomic
def client_application_create(
    *, name: str, scopes: list[str] | tuple[str, ...], actor: Any = None
) -> tuple[ClientApplication, str]:
    """A new active application with ``scopes`` and its first API key; returns (application, key).

    The key is returned only here: it is stored hashed and cannot be shown
    again. ``actor`` (staff, or None for the command line) needs
    ``wallet.add_clientapplication``. Raises WalletPermissionDenied,
    InvalidInput (empty or taken name, unknown scope).
    """
    _check_actor(actor, "wallet.add_clientapplication")
    name = _clean_name(name)
    scopes = _clean_scopes(scopes)
    if ClientApplication.objects.filter(name__iexact=name).exists():
        raise InvalidInput(fields={"name": [_("An application with this name already exists.")]})
    application = ClientApplication.objects.create(name=name, scopes=scopes, created_by=actor)
    application.revenue_account = account_system(AccountKind.REVENUE, name=f"app:{application.pk}")
    application.save(update_fields=["revenue_account"])
    _key, raw_key = _key_create(application=application, actor=actor, label="")
    return application, raw_key


def _key_create(*, application: ClientApplication, actor: Any, label: str) -> tuple[ClientApplicationKey, str]:
    label = (label or "").strip()[:50] or _("key")
    key, raw_key = ClientApplicationKey.objects.create_key(application=application, name=label, created_by=actor)
    return cast(ClientApplicationKey, key), raw_key


@transaction.atomic
def client_key_issue(
    *, application: ClientApplication, actor: Any = None, label: str = ""
) -> tuple[ClientApplicationKey, str]:
    """A new API key for ``application``; returns (key row, the key itself — shown once).

    ``actor`` needs ``wallet.change_clientapplication`` (or None: the command line).
    """
    _check_actor(actor, "wallet.change_clientapplication")
    return _key_create(application=application, actor=actor, label=label)


@transaction.atomic
def client_key_revoke(*, key: ClientApplicationKey, actor: Any = None) -> ClientApplicationKey:
    """Revoke ``key`` for good: it is refused (401 api_key_invalid) from the commit on, in every process.

    Revoking a revoked key changes nothing. ``actor`` needs ``wallet.change_clientapplication``.
    """
    _check_actor(actor, "wallet.change_clientapplication")
    key = ClientApplicationKey.objects.select_for_update().get(pk=key.pk)
    if not key.revoked:
        key.revoked = True
        key.revoked_at = timezone.now()
        key.revoked_by = actor
        key.save(update_fields=["revoked", "revoked_at", "revoked_by"])
    _mark_stale([key.prefix])
    return key


@transaction.atomic
def client_application_update(
    *,
    application: ClientApplication,
    actor: Any = None,
    active: bool | None = None,
    scopes: list[str] | tuple[str, ...] | None = None,
) -> ClientApplication:
    """Switch ``application`` on or off and/or replace its scopes, effective from the commit on.

    ``actor`` needs ``wallet.change_clientapplication``. Raises InvalidInput on an unknown scope.
    """
    _check_actor(actor, "wallet.change_clientapplication")
    application = ClientApplication.objects.select_for_update().get(pk=application.pk)
    fields = []
    if active is not None and active != application.active:
        application.active = active
        fields.append("active")
    if scopes is not None:
        cleaned = _clean_scopes(scopes)
        if cleaned != application.scopes:
            application.scopes = cleaned
            fields.append("scopes")
    if fields:
        application.save(update_fields=fields)
        _mark_stale(list(application.keys.values_list("prefix", flat=True)))
    return application


def _from_cache(model: type[_Model], fields: dict[str, Any]) -> _Model:
    row = model(**fields)
    row._state.adding = False
    row._state.db = "default"
    return row


# The principal last built from each key's entry, in this process. Building two model
# instances was a sizeable share of a charge's CPU; an entry equal to the one read last
# time describes the same rows, so its principal is reused. Correctness still rests on
# the cache read every request makes: a changed, stale or missing entry builds anew.
# Shared between threads: nothing writes to the principal's rows (the charge and refund
# services only read the application and post to its untracked revenue account).
_PRINCIPALS: dict[str, tuple[dict, ClientPrincipal]] = {}
_PRINCIPALS_MAX = 1000  # keys in use at once per process; beyond that, start over


def _principal_from_entry(entry: dict, prefix: str) -> ClientPrincipal:
    known = _PRINCIPALS.get(prefix)
    if known is not None and known[0] == entry:
        return known[1]
    # Rebuilt without a query; the revenue account is pre-filled so a charge
    # can post to it without reading it (an untracked account is never locked).
    application = _from_cache(ClientApplication, entry["application"])
    if entry["revenue_account"] is not None:
        application.revenue_account = _from_cache(LedgerAccount, entry["revenue_account"])
    principal = ClientPrincipal(application=application, key_prefix=prefix, key_id=entry["key_id"])
    if len(_PRINCIPALS) >= _PRINCIPALS_MAX:
        _PRINCIPALS.clear()
    _PRINCIPALS[prefix] = (entry, principal)
    return principal


def _entry_from_db(prefix: str) -> dict | None:
    key = (
        ClientApplicationKey.objects.get_usable_keys()
        .filter(Q(expiry_date__isnull=True) | Q(expiry_date__gt=timezone.now()), prefix=prefix)
        .select_related("application", "application__revenue_account")
        .only(
            "id",
            "prefix",
            "hashed_key",
            "revoked",  # AbstractAPIKey.__init__ reads it
            "expiry_date",
            "last_used_at",
            "application__id",
            "application__name",
            "application__scopes",
            "application__active",
            "application__revenue_account",
            "application__revenue_account__id",
            "application__revenue_account__key",
            "application__revenue_account__kind",
            "application__revenue_account__name",
            "application__revenue_account__currency",
        )
        .first()
    )
    if key is None:
        return None
    application = key.application
    revenue = application.revenue_account
    return {
        "key_id": key.pk,
        "hashed_key": key.hashed_key,
        "expiry_date": key.expiry_date,
        "last_used_at": key.last_used_at,
        "application": {
            "id": application.pk,
            "name": application.name,
            "scopes": list(application.scopes),
            "active": application.active,
            "revenue_account_id": application.revenue_account_id,
        },
        "revenue_account": None
        if revenue is None
        else {
            "id": revenue.pk,
            "key": revenue.key,
            "kind": revenue.kind,
            "name": revenue.name,
            "currency": revenue.currency,
        },
    }


def _key_prefix(raw_key: str) -> str | None:
    """The key's prefix, or None for anything that cannot be a key (nothing is looked up for it)."""
    prefix, dot, secret = raw_key.partition(".")
    if not dot or len(prefix) != PREFIX_LENGTH or not secret or len(raw_key) > 150 or not prefix.isalnum():
        return None
    return prefix


def _entry_usable(entry: dict, now: datetime.datetime) -> bool:
    """The key's entry allows use at ``now``: not expired, its application active (revocation: no entry)."""
    return (entry["expiry_date"] is None or entry["expiry_date"] > now) and entry["application"]["active"]


def _entry_accepts(entry: dict, raw_key: str, now: datetime.datetime) -> bool:
    return _entry_usable(entry, now) and ClientApplicationKey.objects.key_generator.verify(raw_key, entry["hashed_key"])


def _last_used_record(entry: dict, now: datetime.datetime) -> None:
    """After a lookup in the database that accepted the key: ``last_used_at``, at most once a minute per key."""
    if entry["last_used_at"] is None or now - entry["last_used_at"] >= LAST_USED_PRECISION:
        # A plain UPDATE outside any transaction: losing a race to another
        # process only means the other one's time is kept.
        ClientApplicationKey.objects.filter(pk=entry["key_id"]).update(last_used_at=now)
        entry["last_used_at"] = now


def client_key_authenticate(*, raw_key: str) -> ClientPrincipal | None:
    """The application ``raw_key`` belongs to, or None (unknown, malformed, revoked, expired, inactive).

    Cost: one cache read when the key was seen in the last minute; otherwise
    one query, one cache write and, about once a minute per key, an UPDATE of
    ``last_used_at``.
    """
    prefix = _key_prefix(raw_key)
    if prefix is None:
        return None
    now = timezone.now()
    cache_key = _cache_key(prefix, _minute(now.timestamp()))
    cached = cache.get(cache_key)
    from_db = cached is None or cached == _STALE
    entry = _entry_from_db(prefix) if from_db else cached
    if entry is None:
        return None
    valid = _entry_accepts(entry, raw_key, now)
    if from_db:
        if valid:
            _last_used_record(entry, now)
        if cached is None:  # never over a stale marker: see the module docstring
            # Kept to the end of this minute (+1 s for clock skew between hosts).
            ttl = KEY_CACHE_SECONDS - int(now.timestamp()) % KEY_CACHE_SECONDS + 1
            cache.add(cache_key, entry, timeout=ttl)
    return _principal_from_entry(entry, prefix) if valid else None


# The charge POST's key lookups, in this process's memory: prefix -> (minute, entry, principal).
# Same entry as the cache's, read from the database at most once a minute per key and process.
_IN_PROCESS: dict[str, tuple[int, dict, ClientPrincipal]] = {}
_IN_PROCESS_MAX = 1000  # keys in use at once per process; beyond that, start over


def client_key_authenticate_in_process(*, raw_key: str, scope: str) -> ClientPrincipal | None:
    """``client_key_authenticate`` without the cache, for a door whose own statement checks the key again.

    Only for the charge POST: its statement (``wallet_charge_create``, given
    ``ClientPrincipal.key_id``) refuses a key revoked or expired, an inactive
    application or one without the scope, before it locks or writes
    anything — so this process's entry, up to a minute old, never lets a
    change go unnoticed; the door then calls ``client_key_forget_in_process``.
    The raw key is verified against the stored hash on every call. An entry
    that would refuse (expired, inactive, or without ``scope``) is not trusted: the
    database is asked again, so a granted scope takes effect at once too.

    Cost: nothing but the hash when the key was seen in this minute by this
    process; otherwise one query and, about once a minute per key, an UPDATE
    of ``last_used_at`` — never a cache call.
    """
    prefix = _key_prefix(raw_key)
    if prefix is None:
        return None
    now = timezone.now()
    minute = _minute(now.timestamp())
    known = _IN_PROCESS.get(prefix)
    if known is not None and known[0] == minute:
        _minute_seen, seen, principal = known
        if _entry_usable(seen, now) and principal.has_scope(scope):
            valid = ClientApplicationKey.objects.key_generator.verify(raw_key, seen["hashed_key"])
            return principal if valid else None
    entry = _entry_from_db(prefix)
    if entry is None:
        _IN_PROCESS.pop(prefix, None)
        return None
    valid = _entry_accepts(entry, raw_key, now)
    if valid:
        _last_used_record(entry, now)
    principal = _principal_from_entry(entry, prefix)
    if len(_IN_PROCESS) >= _IN_PROCESS_MAX:
        _IN_PROCESS.clear()
    _IN_PROCESS[prefix] = (minute, entry, principal)
    return principal if valid else None


def client_key_forget_in_process(prefix: str) -> None:
    """The charge statement refused this key: its next call reads the database again."""
    _IN_PROCESS.pop(prefix, None)
