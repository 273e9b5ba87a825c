"""Provisioning is all or nothing, deprovisioning leaves nothing, and the API is the tenant admin's."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEntry
from apps.audit.services import Actor
from apps.devices.models import Device
from apps.iot import broker_control, deprovisioning, provisioning
from apps.iot.models import Gateway, RevokedCertificate
from tests.factories import SiteFactory
from tests.iot.gateway import gateway_key_and_csr

pytestmark = pytest.mark.django_db


def _broker_clients() -> set[str]:
    with broker_control.BrokerControl() as control:
        response = control.run({"command": "listClients"})
    return set(response[0]["data"]["clients"])


def _fail_at(monkeypatch, failing: str) -> None:
    def boom(_run):
        raise RuntimeError(f"injected failure at {failing}")

    monkeypatch.setattr(provisioning, "STEPS", tuple((name, boom if name == failing else do, undo)
                                                  for name, do, undo in provisioning.STEPS))


@pytest.mark.parametrize("failing", [name for name, _do, _undo in provisioning.STEPS])
def test_a_failure_at_any_step_undoes_the_earlier_ones(world_a, mqtt_broker, monkeypatch, failing):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    clients_before = _broker_clients()
    _fail_at(monkeypatch, failing)
    _key, csr = gateway_key_and_csr()
    with pytest.raises(provisioning.ProvisioningFailed):
        provisioning.gateway_provision(site=plant, actor=Actor.system("test"), hardware_id="hw-1", csr_pem=csr)

    assert not Device.objects.filter(hardware_id="hw-1").exists()
    assert not Gateway.objects.exists()
    assert _broker_clients() == clients_before
    entry = AuditEntry.objects.get(action="gateway.provision_failed")
    done = [name for name, _do, _undo in provisioning.STEPS][:[n for n, _d, _u in provisioning.STEPS].index(failing)]
    assert entry.details["failed_step"] == failing
    assert entry.details["undone"] == list(reversed(done))
    assert entry.details["undo_failed"] == []


def test_broker_refusal_at_the_last_step_rolls_back_for_real(world_a, mqtt_broker):
    """Not a patched step: the broker is down when the identity is installed."""
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    mqtt_broker.stop()
    with pytest.raises(provisioning.ProvisioningFailed):
        provisioning.gateway_provision(site=plant, actor=Actor.system("test"), hardware_id="hw-down")
    assert not Device.objects.filter(hardware_id="hw-down").exists() and not Gateway.objects.exists()
    assert AuditEntry.objects.get(action="gateway.provision_failed").details["failed_step"] == "broker_identity"


def test_deprovisioning_with_delete_leaves_nothing_behind(world_a, mqtt_broker, committed):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    result = provisioning.gateway_provision(site=plant, actor=Actor.system("test"), hardware_id="hw-2")
    assert result.gateway.identity in _broker_clients()
    with committed():
        deprovisioning.gateway_deprovision(gateway=result.gateway, actor=Actor.system("test"), delete=True)
    assert result.gateway.identity not in _broker_clients()
    assert not Gateway.objects.exists() and not Device.objects.filter(hardware_id="hw-2").exists()
    assert RevokedCertificate.objects.filter(serial=result.gateway.cert_serial).exists()
    crl = (mqtt_broker.directory / "crl.pem").read_text()
    assert crl.count("BEGIN X509 CRL") == 2  # the root's and the tenant's


def test_revoking_the_device_elsewhere_is_swept_off_the_broker(world_a, mqtt_broker):
    from apps.devices.services import device_revoke

    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    result = provisioning.gateway_provision(site=plant, actor=Actor.system("test"), hardware_id="hw-3")
    device_revoke(device=result.gateway.device, actor=Actor.system("test"), reason="lost")
    assert deprovisioning.gateway_revocations_sync() == 1
    assert result.gateway.identity not in _broker_clients()
    result.gateway.refresh_from_db()
    assert result.gateway.status == "revoked"


def test_tenant_admin_provisions_over_the_api(world_a, world_b, mqtt_broker, client_for):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    _key, csr = gateway_key_and_csr()
    admin = client_for(world_a.admin, world_a.tenant)
    response = admin.post("/api/v1/iot/gateways/", {"plant": plant.public_id, "hardware_id": "inv-gw-1",
                                                    "csr": csr}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "active" and "BEGIN CERTIFICATE" in body["certificate"]
    assert body["data_topic"] == f"solar/{plant.public_id}/data" and body["key_available"] is False
    assert "private_key" not in body

    staff = client_for(world_a.staff, world_a.tenant)
    assert staff.post("/api/v1/iot/gateways/", {"plant": plant.public_id, "hardware_id": "x"},
                      format="json").status_code == 403
    assert staff.get("/api/v1/iot/gateways/").json()[0]["id"] == body["id"]
    foreign = client_for(world_b.admin, world_b.tenant)
    assert foreign.get(f"/api/v1/iot/gateways/{body['id']}/").status_code == 404
    assert foreign.post(f"/api/v1/iot/gateways/{body['id']}/revoke/", {}, format="json").status_code == 404
    assert foreign.post("/api/v1/iot/gateways/", {"plant": plant.public_id, "hardware_id": "inv-gw-2"},
                        format="json").status_code == 404

    bad = admin.post("/api/v1/iot/gateways/", {"plant": SiteFactory(tenant=world_a.tenant, kind="plant").public_id,
                                               "hardware_id": "inv-gw-3", "csr": "not a csr"}, format="json")
    assert bad.status_code == 400 and "csr" in bad.json()["error"]["fields"]
    assert not Device.objects.filter(hardware_id="inv-gw-3").exists()

    revoked = admin.post(f"/api/v1/iot/gateways/{body['id']}/revoke/", {"reason": "replaced"}, format="json")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"


def test_server_made_key_is_downloadable_once(world_a, mqtt_broker, client_for):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    admin = client_for(world_a.admin, world_a.tenant)
    body = admin.post("/api/v1/iot/gateways/", {"plant": plant.public_id, "hardware_id": "old-gw"},
                      format="json").json()
    assert body["key_available"] is True
    first = admin.post(f"/api/v1/iot/gateways/{body['id']}/key/", {}, format="json")
    assert first.status_code == 200 and "PRIVATE KEY" in first.json()["private_key"]
    assert admin.post(f"/api/v1/iot/gateways/{body['id']}/key/", {}, format="json").status_code == 409
    assert Gateway.objects.get().key_encrypted == ""


def test_without_mqtt_plants_still_work_and_provisioning_says_why(world_a, settings, client_for):
    settings.MQTT_URL = ""
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    response = client_for(world_a.admin, world_a.tenant).post(
        "/api/v1/iot/gateways/", {"plant": plant.public_id, "hardware_id": "gw"}, format="json")
    assert response.status_code == 503
    assert "MQTT is not configured" in response.json()["error"]["message"]


def test_creating_a_plant_with_a_gateway_provisions_it(world_a, mqtt_broker, client_for):
    _key, csr = gateway_key_and_csr()
    response = client_for(world_a.admin, world_a.tenant).post(
        "/api/v1/iot/plants/", {"name": "Alentejo 3", "location_id": "ALT-3",
                                "gateway": {"hardware_id": "alt3-gw", "csr": csr}}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "plant" and body["warnings"] == []
    assert body["gateway"]["status"] == "active" and body["gateway"]["plant"] == body["id"]


def test_without_mqtt_a_plant_is_created_with_a_warning(world_a, settings, client_for):
    settings.MQTT_URL = ""
    response = client_for(world_a.admin, world_a.tenant).post(
        "/api/v1/iot/plants/", {"name": "Alentejo 4", "location_id": "ALT-4",
                                "gateway": {"hardware_id": "alt4-gw"}}, format="json")
    assert response.status_code == 201
    assert response.json()["gateway"] is None and "MQTT is not configured" in response.json()["warnings"][0]
    assert not Device.objects.filter(hardware_id="alt4-gw").exists()
