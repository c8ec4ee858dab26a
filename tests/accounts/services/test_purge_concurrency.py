"""accounts_purge run from cron on several hosts at once: each account erased exactly once (PostgreSQL, real threads)."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import SecurityEvent, User
from accounts.services.deletion import users_purge
from config.origin import Origin
from tests.factories import UserFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_purges_at_once_erase_every_due_account_exactly_once():
    past = timezone.now() - datetime.timedelta(minutes=1)
    due = [UserFactory() for _ in range(40)]
    User.objects.filter(pk__in=[u.pk for u in due]).update(deletion_scheduled_at=past, delete_after=past)
    kept = UserFactory()
    start = threading.Barrier(4, timeout=10)
    purged: list[list[int]] = []
    errors: list[str] = []

    def purge():
        try:
            start.wait()
            purged.append(users_purge(origin=Origin.system(), batch_size=3).purged)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=purge) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    everything = [pk for run in purged for pk in run]
    assert sorted(everything) == sorted(u.pk for u in due)  # each once, none twice
    assert SecurityEvent.objects.filter(kind="account_purged").count() == 40
    assert User.objects.filter(pk__in=[u.pk for u in due], deleted_at__isnull=True).count() == 0
    assert User.objects.get(pk=kept.pk).deleted_at is None
