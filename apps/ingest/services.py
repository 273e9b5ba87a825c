"""Ingest: store what devices report, update their live state, and apply the rules.

The request path does only this: validate, write, evaluate, answer. Scans and readings
are inserted in one statement per batch with `ON CONFLICT DO NOTHING`, so a resent batch
is counted once and concurrent resends are decided by PostgreSQL.

The busiest paths (a heartbeat that changes no alert, a batch of scans that raises none, a
report from a device seen a moment ago) are single statements in autocommit: the request
already holds a fresh copy of the device row (authentication read it), the rules are
judged against that copy, and the write succeeds only if the row still says what the copy
said (compare-and-set). When it doesn't, or when an alert has to be raised or cleared, the
report takes the locked path: the device row locked, everything in one transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.alerts.models import AlertKind, AlertSource, Severity
from apps.alerts.services import RaiseResult, alert_raise, alert_resolve_open
from apps.audit.models import ActorType
from apps.audit.services import Actor, audit_record
from apps.common.batches import delete_in_batches
from apps.devices.models import Device
from apps.ingest import rules as rule_engine
from apps.ingest import telemetry_judging
from apps.ingest.models import HealthSample, RuleSet, Scan, TelemetryReading, TelemetryThreshold, age_band
from apps.ingest.rules import forget_site_rules
from apps.ingest.signals import device_updated
from apps.tenancy.models import RetainedTable, Tenant
from apps.tenancy.retention import holds_for, retention_cutoff

logger = logging.getLogger(__name__)


def _device_actor(device: Device) -> Actor:
    return Actor(type=ActorType.DEVICE, id=device.public_id, label=device.name or device.hardware_id)


def _announce_device(device: Device, changes: list[str]) -> None:
    if not changes:
        return
    device_id, tenant_id = device.pk, device.tenant_id
    transaction.on_commit(lambda: device_updated.send(sender=Device, device_id=device_id, tenant_id=tenant_id,
                                                      changes=changes))


def apply_decisions(*, device: Device, decisions: rule_engine.Decisions, occurred_at: datetime | None = None,
                    state: dict | None = None) -> list[RaiseResult]:
    """Raise and clear what the rules decided; the device's alarm set in `state` follows."""
    alarms = set(state.get("alarms", [])) if state is not None else set()
    results = []
    for decision in decisions.raises:
        results.append(alert_raise(
            tenant=device.tenant, kind=decision.kind, dedup_key=decision.dedup_key, severity=decision.severity,
            summary=decision.summary, source=AlertSource.RULE, site=device.site, device=device,
            details=decision.details, occurred_at=occurred_at, actor=Actor.system("rules"),
        ))
        alarms.add(decision.dedup_key)
    for clear in decisions.clears:
        # Only keys this device raised are worth a query; everything else was never open.
        if state is None or clear.dedup_key in alarms:
            alert_resolve_open(tenant=device.tenant, dedup_key=clear.dedup_key, resolution=clear.resolution,
                               note=clear.note)
            alarms.discard(clear.dedup_key)
    if state is not None:
        state["alarms"] = sorted(alarms)
    return results


# --- heartbeats ------------------------------------------------------------------------------

# A report within this long of the last one leaves last_seen_at alone (the offline sweep
# works in minutes); it spares the device row a write per report in a burst.
LAST_SEEN_RESOLUTION = timedelta(seconds=1)

_SAMPLE_COLUMNS = ("tenant_id", "device_id", "sent_at", "received_at", "battery_level", "battery_charging", "rssi",
                   "wifi_bssid", "cpu_percent", "memory_used_mb", "memory_total_mb", "disk_used_mb", "disk_total_mb",
                   "temperature_c", "uptime_s", "error_count", "scanner_status")
_SAMPLE_INSERT = (f"INSERT INTO ingest_healthsample ({', '.join(_SAMPLE_COLUMNS)}) "  # noqa: S608 (constants)
                  f"VALUES ({', '.join(['%s'] * len(_SAMPLE_COLUMNS))})")
_OFFLINE = json.dumps({"rules": {"offline": True}})


