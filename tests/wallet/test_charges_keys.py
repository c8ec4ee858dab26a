"""The charge POST's key: from this process's memory, no cache call, checked again by the charge itself.

``POST /api/v1/wallet/charges/`` authenticates its API key from a per-process
entry up to a minute old (``wallet.clients.client_key_authenticate_in_process``);
the charge (``wallet_charge_create`` on PostgreSQL, the lock query on SQLite)
refuses a key revoked or expired, a switched-off application or one without
the ``charge`` scope, before it locks or writes anything. These tests change
the key or the application right after a charge warmed the entry, in the same
process, and check the next charge is refused exactly as the authentication or
the scope permission refuses it, writing nothing.
"""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import UserFactory
from tests.helpers import assert_api_error
from tests.wallet.charges_helpers import fund, key_client, new_application
from wallet import clients
from wallet.charges import charge_create
from wallet.clients import client_application_update, client_key_issue, client_key_revoke
from wallet.errors import ApiKeyInvalid, ApiKeyScopeMissing
from wallet.models import AccountKind, Charge, ClientApplicationKey, JournalEntry, LedgerAccount, LedgerLine

pytestmark = pytest.mark.django_db

CHARGES = "/api/v1/wallet/charges/"
MINUTE = "2026-12-01 15:59:05Z"  # every request of a test in one clock minute: the entry stays warm


@pytest.fixture
def person():
    user = UserFactory()
    fund(user, "100.00")
    return user


def _charge(client, user, order_id, amount="10.00"):
    return client.post(CHARGES, {"user_id": user.pk, "amount": amount, "order_id": order_id}, format="json")


def _written() -> tuple:
    """Everything a charge writes: its row, the journal entry, the lines and the wallet's balance."""
    return (
        Charge.objects.count(),
        JournalEntry.objects.count(),
        LedgerLine.objects.count(),
        list(LedgerAccount.objects.filter(kind=AccountKind.WALLET).values_list("pk", "balance", "line_count")),
    )


def _warm(key: str) -> bool:
    return key.partition(".")[0] in clients._IN_PROCESS


def _refused_by_the_charge(client, user, key, order_id):
    """The next charge, made while the key's entry is still warm: refused by the statement, nothing written."""
    assert _warm(key)
    before = _written()
    with CaptureQueriesContext(connection) as queries:
        response = _charge(client, user, order_id)
    assert _written() == before
    if connection.vendor == "postgresql":
        # The function alone: it answered from its check, before the lock (nothing else was asked).
        assert len(queries.captured_queries) == 1, [q["sql"] for q in queries.captured_queries]
        assert "wallet_charge_create(" in queries.captured_queries[0]["sql"]
    assert not _warm(key)  # forgotten: the next call reads the database again
    return response


def _same_error(response, expected) -> None:
    assert (response.status_code, response.json()) == (expected.status_code, expected.json())
    assert response.get("WWW-Authenticate") == expected.get("WWW-Authenticate")


def test_a_key_revoked_after_a_charge_is_refused_at_once_with_401(person):
    application, key = new_application("Shop")
    client = key_client(key)
    with time_machine.travel(MINUTE, tick=False):
        assert _charge(client, person, "1").status_code == 201
        client_key_revoke(key=application.keys.get())
        response = _refused_by_the_charge(client, person, key, "2")
        assert_api_error(response, 401, "api_key_invalid")
        assert response["WWW-Authenticate"] == "Api-Key"
        # The same answer the authentication gives (the next call, and the other endpoints).
        _same_error(response, _charge(client, person, "3"))
        _same_error(response, client.get(f"{CHARGES}C20261201000000XXXX/"))
    assert Charge.objects.count() == 1 and LedgerAccount.objects.get(user=person, kind="wallet").balance == 90


def test_a_switched_off_application_is_refused_at_once_with_401(person):
    application, key = new_application("Shop")
    client = key_client(key)
    with time_machine.travel(MINUTE, tick=False):
        assert _charge(client, person, "1").status_code == 201
        client_application_update(application=application, active=False)
        response = _refused_by_the_charge(client, person, key, "2")
        assert_api_error(response, 401, "api_key_invalid")
        _same_error(response, _charge(client, person, "3"))
        # Switched on again: charging again at once (a refusal is not remembered).
        client_application_update(application=application, active=True)
        assert _charge(client, person, "4").status_code == 201
    assert Charge.objects.count() == 2


