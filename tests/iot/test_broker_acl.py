"""The broker itself enforces identity and topics: a real Mosquitto 2 started by the test.

A provisioned gateway publishes its plant's data; the broker refuses its publish to another
plant, its subscription to another plant's commands, a certificate from another tenant's
CA, a revoked certificate and a client without a certificate.
"""

from __future__ import annotations

import time

import pytest

from apps.audit.services import Actor
from apps.iot import authority, broker, broker_control, deprovisioning, pki, provisioning
from tests.factories import SiteFactory
from tests.iot.gateway import MqttTestClient, gateway_key_and_csr, write_identity

pytestmark = pytest.mark.django_db


def _provision(site, tmp_path, name="gw"):
    key, csr = gateway_key_and_csr()
    result = provisioning.gateway_provision(site=site, actor=Actor.system("test"), hardware_id=f"hw-{name}-{site.pk}",
                                        csr_pem=csr)
    tls = write_identity(tmp_path / name, cert_pem=result.certificate_pem, chain_pem=result.chain_pem,
                         key_pem=pki.key_pem(key), ca_pem=result.ca_pem)
    return result, tls


def _bridge_listener(mqtt_broker):
    """Tocsin's bridge identity on the shared subscription, as the bridge process uses it."""
    client = broker_control.new_client(role=broker.BRIDGE_ROLE)
    listener = MqttTestClient(mqtt_broker.port, None)
    listener.client = client
    client.on_connect = lambda _c, _u, _f, reason, _p: listener.connack.put(reason)
    client.on_subscribe = lambda _c, _u, mid, reasons, _p: listener._on_ack(_c, _u, mid, reasons, _p)
    client.on_message = lambda _c, _u, message: listener.messages.put(message)
    assert not listener.connect().is_failure
    assert not listener.subscribe(broker.SHARED_SUBSCRIPTION).is_failure
    return listener


def test_gateway_publishes_only_to_its_own_plant(world_a, mqtt_broker, tmp_path):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    other_plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    _result, tls = _provision(plant, tmp_path)
    bridge = _bridge_listener(mqtt_broker)
    gateway = MqttTestClient(mqtt_broker.port, tls)
    assert not gateway.connect().is_failure

    assert not gateway.publish(f"solar/{plant.public_id}/data", b'{"ok": 1}').is_failure
    denied = gateway.publish(f"solar/{other_plant.public_id}/data", b'{"forged": 1}')
    assert denied.is_failure and denied.getName() == "Not authorized"

    received = bridge.messages.get(timeout=5)
    assert received.topic == f"solar/{plant.public_id}/data"
    time.sleep(0.3)
    assert bridge.messages.empty(), "the broker forwarded a publish to another plant's topic"

    assert gateway.subscribe(f"solar/{other_plant.public_id}/commands/#").getName() == "Not authorized"
    assert gateway.subscribe("solar/+/commands/#").getName() == "Not authorized"
    assert not gateway.subscribe(f"solar/{plant.public_id}/commands/#").is_failure
    gateway.close()
    bridge.close()


def test_certificate_from_another_tenants_ca_cannot_connect(world_a, world_b, mqtt_broker, tmp_path):
    """Tenant B's CA signs a certificate naming tenant A's gateway: the name constraint on
    B's CA makes the broker's TLS handshake fail, so it never gets A's permissions."""
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    result, _tls = _provision(plant, tmp_path)
    forged = pki.issue_client_keypair(issuer=authority.tenant_pair(world_b.tenant),
                                      common_name=result.gateway.identity, serial=4242)
    tls = write_identity(tmp_path / "forged", cert_pem=forged.cert_pem, chain_pem=authority.chain_pem(world_b.tenant),
                         key_pem=forged.key_pem, ca_pem=result.ca_pem)
    assert MqttTestClient(mqtt_broker.port, tls).connect() is None

    stranger_root = pki.create_root_ca()
    stranger = pki.issue_client_keypair(issuer=stranger_root, common_name=result.gateway.identity, serial=7)
    tls = write_identity(tmp_path / "stranger", cert_pem=stranger.cert_pem, chain_pem="", key_pem=stranger.key_pem,
                         ca_pem=result.ca_pem)
    assert MqttTestClient(mqtt_broker.port, tls).connect() is None


def test_client_without_a_certificate_cannot_connect(world_a, mqtt_broker, tmp_path):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    result, _tls = _provision(plant, tmp_path)
    ca_only = tmp_path / "ca.pem"
    ca_only.write_text(result.ca_pem)
    with_password = MqttTestClient(mqtt_broker.port, {"ca_certs": str(ca_only)}, username=result.gateway.identity,
                               password="guess")
    assert with_password.connect() is None
    assert MqttTestClient(mqtt_broker.port, None, username=result.gateway.identity, password="guess").connect() is None


def test_revocation_disconnects_the_session_and_the_certificate(world_a, mqtt_broker, tmp_path,
                                                                 django_capture_on_commit_callbacks):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    result, tls = _provision(plant, tmp_path)
    gateway = MqttTestClient(mqtt_broker.port, tls)
    assert not gateway.connect().is_failure

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        deprovisioning.gateway_deprovision(gateway=result.gateway, actor=Actor.system("test"), reason="stolen")
    assert gateway.disconnected.wait(10), "the open session was not cut"
    time.sleep(0.3)  # the broker rereads its CRL on the SIGHUP Tocsin sent
    assert MqttTestClient(mqtt_broker.port, tls).connect() is None
    assert time.monotonic() - started < 60
    result.gateway.refresh_from_db()
    assert result.gateway.status == "revoked" and result.gateway.device.status == "revoked"


def test_gateway_shadow_topics_are_its_own_plants_only(world_a, mqtt_broker, tmp_path):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    other_plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    _result, tls = _provision(plant, tmp_path)
    gateway = MqttTestClient(mqtt_broker.port, tls)
    assert not gateway.connect().is_failure
    assert not gateway.subscribe(f"solar/{plant.public_id}/shadow/delta").is_failure
    assert gateway.subscribe(f"solar/{other_plant.public_id}/shadow/delta").getName() == "Not authorized"
    assert not gateway.publish(f"solar/{plant.public_id}/shadow/reported", b'{"reported": {}}').is_failure
    assert not gateway.publish(f"solar/{plant.public_id}/commands/ack", b'{"commandId": "x"}').is_failure
    for topic in (f"solar/{other_plant.public_id}/shadow/reported", f"solar/{plant.public_id}/shadow/delta",
                  f"solar/{plant.public_id}/commands/cmd_forged", f"solar/{other_plant.public_id}/commands/ack"):
        assert gateway.publish(topic, b"{}").getName() == "Not authorized", topic
    gateway.close()
