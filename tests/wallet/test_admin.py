from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from tests.factories import UserFactory
from tests.wallet.conftest import fund
from wallet.models import Kind, Transaction, Wallet

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def owner(db):
    user = UserFactory(phone="+8613800138000")
    fund(user, "20")
    return user


def test_wallet_change_page_is_read_only_with_ledger_and_adjust_link(admin_client_for, owner):
    wallet = Wallet.objects.get(user=owner)
    response = admin_client_for.get(f"/admin/wallet/wallet/{wallet.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="balance"' not in html
    assert 'name="_save"' not in html  # a view-only page: nothing to save
    assert f"/admin/wallet/wallet/{wallet.pk}/adjust/" in html
    assert "20.00" in html


def test_wallet_page_shows_the_newest_50_entries_and_links_the_whole_ledger(
    admin_client_for, owner, django_assert_max_num_queries
):
    for _ in range(59):
        fund(owner, "1")
    fund(UserFactory(), "7")  # another wallet's entry stays out of the link's list
    wallet = Wallet.objects.get(user=owner)
    with django_assert_max_num_queries(15):  # no query per entry
        response = admin_client_for.get(f"/admin/wallet/wallet/{wallet.pk}/change/")
    (ledger,) = response.context["inline_admin_formsets"]
    assert [form.instance.seq for form in ledger.formset.forms] == list(range(60, 10, -1))
    html = response.content.decode()
    link = f"/admin/wallet/transaction/?wallet__id__exact={wallet.pk}"
    assert link in html and "60" in html

    listed = admin_client_for.get(link)
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 60
    assert {entry.wallet_id for entry in listed.context["cl"].result_list} == {wallet.pk}


def test_admin_adjust_form_calls_wallet_adjust(admin_client_for, owner, staff):
    wallet = Wallet.objects.get(user=owner)
    url = f"/admin/wallet/wallet/{wallet.pk}/adjust/"
    assert admin_client_for.get(url).status_code == 200
    response = admin_client_for.post(url, {"amount": "-5.50", "reason": "Refunded twice"})
    assert response.status_code == 302
    entry = Transaction.objects.get(kind=Kind.ADJUSTMENT)
    assert (entry.amount, entry.actor, entry.reason, entry.balance_after) == (
        Decimal("-5.50"),
        staff,
        "Refunded twice",
        Decimal("14.50"),
    )


@pytest.mark.parametrize(
    ("data", "field"), [({"amount": "-20.01", "reason": "x"}, "amount"), ({"amount": "1", "reason": ""}, "reason")]
)
def test_admin_adjust_refuses_bad_input(admin_client_for, owner, data, field):
    wallet = Wallet.objects.get(user=owner)
    response = admin_client_for.post(f"/admin/wallet/wallet/{wallet.pk}/adjust/", data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert Wallet.objects.get(pk=wallet.pk).balance == Decimal("20.00")


def test_admin_adjust_needs_the_permission(owner):
    viewer = UserFactory(is_staff=True, is_superuser=False)
    client = Client()
    client.force_login(viewer)
    wallet = Wallet.objects.get(user=owner)
    response = client.post(f"/admin/wallet/wallet/{wallet.pk}/adjust/", {"amount": "100", "reason": "me"})
    assert response.status_code == 403
    assert not Transaction.objects.filter(kind=Kind.ADJUSTMENT).exists()


def test_ledger_entries_cannot_be_edited_or_deleted_in_admin(owner):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(superuser)
    entry = Transaction.objects.get()
    change_url = f"/admin/wallet/transaction/{entry.pk}/change/"
    response = client.post(change_url, {"amount": "999", "kind": "top_up"})
    assert response.status_code == 403
    assert client.get(change_url).status_code == 200  # viewing is fine
    assert client.post(f"/admin/wallet/transaction/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/wallet/transaction/add/").status_code == 403
    response = client.post(
        "/admin/wallet/transaction/", {"action": "delete_selected", "_selected_action": [str(entry.pk)], "post": "yes"}
    )
    assert Transaction.objects.filter(pk=entry.pk).exists()
    assert Transaction.objects.get().amount == Decimal("20.00")


@pytest.mark.parametrize("term", ["13800138000", "+86 138 0013 8000", "008613800138000", "+8613800138000"])
def test_transactions_are_searchable_by_phone_in_any_format(admin_client_for, owner, term):
    fund(UserFactory(phone="+8613900139000"), "7")
    response = admin_client_for.get("/admin/wallet/transaction/", {"q": term})
    assert response.status_code == 200
    results = list(response.context["cl"].result_list)
    assert [t.wallet.user for t in results] == [owner]


def test_transactions_filter_by_kind_and_date(admin_client_for, staff):
    from wallet.services import wallet_adjust

    # 20:30 UTC on 1 December is already 04:30 on 2 December in Asia/Shanghai:
    # the admin's day filter counts in the site's time zone, not in UTC.
    with time_machine.travel("2026-12-01T20:30:00Z", tick=False):
        owner = UserFactory(phone="+8613800138000")
        fund(owner, "20")
        wallet_adjust(actor=staff, user=owner, amount=Decimal("1"), reason="goodwill")
    response = admin_client_for.get("/admin/wallet/transaction/", {"kind__exact": "adjustment"})
    assert [t.kind for t in response.context["cl"].result_list] == ["adjustment"]

    def on_day(day):
        response = admin_client_for.get(
            "/admin/wallet/transaction/",
            {"created_at__year": day.year, "created_at__month": day.month, "created_at__day": day.day},
        )
        assert response.status_code == 200
        return len(response.context["cl"].result_list)

    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert on_day(date(2026, 12, 2)) == 2
    assert on_day(date(2026, 12, 1)) == 0


def test_wallets_are_searchable_by_phone(admin_client_for, owner):
    response = admin_client_for.get("/admin/wallet/wallet/", {"q": "138 0013 8000"})
    assert [w.user for w in response.context["cl"].result_list] == [owner]
