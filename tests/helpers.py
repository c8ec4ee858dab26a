"""Assertions shared by the whole suite."""

from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken


def assert_api_error(response, status: int, code: str, *, fields: list[str] | None = None) -> dict:
    """Assert the API error body of API.md and return it.

    ``fields`` lists field names that must appear in ``body["fields"]``.
    """
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert "traceback" not in response.content.decode().lower()
    if status == 429:
        assert int(response["Retry-After"]) >= 1
        assert body["retry_after"] == int(response["Retry-After"])
    for name in fields or []:
        assert name in body.get("fields", {}), body
    return body


def bearer_client(user) -> APIClient:
    """An API client authenticated with a fresh access token for ``user``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


# What a sign-up agrees to: version 1 of both legal documents (migration accounts/0006).
CONSENT = ["terms:1", "privacy:1"]
