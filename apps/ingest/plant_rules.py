"""Telemetry rules: thresholds (several per metric), anomalies against the usual, siblings.

Invariant: each rule judges a reading only inside its window (always, business hours,
daylight), by the reading's own timestamp; a reading outside the window neither raises nor
clears, so `power_ac < 100 W` in daylight says nothing at night. Every decision carries a
dedup key naming the rule, the device, the inverter and the metric (a threshold's key also
names the threshold), so repeats bump one alert. Sustained clocks live in the device's rule
state (`state`), by reading time, as for the heartbeat rules.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection

from apps.alerts.models import AlertKind
from apps.devices.models import Device
from apps.ingest.baselines import Judged, Observation
from apps.ingest.models import TelemetryThreshold
from apps.ingest.plant_models import AnomalyRule, SiblingRule
from apps.ingest.rules import Clear, Decisions, Raise, key
from apps.ingest.windows import SiteWindows

# The newest reading of a sibling within the freshness span; the index (device, metric, -ts)
# and the time partitions keep it to the last minutes of the plant.
_SIBLINGS = """
SELECT DISTINCT ON (r.inverter) r.inverter, r.value
FROM ingest_telemetryreading r
WHERE r.tenant_id = %(tenant_id)s AND r.metric = %(metric)s AND r.inverter <> ''
  AND r.device_id IN (SELECT id FROM devices_device WHERE site_id = %(site_id)s)
  AND r.ts > %(since)s AND r.ts <= %(until)s
ORDER BY r.inverter, r.ts DESC
"""


# A plant's gateway sends a batch every few seconds; the median of its siblings moves with the
# weather, in minutes. Judging once a minute of reading time keeps the query off most batches
# (the sustained clock then has a minute's grain, against a default of 15 minutes).
SIBLING_EVERY_SECONDS = 60


def _label(inverter: str) -> str:
    return f" inverter {inverter}" if inverter else ""


def _thresholds_for(thresholds: Iterable[TelemetryThreshold], metric: str, inverter: str) -> list:
    """This inverter's own thresholds for the metric win over the plant-wide ones."""
    own = [t for t in thresholds if t.metric == metric and t.inverter and t.inverter == inverter]
    return own or [t for t in thresholds if t.metric == metric and not t.inverter]


def evaluate_thresholds(*, device: Device, thresholds: tuple[TelemetryThreshold, ...], readings: list[dict],
                        state: dict, windows: SiteWindows) -> Decisions:
    """metric <op> value sustained for N seconds, each threshold on its own clock and alert;
    clears when a reading in the window is back in range."""
    decisions = Decisions()
    since: dict[str, str] = state.setdefault("telemetry_since", {})
    for reading in sorted(readings, key=lambda r: r["ts"]):
        inverter, ts = reading.get("inverter", ""), reading["ts"]
        for threshold in _thresholds_for(thresholds, reading["metric"], inverter):
            if not windows.contains(threshold.window, ts):
                continue
            subject = f"{inverter}/{threshold.metric}#{threshold.pk}"
            dedup = key("telemetry", device, f"{inverter}:{threshold.metric}:{threshold.pk}")
            if threshold.violated_by(reading["value"]):
                started = datetime.fromisoformat(since.setdefault(subject, ts.isoformat()))
                if (ts - started).total_seconds() >= threshold.sustained_seconds:
                    decisions.raises.append(Raise(
                        AlertKind.TELEMETRY, threshold.severity, dedup,
                        f"{threshold.metric} {threshold.get_operator_display()} {threshold.value:g} "
                        f"({reading['value']:g} {reading.get('unit', '')}) on {device}{_label(inverter)}".strip(),
                        {"rule": "threshold", "metric": threshold.metric, "value": reading["value"],
                         "threshold": threshold.value, "since": started.isoformat(),
                         **({"inverter": inverter} if inverter else {})}))
            elif subject in since:
                del since[subject]
                decisions.clears.append(Clear(dedup, "auto",
                                              f"{threshold.metric} back in range ({reading['value']:g})"))
    return decisions


def anomaly_rule_for(rules: tuple[AnomalyRule, ...], metric: str, inverter: str) -> AnomalyRule | None:
    own = next((r for r in rules if r.metric == metric and r.inverter and r.inverter == inverter), None)
    return own or next((r for r in rules if r.metric == metric and not r.inverter), None)


def anomaly_observations(*, device: Device, rules: tuple[AnomalyRule, ...], readings: list[dict]) -> list[Observation]:
    """The readings an anomaly rule covers, as the baseline statement takes them."""
    observations = []
    for reading in readings:
        rule = anomaly_rule_for(rules, reading["metric"], reading.get("inverter", ""))
        if rule is not None:
            observations.append(Observation(
                tenant_id=device.tenant_id, device_id=device.pk, inverter=reading.get("inverter", ""),
                metric=reading["metric"], ts=reading["ts"], value=reading["value"], tz=device.site.timezone,
                alpha=rule.alpha, direction=rule.direction))
    return observations


