"""Shadows and commands over MQTT: a real Mosquitto, the real bridge process, the agent's
gateway mode (its MqttGateway and GatewayControl, with the power-limit and reboot hooks as
small real commands on this host)."""

from __future__ import annotations

import time

import pytest

from apps.audit.services import Actor
from apps.devices.commands import command_send
from apps.devices.models import Device, DeviceCommand
from apps.devices.shadows import shadow_desired_update
from apps.iot import pki, provisioning
from apps.iot.models import DeadLetter
from device_agent.gateway_commands import GatewayControl
from device_agent.mqtt_gateway import BrokerSettings, MqttGateway
from device_agent.outbox import Outbox
from tests.factories import SiteFactory, TenantFactory
from tests.iot.gateway import MqttTestClient, gateway_key_and_csr, write_identity
from tests.support.flows import wait_until
from tests.support.mosquitto import BridgeProcess, PrivateBroker


@pytest.fixture
def plant_broker(transactional_db, settings, tmp_path):
    broker = PrivateBroker(tmp_path / "broker")
    settings.MQTT_URL = broker.url
    settings.MQTT_BROKER_DIR = str(broker.directory)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def plant_gateway(plant_broker, tmp_path):
    plant = SiteFactory(tenant=TenantFactory(), kind="plant")
    key, csr = gateway_key_and_csr()
    result = provisioning.gateway_provision(site=plant, actor=Actor.system("test"), hardware_id="fleet-gw", csr_pem=csr)
    tls = write_identity(tmp_path / "gw", cert_pem=result.certificate_pem, chain_pem=result.chain_pem,
                         key_pem=pki.key_pem(key), ca_pem=result.ca_pem)
    bridge = BridgeProcess(tmp_path / "bridge.log", plant_broker).start()
    wait_until(lambda: "connected" in bridge.log(), timeout=30, what="bridge connected")
    gateway = MqttGateway(BrokerSettings(host="127.0.0.1", port=plant_broker.port, ca_file=tls["ca_certs"],
                                         cert_file=tls["certfile"], key_file=tls["keyfile"],
                                         plant_id=plant.public_id, client_id="fleet-gw"),
                          Outbox(str(tmp_path / "outbox.sqlite")), retry_seconds=0.5)
    limit_file, reboot_file = tmp_path / "limit", tmp_path / "rebooted"
    control = GatewayControl(gateway, interval=10.0,
                             power_limit_command=f"sh -c 'echo {{percent}} > {limit_file}'",
                             reboot_command=f"touch {reboot_file}")
    gateway.on_command, gateway.on_delta = control.on_command, control.on_delta
    gateway.start()
    wait_until(lambda: gateway._connected.is_set(), timeout=15, what="gateway connected")
    try:
        yield plant, result.gateway.device, gateway, control, limit_file, reboot_file, tls
    finally:
        gateway.stop()
        gateway.join(timeout=10)
        bridge.stop()


def test_a_desired_change_reaches_the_gateway_within_2_s_and_converges(plant_gateway):
    plant, device, gateway, control, limit_file, _reboot, _tls = plant_gateway
    time.sleep(1)  # the bridge's first poll found nothing to say
    started = time.monotonic()
    shadow_desired_update(device=device, actor=Actor.system("test"),
                          patch={"telemetry_interval_seconds": 5, "power_limit_percent": 70})
    wait_until(lambda: gateway.applied_version > 0, timeout=5, interval=0.02, what="the delta at the gateway")
    assert time.monotonic() - started < 2
    assert control.interval == 5.0
    assert wait_until(lambda: limit_file.exists() and limit_file.read_text().strip() == "70", timeout=5)
    converged = wait_until(lambda: Device.objects.filter(pk=device.pk, shadow_pending_since__isnull=True)
                           .exclude(reported_state={}).first(), timeout=10, what="reported converged")
    assert converged.reported_state == {"telemetry_interval_seconds": 5, "power_limit_percent": 70}
    assert converged.shadow_version == 2
    # The converged report clears the retained delta: the bridge publishes an empty retained
    # message right after the report's commit, from its own process, so under load it may trail
    # the commit by a moment. From then on, a gateway that reconnects finds no stale delta.
    gateway.stop()
    gateway.join(timeout=10)
    topic = f"solar/{plant.public_id}/shadow/delta"
    assert wait_until(lambda: _retained_on(topic, gateway.settings) == [], timeout=5, interval=0.2,
                      what="the retained delta cleared")


def _retained_on(topic: str, settings: BrokerSettings) -> list[bytes]:
    """What a gateway subscribing now would be handed as retained on `topic`."""
    probe = MqttTestClient(settings.port, {"ca_certs": settings.ca_file, "certfile": settings.cert_file,
                                           "keyfile": settings.key_file}, client_id="probe")
    try:
        assert not probe.connect().is_failure
        probe.subscribe(topic)
        time.sleep(0.5)
        return [message.payload for message in list(probe.messages.queue) if message.retain]
    finally:
        probe.close()


def test_commands_reach_the_gateway_and_are_acknowledged(plant_gateway):
    plant, device, _gateway, _control, limit_file, reboot_file, _tls = plant_gateway
    actor = Actor.system("test")
    [limit] = command_send(tenant=device.tenant, actor=actor, name="set_power_limit", device=device,
                           params={"percent": 40})
    done = wait_until(lambda: DeviceCommand.objects.filter(pk=limit.pk, status="acked").first(), timeout=10,
                      what="the power limit acknowledged")
    assert done.delivered_via == "mqtt" and done.result["percent"] == 40
    assert limit_file.read_text().strip() == "40"
    [reboot] = command_send(tenant=device.tenant, actor=actor, name="reboot", device=device)
    [rotate] = command_send(tenant=device.tenant, actor=actor, name="rotate_key", device=device)
    [flush] = command_send(tenant=device.tenant, actor=actor, name="flush", device=device)
    wait_until(lambda: reboot_file.exists(), timeout=10, what="the reboot hook")
    assert wait_until(lambda: DeviceCommand.objects.filter(pk=reboot.pk, status="acked").exists(), timeout=10)
    failed = wait_until(lambda: DeviceCommand.objects.filter(pk=rotate.pk, status="failed").first(), timeout=10)
    assert "does not implement" in failed.result["error"]
    assert wait_until(lambda: DeviceCommand.objects.filter(pk=flush.pk, status="acked").exists(), timeout=10)
    assert not DeadLetter.objects.exists()
