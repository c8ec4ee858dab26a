"""The support and finance groups (migration accounts/0007), page by page in the admin (issue 13 item 6).

Staff are made the way the README says (``accounts_staff_grant``), so the
groups tested are the ones the migration built, not permissions added here.
"""

import io
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.lockout import lockout_check, lockout_key, lockout_record_failure
from accounts.models import Device, SecurityEvent, User
from accounts.services.devices import device_sign_in
from config.errors import ServiceError
from config.origin import Origin
from smscodes.models import SmsMessage
from tests.factories import UserFactory
from tests.wallet.charges_helpers import fund, spend
from wallet.models import AccountKind, LedgerAccount, LedgerLine

pytestmark = pytest.mark.django_db

STAFF_PASSWORD = "Staff-pass-1234"


def staff_client(username: str, group: str) -> Client:
    User.objects.create_user(username=username, password=STAFF_PASSWORD)
    out = io.StringIO()
    call_command("accounts_staff_grant", username, "--group", group, stdout=out)
    assert group in out.getvalue()
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


@pytest.fixture
def person(db):
    user = UserFactory(phone="+8613800138000")
    top_up = fund(user, "50.00")
    spend(user, "10.00")
    device_sign_in(user=user, kind="app", origin=Origin(ip="203.0.113.7", user_agent="MyApp/2.3"))
    SecurityEvent.objects.create(user=user, kind="login_succeeded", ip="203.0.113.7")
    SmsMessage.objects.create(phone="+8613800138000", purpose="login", backend="locmem", status="sent")
    user.top_up = top_up
    return user


def pages(person) -> dict[str, str]:
    wallet = LedgerAccount.objects.get(user=person, kind=AccountKind.WALLET)
    line = LedgerLine.objects.filter(account=wallet).first()
    assert line is not None
    return {
        "user list": reverse("admin:accounts_user_changelist"),
        "user page": reverse("admin:accounts_user_change", args=[person.pk]),
        "security events": reverse("admin:accounts_securityevent_changelist"),
        "security event": reverse(
            "admin:accounts_securityevent_change", args=[SecurityEvent.objects.filter(user=person).first().pk]
        ),
        "devices": reverse("admin:accounts_device_changelist"),
        # quote(): the admin's own escaping of a primary key in its URLs ("d_25…" would read as "d%…").
        "device": reverse("admin:accounts_device_change", args=[quote(Device.objects.get(user=person).pk)]),
        "consents": reverse("admin:accounts_consent_changelist"),
        "sms log": reverse("admin:smscodes_smsmessage_changelist"),
        "wallets": reverse("admin:wallet_ledgeraccount_changelist"),
        "wallet": reverse("admin:wallet_ledgeraccount_change", args=[wallet.pk]),
        "journal entries": reverse("admin:wallet_journalentry_changelist"),
        "journal entry": reverse("admin:wallet_journalentry_change", args=[line.entry_id]),
        "ledger lines": reverse("admin:wallet_ledgerline_changelist"),
        "top-ups": reverse("admin:wallet_topup_changelist"),
        "top-up": reverse("admin:wallet_topup_change", args=[person.top_up.pk]),
        "top-up refunds": reverse("admin:wallet_topuprefund_changelist"),
        "charges": reverse("admin:wallet_charge_changelist"),
        "charge refunds": reverse("admin:wallet_chargerefund_changelist"),
        "payment notifications": reverse("admin:wallet_paymentnotification_changelist"),
        "reconciliation runs": reverse("admin:wallet_reconciliationrun_changelist"),
        "adjust balance": reverse("admin:wallet_ledgeraccount_adjust", args=[wallet.pk]),
        "refund top-up": reverse("admin:wallet_topup_refund", args=[person.top_up.pk]),
        "password page": f"/admin/accounts/user/{person.pk}/password/",
        "delete user": reverse("admin:accounts_user_delete", args=[person.pk]),
        "groups": reverse("admin:auth_group_changelist"),
        "client applications": reverse("admin:wallet_clientapplication_changelist"),
        "add legal document": reverse("admin:accounts_legaldocument_add"),
    }


SUPPORT_OPENS = [
    "user list",
    "user page",
    "security events",
    "security event",
    "devices",
    "device",
    "consents",
    "sms log",
    "wallets",
    "wallet",
    "journal entries",
    "journal entry",
    "ledger lines",
    "top-ups",
    "top-up",
    "top-up refunds",
    "charges",
    "charge refunds",
]
SUPPORT_REFUSED = [
    "adjust balance",
    "refund top-up",
    "password page",
    "delete user",
    "groups",
    "client applications",
    "add legal document",
    "payment notifications",
    "reconciliation runs",
]

FINANCE_OPENS = [
    "user list",
    "user page",  # read-only (view_user)
    "wallets",
    "wallet",
    "journal entries",
    "journal entry",
    "ledger lines",
    "top-ups",
    "top-up",
    "top-up refunds",
    "charges",
    "charge refunds",
    "payment notifications",
    "reconciliation runs",
    "adjust balance",
    "refund top-up",
]
FINANCE_REFUSED = [
    "security events",
    "security event",
    "devices",
    "device",
    "consents",
    "sms log",
    "password page",
    "delete user",
    "groups",
    "client applications",
    "add legal document",
]


