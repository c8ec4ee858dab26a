"""Every error has API.md's body: {"code", "message", "fields"?}, never a traceback."""

import pytest

from accounts.errors import PhoneTaken
from config.errors import RateLimited
from tests.helpers import assert_api_error

pytestmark = pytest.mark.urls("tests.config.urls")


def test_unknown_api_route_is_json_404(client, db):
    assert_api_error(client.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_wrong_method_is_json_405(client, db):
    assert_api_error(client.get("/api/v1/_test/validate/"), 405, "method_not_allowed")


def test_validation_error_names_the_field(client, db):
    response = client.post("/api/v1/_test/validate/", {"amount": "abc"}, content_type="application/json")
    body = assert_api_error(response, 400, "validation_error", fields=["amount"])
    assert isinstance(body["fields"]["amount"], list)


def test_malformed_json_is_a_validation_error(client, db):
    response = client.post("/api/v1/_test/validate/", "{not json", content_type="application/json")
    assert_api_error(response, 400, "validation_error")


def test_missing_credentials_is_not_authenticated(client, db):
    assert_api_error(client.get("/api/v1/_test/private/"), 401, "not_authenticated")


def test_bad_token_is_token_invalid(client, db):
    response = client.get("/api/v1/_test/private/", HTTP_AUTHORIZATION="Bearer not.a.token")
    assert_api_error(response, 401, "token_invalid")


def test_unexpected_exception_is_500_without_traceback(client, db, settings):
    settings.DEBUG = False
    response = client.get("/api/v1/_test/explode/")
    body = assert_api_error(response, 500, "server_error")
    assert "secret internals" not in response.content.decode()
    assert set(body) == {"code", "message"}


def test_domain_429_carries_retry_after(client, db):
    body = assert_api_error(client.get("/api/v1/_test/limited/"), 429, "rate_limited")
    assert body["retry_after"] == 42


def test_post_without_trailing_slash_reaches_the_view(client, db):
    response = client.post("/api/v1/_test/validate", {"amount": "1.50"}, content_type="application/json")
    assert response.status_code == 200, response.content


def test_messages_follow_accept_language(client, db):
    zh = client.get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    en = client.get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert en["message"] == "Not found."
    assert zh["message"] != en["message"]


def test_deeply_nested_json_is_a_validation_error_not_a_500(client, db):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/_test/validate/", body, content_type="application/json")
    assert_api_error(response, 400, "validation_error")


def test_json_numbers_are_parsed_as_decimals():
    import io
    from decimal import Decimal

    from config.parsers import JSONParser

    assert JSONParser().parse(io.BytesIO(b'{"amount": 10.1}')) == {"amount": Decimal("10.1")}


def test_an_error_about_one_input_carries_its_field_wherever_it_is_raised():
    body = PhoneTaken().as_dict()
    assert body["fields"] == {"phone": [body["message"]]}
    assert PhoneTaken(fields={"new_phone": ["x"]}).fields == {"new_phone": ["x"]}
    assert RateLimited(retry_after=0.2).as_dict()["retry_after"] == 1  # never "retry in 0 seconds"
