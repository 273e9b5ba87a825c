"""The agent in gateway mode against a real broker and bridge: the broker stops for 30 s
mid-run and every reading still arrives, once.

The bridge runs on the plain subscription (MQTT_BRIDGE_SHARED=false): Mosquitto 2.0 does not
restore a shared subscription after its own restart, so messages published between the
broker's return and the bridge's resubscription would have no subscriber.
"""

from __future__ import annotations

import time

import pytest

from apps.audit.services import Actor
from apps.ingest.models import TelemetryReading
from apps.iot import pki, provisioning
from device_agent.mqtt_gateway import BrokerSettings, MqttGateway, reading_item
from device_agent.outbox import Outbox
from tests.factories import SiteFactory, TenantFactory
from tests.iot.gateway import gateway_key_and_csr, write_identity
from tests.support.flows import wait_until
from tests.support.mosquitto import BridgeProcess, PrivateBroker

OUTAGE_SECONDS = 30


@pytest.fixture
def plant_broker(transactional_db, settings, tmp_path):
    broker = PrivateBroker(tmp_path / "broker")
    settings.MQTT_URL = broker.url
    settings.MQTT_BROKER_DIR = str(broker.directory)
    broker.start()
    yield broker
    broker.stop()


def test_gateway_buffers_through_a_broker_outage(plant_broker, tmp_path):
    plant = SiteFactory(tenant=TenantFactory(), kind="plant")
    key, csr = gateway_key_and_csr()
    result = provisioning.gateway_provision(site=plant, actor=Actor.system("test"), hardware_id="agent-gw", csr_pem=csr)
    tls = write_identity(tmp_path / "gw", cert_pem=result.certificate_pem, chain_pem=result.chain_pem,
                         key_pem=pki.key_pem(key), ca_pem=result.ca_pem)
    bridge = BridgeProcess(tmp_path / "bridge.log", plant_broker, shared=False).start()
    wait_until(lambda: "connected" in bridge.log(), timeout=30, what="bridge connected")
    outbox = Outbox(str(tmp_path / "outbox.sqlite"))
    gateway = MqttGateway(BrokerSettings(host="127.0.0.1", port=plant_broker.port, ca_file=tls["ca_certs"],
                                         cert_file=tls["certfile"], key_file=tls["keyfile"],
                                         plant_id=plant.public_id, client_id="agent-gw"),
                          outbox, retry_seconds=0.5)
    gateway.start()
    sent = 0
    base = time.time() - 3600

    def produce(count: int) -> None:
        nonlocal sent
        for _ in range(count):
            outbox.put(reading_item(plant_id=plant.public_id, inverter=f"inv-{sent % 4}", ts=base + sent,
                                    metrics={"power_ac": float(sent), "voltage_dc": 610.0}))
            sent += 1
            gateway.notify()
            time.sleep(0.02)

    try:
        produce(100)
        wait_until(lambda: TelemetryReading.objects.count() >= 100, timeout=30, what="first readings stored")
        plant_broker.stop()
        outage_ends = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < outage_ends:
            produce(10)
            time.sleep(0.8)
        held = outbox.counts()
        plant_broker.start(write=False)
        produce(100)
        try:
            wait_until(lambda: TelemetryReading.objects.count() >= sent * 2, timeout=90, interval=0.5,
                       what="every reading stored after the outage")
        except TimeoutError as exc:
            raise AssertionError(f"stored {TelemetryReading.objects.count()} of {sent * 2}; outbox {outbox.counts()}"
                                 f" published {gateway.published}") from exc
    finally:
        gateway.stop()
        gateway.join(timeout=10)
        bridge.stop()
    readings = TelemetryReading.objects.filter(device=result.gateway.device)
    assert readings.count() == sent * 2
    assert readings.values("inverter", "metric", "ts").distinct().count() == sent * 2
    assert held is not None and sent > 400
