"""Issue 12: the charge request's per-request work done once, answering exactly as before.

- ``config.serializers.input_validate`` gives ``is_valid``'s values and, on a
  refusal, its error body;
- ``config.negotiation.JSONFirstContentNegotiation`` picks what DRF picks;
- ``config.csp.CSPMiddleware`` sends what django-csp sends;
- ``wallet.clients`` reuses a key's principal while its cache entry is unchanged
  (the budget: no model instance built for a key seen before), and builds anew
  after any change.
"""

import datetime
from decimal import Decimal

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONCE, SELF
from csp.decorators import csp_exempt, csp_update
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import override_settings
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer, TemplateHTMLRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from config.csp import CSPMiddleware
from config.negotiation import JSONFirstContentNegotiation as ContentNegotiation
from config.renderers import ORJSONRenderer
from config.serializers import input_validate
from wallet import clients
from wallet.api_charges import ChargeInputSerializer, RefundInputSerializer
from wallet.clients import (
    client_application_create,
    client_application_update,
    client_key_authenticate,
    client_key_revoke,
)

INPUTS = [
    {"user_id": 5, "amount": "0.01", "order_id": "r-1"},
    {"user_id": "5", "amount": 12, "order_id": "  padded  ", "description": "  x  ", "other": 1},
    {"user_id": 5, "amount": Decimal("1.50"), "order_id": "o", "description": ""},
    {"user_id": 0, "amount": "1", "order_id": "o"},
    {"user_id": True, "amount": True, "order_id": "", "description": None},
    {"user_id": "abc", "amount": "1e3", "order_id": "x" * 65, "description": "d" * 201},
    {"user_id": 5, "amount": "1", "order_id": "nul\x00"},
    {"amount": "1"},
    {},
    None,
    [],
    "text",
    [{"user_id": 5}],
]


def _drf(cls, data):
    serializer = cls(data=data)
    if serializer.is_valid():
        return ("ok", dict(serializer.validated_data))
    return ("error", serializer.errors)


def _ours(cls, data):
    from rest_framework.exceptions import ValidationError

    try:
        return ("ok", dict(input_validate(cls, data)))
    except ValidationError as exc:
        return ("error", exc.detail)


@pytest.mark.parametrize("cls", [ChargeInputSerializer, RefundInputSerializer])
@pytest.mark.parametrize("data", INPUTS)
def test_input_validate_gives_what_is_valid_gives(cls, data):
    ours, drf = _ours(cls, data), _drf(cls, data)
    assert ours == drf
    if ours[0] == "error":  # the same codes too, which the error body is made of
        assert _codes(ours[1]) == _codes(drf[1])


