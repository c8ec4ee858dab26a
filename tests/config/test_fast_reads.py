"""``config.fast_reads``: GET /me and GET /wallet answered without DRF's dispatch, and nothing else changes.

The fast path answers only a plain, authenticated GET with a Bearer token
(200). Every other request — a bad, revoked or missing token, a disabled
account, a browser session, another method or Accept header — goes to the
DRF view, and must answer exactly as it did.
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.models import User
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_api_error, bearer_client
from tests.wallet.conftest import STAFF_PERMISSIONS, fund
from wallet.models import AccountKind, LedgerAccount

pytestmark = pytest.mark.django_db(transaction=True)

READS = ["/api/v1/me/", "/api/v1/wallet/"]


@pytest.fixture
def dispatches(monkeypatch):
    """How many requests DRF's ``APIView.dispatch`` handled while the test ran."""
    calls: list[str] = []
    original = APIView.dispatch

    def counting(self, request, *args, **kwargs):
        calls.append(request.path)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "dispatch", counting)
    return calls


def signed_in(phone: str = "+8613900000000") -> tuple[APIClient, dict]:
    UserFactory(phone=phone)
    client = APIClient()
    response = client.post("/api/v1/auth/login/", {"login": phone[3:], "password": PASSWORD})
    assert response.status_code == 200, response.json()
    tokens = response.json()["tokens"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client, tokens


@pytest.mark.parametrize("path", READS)
def test_a_plain_get_with_a_token_skips_drf_and_answers_what_drf_answers(path, dispatches):
    client, _tokens = signed_in()
    dispatches.clear()  # the login's
    fast = client.get(path)
    assert fast.status_code == 200
    assert dispatches == []  # the fast path answered
    # The same request through DRF: an Accept header it negotiates itself (same JSON renderer).
    slow = client.get(path, HTTP_ACCEPT="application/json, */*;q=0.8")
    assert dispatches == [path]
    assert slow.status_code == 200
    assert fast.content == slow.content
    for header in ("Content-Type", "Allow", "Vary", "Content-Language"):
        assert fast.get(header) == slow.get(header), header


@pytest.mark.parametrize("path", READS)
def test_tokens_drf_refuses_are_refused_in_its_words(path, dispatches):
    client = APIClient()
    for header, code in (
        ("Bearer not-a-jwt", "token_invalid"),
        ("Bearer ", "token_invalid"),
        ("bearer x.y.z", "not_authenticated"),  # simplejwt matches the scheme's case
    ):
        response = client.get(path, HTTP_AUTHORIZATION=header)
        assert_api_error(response, 401, code)
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert_api_error(client.get(path), 401, "not_authenticated")
    assert len(dispatches) == 4  # every refusal came from DRF


@pytest.mark.parametrize("path", READS)
def test_a_logout_ends_the_access_token_at_once(path):
    client, tokens = signed_in()
    assert client.get(path).status_code == 200
    response = client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]})
    assert response.status_code == 204, response.content
    assert_api_error(client.get(path), 401, "token_invalid")


@pytest.mark.parametrize("path", READS)
def test_a_disabled_account_gets_account_disabled(path):
    user = UserFactory(phone="+8613900000001")
    client = bearer_client(user)
    assert client.get(path).status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert_api_error(client.get(path), 403, "account_disabled")


@pytest.mark.parametrize("path", READS)
def test_everything_else_goes_to_drf(path, dispatches):
    client, _tokens = signed_in()
    dispatches.clear()  # the login's
    assert client.get(path, {"format": "json"}).status_code == 200
    assert client.head(path).status_code == 200
    assert client.options(path).status_code == 200
    assert client.delete(path).status_code == 405
    assert_api_error(client.get(path, HTTP_ACCEPT="text/csv"), 406, "not_acceptable")
    assert len(dispatches) == 5


def test_a_browser_session_still_reads_me_through_drf(dispatches):
    user = UserFactory(phone="+8613900000002")
    client = APIClient()
    client.force_login(user)
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["id"] == user.pk
    assert dispatches == ["/api/v1/me/"]


def test_the_fast_me_costs_one_query(django_assert_num_queries):
    client, _tokens = signed_in()
    client.get("/api/v1/me/")
    with django_assert_num_queries(1):
        assert client.get("/api/v1/me/").status_code == 200


# --- GET /wallet: the balance read in the token check's statement ------------------------------


def _wallet_via_service(user) -> dict:
    from wallet.serializers import WalletSerializer
    from wallet.services import wallet_get

    with timezone.override(datetime.UTC):  # the API writes times in UTC
        return dict(WalletSerializer(wallet_get(user=user)).data)


def test_the_wallet_with_a_device_token_is_one_query_and_what_wallet_get_shows(django_assert_num_queries):
    client, _tokens = signed_in("+8613900000003")
    user = User.objects.get(phone="+8613900000003")
    assert client.get("/api/v1/wallet/").status_code == 200  # the first look opens the wallet
    fund(user, "22.50")
    with django_assert_num_queries(1):  # the user, the device and the two accounts: one statement
        response = client.get("/api/v1/wallet/")
    assert response.status_code == 200
    assert response.json() == _wallet_via_service(user)
    assert response.json()["balance"] == "22.50"


@pytest.fixture
def staff(db):
    member = UserFactory(is_staff=True)
    member.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="wallet", codename__in=STAFF_PERMISSIONS)
    )
    return User.objects.get(pk=member.pk)


def test_frozen_funds_come_with_the_token_check_too(staff, monkeypatch):
    from wallet.channels.base import RefundResult, RefundState
    from wallet.channels.sandbox import SandboxChannel
    from wallet.services import top_up_refund

    client, _tokens = signed_in("+8613900000004")
    user = User.objects.get(phone="+8613900000004")
    top_up = fund(user, "30.00")
    monkeypatch.setattr(SandboxChannel, "refund", lambda self, **kw: RefundResult(state=RefundState.PENDING))
    top_up_refund(actor=staff, top_up_id=top_up.id, amount=Decimal("12.00"), reason="r")
    body = client.get("/api/v1/wallet/").json()
    assert (body["balance"], body["frozen"]) == ("18.00", "12.00")
    assert body == _wallet_via_service(user)  # updated_at: the later of the two accounts


def test_a_person_without_a_wallet_yet_gets_one_on_first_look():
    client, _tokens = signed_in("+8613900000005")
    body = client.get("/api/v1/wallet/").json()
    assert (body["balance"], body["frozen"]) == ("0.00", "0.00")
    user = User.objects.get(phone="+8613900000005")
    assert LedgerAccount.objects.filter(user=user, kind=AccountKind.WALLET).exists()
