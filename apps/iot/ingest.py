"""The bridge's batch: MQTT messages in, readings committed, every duplicate counted by layer.

Invariant: a batch is one transaction: message ids seen (layer 1), readings stored
(layer 2, through the same ingest service as REST telemetry, so thresholds and alerts
behave identically, alert dedup being layer 3), dead letters and counters. The bridge
acknowledges the batch's messages to the broker only after this returns, so a crash at
any point means the broker redelivers and the layers drop what was already committed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from apps.devices.models import Device, DeviceStatus
from apps.ingest.services.telemetry import TelemetryBatch, telemetry_ingest_many
from apps.iot import messages
from apps.iot.models import DeadLetter, DedupLayer, Gateway, GatewayStatus, SeenMessage

logger = logging.getLogger(__name__)

PLANT_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Inbound:
    topic: str
    payload: bytes
    correlation: bytes | None = None


@dataclass
class BatchOutcome:
    stored_messages: int = 0
    stored_readings: int = 0
    duplicates: dict[str, int] = field(default_factory=lambda: {layer: 0 for layer in DedupLayer.values})
    dead_letters: int = 0


_plants: dict[str, tuple[float, Device | None]] = {}


def _gateway_device(plant_id: str) -> Device | None:
    """The live gateway of a plant, cached briefly: a revoked gateway is also cut off by the broker."""
    now = time.monotonic()
    cached = _plants.get(plant_id)
    if cached and now - cached[0] < PLANT_CACHE_SECONDS:
        return cached[1]
    gateway = (Gateway.objects.filter(site__public_id=plant_id, status=GatewayStatus.ACTIVE,
                                      device__status=DeviceStatus.ACTIVE)
               .select_related("device__tenant", "device__site").order_by().first())
    device = gateway.device if gateway else None
    _plants[plant_id] = (now, device)
    return device


def forget_plants() -> None:
    _plants.clear()


_SEEN_INSERT = """
INSERT INTO iot_seenmessage (site_id, message_key, seen_at)
SELECT seen.site_id, seen.message_key, now() FROM unnest(%s::bigint[], %s::varchar[]) AS seen(site_id, message_key)
ON CONFLICT (site_id, message_key) DO NOTHING
RETURNING site_id, message_key
"""
_COUNT = """
INSERT INTO iot_bridgecounter (name, value)
SELECT name, value FROM unnest(%s::varchar[], %s::bigint[]) AS c(name, value)
ON CONFLICT (name) DO UPDATE SET value = iot_bridgecounter.value + EXCLUDED.value
"""


def _excerpt(payload: bytes) -> str:
    return payload[:2048].decode("utf-8", errors="replace")


def ingest_batch(batch: list[Inbound]) -> BatchOutcome:
    outcome = BatchOutcome()
    dead: list[DeadLetter] = []
    parsed: list[tuple[Device, messages.PlantMessage]] = []
    keys_in_batch: set[tuple[int, str]] = set()
    for item in batch:
        try:
            message = messages.parse(topic=item.topic, payload=item.payload, correlation=item.correlation)
        except messages.Refused as exc:
            dead.append(DeadLetter(topic=item.topic[:300], payload_excerpt=_excerpt(item.payload), reason=str(exc)))
            continue
        device = _gateway_device(message.plant_id)
        if device is None:
            dead.append(DeadLetter(topic=item.topic[:300], payload_excerpt=_excerpt(item.payload),
                                   reason="no live gateway for this plant"))
            continue
        key = (device.site_id, message.message_key)
        if key in keys_in_batch:
            outcome.duplicates[DedupLayer.MESSAGE] += 1
            continue
        keys_in_batch.add(key)
        parsed.append((device, message))
    with transaction.atomic():
        fresh = _first_seen(parsed)
        outcome.duplicates[DedupLayer.MESSAGE] += len(parsed) - len(fresh)
        by_device: dict[int, TelemetryBatch] = {}
        for device, message in fresh:
            by_device.setdefault(device.pk, TelemetryBatch(device=device, readings=[])).readings.extend(
                message.readings)
        if by_device:
            # Device rows are locked in one order (their ids) in every bridge: two bridges on
            # the shared subscription hold messages of the same plants and must never deadlock.
            result = telemetry_ingest_many(batches=[by_device[pk] for pk in sorted(by_device)])
            outcome.stored_readings = sum(r.accepted for r in result.results)
            outcome.duplicates[DedupLayer.READING] = sum(r.duplicates for r in result.results)
            outcome.duplicates[DedupLayer.ALERT] = sum(1 for alert in result.alerts if alert.deduplicated)
        outcome.stored_messages = len(fresh)
        for letter in dead:
            letter.tenant_id = _tenant_of_topic(letter.topic)
        DeadLetter.objects.bulk_create(dead)
        outcome.dead_letters = len(dead)
        _count(outcome)
    return outcome


def _first_seen(parsed):
    if not parsed:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_SEEN_INSERT, [[device.site_id for device, _m in parsed],
                                      [message.message_key for _d, message in parsed]])
        inserted = {(site_id, key) for site_id, key in cursor.fetchall()}
    return [(device, message) for device, message in parsed if (device.site_id, message.message_key) in inserted]


def _tenant_of_topic(topic: str) -> int | None:
    try:
        plant = messages.topic_plant(topic)
    except messages.Refused:
        return None
    device = _gateway_device(plant)
    return device.tenant_id if device else None


def _tenant_of_control(topic: str) -> int | None:
    parts = topic.split("/")
    device = _gateway_device(parts[1]) if len(parts) > 2 and parts[0] == "solar" else None
    return device.tenant_id if device else None


def _count(outcome: BatchOutcome) -> None:
    figures = {f"duplicates.{layer}": count for layer, count in outcome.duplicates.items()}
    figures.update({"messages.stored": outcome.stored_messages, "readings.stored": outcome.stored_readings,
                    "messages.duplicate": outcome.duplicates[DedupLayer.MESSAGE],
                    "messages.dead_letter": outcome.dead_letters})
    figures = {name: value for name, value in figures.items() if value}
    if figures:
        with connection.cursor() as cursor:
            cursor.execute(_COUNT, [list(figures), list(figures.values())])


def ingest_isolating(batch: list[Inbound]) -> BatchOutcome:
    """The batch, or, if it fails for a reason of its own, each message alone: one message
    that trips an unexpected error is dead-lettered and never holds the others back."""
    try:
        return ingest_batch(batch)
    except (OperationalError, InterfaceError):
        raise  # the database, not the message: the bridge retries the batch, unacknowledged
    except Exception:
        if len(batch) == 1:
            logger.exception("a message failed unexpectedly; dead-lettered")
            item = batch[0]
            with transaction.atomic():
                DeadLetter.objects.create(topic=item.topic[:300], payload_excerpt=_excerpt(item.payload),
                                          reason="internal error while storing (see the bridge's log)")
                _count(BatchOutcome(dead_letters=1))
            return BatchOutcome(dead_letters=1)
        total = BatchOutcome()
        for item in batch:
            one = ingest_isolating([item])
            total.stored_messages += one.stored_messages
            total.stored_readings += one.stored_readings
            total.dead_letters += one.dead_letters
            for layer, count in one.duplicates.items():
                total.duplicates[layer] += count
        return total


def purge_seen_messages(*, now=None) -> int:
    """Housekeeping: dedup layer 1 remembers message ids for MQTT_DEDUP_WINDOW_HOURS."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.MQTT_DEDUP_WINDOW_HOURS)
    return SeenMessage.objects.filter(seen_at__lt=cutoff).delete()[0]
