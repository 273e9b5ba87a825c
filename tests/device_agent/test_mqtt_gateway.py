"""Gateway mode's command handling: each command runs once and is acknowledged every time."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from device_agent.mqtt_gateway import BrokerSettings, MqttGateway, queue_source_output
from device_agent.outbox import Outbox

pytest.importorskip("paho.mqtt.client")


class RecordingClient:
    def __init__(self):
        self.published = []

    def publish(self, topic, payload, qos=0):
        self.published.append((topic, json.loads(payload), qos))


@pytest.fixture
def gateway(tmp_path):
    from apps.iot import pki

    root = pki.create_root_ca()
    leaf = pki.issue_client_keypair(issuer=root, common_name="gw.test.tocsin", serial=1)
    for name, text in (
        ("ca.pem", root.cert_pem),
        ("cert.pem", leaf.cert_pem),
        ("key.pem", leaf.key_pem),
    ):
        (tmp_path / name).write_text(text)
    ran = []
    settings = BrokerSettings(
        host="127.0.0.1",
        port=1,
        ca_file=str(tmp_path / "ca.pem"),
        cert_file=str(tmp_path / "cert.pem"),
        key_file=str(tmp_path / "key.pem"),
        plant_id="site_abc",
    )
    gateway = MqttGateway(settings, Outbox(str(tmp_path / "outbox.sqlite")), on_command=ran.append)
    return gateway, ran


def test_a_command_runs_once_and_is_acknowledged_each_time(gateway):
    gateway, ran = gateway
    client = RecordingClient()
    message = SimpleNamespace(
        topic="solar/site_abc/commands/c1",
        payload=json.dumps({"commandId": "c1", "name": "reboot"}),
    )
    gateway._on_message(client, None, message)
    gateway._on_message(client, None, message)
    assert len(ran) == 1
    assert [
        (topic, body["commandId"], body["status"]) for topic, body, _qos in client.published
    ] == [("solar/site_abc/commands/ack", "c1", "ok"), ("solar/site_abc/commands/ack", "c1", "ok")]


def test_source_output_is_queued_in_the_outbox(gateway):
    gateway, _ran = gateway
    text = json.dumps([{"deviceId": "inv-1", "metrics": {"power_ac": 1.5}}, {"metrics": "bad"}])
    assert queue_source_output(gateway.outbox, "site_abc", text, now=1_800_000_000.0) == 1
    batch = gateway.outbox.take_batch("mqtt_reading", 10)
    assert (
        batch.items[0].payload["plantId"] == "site_abc"
        and batch.items[0].payload["deviceId"] == "inv-1"
    )
