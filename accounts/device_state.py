"""Is a signed-in device still live? The database decides; for browser sessions the cache answers faster.

A device's ``ended_at`` (``accounts.models.Device``) is the revocation record.
An API call with an access token asks the database, in the query that loads
its user (``accounts.selectors.user_with_device_seen``, used by
``accounts.authentication``). A browser session's page request reads one
cache key per device (``device:<id>``, ``accounts.sessions``):

- a number: the device is live, and that is when it was last seen (a Unix
  time; ``last_seen_at`` is written only when it is older than
  ``SEEN_INTERVAL``, so at most one UPDATE every few minutes per device);
- ``ENDED``: refused without touching the database;
- absent (expired, evicted, Redis restarted empty): the request asks the
  database (``device_seen``) and puts the answer back. A logged-out device
  therefore stays refused whatever happens to the cache.

Ending a device deletes the key at once (the next check goes to the database,
which already says "ended" inside the ending transaction, and to everyone
after its commit) and writes ``ENDED`` after the commit. A refill uses
``cache.add`` so that it never overwrites an ``ENDED`` written meanwhile.
"""

import time
from collections.abc import Iterable
from importlib import import_module

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from ua_parser import parse as ua_parse

from accounts.models import Device, User
from config.origin import Origin

KEY_PREFIX = "device:"
ENDED = "ended"
# last_seen_at is "updated at most every few minutes" (API.md).
SEEN_INTERVAL = 300


def device_name(user_agent: str) -> str:
    """A short human name from a User-Agent: "iPhone · Mobile Safari 17 · iOS 17", "Mac · Chrome 120 · Mac OS X 10"."""
    if not user_agent:
        return ""
    result = ua_parse(user_agent)
    parts: list[str] = []
    if result.device and result.device.family not in ("Other", "Spider"):
        parts.append(result.device.family)
    agent = result.user_agent
    if agent and agent.family != "Other":
        parts.append(f"{agent.family} {agent.major}" if agent.major else agent.family)
    os = result.os
    if os and os.family != "Other":
        parts.append(f"{os.family} {os.major}" if os.major else os.family)
    if not parts:
        # An app's own agent ("MyApp/2.3 ..."): its first product token is its name.
        parts.append(user_agent.split(" ", 1)[0])
    return " · ".join(dict.fromkeys(parts))[:100]


def device_new(*, user: User, kind: str, origin: Origin, session_key: str = "") -> Device:
    """The row of a new sign-in, not yet saved (its id is made here: ``device_id_new``)."""
    return Device(
        user=user,
        kind=kind,
        name=device_name(origin.user_agent),
        user_agent=origin.user_agent[:300],
        ip=origin.ip or None,
        session_key=session_key,
    )


def device_record(*, user: User, kind: str, origin: Origin, session_key: str = "") -> Device:
    """The row of a new sign-in (one INSERT). Flows call ``accounts.services.devices.device_sign_in``;
    ``accounts.sessions`` calls this directly because services import it (through ``recent_auth``)."""
    device = device_new(user=user, kind=kind, origin=origin, session_key=session_key)
    device.save(force_insert=True)
    return device


def state_key(device_id: str) -> str:
    return KEY_PREFIX + device_id


def _timeout() -> int:
    # As long as a token of the device can live; the database answers after that.
    return int(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds())


def state_remember_live(device_id: str, seen: float) -> None:
    cache.add(state_key(device_id), seen, timeout=_timeout())


def state_remember_seen(device_id: str, seen: float) -> None:
    cache.set(state_key(device_id), seen, timeout=_timeout())


def state_remember_ended(device_id: str) -> None:
    cache.set(state_key(device_id), ENDED, timeout=_timeout())


def device_seen(device_id: str, *, ip: str | None = None) -> bool:
    """Record that a live device was seen now (one UPDATE); False if it has ended (or never was)."""
    now = timezone.now()
    fields: dict[str, object] = {"last_seen_at": now}
    if ip:
        fields["ip"] = ip
    if Device.objects.filter(pk=device_id, ended_at__isnull=True).update(**fields) == 0:
        state_remember_ended(device_id)
        return False
    state_remember_seen(device_id, now.timestamp())
    return True


def seen_is_stale(seen: float) -> bool:
    return time.time() - seen >= SEEN_INTERVAL


def _sessions_delete(session_keys: Iterable[str]) -> None:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in session_keys:
        if key:
            store(session_key=key).delete()


def devices_end(devices: QuerySet[Device], *, reason: str) -> list[str]:
    """End every live device of ``devices``: their tokens are refused and browser sessions deleted.

    Returns the ids ended. Costs one SELECT and one UPDATE, plus a session
    delete per browser device.
    """
    live = list(devices.filter(ended_at__isnull=True).values_list("id", "session_key"))
    if not live:
        return []
    ids = [device_id for device_id, _ in live]
    Device.objects.filter(pk__in=ids, ended_at__isnull=True).update(ended_at=timezone.now(), end_reason=reason)
    keys = [state_key(device_id) for device_id in ids]
    cache.delete_many(keys)
    _sessions_delete(session_key for _, session_key in live)
    transaction.on_commit(
        lambda: cache.set_many(dict.fromkeys(keys, ENDED), timeout=_timeout()),
        robust=True,
    )
    return ids
