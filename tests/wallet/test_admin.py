import datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from tests.factories import UserFactory
from tests.wallet.conftest import fund
from wallet.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, PaymentNotification, TopUp
from wallet.services import top_up_create

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


def _wallet(user) -> LedgerAccount:
    return LedgerAccount.objects.get(user=user, kind=AccountKind.WALLET)


def test_wallet_account_page_is_read_only_with_lines_and_adjust_link(admin_client_for, owner):
    account = _wallet(owner)
    response = admin_client_for.get(f"/admin/wallet/ledgeraccount/{account.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="balance"' not in html and 'name="_save"' not in html
    assert f"/admin/wallet/ledgeraccount/{account.pk}/adjust/" in html
    assert f"/admin/wallet/ledgerline/?account__id__exact={account.pk}" in html
    assert "20.00" in html


def test_account_page_shows_the_newest_50_lines_without_a_query_per_line(
    admin_client_for, owner, django_assert_max_num_queries
):
    for _ in range(59):
        fund(owner, "1")
    account = _wallet(owner)
    with django_assert_max_num_queries(20):
        response = admin_client_for.get(f"/admin/wallet/ledgeraccount/{account.pk}/change/")
    (lines,) = response.context["inline_admin_formsets"]
    assert [form.instance.seq for form in lines.formset.forms] == list(range(60, 10, -1))


def test_admin_adjust_posts_against_the_adjustments_account(admin_client_for, owner, staff):
    url = f"/admin/wallet/ledgeraccount/{_wallet(owner).pk}/adjust/"
    assert admin_client_for.get(url).status_code == 200
    response = admin_client_for.post(url, {"amount": "-5.50", "reason": "Refunded twice"})
    assert response.status_code == 302
    entry = JournalEntry.objects.get(kind=EntryKind.ADJUSTMENT)
    assert (entry.actor, entry.reason) == (staff, "Refunded twice")
    assert _wallet(owner).balance == Decimal("14.50")
    assert entry.lines.get(account__key="adjustments").amount == Decimal("5.50")


@pytest.mark.parametrize(
    ("data", "field"), [({"amount": "-20.01", "reason": "x"}, "amount"), ({"amount": "1", "reason": ""}, "reason")]
)
def test_admin_adjust_refuses_bad_input(admin_client_for, owner, data, field):
    url = f"/admin/wallet/ledgeraccount/{_wallet(owner).pk}/adjust/"
    response = admin_client_for.post(url, data)
    # Post/redirect/get: back to the form's own URL, where a refresh is a GET.
    assert response.status_code == 302 and response["Location"] == url
    shown = admin_client_for.get(url)
    assert shown.context["form"].errors[field]
    assert _wallet(owner).balance == Decimal("20.00")


def test_a_debit_beyond_the_balance_names_the_shortfall(admin_client_for, owner):
    url = f"/admin/wallet/ledgeraccount/{_wallet(owner).pk}/adjust/"
    admin_client_for.post(url, {"amount": "-22.50", "reason": "x"})
    html = admin_client_for.get(url).content.decode()
    assert "余额不足，还差 ¥2.50。" in html
    assert "当前余额 ¥20.00" in html and "CNY" not in html


def test_adjust_and_refund_need_their_permissions(owner):
    viewer = UserFactory(is_staff=True, is_superuser=False)
    client = Client()
    client.force_login(viewer)
    top_up = TopUp.objects.get(user=owner)
    assert client.get(f"/admin/wallet/ledgeraccount/{_wallet(owner).pk}/adjust/").status_code == 403
    assert client.post(f"/admin/wallet/topup/{top_up.pk}/refund/", {"reason": "x"}).status_code == 403
    assert TopUp.objects.get(pk=top_up.pk).status == "paid"


@pytest.mark.parametrize("term", ["13800138000", "+86 138 0013 8000", "008613800138000"])
def test_top_ups_are_found_by_phone_in_any_format(admin_client_for, owner, term):
    fund(UserFactory(), "3")
    response = admin_client_for.get("/admin/wallet/topup/", {"q": term})
    assert [t.user_id for t in response.context["cl"].result_list] == [owner.pk]


def test_top_ups_are_found_by_id_and_trade_number(admin_client_for, owner):
    top_up = TopUp.objects.get(user=owner)
    fund(UserFactory(), "3")
    for term in (top_up.id, top_up.trade_no):
        response = admin_client_for.get("/admin/wallet/topup/", {"q": term})
        assert [t.pk for t in response.context["cl"].result_list] == [top_up.pk]


def test_top_ups_filter_by_status_channel_and_day(admin_client_for, owner):
    with time_machine.travel(datetime.datetime(2026, 11, 30, 16, 30, tzinfo=datetime.UTC), tick=False):
        pending = top_up_create(user=owner, amount=Decimal("1"), channel="sandbox").top_up  # Dec 1 in Shanghai
    response = admin_client_for.get("/admin/wallet/topup/", {"status__exact": "pending", "channel": "sandbox"})
    assert [t.pk for t in response.context["cl"].result_list] == [pending.pk]
    day = admin_client_for.get(
        "/admin/wallet/topup/", {"created_at__year": 2026, "created_at__month": 12, "created_at__day": 1}
    )
    assert pending.pk in [t.pk for t in day.context["cl"].result_list]


def test_admin_refund_action_sends_the_money_back_to_the_channel(admin_client_for, owner):
    top_up = TopUp.objects.get(user=owner)
    page = admin_client_for.get(f"/admin/wallet/topup/{top_up.pk}/change/").content.decode()
    assert f"/admin/wallet/topup/{top_up.pk}/refund/" in page and 'name="_save"' not in page
    response = admin_client_for.post(f"/admin/wallet/topup/{top_up.pk}/refund/", {"amount": "5", "reason": "asked"})
    assert response.status_code == 302
    top_up.refresh_from_db()
    assert (top_up.status, top_up.refunded_amount) == ("partially_refunded", Decimal("5.00"))
    assert _wallet(owner).balance == Decimal("15.00")
    url = f"/admin/wallet/topup/{top_up.pk}/refund/"
    too_much = admin_client_for.post(url, {"amount": "15.01", "reason": "x"})
    assert too_much.status_code == 302 and too_much["Location"] == url
    assert admin_client_for.get(url).context["form"].errors


def test_notifications_are_read_only_with_their_raw_body(admin_client_for, owner):
    notification = PaymentNotification.objects.get()
    response = admin_client_for.get(f"/admin/wallet/paymentnotification/{notification.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200 and 'name="_save"' not in html
    assert "payment.succeeded" in html
    assert admin_client_for.get("/admin/wallet/paymentnotification/add/").status_code == 403