@dataclass(frozen=True)
class HeartbeatResult:
    applied: bool
    alerts: list[RaiseResult] = field(default_factory=list)


def heartbeat_ingest(*, device: Device, heartbeat: dict) -> HeartbeatResult:
    """Store the sample; update live state and evaluate rules only if it is the newest.

    A heartbeat older than the newest one seen is kept as history but can neither
    overwrite the device's live state nor flip an alert.
    """
    battery, link, health = heartbeat.get("battery") or {}, heartbeat.get("link") or {}, heartbeat.get("health") or {}
    now = timezone.now()
    sample = (
        device.tenant_id, device.pk, heartbeat["sent_at"], now, battery.get("level"), battery.get("charging"),
        link.get("rssi"), link.get("wifi_bssid") or "", health.get("cpu_percent"), health.get("memory_used_mb"),
        health.get("memory_total_mb"), health.get("disk_used_mb"), health.get("disk_total_mb"),
        health.get("temperature_c"), heartbeat.get("uptime_s"), heartbeat.get("error_count"),
        heartbeat.get("scanner_status") or "",
    )
    result = _heartbeat_unlocked(device, heartbeat, sample, now)
    if result is not None:
        return result
    return _heartbeat_locked(device, heartbeat, now)


def _live_fields(device: Device, heartbeat: dict, changes: list[str]) -> dict:
    """What a newest heartbeat sets on the device row."""
    battery, link = heartbeat.get("battery") or {}, heartbeat.get("link") or {}
    fields = {"last_heartbeat_at": heartbeat["sent_at"]}
    if device.last_heartbeat_at is None:
        changes.append("online")  # its first report: boards should show the device from now on
    if battery.get("level") is not None:
        if battery["level"] != device.battery_level:
            changes.append("battery")
        fields["battery_level"] = battery["level"]
    if battery.get("charging") is not None:
        fields["battery_charging"] = battery["charging"]
    if link.get("rssi") is not None:
        fields["link_rssi"] = link["rssi"]
    if link.get("wifi_bssid"):
        fields["link_bssid"] = link["wifi_bssid"]
    if heartbeat.get("firmware"):
        fields["firmware"] = heartbeat["firmware"]
    outbox = heartbeat.get("outbox") or {}
    for name, column in (("size", "outbox_size"), ("oldest_age_s", "outbox_oldest_age_s"),
                         ("parked", "outbox_parked")):
        if outbox.get(name) is not None:
            if outbox[name] != getattr(device, column) and name != "oldest_age_s" and "backlog" not in changes:
                changes.append("backlog")
            fields[column] = outbox[name]
    return fields


def _heartbeat_unlocked(device: Device, heartbeat: dict, sample: tuple, now: datetime) -> HeartbeatResult | None:
    """The sample and the device's new state in one statement, judged on the copy of the
    device row that authentication read; None when the locked path must finish the job
    (the sample is stored either way, exactly once)."""
    reported = device.rule_state or {}
    state = dict(reported.get("rules", {}))
    if state.get("offline"):
        _insert_sample(sample)
        return None  # coming back online resolves an alert: locked path
    sent_at: datetime = heartbeat["sent_at"]
    newest = device.last_heartbeat_at is None or sent_at > device.last_heartbeat_at
    changes: list[str] = []
    fields: dict = {}
    if newest:
        fields = _live_fields(device, heartbeat, changes)
        site_rules = rule_engine.rules_for_site(device.site)
        decisions = rule_engine.evaluate_heartbeat(device=device, rules=site_rules.rules, heartbeat=heartbeat,
                                                   state=state)
        alarms = set(state.get("alarms", []))
        if decisions.raises or any(clear.dedup_key in alarms for clear in decisions.clears):
            _insert_sample(sample)
            return None  # alerts to raise or clear: locked path, one transaction
        state["alarms"] = sorted(alarms)
    fields["rule_state"] = {**reported, "rules": state}
    assignments = ", ".join(f"{name} = %s::jsonb" if name == "rule_state" else f"{name} = %s" for name in fields)
    sql = (f"WITH sample AS ({_SAMPLE_INSERT}) "  # noqa: S608 (identifiers are this module's constants)
           f"UPDATE devices_device SET last_seen_at = GREATEST(last_seen_at, %s), {assignments} "
           "WHERE id = %s AND last_heartbeat_at IS NOT DISTINCT FROM %s AND battery_level IS NOT DISTINCT FROM %s "
           "AND rule_state = %s::jsonb AND desired_state = %s::jsonb AND site_id = %s AND kind = %s "
           "RETURNING id")
    values = [json.dumps(value) if name == "rule_state" else value for name, value in fields.items()]
    params = [*sample, now, *values, device.pk, device.last_heartbeat_at, device.battery_level, json.dumps(reported),
              json.dumps(device.desired_state or {}), device.site_id, device.kind]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.fetchone() is None:
            return None  # the row changed since authentication read it: judge again under the lock
    _announce_device(device, changes)
    return HeartbeatResult(applied=newest)


