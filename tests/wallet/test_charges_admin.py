"""Finance staff see charges, refunds and each application's revenue; nothing there can be edited."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import UserFactory
from tests.wallet.charges_helpers import fund, new_application
from wallet.charges import charge_create, charge_refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance_client(db):
    member = UserFactory(is_staff=True)
    member.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="wallet",
            codename__in=["view_charge", "view_chargerefund", "view_clientapplication", "change_clientapplication"],
        )
    )
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def books():
    shop, _key = new_application("Shop")
    games, _key = new_application("Games")
    alice = UserFactory(phone="+8613800138000")
    bob = UserFactory(phone="+8613900139000")
    fund(alice, "100.00")
    fund(bob, "100.00")
    first = charge_create(application=shop, user_id=alice.pk, amount=Decimal("30"), order_id="VIP-1").charge
    second = charge_create(application=games, user_id=bob.pk, amount=Decimal("20"), order_id="G-7").charge
    third = charge_create(application=shop, user_id=bob.pk, amount=Decimal("5"), order_id="VIP-2").charge
    refund = charge_refund(application=shop, charge_id=first.pk, amount=Decimal("10"), reason="late").refund
    charge_refund(application=shop, charge_id=third.pk)
    return {"shop": shop, "games": games, "first": first, "second": second, "third": third, "refund": refund}


def _listed(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


@pytest.mark.parametrize("term", ["138 0013 8000", "+86 138-0013-8000", "008613800138000", "13800138000"])
def test_charges_are_found_by_the_persons_phone_in_any_format(finance_client, books, term):
    assert _listed(finance_client, f"/admin/wallet/charge/?q={term}") == {books["first"].pk}


def test_charges_are_found_by_order_id_and_charge_id_and_filtered(finance_client, books):
    assert _listed(finance_client, "/admin/wallet/charge/?q=G-7") == {books["second"].pk}
    assert _listed(finance_client, f"/admin/wallet/charge/?q={books['third'].pk}") == {books["third"].pk}
    shop = books["shop"].pk
    assert _listed(finance_client, f"/admin/wallet/charge/?application__id__exact={shop}") == {
        books["first"].pk,
        books["third"].pk,
    }
    assert _listed(finance_client, "/admin/wallet/charge/?status=partially_refunded") == {books["first"].pk}
    assert _listed(finance_client, "/admin/wallet/charge/?status=refunded") == {books["third"].pk}
    assert _listed(finance_client, "/admin/wallet/charge/?status=succeeded") == {books["second"].pk}


def test_refunds_are_found_by_refund_charge_order_id_or_phone(finance_client, books):
    refund = books["refund"]
    assert _listed(finance_client, f"/admin/wallet/chargerefund/?q={refund.pk}") == {refund.pk}
    assert _listed(finance_client, f"/admin/wallet/chargerefund/?q={books['first'].pk}") == {refund.pk}
    assert _listed(finance_client, "/admin/wallet/chargerefund/?q=VIP-1") == {refund.pk}
    assert _listed(finance_client, "/admin/wallet/chargerefund/?q=13800138000") == {refund.pk}


def test_charge_page_is_read_only_and_shows_its_refunds(finance_client, books):
    charge = books["first"]
    page = finance_client.get(f"/admin/wallet/charge/{charge.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200 and 'name="_save"' not in html
    assert books["refund"].pk in html and "VIP-1" in html
    assert finance_client.get("/admin/wallet/charge/add/").status_code == 403
    assert finance_client.post(f"/admin/wallet/charge/{charge.pk}/delete/").status_code == 403


def test_each_application_shows_its_revenue(finance_client, books):
    response = finance_client.get("/admin/wallet/clientapplication/")
    revenue = {app.name: app._revenue for app in response.context["cl"].result_list}
    assert revenue == {"Shop": Decimal("20.00"), "Games": Decimal("20.00")}  # 35 charged, 15 refunded
    counts = {app.name: app._key_count for app in response.context["cl"].result_list}
    assert counts == {"Shop": 1, "Games": 1}
