"""Client applications and their API keys: services, the command, the cached lookup, the admin."""

import datetime
import io

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.errors import InvalidInput
from tests.factories import UserFactory
from wallet.clients import (
    client_application_create,
    client_application_update,
    client_key_authenticate,
    client_key_issue,
    client_key_revoke,
)
from wallet.errors import WalletPermissionDenied
from wallet.models import ClientApplication, ClientApplicationKey

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 12, 1, 15, 59, 30, tzinfo=datetime.UTC)  # 23:59:30 in Shanghai


@pytest.fixture
def finance(db):
    """Staff who may manage client applications."""
    member = UserFactory(is_staff=True)
    member.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="wallet",
            codename__in=[
                "add_clientapplication",
                "change_clientapplication",
                "view_clientapplication",
                "view_clientapplicationkey",
            ],
        )
    )
    return type(member).objects.get(pk=member.pk)


def test_command_creates_an_application_and_prints_the_key_alone_on_the_last_line():
    out = io.StringIO()
    call_command("wallet_client_create", "Shop backend", "--scope", "charge", "--scope", "refund", stdout=out)
    key = out.getvalue().rstrip("\n").splitlines()[-1]
    application = ClientApplication.objects.get(name="Shop backend")
    assert application.scopes == ["charge", "refund"] and application.active
    (stored,) = application.keys.all()
    assert key.startswith(stored.prefix + ".") and " " not in key
    assert key not in stored.hashed_key and stored.hashed_key.startswith("sha512$$")  # only the hash is kept
    principal = client_key_authenticate(raw_key=key)
    assert principal is not None and principal.application.pk == application.pk
    assert principal.has_scope("charge") and principal.has_scope("refund")


