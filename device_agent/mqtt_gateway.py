"""Gateway mode over MQTT: inverter readings published with the gateway's certificate.

Why it is shaped like this:

* Every reading is committed to the durable outbox first (its own kind, so the HTTP sender
  never touches it) and deleted only when the broker acknowledged it (QoS 1 PUBACK). With
  the broker unreachable the outbox simply grows; once it is back, everything goes out in
  order, each message with the `messageId` it got when it was queued, so a resend after a
  lost PUBACK is dropped by the server's dedup layer 1.
* The identity is the X.509 client certificate (key made on the gateway, CSR signed by
  Tocsin); the broker allows this gateway only its plant's topics.
* Commands arrive on `solar/<plant>/commands/<id>` and each is acknowledged on
  `solar/<plant>/commands/ack` after its handler ran; a command seen before is acknowledged
  again without running twice.
* The shadow delta arrives (retained, with its version) on `solar/<plant>/shadow/delta`;
  what the delta handler applied is reported on `solar/<plant>/shadow/reported`, so the
  server's delta empties. Keys the handler does not apply are not reported (drift says so).

paho-mqtt is an optional extra (`pip install tocsin-device-agent[mqtt]`): scanners and
tablets never carry it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from device_agent.outbox import NewItem, Outbox
from device_agent.timeutil import iso_utc

log = logging.getLogger(__name__)

MQTT_READING = "mqtt_reading"
REMEMBERED_COMMANDS = 1000


@dataclass(frozen=True)
class BrokerSettings:
    host: str
    port: int
    ca_file: str
    cert_file: str
    key_file: str
    plant_id: str
    client_id: str = ""
    keepalive: int = 30


def reading_item(*, plant_id: str, inverter: str, ts: float, metrics: dict[str, float]) -> NewItem:
    """One inverter's figures at one moment: the server's message shape."""
    message_id = str(uuid.uuid4())
    return NewItem(
        kind=MQTT_READING,
        item_id=message_id,
        occurred_at=ts,
        payload={
            "plantId": plant_id,
            "deviceId": inverter,
            "timestamp": iso_utc(ts),
            "messageId": message_id,
            "metrics": metrics,
        },
    )


CommandHandler = Callable[[dict], Any]
# Takes the delta, returns the keys (and values) now applied.
DeltaHandler = Callable[[dict], dict]


class MqttGateway(threading.Thread):
    """Publishes the outbox's MQTT readings and serves commands until `stop()`."""

    def __init__(
        self,
        settings: BrokerSettings,
        outbox: Outbox,
        *,
        batch_size: int = 200,
        on_command: CommandHandler | None = None,
        on_delta: DeltaHandler | None = None,
        retry_seconds: float = 2.0,
    ) -> None:
        super().__init__(name="mqtt-gateway", daemon=True)
        import paho.mqtt.client as mqtt  # the optional extra: imported only in gateway mode

        self._mqtt = mqtt
        self.settings = settings
        self.outbox = outbox
        self.batch_size = batch_size
        self.on_command = on_command
        self.on_delta = on_delta
        self.applied_version = 0
        self.retry_seconds = retry_seconds
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._connected = threading.Event()
        self._handled: OrderedDict[str, Any] = OrderedDict()
        self.published = 0
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=settings.client_id or "",
            protocol=mqtt.MQTTv5,
        )
        self.client.tls_set(
            ca_certs=settings.ca_file, certfile=settings.cert_file, keyfile=settings.key_file
        )
        self.client.max_inflight_messages_set(min(batch_size, 1000))
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    @property
    def data_topic(self) -> str:
        return f"solar/{self.settings.plant_id}/data"

    def _on_connect(
        self, client: Any, _userdata: Any, _flags: Any, reason: Any, _properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused the gateway: %s", reason)
            return
        client.subscribe(
            [(f"solar/{self.settings.plant_id}/commands/+", 1), (self._topic("shadow/delta"), 1)]
        )
        self._connected.set()
        self._wake.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self._connected.clear()

    def _topic(self, suffix: str) -> str:
        return f"solar/{self.settings.plant_id}/{suffix}"

    def _on_delta(self, client: Any, payload: bytes) -> None:
        """Apply the delta's keys the handler knows, report them; an older version is ignored."""
        if not payload:
            return  # the retained delta was cleared: nothing is pending
        try:
            document = json.loads(payload)
            version, delta = int(document["version"]), document["delta"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed shadow delta")
            return
        if version <= self.applied_version or not isinstance(delta, dict) or self.on_delta is None:
            return
        try:
            applied = self.on_delta(delta)
        except Exception:  # noqa: BLE001 (not applied: drift will say so)
            log.exception("the shadow delta could not be applied")
            return
        self.applied_version = version
        if applied:
            client.publish(self._topic("shadow/reported"), json.dumps({"reported": applied}), qos=1)

    def _on_message(self, client: Any, _userdata: Any, message: Any) -> None:
        if message.topic == self._topic("shadow/delta"):
            self._on_delta(client, message.payload)
            return
        if message.topic.endswith("/commands/ack"):
            return
        try:
            command = json.loads(message.payload)
            command_id = str(command["commandId"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed command on %s", message.topic)
            return
        if command_id in self._handled:
            status, result = self._handled[command_id]
        else:
            try:
                if self.on_command is None:
                    raise RuntimeError("this gateway runs no commands")
                result, status = self.on_command(command), "ok"
            except Exception as exc:  # noqa: BLE001  (the server is told, the gateway goes on)
                status, result = "failed", {"error": str(exc)[:200]}
            self._handled[command_id] = (status, result)
            while len(self._handled) > REMEMBERED_COMMANDS:
                self._handled.popitem(last=False)
        ack = {
            "commandId": command_id,
            "status": status,
            "result": result,
            "at": iso_utc(time.time()),
        }
        client.publish(f"solar/{self.settings.plant_id}/commands/ack", json.dumps(ack), qos=1)

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        self.client.connect_async(
            self.settings.host, self.settings.port, keepalive=self.settings.keepalive
        )
        self.client.loop_start()
        try:
            while not self._stopping.is_set():
                if not self._connected.wait(timeout=0.5):
                    continue
                if not self._publish_batch():
                    self._wake.wait(timeout=1.0)
                    self._wake.clear()
        finally:
            self.client.disconnect()
            self.client.loop_stop()

    def _publish_batch(self) -> bool:
        """One outbox batch, acknowledged item by item as PUBACKs arrive; False when idle."""
        batch = self.outbox.take_batch(MQTT_READING, self.batch_size)
        if batch is None:
            return False
        pending = [
            (item, self.client.publish(self.data_topic, json.dumps(item.payload), qos=1))
            for item in batch.items
        ]
        acknowledged = []
        for item, info in pending:
            try:
                info.wait_for_publish(timeout=10)
            except (RuntimeError, ValueError):
                break  # disconnected: the rest stays in the outbox and goes out again
            if not info.is_published():
                break
            acknowledged.append(item.seq)
        self.outbox.ack(acknowledged)
        self.published += len(acknowledged)
        if len(acknowledged) < len(pending):
            self.outbox.record_failure(
                [item.seq for item, _info in pending[len(acknowledged) :]], "broker unreachable"
            )
            time.sleep(self.retry_seconds)
        return True


def queue_source_output(outbox: Outbox, plant_id: str, text: str, now: float) -> int:
    """A source's JSON (one or a list of `{"deviceId", "metrics", "timestamp"?}`), queued."""
    from device_agent.timeutil import parse_iso_epoch

    try:
        document = json.loads(text)
    except ValueError:
        log.warning("the reading source printed something that is not JSON")
        return 0
    entries = document if isinstance(document, list) else [document]
    items = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("metrics"), dict):
            continue
        ts = parse_iso_epoch(entry["timestamp"]) if isinstance(entry.get("timestamp"), str) else now
        items.append(
            reading_item(
                plant_id=plant_id,
                inverter=str(entry.get("deviceId", "inverter")),
                ts=ts or now,
                metrics=entry["metrics"],
            )
        )
    outbox.put_many(items)
    return len(items)


def main(argv: list | None = None) -> int:
    """`python -m device_agent.mqtt_gateway ...`: see device_agent/mqtt_gateway_cli.py."""
    from device_agent.mqtt_gateway_cli import run

    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())
