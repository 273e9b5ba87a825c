"""Heartbeats: the sample is stored exactly once; the device's live state and its alerts
follow only the newest heartbeat.

The usual heartbeat (newest, changes no alert) is one statement in autocommit: the sample
insert and a compare-and-set update of the device row, judged on the copy of the row that
authentication read. The update checks every column that judgement depended on
(`HEARTBEAT_GUARD_COLUMNS`); if any changed, or an alert has to be raised or cleared, the
heartbeat is judged again on the locked row, in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from apps.alerts.services import RaiseResult
from apps.devices.models import Device
from apps.ingest import rules as rule_engine
from apps.ingest.services.decisions import decisions_apply
from apps.ingest.services.liveness import device_announce, device_restore_if_offline
from apps.ingest.site_rules import rules_for_site

# The device columns the unlocked path's judgement depends on, each checked by its
# compare-and-set: what the heartbeat rules read from the device (`kind`, `desired_state`;
# tests/ingest/test_heartbeat_guard.py records their reads and fails when a rule reads a
# column missing here), the site whose rules judged (`site_id`), the rule state they were
# judged with (`rule_state`), the newest heartbeat (`last_heartbeat_at`) and the battery
# level the change announcement compares with (`battery_level`).
HEARTBEAT_GUARD_COLUMNS = ("last_heartbeat_at", "battery_level", "rule_state", "desired_state", "site_id", "kind")
_JSON_COLUMNS = frozenset({"rule_state", "desired_state"})
_GUARD = " AND ".join(f"{column} IS NOT DISTINCT FROM %s::jsonb" if column in _JSON_COLUMNS
                      else f"{column} IS NOT DISTINCT FROM %s" for column in HEARTBEAT_GUARD_COLUMNS)

_SAMPLE_COLUMNS = ("tenant_id", "device_id", "sent_at", "received_at", "battery_level", "battery_charging", "rssi",
                   "wifi_bssid", "cpu_percent", "memory_used_mb", "memory_total_mb", "disk_used_mb", "disk_total_mb",
                   "temperature_c", "uptime_s", "error_count", "scanner_status")
_SAMPLE_INSERT = (f"INSERT INTO ingest_healthsample ({', '.join(_SAMPLE_COLUMNS)}) "  # noqa: S608 (constants)
                  f"VALUES ({', '.join(['%s'] * len(_SAMPLE_COLUMNS))})")


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


def _guarded_values(device: Device) -> list:
    """What the compare-and-set expects each guard column to still hold (the copy's values)."""
    return [json.dumps(getattr(device, column) or {}) if column in _JSON_COLUMNS else getattr(device, column)
            for column in HEARTBEAT_GUARD_COLUMNS]


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
        site_rules = rules_for_site(device.site)
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
           f"WHERE id = %s AND {_GUARD} RETURNING id")
    values = [json.dumps(value) if name == "rule_state" else value for name, value in fields.items()]
    params = [*sample, now, *values, device.pk, *_guarded_values(device)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.fetchone() is None:
            return None  # the row changed since authentication read it: judge again under the lock
    device_announce(device, changes)
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
        changes = device_restore_if_offline(locked, state)
        locked.last_seen_at = max(now, locked.last_seen_at) if locked.last_seen_at else now
        update_fields = ["last_seen_at", "rule_state"]
        newest = locked.last_heartbeat_at is None or sent_at > locked.last_heartbeat_at
        alerts: list[RaiseResult] = []
        if newest:
            for name, value in _live_fields(locked, heartbeat, changes).items():
                setattr(locked, name, value)
            update_fields += ["last_heartbeat_at", "battery_level", "battery_charging", "link_rssi", "link_bssid",
                              "firmware", "outbox_size", "outbox_oldest_age_s", "outbox_parked"]
            site_rules = rules_for_site(locked.site)
            decisions = rule_engine.evaluate_heartbeat(device=locked, rules=site_rules.rules, heartbeat=heartbeat,
                                                       state=state)
            alerts = decisions_apply(device=locked, decisions=decisions, occurred_at=sent_at, state=state)
        locked.rule_state = {**locked.rule_state, "rules": state}
        locked.save(update_fields=update_fields)
        device_announce(locked, changes)
    return HeartbeatResult(applied=newest, alerts=alerts)
