"""Issue 10, "Also": hostile profile text renders escaped on every admin page that shows it.

A nickname or company of ``<script>`` or ``"><img onerror>``, the same text
typed as a login name and sent as a User-Agent, and as a ledger description
and adjustment reason: the admin must show it as text, never as markup.
"""

from decimal import Decimal

import pytest
from django.utils.html import escape
from rest_framework.test import APIClient

from accounts.models import SecurityEvent
from tests.factories import UserFactory
from tests.wallet.charges_helpers import fund, new_application
from wallet.charges import charge_create
from wallet.ledger import account_for_wallet
from wallet.models import JournalEntry
from wallet.services import wallet_adjust

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def assert_escaped(response, *payloads: str) -> None:
    assert response.status_code == 200
    content = response.content.decode()
    for payload in payloads:
        assert payload not in content, payload
        assert escape(payload) in content, payload
    assert "onerror=alert" not in content.replace(escape(IMG), "")


@pytest.fixture
def hostile():
    user = UserFactory(nickname=SCRIPT, company=IMG, job=SCRIPT + IMG)
    APIClient().post(
        "/api/v1/auth/login/", {"login": str(user.phone), "password": "Wrong-pass-1"}, HTTP_USER_AGENT=IMG + SCRIPT
    )
    APIClient().post("/api/v1/auth/login/", {"login": "x" + SCRIPT, "password": "Wrong-pass-1"})
    return user


def test_user_list_escapes_the_nickname(admin_client, hostile):
    assert_escaped(admin_client.get("/admin/accounts/user/"), SCRIPT)
    assert_escaped(admin_client.get("/admin/accounts/user/", {"q": SCRIPT}), SCRIPT)


def test_user_change_page_escapes_profile_fields_and_inline_events(admin_client, hostile):
    response = admin_client.get(f"/admin/accounts/user/{hostile.pk}/change/")
    assert_escaped(response, SCRIPT, IMG)


def test_user_view_only_page_escapes_profile_fields(client, hostile):
    """Read-only fields are rendered by the admin itself, not by a widget."""
    from django.contrib.auth.models import Group

    from accounts.models import User

    viewer = User.objects.create_user(username="viewer1", password="V1ewer-pass-1", is_staff=True)
    viewer.groups.add(Group.objects.get(name="support"))
    client.force_login(viewer)
    admin = User.objects.create_superuser(username="boss", password="B0ss-pass-1", nickname=SCRIPT, company=IMG)
    response = client.get(f"/admin/accounts/user/{admin.pk}/change/")
    assert "nickname" not in response.context["adminform"].form.fields  # shown as text
    assert_escaped(response, SCRIPT, IMG)


def test_security_event_list_and_page_escape_login_and_user_agent(admin_client, hostile):
    assert_escaped(admin_client.get("/admin/accounts/securityevent/"), IMG + SCRIPT, "x" + SCRIPT)
    event = SecurityEvent.objects.get(user=hostile)
    assert_escaped(admin_client.get(f"/admin/accounts/securityevent/{event.pk}/change/"), IMG + SCRIPT)


def test_wallet_admin_escapes_descriptions_and_reasons(admin_client, admin_user, hostile):
    fund(hostile, "10.00")
    application, _key = new_application("Shop")
    charge = charge_create(
        application=application, user_id=hostile.pk, amount=Decimal("1.00"), order_id="xss-1", description=SCRIPT
    ).charge
    wallet_adjust(actor=admin_user, user=hostile, amount=Decimal("1.00"), reason=IMG)
    account = account_for_wallet(user=hostile)
    account_page = admin_client.get(f"/admin/wallet/ledgeraccount/{account.pk}/change/").content.decode()
    assert SCRIPT not in account_page and IMG not in account_page
    adjustment = JournalEntry.objects.get(kind="adjustment", lines__account=account)
    assert_escaped(admin_client.get(f"/admin/wallet/journalentry/{adjustment.pk}/change/"), IMG)
    assert admin_client.get(f"/admin/wallet/ledgeraccount/{account.pk}/adjust/").status_code == 200
    assert_escaped(admin_client.get(f"/admin/wallet/charge/{charge.pk}/change/"), SCRIPT)
    assert_escaped(admin_client.get("/admin/wallet/charge/"), SCRIPT)
    charge_entry = JournalEntry.objects.get(kind="charge", lines__account=account)
    assert_escaped(admin_client.get(f"/admin/wallet/journalentry/{charge_entry.pk}/change/"), SCRIPT)
