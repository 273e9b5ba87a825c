"""The admin shows staff users only their tenants' rows and foreign-key choices."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def _admin_client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


def test_changelist_shows_only_own_tenant_sites(world_a, world_b):
    html = _admin_client(world_a.staff).get("/admin/tenancy/site/").content.decode()
    assert world_a.site.name in html
    assert world_b.site.name not in html


def test_foreign_site_change_page_is_not_reachable(world_a, world_b):
    response = _admin_client(world_a.admin).get(f"/admin/tenancy/site/{world_b.site.pk}/change/")
    assert response.status_code in (302, 404)
    if response.status_code == 302:  # Django redirects to the index with "doesn't exist"
        assert "/admin/" in response["Location"]


def test_tenant_choices_in_forms_are_limited(world_a, world_b):
    html = _admin_client(world_a.admin).get("/admin/tenancy/site/add/").content.decode()
    assert f'value="{world_a.tenant.pk}"' in html
    assert f'value="{world_b.tenant.pk}"' not in html


def test_admin_cannot_post_a_site_into_another_tenant(world_a, world_b):
    response = _admin_client(world_a.admin).post("/admin/tenancy/site/add/", {
        "tenant": world_b.tenant.pk, "name": "Smuggled", "location_id": "SMUG", "kind": "hotel",
        "timezone": "UTC", "address": "", "business_hours": "{}",
    })
    assert response.status_code == 200  # form redisplayed with an error
    assert "Select a valid choice" in response.content.decode()
    assert not world_b.tenant.sites.filter(name="Smuggled").exists()


def test_staff_role_sees_but_cannot_change(world_a):
    client = _admin_client(world_a.staff)
    assert client.get("/admin/tenancy/site/").status_code == 200
    assert client.get("/admin/tenancy/site/add/").status_code == 403


def test_superuser_sees_everything(world_a, world_b, superuser):
    html = _admin_client(superuser).get("/admin/tenancy/site/").content.decode()
    assert world_a.site.name in html and world_b.site.name in html
