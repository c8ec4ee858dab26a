"""Shared set-up for the charge and refund tests: applications with keys, funded wallets."""

import uuid
from decimal import Decimal

from rest_framework.test import APIClient

from tests.wallet.conftest import fund  # noqa: F401 - re-exported: money enters by a paid top-up
from wallet.charges import ChargeResult, charge_create
from wallet.clients import client_application_create
from wallet.models import ClientApplication


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def new_application(
    name: str = "Shop", scopes: tuple[str, ...] = ("charge", "refund")
) -> tuple[ClientApplication, str]:
    return client_application_create(name=name, scopes=list(scopes))


def spend(user, amount: str, *, application: ClientApplication | None = None) -> ChargeResult:
    """Take ``amount`` from ``user``'s wallet the only way money leaves for a purchase: a charge."""
    if application is None:
        application = ClientApplication.objects.filter(name="Test shop").first() or new_application("Test shop")[0]
    return charge_create(
        application=application, user_id=user.pk, amount=Decimal(amount), order_id=f"spend-{uuid.uuid4()}"
    )