def _insert_sample(sample: tuple) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_SAMPLE_INSERT, sample)


def _heartbeat_locked(device: Device, heartbeat: dict, now: datetime) -> HeartbeatResult:
    """Judge the heartbeat against the locked device row (its sample is already stored)."""
    sent_at: datetime = heartbeat["sent_at"]
    with transaction.atomic():
        locked = Device.objects.select_for_update().select_related("tenant", "site").get(pk=device.pk)
        state = dict(locked.rule_state.get("rules", {}))
        changes = _restore_if_offline(locked, state)
        locked.last_seen_at = max(now, locked.last_seen_at) if locked.last_seen_at else now
        update_fields = ["last_seen_at", "rule_state"]
        newest = locked.last_heartbeat_at is None or sent_at > locked.last_heartbeat_at
        alerts: list[RaiseResult] = []
        if newest:
            for name, value in _live_fields(locked, heartbeat, changes).items():
                setattr(locked, name, value)
            update_fields += ["last_heartbeat_at", "battery_level", "battery_charging", "link_rssi", "link_bssid",
                              "firmware", "outbox_size", "outbox_oldest_age_s", "outbox_parked"]
            site_rules = rule_engine.rules_for_site(locked.site)
            decisions = rule_engine.evaluate_heartbeat(device=locked, rules=site_rules.rules, heartbeat=heartbeat,
                                                       state=state)
            alerts = apply_decisions(device=locked, decisions=decisions, occurred_at=sent_at, state=state)
        locked.rule_state = {**locked.rule_state, "rules": state}
        locked.save(update_fields=update_fields)
        _announce_device(locked, changes)
    return HeartbeatResult(applied=newest, alerts=alerts)


def _restore_if_offline(device: Device, state: dict) -> list[str]:
    if not state.pop("offline", False):
        return []
    alert_resolve_open(tenant=device.tenant, dedup_key=rule_engine.key("offline", device), resolution="restored",
                       note="The device is reporting again.")
    return ["online"]


def device_touch(*, device: Device) -> None:
    """Any authenticated report proves the device is alive (scans, telemetry, alerts)."""
    now = timezone.now()
    if not (device.rule_state or {}).get("rules", {}).get("offline"):
        if device.last_seen_at is not None and now - device.last_seen_at < LAST_SEEN_RESOLUTION:
            return
        with connection.cursor() as cursor:
            cursor.execute("UPDATE devices_device SET last_seen_at = GREATEST(last_seen_at, %s) "
                           "WHERE id = %s AND NOT rule_state @> %s::jsonb RETURNING id",
                           [now, device.pk, _OFFLINE])
            if cursor.fetchone() is not None:
                device.last_seen_at = max(now, device.last_seen_at) if device.last_seen_at else now
                return
    with transaction.atomic():  # flagged offline: coming back resolves the offline alert
        locked = Device.objects.select_for_update().select_related("tenant").get(pk=device.pk)
        state = dict(locked.rule_state.get("rules", {}))
        changes = _restore_if_offline(locked, state)
        locked.last_seen_at = timezone.now()
        locked.rule_state = {**locked.rule_state, "rules": state}
        locked.save(update_fields=["last_seen_at", "rule_state"])
        _announce_device(locked, changes)


