"""/api/schema/ documents the accounts routes with their bodies."""

import pytest

pytestmark = pytest.mark.django_db

ROUTES = {
    ("/api/v1/auth/register/", "post"): ("RegisterInput", "201", "Session"),
    ("/api/v1/auth/login/", "post"): ("LoginInput", "200", "Session"),
    ("/api/v1/auth/login/code/", "post"): ("LoginCodeInput", "200", "CodeSession"),
    ("/api/v1/auth/token/refresh/", "post"): ("TokenRefreshInput", "200", "Tokens"),
    ("/api/v1/auth/token/verify/", "post"): ("TokenVerifyInput", "200", "TokenVerifyOutput"),
    ("/api/v1/auth/logout/", "post"): ("LogoutInput", "204", None),
    ("/api/v1/auth/password/reset/", "post"): ("PasswordResetInput", "200", "Session"),
    ("/api/v1/auth/password/change/", "post"): ("PasswordChangeInput", "200", "Session"),
    ("/api/v1/me/", "get"): (None, "200", "User"),
    ("/api/v1/me/", "patch"): ("PatchedMeUpdateInput", "200", "User"),
    ("/api/v1/me/phone/", "post"): ("PhoneChangeInput", "200", "User"),
    ("/api/v1/me/consents/", "post"): ("ConsentInput", "200", "User"),
    ("/api/v1/legal/", "get"): (None, "200", "LegalDocumentList"),
}


def test_every_accounts_route_documents_request_and_response_bodies(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    for (path, method), (request, status, response) in ROUTES.items():
        operation = schema["paths"][path][method]
        if request:
            content = operation["requestBody"]["content"]
            assert set(content) == {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}
            assert content["application/json"]["schema"]["$ref"].endswith(f"/{request}Request"), (path, method)
        assert status in operation["responses"], (path, method)
        if response:
            body = operation["responses"][status]["content"]["application/json"]["schema"]
            assert body["$ref"].endswith(f"/{response}"), (path, method, body)
        errors = [code for code in operation["responses"] if code.startswith(("4", "5"))]
        for code in errors:
            assert operation["responses"][code]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    session = schema["components"]["schemas"]["Session"]["properties"]
    assert set(session) == {"user", "tokens"}
    assert set(schema["components"]["schemas"]["CodeSession"]["properties"]) == {"user", "tokens", "created"}
    assert "201" in schema["paths"]["/api/v1/auth/login/code/"]["post"]["responses"]