@pytest.mark.parametrize("page", SUPPORT_OPENS)
def test_support_opens(person, page):
    response = staff_client("support1", "support").get(pages(person)[page])
    assert response.status_code == 200, (page, response.status_code)


@pytest.mark.parametrize("page", SUPPORT_REFUSED)
def test_support_is_refused(person, page):
    response = staff_client("support1", "support").get(pages(person)[page])
    assert response.status_code == 403, (page, response.status_code)


@pytest.mark.parametrize("page", FINANCE_OPENS)
def test_finance_opens(person, page):
    response = staff_client("finance1", "finance").get(pages(person)[page])
    assert response.status_code == 200, (page, response.status_code)


@pytest.mark.parametrize("page", FINANCE_REFUSED)
def test_finance_is_refused(person, page):
    response = staff_client("finance1", "finance").get(pages(person)[page])
    assert response.status_code == 403, (page, response.status_code)


def test_support_unlocks_a_locked_account(person, settings):
    key = lockout_key(user=person)
    for _ in range(10):
        lockout_record_failure(key)
    with pytest.raises(ServiceError):
        lockout_check(key)
    client = staff_client("support1", "support")
    response = client.post(reverse("admin:accounts_user_unlock", args=[person.pk]))
    assert response.status_code == 302
    lockout_check(key)  # no longer locked


def test_support_signs_a_device_out(person):
    device = Device.objects.get(user=person)
    client = staff_client("support1", "support")
    response = client.post(
        reverse("admin:accounts_device_changelist"),
        {"action": "end_devices", "_selected_action": [device.pk]},
    )
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.ended_at is not None and device.end_reason == "ended_by_staff"


def test_support_cannot_edit_a_user_page_as_finance_cannot_either(person):
    # Support edits profiles (change_user); finance only reads the account.
    finance = staff_client("finance1", "finance")
    page = finance.get(reverse("admin:accounts_user_change", args=[person.pk])).content.decode()
    assert 'name="nickname"' not in page
    support = staff_client("support1", "support")
    page = support.get(reverse("admin:accounts_user_change", args=[person.pk])).content.decode()
    assert 'name="nickname"' in page


def test_finance_adjusts_a_balance_and_support_cannot(person):
    wallet = LedgerAccount.objects.get(user=person, kind=AccountKind.WALLET)
    url = reverse("admin:wallet_ledgeraccount_adjust", args=[wallet.pk])
    refused = staff_client("support1", "support").post(url, {"amount": "5.00", "reason": "goodwill"})
    assert refused.status_code == 403
    finance = staff_client("finance1", "finance")
    response = finance.post(url, {"amount": "5.00", "reason": "goodwill"})
    assert response.status_code == 302, response.content.decode()[:2000]
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("45.00")


def test_staff_see_the_deletion_state_but_cannot_change_it(person, settings):
    User.objects.filter(pk=person.pk).update(
        deletion_scheduled_at="2026-12-01T10:00:00Z", delete_after="2026-12-16T10:00:00Z"
    )
    support = staff_client("support1", "support")
    listing = support.get(reverse("admin:accounts_user_changelist") + "?deletion=scheduled").content.decode()
    assert f"/admin/accounts/user/{person.pk}/change/" in listing
    none = support.get(reverse("admin:accounts_user_changelist") + "?deletion=erased").content.decode()
    assert f"/admin/accounts/user/{person.pk}/change/" not in none
    page = support.get(reverse("admin:accounts_user_change", args=[person.pk])).content.decode()
    assert 'name="delete_after"' not in page and 'name="deletion_scheduled_at"' not in page
    # A posted date is ignored: the grace period is the person's.
    support.post(
        reverse("admin:accounts_user_change", args=[person.pk]),
        {"phone": "+8613800138000", "nickname": "x", "delete_after": "2026-12-01 10:00:00"},
    )
    assert str(User.objects.get(pk=person.pk).delete_after.date()) == "2026-12-16"


def test_staff_grant_refuses_an_unknown_login(db):
    with pytest.raises(Exception, match="No account"):
        call_command("accounts_staff_grant", "nobody", "--group", "support")


def test_an_erased_account_is_found_with_the_erased_filter(person):
    from accounts.services.deletion import users_purge

    User.objects.filter(pk=person.pk).update(
        deletion_scheduled_at="2026-12-01T10:00:00Z", delete_after="2026-12-01T10:00:00Z"
    )
    spend(person, "40.00")  # empty the wallet so the purge goes through
    assert users_purge(origin=Origin.system()).purged == [person.pk]
    support = staff_client("support1", "support")
    listing = support.get(reverse("admin:accounts_user_changelist") + "?deletion=erased").content.decode()
    assert f"/admin/accounts/user/{person.pk}/change/" in listing
    assert "已于" in listing and "注销" in listing