# --- scans -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchResult:
    accepted: int
    duplicates: int
    rejected: list[dict]


_SCAN_COLUMNS = ("tenant_id", "device_id", "site_id", "scan_id", "batch_id", "scanned_at", "birth_year", "age",
                 "age_band", "is_underage", "is_valid", "document_expired", "jurisdiction", "subject_hash")


# One array per column (unnest) rather than a placeholder per value: binding 1,400 values
# one by one cost more CPU than PostgreSQL spends inserting the 100 rows.
_SCAN_INSERT = """
INSERT INTO ingest_scan (tenant_id, device_id, site_id, batch_id, received_at, scan_id, scanned_at, birth_year, age,
                         age_band, is_underage, is_valid, document_expired, jurisdiction, subject_hash)
SELECT %(tenant_id)s, %(device_id)s, %(site_id)s, %(batch_id)s, now(), scan.*
FROM unnest(%(scan_id)s::uuid[], %(scanned_at)s::timestamptz[], %(birth_year)s::smallint[], %(age)s::smallint[],
            %(age_band)s::varchar[], %(is_underage)s::boolean[], %(is_valid)s::boolean[],
            %(document_expired)s::boolean[], %(jurisdiction)s::varchar[], %(subject_hash)s::varchar[]) AS scan
ON CONFLICT (device_id, scan_id) DO NOTHING
RETURNING scan_id
"""
_SCAN_BATCH_INSERT = """
INSERT INTO ingest_scanbatch (tenant_id, device_id, batch_id, received_at, accepted, duplicates, rejected)
SELECT %(tenant_id)s, %(device_id)s, %(batch_id)s, now(), inserted, %(count)s - inserted, %(rejected)s
FROM (SELECT count(*) AS inserted FROM scans) AS counted
ON CONFLICT (device_id, batch_id) DO NOTHING
"""

_SCANS_AND_BATCH = f"WITH scans AS ({_SCAN_INSERT}), batch AS ({_SCAN_BATCH_INSERT}) SELECT scan_id FROM scans"  # noqa: S608