def _codes(detail):
    if isinstance(detail, dict):
        return {key: _codes(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_codes(value) for value in detail]
    return detail.code


@pytest.mark.parametrize(
    ("accept", "query", "renderers"),
    [
        (None, "", [ORJSONRenderer]),
        ("*/*", "", [ORJSONRenderer]),
        (None, "", [JSONRenderer, BrowsableAPIRenderer]),
        (None, "", [BrowsableAPIRenderer, JSONRenderer]),
        (None, "", [TemplateHTMLRenderer]),
        ("application/json", "", [ORJSONRenderer]),
        ("text/html", "", [JSONRenderer, BrowsableAPIRenderer]),
        ("application/json; indent=2", "", [ORJSONRenderer]),
        (None, "format=api", [JSONRenderer, BrowsableAPIRenderer]),
        (None, "page=2", [ORJSONRenderer]),
    ],
)
def test_content_negotiation_picks_what_drf_picks(accept, query, renderers):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    request = Request(APIRequestFactory().get(f"/api/v1/x/?{query}" if query else "/api/v1/x/", **headers))
    instances = [cls() for cls in renderers]
    renderer, media_type = ContentNegotiation().select_renderer(request, instances)
    expected_renderer, expected_media_type = DefaultContentNegotiation().select_renderer(request, instances)
    assert (renderer, media_type) == (expected_renderer, expected_media_type)


def test_content_negotiation_refuses_what_drf_refuses():
    from rest_framework.exceptions import NotAcceptable

    request = Request(APIRequestFactory().get("/api/v1/x/", HTTP_ACCEPT="image/png"))
    with pytest.raises(NotAcceptable):
        ContentNegotiation().select_renderer(request, [ORJSONRenderer()])


def _plain(request):
    return HttpResponse()


def _headers(middleware_class, request, view):
    response = view(request)
    response = middleware_class(lambda r: response).process_response(request, response)
    return response.headers.get(HEADER), response.headers.get(HEADER_REPORT_ONLY)


@pytest.mark.parametrize("path", ["/", "/api/v1/wallet/charges/", "/excluded/page/"])
@pytest.mark.parametrize(
    "view",
    [
        _plain,
        csp_exempt()(lambda request: HttpResponse()),
        csp_update({"img-src": ["https://cdn.example"]})(lambda request: HttpResponse()),
        lambda request: HttpResponse(headers={HEADER: "default-src 'self'"}),
    ],
)
@pytest.mark.parametrize("report_only", [False, True])
def test_the_csp_headers_are_django_csps(rf, settings, path, view, report_only):
    settings.CONTENT_SECURITY_POLICY = {**settings.CONTENT_SECURITY_POLICY, "EXCLUDE_URL_PREFIXES": ["/excluded/"]}
    if report_only:
        settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"]}}
    ours = _headers(CSPMiddleware, rf.get(path), view)
    theirs = _headers(DjangoCSPMiddleware, rf.get(path), view)
    assert ours == theirs
    if view is _plain and path == "/":
        assert ours[0]  # the strict policy is really there


def test_the_csp_header_follows_a_settings_change(rf, settings):
    before = _headers(CSPMiddleware, rf.get("/"), lambda request: HttpResponse())[0]
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'self'"]}}):
        assert _headers(CSPMiddleware, rf.get("/"), lambda request: HttpResponse())[0] == "default-src 'self'"
    assert _headers(CSPMiddleware, rf.get("/"), lambda request: HttpResponse())[0] == before


def test_a_nonce_used_by_the_page_goes_through_django_csp(rf, settings):
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": [SELF, NONCE]}}
    request = rf.get("/")
    middleware = CSPMiddleware(lambda r: HttpResponse())
    middleware.process_request(request)
    nonce = str(request.csp_nonce)
    response = middleware.process_response(request, HttpResponse())
    assert f"'nonce-{nonce}'" in response.headers[HEADER]


@pytest.mark.django_db
def test_a_keys_principal_is_built_once_while_its_entry_is_unchanged(monkeypatch):
    application, key = client_application_create(name="A", scopes=["charge", "refund"])
    first = client_key_authenticate(raw_key=key)
    built = []
    monkeypatch.setattr(clients, "_from_cache", lambda *args: built.append(args) or pytest.fail("built again"))
    assert client_key_authenticate(raw_key=key) is first  # the budget: no model instance per request
    monkeypatch.undo()
    # Any change builds anew, at once: scopes, switching off, revoking.
    client_application_update(application=application, scopes=["refund"])
    second = client_key_authenticate(raw_key=key)
    assert second is not None and second is not first and not second.has_scope("charge")
    client_application_update(application=application, active=False)
    assert client_key_authenticate(raw_key=key) is None
    client_application_update(application=application, active=True)
    assert client_key_authenticate(raw_key=key) is not None
    client_key_revoke(key=application.keys.get())
    assert client_key_authenticate(raw_key=key) is None


TEXTS = [
    "POST",
    "/api/v1/wallet/charges/",
    "request",
    "config.request",
    "2026-12-05T23:59:01.123456Z",
    "3f2a9c0d1e4b4a55a0b1c2d3e4f50617",
    "call 13800138000 now",
    "+8613800138000",
    "Bearer abcdefghijkl",
    "BASIC dXNlcjpwYXNzd29yZA==",
    "token abcdefgh12",
    "password=hunter2&x=1",
    "Client_Secret: 'abc'",
    "x_api_key=abc apikey=def",
    "signature=deadbeef",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.sig",
    "your code is 123456",
    "验证码为１２３４５６",
    "code 12",
    "",
    # After the first twelve: a phone with no word near it, digits inside a longer run, a code
    # and a phone in one text, upper case, full-width digits.
    "a12345678b 8613800138000x 0086 13800138000",
    "+12345678 and +123456789012345678",
    "OTP: 4321, then call 8613800138000",
    "CODE=9876 sent to １３８００１３８０００",
]


@pytest.mark.parametrize("keep_codes", [False, True])
def test_redact_text_without_the_quick_refusal_gives_the_same(monkeypatch, keep_codes):
    import re

    from config import redact

    quick = [redact.redact_text(text, keep_codes=keep_codes) for text in TEXTS]
    # Every text takes the five substitutions.
    monkeypatch.setattr(redact, "_MAY_HOLD_WORD", re.compile(""))
    monkeypatch.setattr(redact, "_MAY_HOLD_PHONE", re.compile(""))
    assert quick == [redact.redact_text(text, keep_codes=keep_codes) for text in TEXTS]
    assert quick[6] == "call 138****8000 now" and quick[11] == "password=[filtered]&x=1"


@pytest.mark.parametrize("amount", [Decimal("0.01"), Decimal("5"), Decimal("12345678.9"), Decimal("999999999999.99")])
@pytest.mark.parametrize(
    "created_at",
    [
        datetime.datetime(2026, 12, 31, 15, 59, 30, 123456, tzinfo=datetime.UTC),
        datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.UTC),
    ],
)
def test_the_charge_answer_is_the_serializers(amount, created_at):
    from wallet.api_charges import ChargeResultSerializer, _charge_data, _charge_result_body
    from wallet.charges import ChargeResult
    from wallet.models import Charge

    charge = Charge(
        id="C20261231155930ABCD",
        application_id=1,
        user_id=7,
        order_id="VIP-中文-1",
        amount=amount,
        currency="CNY",
        description="会员 \u2028 line",
        balance_after=Decimal("10.5"),
        created_at=created_at,
    )
    for balance in (Decimal("10.5"), Decimal("0"), Decimal("1000000.00")):
        result = ChargeResult(charge=charge, balance=balance)
        expected = ChargeResultSerializer(
            {"charge": _charge_data(charge, refunded_amount=Decimal("0.00")), "balance": balance}
        ).data
        assert _charge_result_body(result) == expected
        assert ORJSONRenderer().render(_charge_result_body(result)) == ORJSONRenderer().render(expected)


