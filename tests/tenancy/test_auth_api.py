"""People's auth: JWT pair, refresh, logout blacklists, and /me."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db


def _login(client: APIClient, user) -> dict:
    response = client.post("/api/v1/auth/token/", {"username": user.username, "password": DEFAULT_PASSWORD},
                           format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_login_me_and_tenant_roles(world_a):
    client = APIClient()
    tokens = _login(client, world_a.admin)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = client.get("/api/v1/me/").json()
    assert me["username"] == world_a.admin.username
    assert me["memberships"] == [
        {"tenant": {"id": world_a.tenant.public_id, "name": "Tenant A", "slug": "tenant-a",
                    "vertical": "hospitality", "is_active": True,
                    "created_at": me["memberships"][0]["tenant"]["created_at"]},
         "role": "admin", "all_sites": True, "sites": []}
    ]


def test_wrong_password_is_401_without_detail(world_a):
    response = APIClient().post("/api/v1/auth/token/", {"username": world_a.admin.username,
                                                        "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Authentication required."


def test_logout_blacklists_the_refresh_token(world_a):
    client = APIClient()
    tokens = _login(client, world_a.staff)
    assert client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json").status_code == 200
    response = client.post("/api/v1/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401


def test_refresh_rotates(world_a):
    client = APIClient()
    tokens = _login(client, world_a.staff)
    response = client.post("/api/v1/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200
    assert response.json()["refresh"] != tokens["refresh"]


def test_tenants_endpoint_is_for_superusers_only(world_a, superuser, client_for):
    assert client_for(world_a.owner).get("/api/v1/tenants/").status_code == 403
    response = client_for(superuser).get("/api/v1/tenants/")
    assert response.status_code == 200
    assert world_a.tenant.public_id in {t["id"] for t in response.json()}
    created = client_for(superuser).post("/api/v1/tenants/", {"name": "New Co", "slug": "new-co",
                                                               "vertical": "retail"}, format="json")
    assert created.status_code == 201, created.json()


def test_membership_in_a_second_tenant_shows_in_me(world_a, world_b, client_for):
    MembershipFactory(tenant=world_b.tenant, user=world_a.staff, role="viewer")
    me = client_for(world_a.staff).get("/api/v1/me/").json()
    assert {(m["tenant"]["slug"], m["role"]) for m in me["memberships"]} == {
        ("tenant-a", "staff"), ("tenant-b", "viewer")}
