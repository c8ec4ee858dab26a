"""Shared set-up for the charge and refund tests: applications with keys, funded wallets."""

from rest_framework.test import APIClient

from tests.wallet.conftest import fund  # noqa: F401 - re-exported: money enters by a paid top-up
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
