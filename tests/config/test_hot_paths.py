"""Issue 15: the hot API paths stay lean without changing what they answer.

- the orjson renderer writes what DRF's JSONRenderer wrote;
- ``FieldsOnce`` serializers give what DRF's own ``to_representation`` gives, and ``input_validate``
  ones validate as DRF's own;
- token API requests (Bearer, Api-Key, or no session cookie) do no session,
  user-from-session or messages work, and keep their query budgets; a call
  that carries only the browser session still gets all of it.
"""

import datetime
import time
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext_lazy
from psycopg import connect
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from accounts.serializers import LoginInputSerializer, UserSerializer
from config import serializers as config_serializers
from config.middleware import token_api_request
from config.renderers import ORJSONRenderer
from config.serializers import input_validate
from tests.factories import PASSWORD, UserFactory
from tests.helpers import bearer_client
from wallet.serializers import WalletSerializer

pytestmark = pytest.mark.django_db(transaction=True)

SAMPLE = {
    "text": '中文 and ascii, "quoted" \\ / \n\t',
    "separators": "line\u2028para\u2029end",
    "when": datetime.datetime(2026, 12, 31, 15, 59, 30, 123456, tzinfo=datetime.UTC),
    "naive_date": datetime.date(2026, 12, 31),
    "time": datetime.time(8, 30),
    "money": Decimal("12.50"),
    "lazy": gettext_lazy("This field is required."),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "nested": [{"a": 1, "b": None, "c": True, "d": 1.5}, [], {}],
    "big": 2**53 + 1,
    "duration": datetime.timedelta(seconds=90),
}


def test_the_orjson_renderer_writes_what_drf_wrote():
    assert ORJSONRenderer().render(SAMPLE) == JSONRenderer().render(SAMPLE)
    assert ORJSONRenderer().render(None) == JSONRenderer().render(None) == b""
    # Asked for indentation, or given what orjson refuses: DRF's own answer.
    indented = ORJSONRenderer().render(SAMPLE, "application/json; indent=2")
    assert indented == JSONRenderer().render(SAMPLE, "application/json; indent=2")
    huge = {"n": 2**70}
    assert ORJSONRenderer().render(huge) == JSONRenderer().render(huge)


def _drf(serializer: serializers.Serializer, instance) -> dict:
    # DRF's own Serializer.to_representation (fields built for this instance).
    return dict(serializers.Serializer.to_representation(serializer, instance))


def test_the_user_object_is_drfs_with_and_without_an_avatar(rf):
    user = UserFactory(phone="+8613900000000", email="a@example.com", nickname="安")
    request = rf.get("/api/v1/me/")
    with timezone.override(datetime.UTC):
        serializer = UserSerializer(user, context={"request": request})
        assert serializer.data == _drf(UserSerializer(user, context={"request": request}), user)
        assert list(serializer.data) == list(UserSerializer.Meta.fields)
        user.avatar.save("a.webp", ContentFile(b"x"), save=False)
        user.avatar_thumbnail.save("t.webp", ContentFile(b"y"), save=False)
        with_avatar = UserSerializer(user, context={"request": request}).data
        assert with_avatar == _drf(UserSerializer(user, context={"request": request}), user)
        assert with_avatar["avatar"]["url"].startswith("http://testserver/")


def test_a_field_added_to_the_user_list_is_rendered(rf):
    # How the parallel work adds consent_required / deletion: a name and, if computed, a method.
    class Extended(UserSerializer):
        extra = serializers.SerializerMethodField()

        class Meta(UserSerializer.Meta):
            fields = (*UserSerializer.Meta.fields, "extra", "last_login")

        def get_extra(self, user) -> str:
            return f"for {self.context['who']}"

    user = UserFactory()
    data = Extended(user, context={"request": rf.get("/"), "who": "me"}).data
    assert data["extra"] == "for me" and data["last_login"] is None
    assert Extended(user, context={"request": rf.get("/"), "who": "you"}).data["extra"] == "for you"


