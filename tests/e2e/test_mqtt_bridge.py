"""The bridge as a real process between a real Mosquitto and PostgreSQL.

SIGKILL in the middle of 10,000 QoS 1 messages, then a restart: every reading stored
exactly once, and the counters say which dedup layer dropped which duplicates.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from apps.alerts.models import Alert
from apps.audit.services import Actor
from apps.ingest.models import TelemetryReading
from apps.iot import pki, provisioning
from apps.iot.models import BridgeCounter, DeadLetter
from tests.factories import SiteFactory, TenantFactory
from tests.iot.gateway import MqttTestClient, gateway_key_and_csr, write_identity
from tests.support.flows import wait_until
from tests.support.mosquitto import BridgeProcess, PrivateBroker

MESSAGES = 10_000
START = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)


@pytest.fixture
def plant_broker(transactional_db, settings, tmp_path):
    broker = PrivateBroker(tmp_path / "broker")
    settings.MQTT_URL = broker.url
    settings.MQTT_BROKER_DIR = str(broker.directory)
    broker.start()
    yield broker
    broker.stop()


def _counters() -> dict[str, int]:
    return dict(BridgeCounter.objects.values_list("name", "value"))


def _gateway(plant, broker, tmp_path):
    key, csr = gateway_key_and_csr()
    result = provisioning.gateway_provision(site=plant, actor=Actor.system("test"), hardware_id=f"hw-{plant.pk}",
                                        csr_pem=csr)
    tls = write_identity(tmp_path / "gw", cert_pem=result.certificate_pem, chain_pem=result.chain_pem,
                         key_pem=pki.key_pem(key), ca_pem=result.ca_pem)
    client = MqttTestClient(broker.port, tls)
    client.client.max_inflight_messages_set(500)
    client.client.max_queued_messages_set(0)
    assert not client.connect().is_failure
    return client


def _payload(plant, index: int, *, message_id: str | None = None, voltage: float = 600.0) -> bytes:
    ts = START + timedelta(seconds=index)
    return json.dumps({"plantId": plant.public_id, "deviceId": f"inv-{index % 10}", "timestamp": ts.isoformat(),
                       "messageId": message_id or f"m-{index}",
                       "metrics": {"power_ac": 1000.0 + index, "voltage_dc": voltage}}).encode()


def test_sigkill_mid_stream_loses_nothing_and_stores_nothing_twice(plant_broker, tmp_path):
    plant = SiteFactory(tenant=TenantFactory(), kind="plant")
    gateway = _gateway(plant, plant_broker, tmp_path)
    topic = f"solar/{plant.public_id}/data"
    bridge = BridgeProcess(tmp_path / "bridge-1.log", plant_broker).start()
    # A persistent session exists once the bridge has subscribed; from then on the broker queues for it.
    wait_until(lambda: "connected" in bridge.log(), timeout=30, what="bridge connected")
    time.sleep(0.5)

    infos = [gateway.client.publish(topic, _payload(plant, i), qos=1) for i in range(MESSAGES // 2)]
    wait_until(lambda: TelemetryReading.objects.count() >= 2000, timeout=60, what="bridge storing")
    bridge.kill()
    killed_at = TelemetryReading.objects.count()
    infos += [gateway.client.publish(topic, _payload(plant, i), qos=1) for i in range(MESSAGES // 2, MESSAGES)]
    # Layer 1: the gateway resends 100 messages (same message id) after a reconnect of its own.
    infos += [gateway.client.publish(topic, _payload(plant, i), qos=1) for i in range(100)]
    # Layer 2: 100 readings republished under new message ids (a gateway that lost its outbox index).
    infos += [gateway.client.publish(topic, _payload(plant, i, message_id=f"again-{i}"), qos=1)
              for i in range(100, 200)]
    # Layer 3: one inverter over its DC voltage limit, 20 times: one alert, 19 duplicates of it.
    infos += [gateway.client.publish(topic, _payload(plant, MESSAGES + i * 10, voltage=1200.0), qos=1)
              for i in range(20)]
    # Not ours to store: a malformed message goes to the dead-letter table, the bridge goes on.
    infos.append(gateway.client.publish(topic, b"{not json", qos=1))
    for info in infos:
        info.wait_for_publish(timeout=60)

    bridge = BridgeProcess(tmp_path / "bridge-2.log", plant_broker).start()
    expected = (MESSAGES + 20) * 2
    try:
        wait_until(lambda: TelemetryReading.objects.count() >= expected and _counters().get("messages.dead_letter"),
                   timeout=180, interval=0.5, what="every reading stored after the restart")
        wait_until(lambda: _counters().get("duplicates.reading", 0) >= 200, timeout=30, what="layer 2 counted")
        time.sleep(1.0)
    finally:
        bridge.stop()
        gateway.close()

    assert killed_at < MESSAGES * 2, "the bridge was killed after it had finished: no mid-stream kill"
    readings = TelemetryReading.objects.filter(device__site=plant)
    assert readings.count() == expected
    assert readings.values("inverter", "metric", "ts").distinct().count() == expected
    counters = _counters()
    assert counters["messages.stored"] == MESSAGES + 20 + 100  # the 100 re-ided messages are new at layer 1
    assert counters["readings.stored"] == expected
    assert counters["duplicates.message"] >= 100  # the resends, plus any redelivery of a committed batch
    assert counters["duplicates.reading"] == 200
    assert counters["duplicates.alert"] == 19
    assert counters["messages.dead_letter"] == 1
    assert DeadLetter.objects.get().reason == "payload is not JSON"
    alert = Alert.objects.get(kind="telemetry")
    assert alert.details["inverter"] == "inv-0" and alert.count == 20
    print(f"killed after {killed_at} readings; layer 1 dropped {counters['duplicates.message']}")  # noqa: T201
