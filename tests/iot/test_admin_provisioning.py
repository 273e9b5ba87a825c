"""The admin's gateway provisioning page: the same service as the API, for tenant owners and
admins only, against a real Mosquitto; a server-made key is downloadable once."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.audit.models import AuditEntry
from apps.devices.models import Device
from apps.iot import broker_control
from apps.iot.models import Gateway
from tests.factories import DEFAULT_PASSWORD, SiteFactory
from tests.iot.gateway import gateway_key_and_csr

pytestmark = pytest.mark.django_db
ADD = "/admin/iot/gateway/add/"


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


def _broker_clients() -> set[str]:
    with broker_control.BrokerControl() as control:
        return set(control.run({"command": "listClients"})[0]["data"]["clients"])


def test_tenant_admin_provisions_a_gateway_from_its_csr(world_a, world_b, mqtt_broker):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant", name="Alqueva")
    foreign = SiteFactory(tenant=world_b.tenant, kind="plant", name="Foreign plant")
    admin = _client(world_a.admin)
    form = admin.get(ADD)
    assert form.status_code == 200
    page = form.content.decode()
    assert "Alqueva" in page and "Foreign plant" not in page and world_a.site.name not in page

    _key, csr = gateway_key_and_csr()
    response = admin.post(ADD, {"plant": plant.pk, "hardware_id": "alq-gw-1", "name": "Alqueva gateway", "csr": csr})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    body = response.content.decode()
    gateway = Gateway.objects.get(site=plant)
    assert gateway.status == "active" and gateway.device.status == "active" and gateway.key_encrypted == ""
    assert "BEGIN CERTIFICATE" in body and f"solar/{plant.public_id}/data" in body
    assert "PRIVATE KEY" not in body and "stayed on the gateway" in body
    assert gateway.identity in _broker_clients()
    entry = AuditEntry.objects.get(tenant=world_a.tenant, action="gateway.provisioned")
    assert entry.actor_id == str(world_a.admin.pk) and entry.details["csr"] is True

    # Not a plant of theirs: the choice is refused like any invalid choice.
    refused = admin.post(ADD, {"plant": foreign.pk, "hardware_id": "stolen-gw"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not Device.objects.filter(hardware_id="stolen-gw").exists()


def test_a_bad_csr_is_shown_on_the_form_and_leaves_nothing(world_a, mqtt_broker):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    response = _client(world_a.admin).post(ADD, {"plant": plant.pk, "hardware_id": "bad-csr", "csr": "nope"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not Device.objects.filter(hardware_id="bad-csr").exists() and not Gateway.objects.exists()


def test_server_made_key_downloads_once(world_a, world_b, mqtt_broker):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    admin = _client(world_a.admin)
    body = admin.post(ADD, {"plant": plant.pk, "hardware_id": "old-gw"}).content.decode()
    gateway = Gateway.objects.get(site=plant)
    key_url = f"/admin/iot/gateway/{gateway.pk}/key/"
    assert key_url in body and "PRIVATE KEY" not in body
    assert "PRIVATE KEY" not in admin.get(key_url).content.decode()  # GET only explains
    assert _client(world_b.admin).post(key_url).status_code == 404
    for user in (world_a.staff, world_a.viewer):
        assert _client(user).post(key_url).status_code == 403

    first = admin.post(key_url)
    assert first.status_code == 200 and "PRIVATE KEY" in first.content.decode()
    assert first["Content-Disposition"].startswith("attachment;") and "no-store" in first["Cache-Control"]
    second = admin.post(key_url, follow=True)
    assert "already downloaded" in second.content.decode()
    gateway.refresh_from_db()
    assert gateway.key_encrypted == "" and gateway.key_downloaded_at is not None
    assert AuditEntry.objects.filter(action="gateway.key_downloaded").count() == 1


def test_staff_and_viewers_cannot_provision(world_a, mqtt_broker):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    for user in (world_a.staff, world_a.viewer):
        client = _client(user)
        assert client.get("/admin/iot/gateway/").status_code == 200  # they see the gateways
        assert client.get(ADD).status_code == 403
        assert client.post(ADD, {"plant": plant.pk, "hardware_id": f"gw-{user.pk}"}).status_code == 403
    assert not Gateway.objects.exists()


def test_without_mqtt_the_page_says_so(world_a, settings):
    settings.MQTT_URL = ""
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    admin = _client(world_a.admin)
    assert "MQTT is not configured" in admin.get(ADD).content.decode()
    response = admin.post(ADD, {"plant": plant.pk, "hardware_id": "gw-no-mqtt"})
    assert response.status_code == 200 and "MQTT is not configured" in response.content.decode()
    assert not Device.objects.filter(hardware_id="gw-no-mqtt").exists()