def _array(values, *, text: bool = False) -> str:
    """A PostgreSQL array literal, passed as one text parameter: psycopg would otherwise
    quote a list element by element in Python. Text elements are quoted and escaped; the
    others (UUIDs, numbers, ISO timestamps, t/f) never contain anything that needs it."""
    if text:
        values = ['"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values]
    return "{" + ",".join(values) + "}"


def _scan_params(device: Device, batch_id, scans: list[dict], rejected: list[dict]) -> dict:
    flag = {True: "t", False: "f"}
    return {
        "tenant_id": device.tenant_id, "device_id": device.pk, "site_id": device.site_id, "batch_id": batch_id,
        "count": len(scans), "rejected": len(rejected),
        "scan_id": _array([str(s["scan_id"]) for s in scans]),
        "scanned_at": _array([s["scanned_at"].isoformat() for s in scans]),
        "birth_year": _array([str(s["birth_year"]) for s in scans]),
        "age": _array([str(s["age"]) for s in scans]),
        "age_band": _array([age_band(s["age"]) for s in scans], text=True),
        "is_underage": _array([flag[s["is_underage"]] for s in scans]),
        "is_valid": _array([flag[s["is_valid"]] for s in scans]),
        "document_expired": _array([flag[s["document_expired"]] for s in scans]),
        "jurisdiction": _array([s["jurisdiction"] for s in scans], text=True),
        "subject_hash": _array([s["subject_hash"] for s in scans], text=True),
    }


def scans_ingest(*, device: Device, batch_id, scans: list[dict], rejected: list[dict]) -> BatchResult:
    """Store valid scans once each; raise underage/document alerts for the new ones only.

    The rules are judged first (they are pure): a batch that raises nothing, the usual
    case, is stored by one statement (scans and the batch record); otherwise the scans and
    their alerts are written in one transaction, alerts only for scans not seen before.
    """
    rules = rule_engine.rules_for_site(device.site).rules
    decided = {}
    for scan in scans:
        decisions = rule_engine.evaluate_scan(device=device, rules=rules, scan=scan)
        if decisions.raises or decisions.clears:
            decided[scan["scan_id"]] = (scan, decisions)
    params = _scan_params(device, batch_id, scans, rejected)
    if not decided:
        with connection.cursor() as cursor:
            cursor.execute(_SCANS_AND_BATCH, params)
            inserted = {row[0] for row in cursor.fetchall()}
        accepted = len(inserted)
    else:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(_SCANS_AND_BATCH, params)
                inserted = {row[0] for row in cursor.fetchall()}
            accepted = len(inserted)
            for scan_id, (scan, decisions) in decided.items():
                if scan_id in inserted:
                    apply_decisions(device=device, decisions=decisions, occurred_at=scan["scanned_at"])
    hashes = {scan["subject_hash"] for scan in scans if scan["subject_hash"] and scan["scan_id"] in inserted}
    if hashes:
        document_reuse_check(device=device, subject_hashes=hashes)
    device_touch(device=device)
    return BatchResult(accepted=accepted, duplicates=len(scans) - accepted, rejected=rejected)


def document_reuse_check(*, device: Device, subject_hashes: set[str]) -> list[RaiseResult]:
    """The document-reuse rule over the new scans' documents: one query for their recent
    sightings in the tenant (by the indexed keyed hash), the rule judges, repeats bump one
    alert per document. Nothing about the person is stored to do it."""
    window = settings.TOCSIN_DOCUMENT_REUSE_WINDOW_SECONDS
    since = timezone.now() - timedelta(seconds=window * 2)
    sightings: dict[str, list[rule_engine.Sighting]] = {}
    rows = Scan.objects.filter(tenant_id=device.tenant_id, subject_hash__in=subject_hashes, scanned_at__gte=since) \
        .values_list("subject_hash", "site_id", "site__public_id", "scanned_at", "is_underage")
    for subject_hash, site_id, site_public_id, scanned_at, is_underage in rows:
        sightings.setdefault(subject_hash, []).append(rule_engine.Sighting(
            site_id=site_id, site_public_id=site_public_id, scanned_at=scanned_at, is_underage=is_underage))
    decisions = rule_engine.Decisions()
    for subject_hash, seen in sightings.items():
        found = rule_engine.evaluate_document_reuse(
            subject_hash=subject_hash, sightings=seen, window_seconds=window,
            repeats_after_refusal=settings.TOCSIN_DOCUMENT_REUSE_AFTER_REFUSAL)
        if found is not None:
            decisions.raises.append(found)
    return apply_decisions(device=device, decisions=decisions) if decisions.raises else []


# --- telemetry ---------------------------------------------------------------------------------

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
    params = {name: _array(values, text=name in ("inverter", "metric", "unit")) for name, values in columns.items()}
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
            changes = _restore_if_offline(locked, state)
            decisions = telemetry_judging.judge_device(device=locked, readings=fresh, state=state,
                                                       judged=judged.get(locked.pk, []))
            alerts += apply_decisions(device=locked, decisions=decisions, state=state)
            locked.last_seen_at = timezone.now()
            locked.rule_state = {**locked.rule_state, "rules": state}
            _announce_device(locked, changes)
            results.append(BatchResult(accepted=len(fresh), duplicates=len(batch.readings) - len(fresh),
                                       rejected=batch.rejected))
        Device.objects.bulk_update(list(locked_by_id.values()), ["last_seen_at", "rule_state"])
    return TelemetryOutcome(results=results, alerts=alerts)


def telemetry_ingest(*, device: Device, readings: list[dict], rejected: list[dict]) -> BatchResult:
    return telemetry_ingest_many(batches=[TelemetryBatch(device=device, readings=readings,
                                                         rejected=rejected)]).results[0]


# --- device-raised alerts ------------------------------------------------------------------------

DEVICE_ALERT_KINDS = {
    "breach": (AlertKind.BREACH, Severity.CRITICAL),
    "underage": (AlertKind.UNDERAGE, Severity.CRITICAL),
    "tamper": (AlertKind.TAMPER, Severity.HIGH),
    "battery_low": (AlertKind.BATTERY, Severity.WARNING),
    "custom": (AlertKind.CUSTOM, Severity.WARNING),
}


def device_alert_report(*, device: Device, kind: str, occurred_at: datetime, details: dict,
                        severity: str | None = None, dedup_key: str | None = None) -> RaiseResult:
    """What a device detected itself.

    Problems the server's own rules also detect (breach, low battery, an underage scan)
    share the rules' dedup key, so a device report and a rule match are one alert. Other
    kinds may carry the device's own key, namespaced by device so no device can bump (or
    hide behind) another device's alert.
    """
    alert_kind, default_severity = DEVICE_ALERT_KINDS[kind]
    if kind == "underage" and details.get("scan_id"):
        full_key = rule_engine.key("underage", device, str(details["scan_id"]))
    elif kind == "breach":
        full_key = rule_engine.key("breach", device)
    elif kind == "battery_low":
        full_key = rule_engine.key("battery", device)
    elif dedup_key:
        full_key = f"device:{device.public_id}:{dedup_key}"
    else:
        full_key = rule_engine.key(alert_kind, device)
    summary = details.get("summary") if isinstance(details.get("summary"), str) else None
    result = alert_raise(
        tenant=device.tenant, kind=alert_kind, dedup_key=full_key, severity=severity or default_severity,
        summary=summary or f"{alert_kind.label} reported by {device}", source=AlertSource.DEVICE,
        site=device.site, device=device, details=details, occurred_at=occurred_at, actor=_device_actor(device),
    )
    device_touch(device=device)
    return result


# --- offline sweep -------------------------------------------------------------------------------

def offline_sweep(*, now: datetime | None = None) -> int:
    """Raise 'device offline' for active devices silent for N × their site's interval.

    Run by beat. Rows are locked with SKIP LOCKED, so two sweeps never flag one device
    twice and a device mid-heartbeat is left for the next sweep.
    """
    from datetime import timedelta

    from apps.tenancy.models import Site

    now = now or timezone.now()
    flagged = 0
    site_ids = Device.objects.filter(status="active").values_list("site_id", flat=True).distinct()
    for site in Site.objects.filter(pk__in=list(site_ids)):
        rules = rule_engine.rules_for_site(site).rules
        cutoff = now - timedelta(seconds=rules.heartbeat_interval_seconds * rules.offline_after_missed)
        candidates = (Device.objects.filter(site=site, status="active", last_seen_at__lt=cutoff)
                      .exclude(rule_state__contains={"rules": {"offline": True}}).values_list("pk", flat=True))
        for device_id in list(candidates):
            flagged += _flag_offline(device_id, cutoff)
    return flagged


def _flag_offline(device_id: int, cutoff: datetime) -> int:
    with transaction.atomic():
        device = (Device.objects.select_for_update(skip_locked=True).select_related("tenant", "site")
                  .filter(pk=device_id, last_seen_at__lt=cutoff).order_by().first())
        if device is None:
            return 0
        state = dict(device.rule_state.get("rules", {}))
        if state.get("offline"):
            return 0
        state["offline"] = True
        device.rule_state = {**device.rule_state, "rules": state}
        device.save(update_fields=["rule_state"])
        silent_for = int((timezone.now() - device.last_seen_at).total_seconds())
        alert_raise(tenant=device.tenant, kind=AlertKind.OFFLINE, dedup_key=rule_engine.key("offline", device),
                    severity=Severity.HIGH, summary=f"{device} is offline (silent for {silent_for // 60} min)",
                    source=AlertSource.RULE, site=device.site, device=device,
                    details={"last_seen_at": device.last_seen_at.isoformat()})
        _announce_device(device, ["offline"])
    return 1


def purge_telemetry(*, tenant: Tenant, before: datetime, held_site_ids: frozenset[int], batch_size: int,
                    max_batches: int) -> int:
    """One tenant's telemetry past retention, by the readings' own time (what partitions are cut by)."""
    readings = TelemetryReading.objects.filter(tenant=tenant, ts__lt=before) \
        .exclude(device__site_id__in=held_site_ids)
    return delete_in_batches(readings, batch_size=batch_size, max_batches=max_batches)


def maintain_telemetry_partitions(*, now: datetime | None = None) -> dict[str, int]:
    """Next months' partitions made ahead of time; whole months dropped once they are past
    every tenant's telemetry retention and no legal hold is in force anywhere (a drop takes
    every tenant's rows of that month at once; per-tenant periods are purged row by row)."""
    from datetime import timedelta

    from apps.ingest import partitions
    from apps.tenancy.models import LegalHold, RetentionPolicy

    now = now or timezone.now()
    partitions.ensure_partitions(now=now)
    if LegalHold.objects.filter(released_at__isnull=True).exists():
        return {"telemetry_partitions_dropped": 0}
    longest = max([settings.TOCSIN_TELEMETRY_RETENTION_DAYS, *RetentionPolicy.objects.filter(
        table=RetainedTable.TELEMETRY).values_list("days", flat=True)])
    dropped, purged = partitions.drop_expired_partitions(before=now - timedelta(days=longest))
    return {"telemetry_partitions_dropped": len(dropped), "telemetry": purged}


def purge_past_retention(*, tenant: Tenant, now: datetime, batch_size: int, max_batches: int) -> dict[str, int]:
    """Health samples, telemetry and scans of one tenant past its retention, except what a
    legal hold keeps (the whole tenant, or the held sites' rows)."""
    holds = holds_for(tenant=tenant)
    if holds.whole_tenant:
        return {}

    def cutoff(table: str) -> datetime:
        return retention_cutoff(tenant=tenant, table=table, now=now)

    samples = HealthSample.objects.filter(tenant=tenant, received_at__lt=cutoff(RetainedTable.HEALTH)) \
        .exclude(device__site_id__in=holds.site_ids)
    scans = Scan.objects.filter(tenant=tenant, scanned_at__lt=cutoff(RetainedTable.SCANS)) \
        .exclude(site_id__in=holds.site_ids)
    return {
        "health_samples": delete_in_batches(samples, batch_size=batch_size, max_batches=max_batches),
        "telemetry": purge_telemetry(tenant=tenant, before=cutoff(RetainedTable.TELEMETRY),
                                     held_site_ids=holds.site_ids, batch_size=batch_size, max_batches=max_batches),
        "scans": delete_in_batches(scans, batch_size=batch_size, max_batches=max_batches),
    }


def ruleset_save(*, ruleset: RuleSet, changed: list[str], actor: Actor) -> RuleSet:
    """A site's rules as staff edited them (fields already set): validated, saved, audited, and
    forgotten by the rules cache so the next report is judged by them."""
    ruleset.full_clean(exclude=["tenant", "site"])
    with transaction.atomic():
        ruleset.save()
        audit_record(tenant=ruleset.tenant, actor=actor, action="rules.changed", target_type="site",
                     target_id=ruleset.site.public_id, details={"fields": sorted(changed)})
    forget_site_rules(ruleset.site_id)
    return ruleset


def threshold_save(*, threshold: TelemetryThreshold, changed: list[str], actor: Actor) -> TelemetryThreshold:
    """A telemetry threshold created or edited by staff; it belongs to its site's tenant."""
    threshold.tenant_id = threshold.site.tenant_id
    creating = threshold.pk is None
    threshold.full_clean(exclude=["tenant"])
    with transaction.atomic():
        threshold.save()
        audit_record(tenant=threshold.site.tenant, actor=actor,
                     action="threshold.created" if creating else "threshold.changed", target_type="site",
                     target_id=threshold.site.public_id,
                     details={"metric": threshold.metric, "fields": sorted(changed)})
    forget_site_rules(threshold.site_id)
    return threshold


def threshold_delete(*, threshold: TelemetryThreshold, actor: Actor) -> None:
    with transaction.atomic():
        site, metric = threshold.site, threshold.metric
        threshold.delete()
        audit_record(tenant=site.tenant, actor=actor, action="threshold.deleted", target_type="site",
                     target_id=site.public_id, details={"metric": metric})
    forget_site_rules(site.pk)