def test_an_application_whose_charge_scope_is_taken_away_is_refused_at_once_with_403(person):
    application, key = new_application("Shop")
    client = key_client(key)
    _refunder, refund_key = new_application("Refunds only", scopes=("refund",))
    with time_machine.travel(MINUTE, tick=False):
        assert _charge(client, person, "1").status_code == 201
        client_application_update(application=application, scopes=["refund"])
        response = _refused_by_the_charge(client, person, key, "2")
        assert_api_error(response, 403, "permission_denied")
        # What the scope permission answers, for this key now and for a key that never had the scope.
        _same_error(response, _charge(client, person, "3"))
        _same_error(response, _charge(key_client(refund_key), person, "4"))
        # Given back: charging again at once (an entry without the scope is not trusted).
        client_application_update(application=application, scopes=["charge", "refund"])
        assert _charge(client, person, "5").status_code == 201
    assert Charge.objects.count() == 2


def test_an_expired_key_is_refused(person):
    application, key = new_application("Shop")
    client = key_client(key)
    with time_machine.travel(MINUTE, tick=False):
        assert _charge(client, person, "1").status_code == 201
        ClientApplicationKey.objects.filter(application=application).update(
            expiry_date=timezone.now() - datetime.timedelta(seconds=1)
        )  # a row changed behind the services' back: only the charge's own check can see it
        assert_api_error(_refused_by_the_charge(client, person, key, "2"), 401, "api_key_invalid")
    assert Charge.objects.count() == 1


def test_a_key_never_seen_works_and_the_warm_one_goes_on_working(person):
    application, key = new_application("Shop")
    with time_machine.travel(MINUTE, tick=False):
        assert _charge(key_client(key), person, "1").status_code == 201
        _row, second = client_key_issue(application=application)
        assert not _warm(second)
        response = _charge(key_client(second), person, "2")
        assert response.status_code == 201, response.content
        assert _warm(second) and _charge(key_client(key), person, "3").status_code == 201
        # A wrong secret with a known prefix is refused from the warm entry (the hash is checked every time).
        wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
        assert_api_error(_charge(key_client(wrong), person, "4"), 401, "api_key_invalid")
    assert Charge.objects.count() == 3
    assert ClientApplicationKey.objects.filter(application=application, last_used_at__isnull=False).count() == 2


def test_last_used_at_is_written_as_before_at_most_once_a_minute(person):
    application, key = new_application("Shop")
    client = key_client(key)
    with time_machine.travel("2026-12-01 15:59:30Z", tick=False):
        assert _charge(client, person, "1").status_code == 201
        first = ClientApplicationKey.objects.get(application=application).last_used_at
        assert first == timezone.now()
    with time_machine.travel("2026-12-01 15:59:50Z", tick=False):
        assert _charge(client, person, "2").status_code == 201
    with time_machine.travel("2026-12-01 16:00:10Z", tick=False):  # a new minute: read again, < 60 s: no write
        assert _charge(client, person, "3").status_code == 201
        assert ClientApplicationKey.objects.get(application=application).last_used_at == first
    with time_machine.travel("2026-12-01 16:01:10Z", tick=False):
        assert _charge(client, person, "4").status_code == 201
        assert ClientApplicationKey.objects.get(application=application).last_used_at == timezone.now()


class CacheCalls:
    """Every call on the default cache backend and every command sent to Redis, while installed."""

    def __init__(self, monkeypatch):
        self.calls: list[str] = []
        backend = type(caches["default"])
        for name in ("get", "get_many", "set", "set_many", "add", "incr", "decr", "delete", "delete_many", "touch"):
            if hasattr(backend, name):
                monkeypatch.setattr(backend, name, self._recording(name, getattr(backend, name)))
        try:
            from redis.connection import AbstractConnection
        except ImportError:  # pragma: no cover - redis is installed with django-redis
            return
        original = AbstractConnection.send_packed_command
        monkeypatch.setattr(AbstractConnection, "send_packed_command", self._recording("redis", original))

    def _recording(self, name, function):
        def recorded(*args, **kwargs):
            self.calls.append(name)
            return function(*args, **kwargs)

        return recorded