@pytest.mark.parametrize(
    "data",
    [
        {"login": " 13900000000 ", "password": " pass word "},
        {"login": "", "password": "x"},
        {"login": "a" * 151, "password": "x" * 4097},
        {"password": None},
        {"login": ["list"], "password": {"a": 1}},
        {},
    ],
)
def test_the_login_input_validated_on_one_instance_gives_what_drf_gives(data):
    # The password login parses its body with input_validate (one serializer per class, fields built once).
    drfs = LoginInputSerializer(data=data)
    if drfs.is_valid():
        assert input_validate(LoginInputSerializer, data) == drfs.validated_data
    else:
        with pytest.raises(serializers.ValidationError) as refused:
            input_validate(LoginInputSerializer, data)
        assert refused.value.detail == drfs.errors
    built = config_serializers._INPUTS[LoginInputSerializer]
    input_validate(LoginInputSerializer, {"login": "x", "password": "y"})
    assert config_serializers._INPUTS[LoginInputSerializer] is built  # one instance, its fields built once


def test_the_wallet_object_is_drfs():
    wallet = {
        "balance": Decimal("1.5"),
        "frozen": Decimal("0"),
        "currency": "CNY",
        "max_balance": Decimal("5000"),
        "updated_at": timezone.now(),
    }
    assert WalletSerializer(wallet).data == _drf(WalletSerializer(wallet), wallet)


@pytest.mark.parametrize(
    ("path", "headers", "cookies", "expected"),
    [
        ("/api/v1/me/", {"HTTP_AUTHORIZATION": "Bearer x"}, {"sessionid": "s"}, True),
        ("/api/v1/wallet/charges/", {"HTTP_AUTHORIZATION": "Api-Key x"}, {"sessionid": "s"}, True),
        ("/api/v1/auth/login/", {}, {}, True),
        ("/api/v1/me/", {}, {"sessionid": "s"}, False),  # the pages' JavaScript, on the session
        ("/account/", {"HTTP_AUTHORIZATION": "Bearer x"}, {}, False),  # a page
    ],
)
def test_which_requests_skip_the_session(rf, path, headers, cookies, expected):
    request = rf.get(path, **headers)
    request.COOKIES.update(cookies)
    assert token_api_request(request) is expected


def test_me_with_a_token_costs_one_query_and_no_session(django_assert_num_queries):
    UserFactory(phone="+8613900000000")
    access = APIClient().post("/api/v1/auth/login/", {"login": "13900000000", "password": PASSWORD}).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access['tokens']['access']}")
    client.cookies["sessionid"] = "not-a-session"  # a stale cookie is not even read
    with django_assert_num_queries(1):
        response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert not hasattr(response.wsgi_request, "session")
    assert "sessionid" not in response.cookies and "Cookie" not in response.get("Vary", "")


def test_wallet_with_a_token_costs_two_queries_and_no_session(django_assert_num_queries):
    user = UserFactory()
    client = bearer_client(user)
    assert client.get("/api/v1/wallet/").status_code == 200  # the first look opens the wallet
    with django_assert_num_queries(2):  # the user, the wallet account
        response = client.get("/api/v1/wallet/")
    assert response.status_code == 200 and response.json()["balance"] == "0.00"
    assert not hasattr(response.wsgi_request, "session")


@override_settings(
    PASSWORD_HASHERS=[
        "accounts.hashers.OwaspArgon2PasswordHasher",
        "accounts.hashers.BoundedPBKDF2PasswordHasher",
    ]
)
def test_login_and_refresh_without_cookies_keep_their_budgets_and_touch_no_session(django_assert_max_num_queries):
    UserFactory(phone="+8613900000000")
    with django_assert_max_num_queries(4):  # the user, last_login, the security event, the device
        login = APIClient().post("/api/v1/auth/login/", {"login": "13900000000", "password": PASSWORD})
    assert login.status_code == 200 and not hasattr(login.wsgi_request, "session")
    assert not login.cookies
    with django_assert_max_num_queries(4):  # the user, the device seen, two blacklist INSERTs
        refresh = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": login.json()["tokens"]["refresh"]})
    assert refresh.status_code == 200 and not hasattr(refresh.wsgi_request, "session")


def test_an_api_call_on_the_browser_session_still_uses_it(client):
    user = UserFactory()
    client.force_login(user)
    response = client.get("/api/v1/me/")
    assert response.status_code == 200 and response.json()["id"] == user.pk
    assert hasattr(response.wsgi_request, "session")


