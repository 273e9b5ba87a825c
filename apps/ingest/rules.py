"""The rules: pure functions from (what a device reported, the site's thresholds, the
device's rule state) to decisions (raise this, clear that). No database access here, so
each rule is easy to read and to test.

Telemetry rules (thresholds, anomalies, siblings) are in `apps.ingest.plant_rules`; the
database reads that find a site's rules are in `apps.ingest.site_rules`.

Every decision carries a dedup key built from the rule and the device, so repeats of the
same problem bump one alert instead of making new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

from apps.alerts.models import AlertKind, Severity
from apps.devices.models import Device
from apps.ingest.models import RuleSet


@dataclass(frozen=True)
class Raise:
    kind: str
    severity: str
    dedup_key: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Clear:
    dedup_key: str
    resolution: str
    note: str = ""


@dataclass
class Decisions:
    raises: list[Raise] = field(default_factory=list)
    clears: list[Clear] = field(default_factory=list)


def key(rule: str, device: Device, suffix: str = "") -> str:
    return f"{rule}:{device.public_id}{':' + suffix if suffix else ''}"


def evaluate_heartbeat(*, device: Device, rules: RuleSet, heartbeat: dict, state: dict) -> Decisions:
    """Battery, breach, temperature and scanner rules; `state` is updated in place."""
    decisions = Decisions()
    _battery(device, rules, heartbeat.get("battery") or {}, decisions)
    _breach(device, rules, heartbeat.get("link") or {}, state, decisions)
    _temperature(device, rules, (heartbeat.get("health") or {}).get("temperature_c"), decisions)
    if rules.scanner_health_enabled and device.kind == "scanner":
        _scanner(device, heartbeat.get("scanner_status"), decisions)
    _backlog(device, heartbeat.get("outbox") or {}, decisions)
    return decisions


def _backlog(device: Device, outbox: dict, decisions: Decisions) -> None:
    """The agent's oldest unsent item is older than TOCSIN_BACKLOG_ALERT_SECONDS."""
    age = outbox.get("oldest_age_s")
    if age is None:
        return
    threshold = settings.TOCSIN_BACKLOG_ALERT_SECONDS
    dedup = key("backlog", device)
    if age > threshold and outbox.get("size"):
        decisions.raises.append(Raise(
            AlertKind.BACKLOG, Severity.WARNING, dedup,
            f"{device} holds {outbox['size']} unsent items, the oldest {age // 60} min old",
            {"outbox_size": outbox["size"], "oldest_age_s": age, "parked": outbox.get("parked"),
             "threshold_s": threshold}))
    else:
        decisions.clears.append(Clear(dedup, "auto", f"The backlog is down to {outbox.get('size', 0)} items"))


def _battery(device: Device, rules: RuleSet, battery: dict, decisions: Decisions) -> None:
    level, charging = battery.get("level"), battery.get("charging")
    if level is None:
        return
    dedup = key("battery", device)
    if level < rules.battery_warning_percent and not charging:
        severity = Severity.CRITICAL if level < rules.battery_critical_percent else Severity.WARNING
        decisions.raises.append(Raise(AlertKind.BATTERY, severity, dedup, f"Battery at {level}% on {device}",
                                      {"battery_level": level}))
    elif level >= rules.battery_warning_percent + rules.battery_hysteresis_percent or charging:
        decisions.clears.append(Clear(dedup, "auto", f"Battery back at {level}%" + (" (charging)" if charging
                                                                                      else "")))


def _breach(device: Device, rules: RuleSet, link: dict, state: dict, decisions: Decisions) -> None:
    if not rules.breach_enabled or device.kind != "tablet":
        return
    rssi, bssid = link.get("rssi"), link.get("wifi_bssid")
    allowed = [b.lower() for b in device.desired_state.get("allowed_bssids", [])]
    dedup = key("breach", device)
    if bssid and allowed and bssid.lower() not in allowed:
        decisions.raises.append(Raise(AlertKind.BREACH, Severity.CRITICAL, dedup,
                                      f"{device} left its room (unknown access point)",
                                      {"reason": "bssid", "bssid": bssid, "rssi": rssi}))
        return
    if rssi is None:
        return
    if rssi < rules.rssi_breach_dbm:
        streak = state.get("rssi_low_streak", 0) + 1
        state["rssi_low_streak"] = streak
        if streak >= rules.rssi_breach_consecutive:
            decisions.raises.append(Raise(AlertKind.BREACH, Severity.CRITICAL, dedup,
                                          f"{device} left its room (signal {rssi} dBm)",
                                          {"reason": "rssi", "rssi": rssi, "consecutive": streak}))
    else:
        state["rssi_low_streak"] = 0


