"""Telemetry: readings stored once (by message id, or by device, inverter, metric and time),
then each device's plant rules judged on its new readings only, under its row lock.

The REST endpoint sends one device's batch, the MQTT bridge many devices' at once; both
go through `telemetry_ingest_many`, one insert statement for the whole call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from apps.alerts.services import RaiseResult
from apps.devices.models import Device
from apps.ingest import telemetry_judging
from apps.ingest.services.batches import BatchResult, array_literal
from apps.ingest.services.decisions import decisions_apply
from apps.ingest.services.liveness import device_announce, device_restore_if_offline

_READING_COLUMNS = ("tenant_id", "device_id", "message_id", "inverter", "metric", "value", "unit", "ts")
# One array per column, as for scans; any of the two unique constraints (message id, or
# device + inverter + metric + ts) makes a reading a duplicate.
_READING_INSERT = """
INSERT INTO ingest_telemetryreading (tenant_id, device_id, message_id, inverter, metric, value, unit, ts, received_at)
SELECT reading.*, now()
FROM unnest(%(tenant_id)s::bigint[], %(device_id)s::bigint[], %(message_id)s::uuid[], %(inverter)s::varchar[],
            %(metric)s::varchar[], %(value)s::float8[], %(unit)s::varchar[], %(ts)s::timestamptz[]) AS reading
ON CONFLICT DO NOTHING
RETURNING device_id, message_id
"""


@dataclass(frozen=True)
class TelemetryBatch:
    """One device's readings in a multi-device batch (the MQTT bridge's)."""

    device: Device
    readings: list[dict]
    rejected: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class TelemetryOutcome:
    results: list[BatchResult]
    alerts: list[RaiseResult]


def _insert_readings(batches: list[TelemetryBatch]) -> set[tuple[int, str]]:
    columns: dict[str, list[str]] = {name: [] for name in _READING_COLUMNS}
    for batch in batches:
        for r in batch.readings:
            columns["tenant_id"].append(str(batch.device.tenant_id))
            columns["device_id"].append(str(batch.device.pk))
            columns["message_id"].append(str(r["message_id"]))
            columns["inverter"].append(r.get("inverter", ""))
            columns["metric"].append(r["metric"])
            columns["value"].append(repr(float(r["value"])))
            columns["unit"].append(r.get("unit", ""))
            columns["ts"].append(r["ts"].isoformat())
    if not columns["metric"]:
        return set()
    params = {name: array_literal(values, text=name in ("inverter", "metric", "unit"))
              for name, values in columns.items()}
    with connection.cursor() as cursor:
        cursor.execute(_READING_INSERT, params)
        return {(device_id, str(message_id)) for device_id, message_id in cursor.fetchall()}


def telemetry_ingest_many(*, batches: list[TelemetryBatch]) -> TelemetryOutcome:
    """Readings of many devices in one statement, then each device's thresholds judged on
    its new readings only, under its row lock, in the caller's transaction or a new one."""
    results, alerts = [], []
    with transaction.atomic():
        inserted = _insert_readings(batches)
        fresh_by_device = [(batch.device, [r for r in batch.readings
                                           if (batch.device.pk, str(r["message_id"])) in inserted])
                           for batch in batches]
        judged = telemetry_judging.fold_baselines(fresh_by_device)
        # Every device of the call locked by one statement, in id order (two bridges holding
        # messages of the same plants never wait on each other in a cycle), and written back
        # by one: per device, an ORM get and save cost more than the rules they serve.
        locked_by_id = {device.pk: device for device in Device.objects.select_for_update(of=("self",))
                        .select_related("tenant", "site").filter(pk__in={b.device.pk for b in batches})
                        .order_by("pk")}
        for batch, (_device, fresh) in zip(batches, fresh_by_device, strict=True):
            locked = locked_by_id[batch.device.pk]
            state = dict(locked.rule_state.get("rules", {}))
            changes = device_restore_if_offline(locked, state)
            decisions = telemetry_judging.judge_device(device=locked, readings=fresh, state=state,
                                                       judged=judged.get(locked.pk, []))
            alerts += decisions_apply(device=locked, decisions=decisions, state=state)
            locked.last_seen_at = timezone.now()
            locked.rule_state = {**locked.rule_state, "rules": state}
            device_announce(locked, changes)
            results.append(BatchResult(accepted=len(fresh), duplicates=len(batch.readings) - len(fresh),
                                       rejected=batch.rejected))
        Device.objects.bulk_update(list(locked_by_id.values()), ["last_seen_at", "rule_state"])
    return TelemetryOutcome(results=results, alerts=alerts)


def telemetry_ingest(*, device: Device, readings: list[dict], rejected: list[dict]) -> BatchResult:
    return telemetry_ingest_many(batches=[TelemetryBatch(device=device, readings=readings,
                                                         rejected=rejected)]).results[0]
