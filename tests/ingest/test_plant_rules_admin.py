"""Plant rules in the admin: tenant admins write them (audited), staff and viewers only read."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.audit.models import AuditEntry
from apps.ingest.models import SiblingRule
from tests.factories import DEFAULT_PASSWORD, SiteFactory

pytestmark = pytest.mark.django_db

FORM = {"metric": "power_ac", "percent_below": "40", "sustained_seconds": "900", "min_siblings": "2",
        "freshness_seconds": "300", "window": "daylight", "severity": "warning", "enabled": "on"}


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


def test_tenant_admin_adds_a_sibling_rule_and_is_warned_without_coordinates(world_a, world_b):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    foreign = SiteFactory(tenant=world_b.tenant, kind="plant")
    admin = _client(world_a.admin)
    page = admin.get("/admin/ingest/siblingrule/add/").content.decode()
    assert plant.name in page and foreign.name not in page and world_a.site.name not in page  # plants only
    response = admin.post("/admin/ingest/siblingrule/add/", {**FORM, "site": plant.pk}, follow=True)
    assert response.status_code == 200
    rule = SiblingRule.objects.get()
    assert rule.tenant == world_a.tenant and rule.site == plant
    assert AuditEntry.objects.filter(tenant=world_a.tenant, action="sibling_rule.created").exists()
    assert "has no coordinates" in response.content.decode()


def test_staff_and_viewers_cannot_write_plant_rules(world_a):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    for user in (world_a.staff, world_a.viewer):
        client = _client(user)
        assert client.get("/admin/ingest/anomalyrule/").status_code == 200
        assert client.post("/admin/ingest/siblingrule/add/", {**FORM, "site": plant.pk}).status_code == 403
    assert not SiblingRule.objects.exists()