@pytest.mark.postgres
def test_a_connection_the_server_ended_is_replaced_before_the_request_without_a_select_1(
    django_assert_num_queries,
):
    user = UserFactory()
    client = bearer_client(user)
    assert client.get("/api/v1/me/").status_code == 200
    old_pid = connection.connection.info.backend_pid
    # Another session ends ours, as a server restart or an administrator would; wait until it is gone.
    with connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [old_pid])
        for _ in range(200):
            if admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [old_pid]).fetchone() is None:
                break
            time.sleep(0.01)
    with django_assert_num_queries(1):  # the user row only: no health-check statement
        response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert connection.connection.info.backend_pid != old_pid
    with django_assert_num_queries(1):  # and none on a live connection either
        assert client.get("/api/v1/me/").status_code == 200


@pytest.mark.postgres
def test_the_hot_reads_are_prepared_once_on_the_server_and_logged_with_their_values():
    user = UserFactory(phone="+8613900000000")
    session = APIClient().post("/api/v1/auth/login/", {"login": "13900000000", "password": PASSWORD}).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['tokens']['access']}")  # a signed-in device's token
    assert client.get("/api/v1/wallet/").status_code == 200  # the first look opens the wallet
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/wallet/").status_code == 200
    assert len(captured.captured_queries) == 1  # the user with the device and the wallet's accounts
    # Logged as Django logs its own statements: the values in place, no "$1".
    assert "$1" not in captured.captured_queries[0]["sql"]
    assert f'"accounts_user"."id" = {user.pk}' in captured.captured_queries[0]["sql"]
    for _ in range(2):
        assert client.get("/api/v1/wallet/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [row[0] for row in cursor.fetchall()]
    # Each once, whatever the number of requests: parsed and planned once per connection.
    assert client.get("/api/v1/me/").status_code == 200
    assert sum('FROM "accounts_user"' in text and "accounts_device" in text for text in prepared) == 1, prepared
    assert sum('FROM "wallet_ledgeraccount"' in text and "accounts_device" in text for text in prepared) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [row[0] for row in cursor.fetchall()]
    # GET /me's statement (without the wallet's columns) is prepared once beside it.
    me = [text for text in prepared if 'FROM "accounts_user"' in text and "wallet_ledgeraccount" not in text]
    assert sum("accounts_device" in text for text in me) == 1, prepared
    # So is the login's one write (last_login, the event, the device: config.sql.rows_write_together).
    assert sum(text.startswith("WITH") and 'INSERT INTO "accounts_device"' in text for text in prepared) == 1


def test_a_remembered_access_token_is_still_refused_once_expired_or_logged_out():
    UserFactory(phone="+8613900000000")
    session = APIClient().post("/api/v1/auth/login/", {"login": "13900000000", "password": PASSWORD}).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['tokens']['access']}")
    assert client.get("/api/v1/me/").status_code == 200  # verified once, now remembered
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16), tick=False):
        assert client.get("/api/v1/me/").status_code == 401  # past its 15 minutes
    assert client.get("/api/v1/me/").status_code == 200
    assert client.post("/api/v1/auth/logout/", {"refresh": session["tokens"]["refresh"]}).status_code == 204
    assert client.get("/api/v1/me/").status_code == 401  # logout kills it at once


@pytest.mark.parametrize(
    ("accept", "query"),
    [
        ("", ""),
        ("*/*", ""),
        ("application/json", ""),
        ("application/json; indent=4", ""),
        ("text/html", ""),
        ("application/xml", ""),
        ("text/*, application/json;q=0.5", ""),
        ("", "format=json"),
        ("", "format=xml"),
    ],
)
def test_the_json_first_negotiation_answers_as_drfs_own(rf, accept, query):
    from django.http import Http404
    from rest_framework.exceptions import NotAcceptable
    from rest_framework.negotiation import DefaultContentNegotiation
    from rest_framework.request import Request

    from config.negotiation import JSONFirstContentNegotiation

    headers = {"HTTP_ACCEPT": accept} if accept else {}
    request = Request(rf.get(f"/api/v1/me/?{query}", **headers))
    answers = []
    for negotiation in (DefaultContentNegotiation(), JSONFirstContentNegotiation()):
        try:
            renderer, media_type = negotiation.select_renderer(request, [ORJSONRenderer()])
            answers.append((type(renderer), media_type))
        except NotAcceptable as refused:
            answers.append(("406", str(refused.detail)))
        except Http404:  # an unknown ?format=
            answers.append(("404", ""))
    assert answers[0] == answers[1]


def test_an_api_call_asking_for_another_media_type_is_still_refused_with_406():
    response = APIClient().get("/api/v1/legal/", HTTP_ACCEPT="application/xml")
    assert response.status_code == 406
