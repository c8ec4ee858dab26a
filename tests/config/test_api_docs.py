from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db


def test_openapi_schema_is_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")


def test_openapi_description_points_at_the_contract_in_the_repository(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "`docs/API.md`" in schema["info"]["description"]
    contract = Path(__file__).resolve().parents[2] / "docs" / "API.md"
    assert contract.read_text().startswith("# JSON API contract, v1 (revision 2")


def test_swagger_ui_is_served_locally_without_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs"):
        assert cdn not in html


def test_home_page_renders_in_chinese_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "欢迎" in response.content.decode()


def test_home_page_in_english_with_accept_language(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Welcome" in response.content.decode()
