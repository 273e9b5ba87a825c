"""Deleting (archiving) a plant deprovisions its gateway against a real Mosquitto: the broker
identity goes first (the open session is cut), then the certificate (CRL), then the device,
each audited; the gateway can no longer connect and nothing of it is left on the broker."""

from __future__ import annotations

import time

import pytest

from apps.audit.models import AuditEntry
from apps.audit.services import Actor
from apps.devices import services as device_services
from apps.devices.models import Device
from apps.iot import broker_control, deprovisioning, provisioning
from apps.iot.models import Gateway, RevokedCertificate
from apps.tenancy.services import site_delete
from tests.factories import SiteFactory
from tests.iot.gateway import MqttTestClient
from tests.iot.test_broker_acl import _provision

pytestmark = pytest.mark.django_db


def _broker_clients() -> set[str]:
    with broker_control.BrokerControl() as control:
        response = control.run({"command": "listClients"})
    return set(response[0]["data"]["clients"])


def test_archiving_a_plant_cuts_its_gateway_off_in_order(world_a, mqtt_broker, tmp_path, client_for, committed,
                                                        monkeypatch):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    result, tls = _provision(plant, tmp_path)
    identity, serial = result.gateway.identity, result.gateway.cert_serial
    hardware_id = result.gateway.device.hardware_id
    session = MqttTestClient(mqtt_broker.port, tls)
    assert not session.connect().is_failure

    seen_at_device_revocation = {}
    real_revoke = device_services.device_revoke

    def revoke_and_look(**kwargs):
        seen_at_device_revocation.update(on_broker=identity in _broker_clients(),
                                         certificate_revoked=RevokedCertificate.objects.filter(serial=serial).exists())
        return real_revoke(**kwargs)

    monkeypatch.setattr(deprovisioning, "device_revoke", revoke_and_look)
    with committed():
        response = client_for(world_a.admin, world_a.tenant).delete(f"/api/v1/sites/{plant.public_id}/")
    assert response.status_code == 204

    assert seen_at_device_revocation == {"on_broker": False, "certificate_revoked": True}
    assert session.disconnected.wait(5), "the open session was not cut"
    assert identity not in _broker_clients()
    gateway = Gateway.objects.get(pk=result.gateway.pk) if Gateway.objects.exists() else None
    assert gateway is None or gateway.status == "revoked"
    assert not Device.objects.filter(hardware_id=hardware_id, status="active").exists()
    assert "BEGIN X509 CRL" in (mqtt_broker.directory / "crl.pem").read_text()
    time.sleep(0.3)  # the broker rereads its CRL on the SIGHUP Tocsin sent
    assert MqttTestClient(mqtt_broker.port, tls).connect() is None  # the revoked certificate is refused

    entry = AuditEntry.objects.get(tenant=world_a.tenant, action="gateway.deprovisioned")
    assert entry.details["broker_identity_removed"] is True and entry.details["reason"] == "plant deprovisioned"
    assert entry.actor_id == str(world_a.admin.pk)
    actions = list(AuditEntry.objects.filter(tenant=world_a.tenant).order_by("id").values_list("action", flat=True))
    assert actions.index("gateway.deprovisioned") < actions.index(next(a for a in actions if a.startswith("site.")))


def test_a_plant_without_history_is_deleted_and_leaves_nothing_on_the_broker(world_a, mqtt_broker, committed):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    result = provisioning.gateway_provision(site=plant, actor=Actor.system("test"), hardware_id="hw-bare")
    with committed():
        outcome = site_delete(site=plant, actor=None)
    assert outcome in ("deleted", "archived")
    assert result.gateway.identity not in _broker_clients()
    assert RevokedCertificate.objects.filter(serial=result.gateway.cert_serial).exists()
    assert not Gateway.objects.filter(status="active").exists()


def test_with_the_broker_down_the_plant_is_still_archived_and_the_sweep_finishes(world_a, mqtt_broker, committed):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    result = provisioning.gateway_provision(site=plant, actor=Actor.system("test"), hardware_id="hw-down-later")
    mqtt_broker.stop()
    with committed():
        site_delete(site=plant, actor=None)
    assert RevokedCertificate.objects.filter(serial=result.gateway.cert_serial).exists()
    entry = AuditEntry.objects.get(action="gateway.deprovisioned")
    assert entry.details["broker_identity_removed"] is False
    mqtt_broker.start()
    assert deprovisioning.gateway_revocations_sync() >= 1
    assert result.gateway.identity not in _broker_clients()
