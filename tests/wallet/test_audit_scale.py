"""wallet_audit checks in the database: the same few queries at any size, only failures come back."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import UserFactory
from tests.wallet.conftest import fund
from wallet.models import EntryKind, JournalEntry
from wallet.selectors import wallet_audit

pytestmark = pytest.mark.django_db


def audit_queries() -> int:
    with CaptureQueriesContext(connection) as captured:
        assert wallet_audit() == []
    return len(captured.captured_queries)


def test_audit_runs_the_same_queries_for_two_wallets_or_six():
    for _ in range(2):
        fund(UserFactory(), "10")
    few = audit_queries()
    for _ in range(4):
        fund(UserFactory(), "3")
    assert audit_queries() == few  # nothing per wallet, line or top-up


def test_audit_names_an_entry_without_lines():
    fund(UserFactory(), "10")
    empty = JournalEntry.objects.create(kind=EntryKind.TOP_UP, reference="T-none")
    (finding,) = wallet_audit()
    assert (finding.subject, finding.problems) == (f"entry {empty.pk}", ["0 line(s) summing to 0.00"])
