"""Ingest: store what devices report, update their live state, and apply the rules.

The request path does only this: validate, write, evaluate, answer. Scans and readings
are inserted in one statement per batch with `ON CONFLICT DO NOTHING`, so a resent batch
is counted once and concurrent resends are decided by PostgreSQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from apps.alerts.models import AlertKind, AlertSource, Severity
from apps.alerts.services import RaiseResult, alert_raise, alert_resolve_open
from apps.audit.models import ActorType
from apps.audit.services import Actor
from apps.devices.models import Device
from apps.ingest import rules as rule_engine
from apps.ingest.models import HealthSample, ScanBatch, age_band
from apps.ingest.signals import device_updated

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

@dataclass(frozen=True)
class HeartbeatResult:
    applied: bool
    alerts: list[RaiseResult] = field(default_factory=list)


def heartbeat_ingest(*, device: Device, heartbeat: dict) -> HeartbeatResult:
    """Store the sample; update live state and evaluate rules only if it is the newest.

    A heartbeat older than the newest one seen is kept as history but can neither
    overwrite the device's live state nor flip an alert.
    """
    sent_at: datetime = heartbeat["sent_at"]
    battery, link, health = heartbeat.get("battery") or {}, heartbeat.get("link") or {}, heartbeat.get("health") or {}
    now = timezone.now()
    with transaction.atomic():
        locked = Device.objects.select_for_update().select_related("tenant", "site").get(pk=device.pk)
        HealthSample.objects.create(
            tenant_id=locked.tenant_id, device=locked, sent_at=sent_at, battery_level=battery.get("level"),
            battery_charging=battery.get("charging"), rssi=link.get("rssi"), wifi_bssid=link.get("wifi_bssid") or "",
            cpu_percent=health.get("cpu_percent"), memory_used_mb=health.get("memory_used_mb"),
            memory_total_mb=health.get("memory_total_mb"), disk_used_mb=health.get("disk_used_mb"),
            disk_total_mb=health.get("disk_total_mb"), temperature_c=health.get("temperature_c"),
            uptime_s=heartbeat.get("uptime_s"), error_count=heartbeat.get("error_count"),
            scanner_status=heartbeat.get("scanner_status") or "",
        )
        state = dict(locked.reported_state.get("rules", {}))
        changes = _restore_if_offline(locked, state)
        locked.last_seen_at = now
        update_fields = ["last_seen_at", "reported_state"]
        newest = locked.last_heartbeat_at is None or sent_at > locked.last_heartbeat_at
        alerts: list[RaiseResult] = []
        if newest:
            locked.last_heartbeat_at = sent_at
            if battery.get("level") is not None:
                if battery["level"] != locked.battery_level:
                    changes.append("battery")
                locked.battery_level = battery["level"]
            if battery.get("charging") is not None:
                locked.battery_charging = battery["charging"]
            if link.get("rssi") is not None:
                locked.link_rssi = link["rssi"]
            if link.get("wifi_bssid"):
                locked.link_bssid = link["wifi_bssid"]
            if heartbeat.get("firmware"):
                locked.firmware = heartbeat["firmware"]
            update_fields += ["last_heartbeat_at", "battery_level", "battery_charging", "link_rssi", "link_bssid",
                              "firmware"]
            site_rules = rule_engine.rules_for_site(locked.site)
            decisions = rule_engine.evaluate_heartbeat(device=locked, rules=site_rules.rules, heartbeat=heartbeat,
                                                       state=state)
            alerts = apply_decisions(device=locked, decisions=decisions, occurred_at=sent_at, state=state)
        locked.reported_state = {**locked.reported_state, "rules": state}
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
    with transaction.atomic():
        locked = Device.objects.select_for_update().select_related("tenant").get(pk=device.pk)
        state = dict(locked.reported_state.get("rules", {}))
        changes = _restore_if_offline(locked, state)
        locked.last_seen_at = timezone.now()
        locked.reported_state = {**locked.reported_state, "rules": state}
        locked.save(update_fields=["last_seen_at", "reported_state"])
        _announce_device(locked, changes)


# --- scans -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchResult:
    accepted: int
    duplicates: int
    rejected: list[dict]


_SCAN_COLUMNS = ("tenant_id", "device_id", "site_id", "scan_id", "batch_id", "scanned_at", "birth_year", "age",
                 "age_band", "is_underage", "is_valid", "document_expired", "jurisdiction", "subject_hash")


def _insert_returning(table: str, columns: tuple[str, ...], rows: list[tuple], conflict: str, returning: str,
                      extra_columns: str = ", received_at", extra_values: str = ", now()") -> set:
    """One multi-row INSERT ... ON CONFLICT DO NOTHING; returns the keys actually inserted.

    Identifiers come from this module's constants, never from input; values are parameters.
    """
    if not rows:
        return set()
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + extra_values + ")"
    sql = (f"INSERT INTO {table} ({', '.join(columns)}{extra_columns}) VALUES "  # noqa: S608
           + ", ".join([placeholder] * len(rows))
           + f" ON CONFLICT ({conflict}) DO NOTHING RETURNING {returning}")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
        return {row[0] for row in cursor.fetchall()}


def scans_ingest(*, device: Device, batch_id, scans: list[dict], rejected: list[dict]) -> BatchResult:
    """Store valid scans once each; raise underage/document alerts for the new ones only."""
    with transaction.atomic():
        rows = [(device.tenant_id, device.pk, device.site_id, scan["scan_id"], batch_id, scan["scanned_at"],
                 scan["birth_year"], scan["age"], age_band(scan["age"]), scan["is_underage"], scan["is_valid"],
                 scan["document_expired"], scan["jurisdiction"], scan["subject_hash"]) for scan in scans]
        inserted = _insert_returning("ingest_scan", _SCAN_COLUMNS, rows, "device_id, scan_id", "scan_id")
        ScanBatch.objects.bulk_create(
            [ScanBatch(tenant_id=device.tenant_id, device=device, batch_id=batch_id, accepted=len(inserted),
                       duplicates=len(scans) - len(inserted), rejected=len(rejected))],
            ignore_conflicts=True,
        )
        rules = rule_engine.rules_for_site(device.site).rules
        for scan in scans:
            if scan["scan_id"] in inserted:
                decisions = rule_engine.evaluate_scan(device=device, rules=rules, scan=scan)
                apply_decisions(device=device, decisions=decisions, occurred_at=scan["scanned_at"])
    device_touch(device=device)
    return BatchResult(accepted=len(inserted), duplicates=len(scans) - len(inserted), rejected=rejected)


# --- telemetry ---------------------------------------------------------------------------------

_READING_COLUMNS = ("tenant_id", "device_id", "message_id", "metric", "value", "unit", "ts")


def telemetry_ingest(*, device: Device, readings: list[dict], rejected: list[dict]) -> BatchResult:
    with transaction.atomic():
        locked = Device.objects.select_for_update().select_related("tenant", "site").get(pk=device.pk)
        rows = [(locked.tenant_id, locked.pk, r["message_id"], r["metric"], r["value"], r["unit"], r["ts"])
                for r in readings]
        inserted = _insert_returning("ingest_telemetryreading", _READING_COLUMNS, rows, "device_id, message_id",
                                     "message_id")
        fresh = [r for r in readings if r["message_id"] in inserted]
        state = dict(locked.reported_state.get("rules", {}))
        changes = _restore_if_offline(locked, state)
        thresholds = rule_engine.rules_for_site(locked.site).thresholds
        decisions = rule_engine.evaluate_telemetry(device=locked, thresholds=thresholds, readings=fresh, state=state)
        apply_decisions(device=locked, decisions=decisions, state=state)
        locked.last_seen_at = timezone.now()
        locked.reported_state = {**locked.reported_state, "rules": state}
        locked.save(update_fields=["last_seen_at", "reported_state"])
        _announce_device(locked, changes)
    return BatchResult(accepted=len(inserted), duplicates=len(readings) - len(inserted), rejected=rejected)


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
                      .exclude(reported_state__contains={"rules": {"offline": True}}).values_list("pk", flat=True))
        for device_id in list(candidates):
            flagged += _flag_offline(device_id, cutoff)
    return flagged


def _flag_offline(device_id: int, cutoff: datetime) -> int:
    with transaction.atomic():
        device = (Device.objects.select_for_update(skip_locked=True).select_related("tenant", "site")
                  .filter(pk=device_id, last_seen_at__lt=cutoff).first())
        if device is None:
            return 0
        state = dict(device.reported_state.get("rules", {}))
        if state.get("offline"):
            return 0
        state["offline"] = True
        device.reported_state = {**device.reported_state, "rules": state}
        device.save(update_fields=["reported_state"])
        silent_for = int((timezone.now() - device.last_seen_at).total_seconds())
        alert_raise(tenant=device.tenant, kind=AlertKind.OFFLINE, dedup_key=rule_engine.key("offline", device),
                    severity=Severity.HIGH, summary=f"{device} is offline (silent for {silent_for // 60} min)",
                    source=AlertSource.RULE, site=device.site, device=device,
                    details={"last_seen_at": device.last_seen_at.isoformat()})
        _announce_device(device, ["offline"])
    return 1


def purge_old_reports(*, now: datetime | None = None) -> dict[str, int]:
    """Housekeeping: health samples and telemetry are bounded by their retention settings."""
    from datetime import timedelta

    from django.conf import settings

    from apps.ingest.models import HealthSample, TelemetryReading

    now = now or timezone.now()
    return {
        "health_samples": HealthSample.objects.filter(
            received_at__lt=now - timedelta(days=settings.TOCSIN_HEALTH_RETENTION_DAYS)).delete()[0],
        "telemetry": TelemetryReading.objects.filter(
            received_at__lt=now - timedelta(days=settings.TOCSIN_TELEMETRY_RETENTION_DAYS)).delete()[0],
    }