def test_command_refuses_an_unknown_scope_and_a_taken_name():
    with pytest.raises(CommandError):
        call_command("wallet_client_create", "X", "--scope", "transfer", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("wallet_client_create", "Shop", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already exists|已存在同名的应用"):  # zh-hans is the default language
        call_command("wallet_client_create", "shop", stdout=io.StringIO())
    assert ClientApplication.objects.count() == 1


def test_create_needs_the_add_permission(finance):
    with pytest.raises(WalletPermissionDenied):
        client_application_create(name="A", scopes=["charge"], actor=UserFactory(is_staff=True))
    application, key = client_application_create(name="A", scopes=["charge", "charge"], actor=finance)
    assert application.scopes == ["charge"] and application.created_by == finance
    with pytest.raises(InvalidInput):
        client_application_create(name="  ", scopes=[], actor=finance)


def test_a_wrong_secret_an_unknown_prefix_and_garbage_are_refused():
    _application, key = client_application_create(name="A", scopes=["charge"])
    prefix, _dot, secret = key.partition(".")
    other = "x" if secret[-1] != "x" else "y"  # a wrong last character, whatever the random key ends with
    assert client_key_authenticate(raw_key=f"{prefix}.{secret[:-1]}{other}") is None
    assert client_key_authenticate(raw_key=f"ZZZZZZZZ.{secret}") is None
    assert client_key_authenticate(raw_key="not-a-key") is None
    assert client_key_authenticate(raw_key=f"{prefix}.") is None
    assert client_key_authenticate(raw_key=key) is not None


def test_a_key_seen_this_minute_costs_no_query():
    _application, key = client_application_create(name="A", scopes=["charge"])
    with time_machine.travel(START, tick=False):
        assert client_key_authenticate(raw_key=key) is not None  # fills the cache
        with CaptureQueriesContext(connection) as queries:
            assert client_key_authenticate(raw_key=key) is not None
        assert len(queries) == 0


def test_revoked_key_is_refused_at_once_even_when_cached():
    application, key = client_application_create(name="A", scopes=["charge"])
    assert client_key_authenticate(raw_key=key) is not None  # cached now
    stored = application.keys.get()
    with pytest.raises(WalletPermissionDenied):
        client_key_revoke(key=stored, actor=UserFactory(is_staff=True))
    client_key_revoke(key=stored)
    assert client_key_authenticate(raw_key=key) is None
    stored.refresh_from_db()
    assert stored.revoked and stored.revoked_at is not None
    # Another key of the same application still works.
    _other, second = client_key_issue(application=application)
    assert client_key_authenticate(raw_key=second) is not None


def test_switching_an_application_off_refuses_its_keys_and_on_again_accepts_them():
    application, key = client_application_create(name="A", scopes=["charge", "refund"])
    assert client_key_authenticate(raw_key=key) is not None
    client_application_update(application=application, active=False)
    assert client_key_authenticate(raw_key=key) is None
    client_application_update(application=application, active=True)
    assert client_key_authenticate(raw_key=key) is not None
    client_application_update(application=application, scopes=["refund"])
    principal = client_key_authenticate(raw_key=key)
    assert principal is not None and not principal.has_scope("charge") and principal.has_scope("refund")


def test_last_used_at_is_written_at_most_once_a_minute_not_on_every_request():
    application, key = client_application_create(name="A", scopes=["charge"])
    stored = application.keys.get()
    assert stored.last_used_at is None

    def used_at():
        stored.refresh_from_db()
        return stored.last_used_at

    with time_machine.travel(START, tick=False) as traveller:  # 15:59:30 UTC
        client_key_authenticate(raw_key=key)
        assert used_at() == START
        traveller.shift(20)  # same minute: the cached entry answers
        with CaptureQueriesContext(connection) as queries:
            client_key_authenticate(raw_key=key)
        assert len(queries) == 0
        traveller.shift(25)  # 16:00:15, a new minute: read again, but the use 45 s ago stands
        with CaptureQueriesContext(connection) as queries:
            client_key_authenticate(raw_key=key)
        assert len(queries) == 1 and used_at() == START
        traveller.shift(50)  # 16:01:05: read again and recorded
        client_key_authenticate(raw_key=key)
        assert used_at() == START + datetime.timedelta(seconds=95)


def test_an_expired_key_is_refused():
    application, key = client_application_create(name="A", scopes=["charge"])
    with time_machine.travel(START, tick=False) as traveller:
        ClientApplicationKey.objects.filter(application=application).update(
            expiry_date=START + datetime.timedelta(minutes=5)
        )
        assert client_key_authenticate(raw_key=key) is not None
        traveller.shift(300)
        assert client_key_authenticate(raw_key=key) is None


# --- Admin ----------------------------------------------------------------------------------


@pytest.fixture
def finance_client(finance):
    client = Client()
    client.force_login(finance)
    return client


def test_admin_creates_an_application_and_shows_its_key_once(finance_client):
    response = finance_client.post(
        "/admin/wallet/clientapplication/add/", {"name": "Shop", "scopes": ["charge", "refund"]}
    )
    assert response.status_code == 200
    (application, key) = response.context["issued"][0]
    assert key in response.content.decode()
    assert "messages" not in response.cookies  # the key never travels in a message cookie
    assert application.scopes == ["charge", "refund"]
    assert client_key_authenticate(raw_key=key).application.pk == application.pk
    page = finance_client.get(f"/admin/wallet/clientapplication/{application.pk}/change/").content.decode()
    assert application.keys.get().prefix in page and key not in page


def test_admin_issue_key_action_and_key_revoke_action(finance_client):
    application, first = client_application_create(name="Shop", scopes=["charge"])
    response = finance_client.post(
        "/admin/wallet/clientapplication/",
        {"action": "issue_key", "_selected_action": [application.pk]},
    )
    assert response.status_code == 200
    ((_app, second),) = response.context["issued"]
    assert client_key_authenticate(raw_key=second) is not None

    first_row = ClientApplicationKey.objects.get(prefix=first.partition(".")[0])
    response = finance_client.post(
        "/admin/wallet/clientapplicationkey/", {"action": "revoke", "_selected_action": [first_row.pk]}
    )
    assert response.status_code == 302
    assert client_key_authenticate(raw_key=first) is None
    assert client_key_authenticate(raw_key=second) is not None
    first_row.refresh_from_db()
    assert first_row.revoked_by is not None


def test_admin_change_form_switches_an_application_off_through_the_service(finance_client):
    application, key = client_application_create(name="Shop", scopes=["charge"])
    assert client_key_authenticate(raw_key=key) is not None
    response = finance_client.post(
        f"/admin/wallet/clientapplication/{application.pk}/change/",
        {
            "scopes": ["charge", "refund"],
            "keys-TOTAL_FORMS": "0",
            "keys-INITIAL_FORMS": "1",
            "keys-MIN_NUM_FORMS": "0",
            "keys-MAX_NUM_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    application.refresh_from_db()
    assert not application.active and application.scopes == ["charge", "refund"]
    assert client_key_authenticate(raw_key=key) is None


def test_admin_never_deletes_applications_and_keys_are_read_only(finance_client):
    application, _key = client_application_create(name="Shop", scopes=["charge"])
    key = application.keys.get()
    assert finance_client.get(f"/admin/wallet/clientapplication/{application.pk}/delete/").status_code == 403
    page = finance_client.get(reverse("admin:wallet_clientapplicationkey_change", args=[key.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()


def test_staff_without_the_permission_cannot_revoke(client):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_clientapplicationkey"))
    client.force_login(viewer)
    application, key = client_application_create(name="Shop", scopes=["charge"])
    row = application.keys.get()
    response = client.post("/admin/wallet/clientapplicationkey/", {"action": "revoke", "_selected_action": [row.pk]})
    assert response.status_code in (200, 302)
    assert client_key_authenticate(raw_key=key) is not None
