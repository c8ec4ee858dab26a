"""Two sign-ups of one number at the same moment: exactly one account (PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection

from accounts import services
from accounts.errors import PhoneTaken
from accounts.models import User
from accounts.services import register as register_flow
from config.origin import Origin
from tests.helpers import CONSENT

PHONE = "+8613800138000"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_number_make_one_account(monkeypatch):
    # Both requests get past "is the number free?" before either inserts:
    # only the database's unique constraint can decide, and the loser must
    # see PhoneTaken, not a 500.
    barrier = threading.Barrier(2, timeout=10)

    def consume(*, phone, purpose, code, verification_token, origin):
        barrier.wait()
        return phone

    monkeypatch.setattr(register_flow, "code_consume", consume)
    results: list = []

    def register(nickname):
        try:
            services.user_register(
                phone=PHONE, code="123456", nickname=nickname, consent=CONSENT, origin=Origin.system()
            )
            results.append("created")
        except PhoneTaken:
            results.append("phone_taken")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(results) == ["created", "phone_taken"]
    assert User.objects.filter(phone=PHONE).count() == 1