def test_an_address_is_parsed_once_and_junk_is_still_refused():
    from config.http import ip_or_empty

    ip_or_empty.cache_clear()
    assert ip_or_empty("127.0.0.1") == ip_or_empty("127.0.0.1") == "127.0.0.1"
    assert ip_or_empty.cache_info().hits == 1  # the log line and the origin share one parse
    assert ip_or_empty(" 2001:DB8::1 ") == "2001:db8::1"
    assert ip_or_empty("1.2.3.4, 5.6.7.8") == ip_or_empty(None) == ""


def test_the_charge_routes_resolve_as_before():
    from django.urls import resolve, reverse

    from wallet.api_charges import ChargeDetailView, ChargeListView, ChargeRefundView

    assert resolve("/api/v1/wallet/").url_name == "api-wallet"
    assert resolve("/api/v1/wallet/charges/").func.view_class is ChargeListView
    assert resolve("/api/v1/wallet/charges/C1/").func.view_class is ChargeDetailView
    assert resolve("/api/v1/wallet/charges/C1/refunds/").func.view_class is ChargeRefundView
    assert resolve("/api/v1/wallet/top-ups/T1/").url_name == "api-wallet-top-up"
    assert reverse("api-wallet-charge-refunds", args=["C1"]) == "/api/v1/wallet/charges/C1/refunds/"