def _temperature(device: Device, rules: RuleSet, temperature: float | None, decisions: Decisions) -> None:
    if temperature is None:
        return
    dedup = key("temperature", device)
    if temperature >= rules.cpu_temp_celsius:
        decisions.raises.append(Raise(AlertKind.TEMPERATURE, Severity.HIGH, dedup,
                                      f"{device} CPU at {temperature:.0f} °C", {"temperature_c": temperature}))
    elif temperature < rules.cpu_temp_celsius - 5:
        decisions.clears.append(Clear(dedup, "auto", f"CPU back at {temperature:.0f} °C"))


def _scanner(device: Device, status: str | None, decisions: Decisions) -> None:
    if not status or status == "unknown":
        return
    dedup = key("scanner", device)
    if status in ("error", "disconnected"):
        decisions.raises.append(Raise(AlertKind.SCANNER, Severity.WARNING, dedup,
                                      f"Scanner {status} on {device}", {"scanner_status": status}))
    elif status == "ok":
        decisions.clears.append(Clear(dedup, "auto", "Scanner healthy again"))


def evaluate_scan(*, device: Device, rules: RuleSet, scan: dict) -> Decisions:
    """Underage is judged from the age against the site's threshold, not the device's flag."""
    decisions = Decisions()
    scan_id = str(scan["scan_id"])
    if scan["age"] < rules.underage_age:
        decisions.raises.append(Raise(
            AlertKind.UNDERAGE, Severity.CRITICAL, key("underage", device, scan_id),
            f"Underage customer ({scan['age']}, threshold {rules.underage_age}) at {device.site.name}",
            {"scan_id": scan_id, "age": scan["age"], "threshold": rules.underage_age,
             "jurisdiction": scan.get("jurisdiction", "")}))
    if rules.document_alerts_enabled and (not scan["is_valid"] or scan["document_expired"]):
        reason = "expired" if scan["document_expired"] else "invalid"
        decisions.raises.append(Raise(AlertKind.DOCUMENT, Severity.WARNING, key("document", device, scan_id),
                                      f"{reason.capitalize()} ID presented at {device.site.name}",
                                      {"scan_id": scan_id, "reason": reason}))
    return decisions


@dataclass(frozen=True)
class Sighting:
    """One scan of a document, as the document-reuse rule sees it: where, when, refused or not."""

    site_id: int
    site_public_id: str
    scanned_at: datetime
    is_underage: bool


def evaluate_document_reuse(*, subject_hash: str, sightings: list[Sighting], window_seconds: int,
                            repeats_after_refusal: int) -> Raise | None:
    """One document (its keyed hash) scanned at several sites within the window, or scanned
    again `repeats_after_refusal` times after being refused as underage: a borrowed, shared
    or faked ID. Judged on the window that ends at the newest sighting; the hash's prefix is
    all the alert says about the document."""
    if not sightings:
        return None
    ordered = sorted(sightings, key=lambda s: s.scanned_at)
    newest = ordered[-1].scanned_at
    recent = [s for s in ordered if (newest - s.scanned_at).total_seconds() <= window_seconds]
    sites = sorted({s.site_public_id for s in recent})
    refused = next((index for index, s in enumerate(recent) if s.is_underage), None)
    after_refusal = len(recent) - refused - 1 if refused is not None else 0
    if len(sites) >= 2:
        reason, summary = "several_sites", f"One ID scanned at {len(sites)} sites within {window_seconds // 60} min"
    elif refused is not None and after_refusal >= repeats_after_refusal:
        reason, summary = "after_underage", f"An ID refused as underage was scanned {after_refusal} more time(s)"
    else:
        return None
    prefix = subject_hash[:12]
    return Raise(AlertKind.DOCUMENT_REUSE, Severity.HIGH, f"document_reuse:{prefix}",
                 f"{summary} (document {prefix})",
                 {"hash_prefix": prefix, "reason": reason, "sites": sites, "scans": len(recent)})
