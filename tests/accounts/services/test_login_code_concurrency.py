"""The one-step code sign-in of one new number from two requests at once (PostgreSQL, Redis, real threads)."""

import threading

import pytest
from django.db import connection

from accounts import services
from accounts.models import Consent, User
from accounts.services import login as login_flow
from config.origin import Origin
from smscodes.errors import CodeInvalid
from smscodes.services import sms_code_send
from tests.helpers import CONSENT
from tests.smscodes.utils import last_code_for

PHONE = "+8613800138000"


def _run_twice(target) -> list:
    results: list = []

    def run():
        try:
            results.append(target())
        except Exception as exc:  # noqa: BLE001 - reported by the assertions
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    return results


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_one_code_sent_twice_at_once_makes_one_account(legal_v1):
    sms_code_send(phone=PHONE, purpose="login", origin=Origin.system())
    code = last_code_for(PHONE)
    results = _run_twice(
        lambda: services.user_login_code(phone=PHONE, code=code, consent=CONSENT, origin=Origin.system()).created
    )
    outcomes = sorted(type(r).__name__ if isinstance(r, Exception) else f"created={r}" for r in results)
    assert outcomes == [CodeInvalid.__name__, "created=True"], results
    assert User.objects.filter(phone=PHONE).count() == 1
    assert Consent.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_proofs_racing_to_create_one_number_sign_the_loser_into_the_winners_account(legal_v1, monkeypatch):
    # Both get past "is there an account?" before either inserts: the unique
    # constraint decides, and the loser (who proved the number too) is signed in.
    barrier = threading.Barrier(2, timeout=10)

    def consume(*, phone, purpose, code, verification_token, origin):
        barrier.wait()
        return phone

    monkeypatch.setattr(login_flow, "code_consume", consume)
    results = _run_twice(
        lambda: services.user_login_code(phone=PHONE, code="123456", consent=CONSENT, origin=Origin.system())
    )
    assert sorted(result.created for result in results) == [False, True], results
    assert len({result.user.pk for result in results}) == 1
    assert User.objects.filter(phone=PHONE).count() == 1