CHARGE_INPUTS = INPUTS + [
    {"user_id": 5, "amount": "10.00", "order_id": "A-1", "description": "   "},
    {"user_id": 5, "amount": "10.00", "order_id": "   "},
    {"user_id": 5, "amount": "10.00", "order_id": " " * 3 + "x" * 64 + " "},
    {"user_id": 5, "amount": "10.00", "order_id": "x" * 64, "description": "d" * 200},
    {"user_id": 5, "amount": "10.00", "order_id": "x", "description": " " + "d" * 200 + " "},
    {"user_id": 5, "amount": "10.00", "order_id": "订单-1", "description": "会员"},
    {"user_id": 5, "amount": "10.00", "order_id": "\ud800"},
    {"user_id": 5, "amount": "10.00", "order_id": "x", "description": "a\x00b"},
    {"user_id": 5, "amount": "", "order_id": "x"},
    {"user_id": 5, "amount": None, "order_id": "x"},
    {"user_id": 5, "amount": 1.5, "order_id": "x"},
    {"user_id": 5, "amount": Decimal("NaN"), "order_id": "x"},
    {"user_id": 5, "amount": "-1", "order_id": "x"},
    {"user_id": 5, "amount": " 1", "order_id": "x"},
    {"user_id": 2**70, "amount": 3, "order_id": 7},
    {"user_id": -1, "amount": "1", "order_id": "x"},
    {"user_id": None, "amount": "1", "order_id": "x"},
    {"user_id": 5.0, "amount": "1", "order_id": "x"},
    {"user_id": 5, "amount": "1", "order_id": "x", "description": 5},
]


@pytest.mark.parametrize("data", CHARGE_INPUTS)
def test_the_charge_input_is_the_serializers(data):
    from rest_framework.exceptions import ValidationError

    from wallet.api_charges import _charge_input

    try:
        ours = ("ok", _charge_input(data))
    except ValidationError as exc:
        ours = ("error", exc.detail)
    drf = _drf(ChargeInputSerializer, data)
    assert ours == drf
    if ours[0] == "ok":
        assert [type(value) for value in ours[1].values()] == [type(value) for value in drf[1].values()]
    else:
        assert _codes(ours[1]) == _codes(drf[1])


def test_the_usual_charge_body_needs_no_serializer(monkeypatch):
    from wallet import api_charges

    monkeypatch.setattr(api_charges, "input_validate", lambda *args: pytest.fail("went to the serializer"))
    data = {"user_id": 5, "amount": "0.01", "order_id": "r-1-2", "description": "VIP month"}
    assert api_charges._charge_input(data) == {
        "user_id": 5,
        "amount": Decimal("0.01"),
        "order_id": "r-1-2",
        "description": "VIP month",
    }


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json; indent=2", "application/*"])
def test_a_response_rendered_at_once_is_drfs_response(accept):
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from config.renderers import rendered_response

    data = {
        "charge": {"id": "C1", "amount": Decimal("1.50"), "note": "会员\u2028"},
        "when": datetime.date(2026, 12, 31),
    }

    class Drf(APIView):
        permission_classes: list = []

        def post(self, request):
            return Response(data, status=201)

    class AtOnce(Drf):
        def post(self, request):
            return rendered_response(request, data, status=201)

    def answer(view):
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        response = view.as_view()(APIRequestFactory().post("/x/", {}, format="json", **headers))
        if hasattr(response, "render"):
            response.render()
        return response.status_code, response.content, sorted(response.items())

    assert answer(AtOnce) == answer(Drf)
    assert b"\\u2028" in answer(AtOnce)[1]  # written as DRF writes it