def test_a_charge_with_a_warm_key_makes_no_cache_call(settings, person, monkeypatch):
    settings.WALLET_CLIENT_RATE = "0"  # the rate limit is a cache counter by design (off: as the bench runs)
    _application, key = new_application("Shop")
    client = key_client(key)
    with time_machine.travel(MINUTE, tick=False):
        assert _charge(client, person, "warm").status_code == 201
        calls = CacheCalls(monkeypatch)
        with CaptureQueriesContext(connection) as queries:
            response = _charge(client, person, "measured")
        assert response.status_code == 201, response.content
        assert calls.calls == []
        assert len(queries.captured_queries) <= 6
        if connection.vendor == "postgresql":
            assert len(queries.captured_queries) == 1
        # The other client endpoints still read the key's cache entry on every request.
        charge_id = response.json()["charge"]["id"]
        assert client.get(f"{CHARGES}{charge_id}/").status_code == 200
        assert "get" in calls.calls or "redis" in calls.calls


def test_the_throttle_still_counts_the_charges(settings, person):
    settings.WALLET_CLIENT_RATE = "2/m"
    _application, key = new_application("Shop")
    client = key_client(key)
    with time_machine.travel(MINUTE, tick=False):
        assert _charge(client, person, "1").status_code == 201
        assert _charge(client, person, "2").status_code == 201
        assert_api_error(_charge(client, person, "3"), 429, "rate_limited")
    assert Charge.objects.count() == 2


# --- The service: charge_create(key_id=…) ------------------------------------------------------


def test_charge_create_with_a_key_id_checks_it_before_anything_else(person):
    application, _key = new_application("Shop")
    other, _other_key = new_application("Other")
    key_row = application.keys.get()
    ok = charge_create(application=application, user_id=person.pk, amount=Decimal("1"), order_id="a", key_id=key_row.pk)
    assert ok.balance == Decimal("99.00")
    before = _written()
    with pytest.raises(ApiKeyInvalid):  # another application's key
        charge_create(application=other, user_id=person.pk, amount=Decimal("1"), order_id="b", key_id=key_row.pk)
    with pytest.raises(ApiKeyInvalid):  # no such key
        charge_create(application=application, user_id=person.pk, amount=Decimal("1"), order_id="b", key_id="nope")
    client_application_update(application=application, scopes=["refund"])
    with pytest.raises(ApiKeyScopeMissing):  # even for a replay of an order that was charged
        charge_create(application=application, user_id=person.pk, amount=Decimal("1"), order_id="a", key_id=key_row.pk)
    client_key_revoke(key=key_row)
    for user_id in (person.pk, UserFactory().pk, 10**9):  # also where there is no wallet to lock
        with pytest.raises(ApiKeyInvalid):
            charge_create(
                application=application, user_id=user_id, amount=Decimal("1"), order_id="c", key_id=key_row.pk
            )
    assert _written() == before
    # Without a key id (a charge made in code) the application is not checked.
    assert charge_create(application=application, user_id=person.pk, amount=Decimal("1"), order_id="d").balance == 98


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_key_is_checked_before_the_wallet_is_locked():
    """A refusal does not queue on the hot wallet's lock: the check comes first in the statement."""
    import psycopg
    from django.db import OperationalError

    user = UserFactory()
    fund(user, "100.00")
    application, _key = new_application("Shop")
    key_row = application.keys.get()
    client_key_revoke(key=key_row)
    wallet = LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET)
    params = connection.settings_dict
    holder = psycopg.connect(
        dbname=params["NAME"],
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
    )
    try:
        holder.execute("SELECT 1 FROM wallet_ledgeraccount WHERE id = %s FOR UPDATE", [wallet.pk])  # held
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '500ms'")
        try:
            with pytest.raises(ApiKeyInvalid):
                charge_create(
                    application=application, user_id=user.pk, amount=Decimal("1"), order_id="x", key_id=key_row.pk
                )
            with pytest.raises(OperationalError, match="lock timeout"):  # a charge that gets past the check waits
                charge_create(application=application, user_id=user.pk, amount=Decimal("1"), order_id="y")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    finally:
        holder.rollback()
        holder.close()
    assert not Charge.objects.exists()
