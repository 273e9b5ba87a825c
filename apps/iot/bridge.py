"""The MQTT bridge process (`manage.py mqtt_bridge`): broker → readings, acknowledged after commit.

Invariant: a message is acknowledged (PUBACK) only after the transaction holding its
readings has committed. paho-mqtt's `manual_ack` keeps PUBACK back until `ack()`; the
session is persistent (MQTT v5 clean start off, a session expiry), so whatever was not
acknowledged when the bridge died is redelivered to it, or to another bridge of the
shared subscription, and the dedup layers drop what had already been committed.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections

from apps.common.heap import settle_heap
from apps.iot import broker, broker_control
from apps.iot.control import Outgoing, apply_control, is_control
from apps.iot.ingest import Inbound, ingest_isolating

logger = logging.getLogger(__name__)

SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
# With the broker's watcher rereading the CRL every 30 s, a revocation anywhere reaches it in < 60 s.
CRL_REFRESH_SECONDS = 15.0
# How often commands and shadow deltas are looked for: a change reaches a gateway in < 2 s.
OUTGOING_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class _Received:
    mid: int
    qos: int
    inbound: Inbound


class Bridge:
    def __init__(self, *, client_id: str, batch_size: int | None = None, batch_wait_ms: int | None = None,
                 shared: bool | None = None, retire: bool = False):
        self.client_id = client_id
        self.retire = retire
        self.shared = settings.MQTT_BRIDGE_SHARED if shared is None else shared
        self.batch_size = batch_size or settings.MQTT_BRIDGE_BATCH_SIZE
        self.batch_wait = (batch_wait_ms if batch_wait_ms is not None else settings.MQTT_BRIDGE_BATCH_WAIT_MS) / 1000
        self.inbox: queue.Queue[_Received] = queue.Queue()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.client = None
        self.outgoing: Outgoing | None = None

    # --- paho's thread ---------------------------------------------------------------------

    def _on_connect(self, client, _userdata, flags, reason, _properties) -> None:
        if reason.is_failure:
            logger.error("broker refused the bridge: %s", reason)
            return
        logger.info("bridge connected (session present: %s)", flags.session_present)
        if self.retire:
            client.unsubscribe([broker.SHARED_SUBSCRIPTION, broker.EXCLUSIVE_SUBSCRIPTION,
                                *broker.CONTROL_TOPICS, *broker.SHARED_CONTROL_SUBSCRIPTIONS])
            self.connected.set()
            return
        # Always resubscribe: Mosquitto 2.0 does not restore a shared subscription from its
        # persistence file after a broker restart (a plain one it does).
        if self.shared:
            topics = [broker.SHARED_SUBSCRIPTION, *broker.SHARED_CONTROL_SUBSCRIPTIONS]
        else:
            topics = [broker.EXCLUSIVE_SUBSCRIPTION, *broker.CONTROL_TOPICS]
        client.subscribe([(topic, 1) for topic in topics])
        self.connected.set()

    def _on_disconnect(self, _client, _userdata, _flags, reason, _properties) -> None:
        self.connected.clear()
        if not self.stopping.is_set():
            logger.warning("bridge disconnected from the broker (%s); reconnecting", reason)

    def _on_message(self, _client, _userdata, message) -> None:
        correlation = getattr(message.properties, "CorrelationData", None) if message.properties else None
        self.inbox.put(_Received(message.mid, message.qos,
                                 Inbound(topic=message.topic, payload=message.payload, correlation=correlation)))

    # --- the main thread -------------------------------------------------------------------

    def start(self) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        address = broker.broker_address()
        client = broker_control.new_client(role=broker.BRIDGE_ROLE, client_id=self.client_id, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=2)  # back on the subscription fast
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        # How many unacknowledged messages the broker may send: two batches in flight.
        properties.ReceiveMaximum = min(65535, self.batch_size * 2)
        client.connect_async(address.host, address.port, keepalive=30, clean_start=False, properties=properties)
        client.loop_start()
        self.client = client

    def _collect(self) -> list[_Received]:
        try:
            first = self.inbox.get(timeout=0.5)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_wait
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=max(remaining, 0)) if remaining > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _commit(self, batch: list[_Received]) -> None:
        """Until it commits: a database outage holds the batch (unacknowledged), never drops it."""
        delay = 0.5
        control = [item for item in batch if is_control(item.inbound.topic)]
        applied_control = bool(control)
        data = [item.inbound for item in batch if not is_control(item.inbound.topic)]
        while True:
            try:
                outcome = ingest_isolating(data) if data else None
                for item in control:
                    apply_control(item.inbound)
                control = []
                break
            except (OperationalError, InterfaceError) as exc:
                logger.warning("database error (%s); retrying the batch of %d in %.1fs",
                               type(exc.__cause__ or exc).__name__, len(batch), delay)
                close_old_connections()
                time.sleep(delay)
                delay = min(delay * 2, 10)
        for item in batch:
            if item.qos > 0:
                self.client.ack(item.mid, item.qos)
        if applied_control and self.outgoing is not None:
            self._publish_outgoing()  # a report that converged clears the retained delta at once
        if outcome is not None:
            logger.debug("batch: %d messages, %d readings stored, duplicates %s, %d dead letters",
                         outcome.stored_messages, outcome.stored_readings, outcome.duplicates, outcome.dead_letters)

    def _publish_outgoing(self) -> None:
        """Commands and shadow deltas for the gateways (apps/iot/control.py)."""
        if not self.connected.is_set():
            return  # claimed commands would wait in paho's queue; leave them pending instead
        try:
            self.outgoing.poll()
        except (OperationalError, InterfaceError):
            logger.warning("could not read outgoing commands and deltas; retrying", exc_info=True)
            close_old_connections()

    def _refresh_crl(self) -> None:
        try:
            if broker.refresh_crl_file():
                logger.info("revocations changed: the broker's CRL was rewritten")
        except (OperationalError, InterfaceError, OSError):
            logger.warning("could not refresh the broker's CRL; retrying", exc_info=True)

    def retire_session(self, quiet_seconds: float = 3.0) -> int:
        """Scale down: take this bridge's id off the shared subscription, store what the broker
        had queued for it, then end its session. A bridge merely stopped keeps its session and
        the broker keeps queueing its share of the messages for its return."""
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.start()
        self.connected.wait(30)
        drained, quiet_since = 0, time.monotonic()
        while time.monotonic() - quiet_since < quiet_seconds:
            batch = self._collect()
            if batch:
                self._commit(batch)
                drained += len(batch)
                quiet_since = time.monotonic()
        self.stopping.set()
        properties = Properties(PacketTypes.DISCONNECT)
        properties.SessionExpiryInterval = 0
        self.client.disconnect(properties=properties)
        self.client.loop_stop()
        return drained

    def run(self) -> None:
        self.start()
        self.outgoing = Outgoing(self.client)
        next_crl = next_outgoing = 0.0
        try:
            while not self.stopping.is_set():
                if time.monotonic() >= next_crl:
                    self._refresh_crl()
                    next_crl = time.monotonic() + CRL_REFRESH_SECONDS
                if time.monotonic() >= next_outgoing:
                    self._publish_outgoing()
                    next_outgoing = time.monotonic() + OUTGOING_POLL_SECONDS
                batch = self._collect()
                if batch:
                    self._commit(batch)
                    close_old_connections()
                    settle_heap()  # once, after the first batch (apps/common/heap.py)
        finally:
            # What arrived but was not committed stays unacknowledged: the broker redelivers it.
            self.client.disconnect()
            self.client.loop_stop()

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_args: self.stopping.set())
