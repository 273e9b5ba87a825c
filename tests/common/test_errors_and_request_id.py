"""One JSON error shape on the API, request ids on every response."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_api_url_is_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(world_a, client_for):
    response = client_for(world_a.admin).put("/api/v1/me/", {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_oversized_body_is_413(world_a, client_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"name": "' + "x" * 5000 + '", "location_id": "A", "kind": "hotel"}'
    response = client_for(world_a.admin).post("/api/v1/sites/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_request_id_is_echoed_when_well_formed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-def-12345678")
    assert response["X-Request-ID"] == "abc-def-12345678"


def test_malformed_request_id_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32


def test_schema_and_docs_are_served(client, world_a):
    # Without DEBUG they need a login (issue 13); tests/common/test_exposure.py has the refusals.
    client.force_login(world_a.staff)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_the_root_url_and_the_admins_view_site_lead_to_the_board(client, db):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/board/"
    from django.contrib import admin

    assert admin.site.site_url == "/board/"