def evaluate_anomalies(*, device: Device, rules: tuple[AnomalyRule, ...], judged: list[Judged],
                       windows: SiteWindows) -> Decisions:
    """"inverter 07 power_ac is 4.1σ below its usual for 13:00": raised on the batch's most
    unusual reading; cleared when every hour the batch touched is back within a sigma of the
    threshold (one alert per inverter and metric, whatever the hour)."""
    decisions = Decisions()
    by_key: dict[str, list[tuple[AnomalyRule, Judged]]] = {}
    for row in judged:
        rule = anomaly_rule_for(rules, row.metric, row.inverter)
        if rule is None or row.samples < rule.min_samples or row.worst_score is None:
            continue
        dedup = key("anomaly", device, f"{row.inverter}:{row.metric}" if row.inverter else row.metric)
        by_key.setdefault(dedup, []).append((rule, row))
    for dedup, rows in by_key.items():
        unusual = [(rule, row) for rule, row in rows
                   if row.worst_score >= rule.z_threshold and windows.contains(rule.window, row.worst_ts)]
        if unusual:
            rule, row = max(unusual, key=lambda pair: pair[1].worst_score)
            decisions.raises.append(_anomaly_raise(device, rule, row, dedup))
        elif all(row.last_score is not None and row.last_score < rule.z_threshold - 1 for rule, row in rows):
            decisions.clears.append(Clear(dedup, "auto", f"{rows[0][1].metric} back near its usual"))
    return decisions


def _anomaly_raise(device: Device, rule: AnomalyRule, row: Judged, dedup: str) -> Raise:
    way = {"below": "below", "above": "above"}.get(rule.direction, "away from")
    return Raise(
        AlertKind.TELEMETRY, rule.severity, dedup,
        f"{row.metric} on {device}{_label(row.inverter)} is {row.worst_score:.1f}σ {way} its usual "
        f"for {row.hour:02d}:00 ({row.worst_value:g} vs {row.usual:g})",
        {"rule": "anomaly", "metric": row.metric, "value": row.worst_value, "usual": row.usual,
         "spread": row.spread, "sigma": round(row.worst_score, 2), "hour": row.hour,
         "at": row.worst_ts.isoformat(), **({"inverter": row.inverter} if row.inverter else {})})


def _siblings(device: Device, metric: str, until: datetime, freshness: int) -> dict[str, float]:
    with connection.cursor() as cursor:
        cursor.execute(_SIBLINGS, {"tenant_id": device.tenant_id, "metric": metric, "site_id": device.site_id,
                                   "since": until - timedelta(seconds=freshness), "until": until})
        return dict(cursor.fetchall())


def evaluate_siblings(*, device: Device, rules: tuple[SiblingRule, ...], readings: list[dict], state: dict,
                      windows: SiteWindows) -> Decisions:
    """Each inverter of this device whose newest reading is `percent_below` % under the
    median of the plant's other inverters, sustained: one query per metric, at most once a
    minute of reading time per device."""
    decisions = Decisions()
    since: dict[str, str] = state.setdefault("sibling_since", {})
    checked: dict[str, str] = state.setdefault("sibling_checked", {})
    for rule in rules:
        mine = [r for r in readings if r["metric"] == rule.metric and r.get("inverter")]
        if not mine:
            continue
        until = max(r["ts"] for r in mine)
        last = checked.get(rule.metric)
        if last and 0 <= (until - datetime.fromisoformat(last)).total_seconds() < SIBLING_EVERY_SECONDS:
            continue
        if not windows.contains(rule.window, until):
            continue
        checked[rule.metric] = until.isoformat()
        latest = _siblings(device, rule.metric, until, rule.freshness_seconds)
        for inverter in sorted({r["inverter"] for r in mine}):
            _judge_sibling(device, rule, inverter, latest, until, since, decisions)
    return decisions


def _judge_sibling(device: Device, rule: SiblingRule, inverter: str, latest: dict[str, float], until: datetime,
                   since: dict[str, str], decisions: Decisions) -> None:
    others = [value for name, value in latest.items() if name != inverter]
    if inverter not in latest or len(others) < rule.min_siblings:
        return
    median, value = statistics.median(others), latest[inverter]
    subject = f"{inverter}/{rule.metric}"
    dedup = key("sibling", device, f"{inverter}:{rule.metric}")
    if median > 0 and value < median * (1 - rule.percent_below / 100):
        started = datetime.fromisoformat(since.setdefault(subject, until.isoformat()))
        if (until - started).total_seconds() >= rule.sustained_seconds:
            shortfall = 100 * (1 - value / median)
            decisions.raises.append(Raise(
                AlertKind.TELEMETRY, rule.severity, dedup,
                f"{rule.metric} of{_label(inverter)} on {device} is {shortfall:.0f} % below its siblings' "
                f"median ({value:g} vs {median:g})",
                {"rule": "sibling", "metric": rule.metric, "inverter": inverter, "value": value, "median": median,
                 "siblings": len(others), "since": started.isoformat()}))
    elif subject in since:
        del since[subject]
        decisions.clears.append(Clear(dedup, "auto", f"{rule.metric} back in line with its siblings"))


def merge(*parts: Decisions) -> Decisions:
    merged = Decisions()
    for part in parts:
        merged.raises += part.raises
        merged.clears += part.clears
    return merged
