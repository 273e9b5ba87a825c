"""The device page: every member of the device's tenant sees its charts; nobody else does."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.utils import timezone

from apps.ingest.services.telemetry import telemetry_ingest
from tests.factories import DEFAULT_PASSWORD, DeviceFactory, SiteFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


@pytest.fixture
def gateway(world_a):
    device = DeviceFactory(site=SiteFactory(tenant=world_a.tenant, kind="plant"), kind="gateway")
    telemetry_ingest(device=device, rejected=[], readings=[
        {"message_id": uuid.uuid4(), "ts": timezone.now(), "inverter": "inv-9", "metric": "power_ac",
         "value": 1234.0, "unit": "W"}])
    return device


def test_every_role_of_the_tenant_sees_the_charts(world_a, gateway):
    for user in (world_a.owner, world_a.admin, world_a.staff, world_a.viewer):
        response = _client(user).get(f"/devices/{gateway.public_id}/")
        assert response.status_code == 200
        body = response.content.decode()
        assert body.count("<svg") == 1 and 'data-name="inv-9 power_ac"' in body
        assert "<script" not in body  # server-rendered: nothing to run


def test_another_tenant_and_a_stranger_get_404_and_anonymous_signs_in(world_a, world_b, gateway):
    assert _client(world_b.admin).get(f"/devices/{gateway.public_id}/").status_code == 404
    assert _client(world_a.viewer).get("/devices/dev_missing/").status_code == 404
    anonymous = Client().get(f"/devices/{gateway.public_id}/")
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


def test_the_admin_links_to_the_device_page(world_a, gateway):
    body = _client(world_a.admin).get(f"/admin/devices/device/{gateway.pk}/change/").content.decode()
    assert f'href="/devices/{gateway.public_id}/"' in body
