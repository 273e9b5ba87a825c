"""Reads of telemetry and health history in buckets (avg/min/max), computed in PostgreSQL.

Invariant: buckets are in the site's timezone. A bucket of a day or more is a calendar day
(or a week from Monday) of the site's local clock, binned on local time, so a day across a
DST change is 23 or 25 hours long, as the people on site lived it; a bucket shorter than a
day is binned on absolute time from the site's local midnight, so no two real hours merge
when the clock falls back. Every range and bucket count is bounded before a query runs, and
every read is scoped by tenant and device. Selectors read and never write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection

from apps.devices.models import Device

BUCKETS = {"1m": timedelta(minutes=1), "5m": timedelta(minutes=5), "15m": timedelta(minutes=15),
           "30m": timedelta(minutes=30), "1h": timedelta(hours=1), "2h": timedelta(hours=2),
           "6h": timedelta(hours=6), "12h": timedelta(hours=12), "1d": timedelta(days=1), "1w": timedelta(weeks=1)}
MAX_RANGE = timedelta(days=400)
MAX_BUCKETS = 1000
AUTO_BUCKETS = 200
MAX_POINTS = 20000
# Health figures a chart or the API may ask for: column name → unit.
HEALTH_FIELDS = {"battery_level": "%", "rssi": "dBm", "temperature_c": "°C", "cpu_percent": "%",
                 "memory_used_mb": "MB", "disk_used_mb": "MB", "error_count": ""}
# A Monday: weeks start on Mondays, days at local midnight.
_LOCAL_ORIGIN = "2000-01-03 00:00:00"


class HistoryQueryError(ValueError):
    """A range or bucket the API answers 400 to; `field` names the parameter."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    bucket: str


@dataclass
class Series:
    name: str
    inverter: str = ""
    unit: str = ""
    points: list[dict] = field(default_factory=list)


def choose_window(*, since: datetime | None, until: datetime | None, bucket: str | None, now: datetime) -> Window:
    """Defaults (the last 24 hours, a bucket giving at most 200 points) and bounds."""
    until = until or now
    since = since or until - timedelta(days=1)
    if since >= until:
        raise HistoryQueryError("since", "'since' must be before 'until'.")
    if until - since > MAX_RANGE:
        raise HistoryQueryError("since", f"At most {MAX_RANGE.days} days at once.")
    if bucket is None:
        bucket = next((name for name, step in BUCKETS.items() if (until - since) / step <= AUTO_BUCKETS), "1w")
    elif bucket not in BUCKETS:
        raise HistoryQueryError("bucket", f"One of {', '.join(BUCKETS)}.")
    if (until - since) / BUCKETS[bucket] > MAX_BUCKETS:
        raise HistoryQueryError("bucket", f"At most {MAX_BUCKETS} buckets: choose a larger bucket or a shorter range.")
    return Window(since=since, until=until, bucket=bucket)


def _bin_expression(window: Window, tz: ZoneInfo, column: str) -> tuple[str, dict]:
    step = BUCKETS[window.bucket]
    params = {"step": step, "tz": str(tz)}
    if step >= timedelta(days=1):
        return f"(date_bin(%(step)s, {column} AT TIME ZONE %(tz)s, %(origin)s::timestamp) AT TIME ZONE %(tz)s)", {
            **params, "origin": _LOCAL_ORIGIN}
    local_midnight = window.since.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return f"date_bin(%(step)s, {column}, %(origin)s::timestamptz)", {**params, "origin": local_midnight}


def _point(start: datetime, tz: ZoneInfo, avg, low, high, count) -> dict:
    return {"start": start.astimezone(tz).isoformat(), "avg": avg, "min": low, "max": high, "count": count}


def telemetry_history(*, device: Device, window: Window, metric: str | None = None,
                      inverter: str | None = None) -> tuple[list[Series], bool]:
    """One series per (metric, inverter) of the device in the window; True if truncated."""
    tz = device.site.zoneinfo
    binned, params = _bin_expression(window, tz, "ts")
    filters = ""
    if metric is not None:
        filters += " AND metric = %(metric)s"
    if inverter is not None:
        filters += " AND inverter = %(inverter)s"
    sql = (f"SELECT metric, inverter, max(unit), {binned} AS start, avg(value), min(value), max(value), count(*) "  # noqa: S608
           f"FROM ingest_telemetryreading WHERE tenant_id = %(tenant)s AND device_id = %(device)s "
           f"AND ts >= %(since)s AND ts < %(until)s{filters} "
           f"GROUP BY metric, inverter, start ORDER BY metric, inverter, start LIMIT %(limit)s")
    params.update({"tenant": device.tenant_id, "device": device.pk, "since": window.since, "until": window.until,
                   "metric": metric, "inverter": inverter, "limit": MAX_POINTS + 1})
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    series: dict[tuple[str, str], Series] = {}
    for name, inv, unit, start, avg, low, high, count in rows[:MAX_POINTS]:
        entry = series.setdefault((name, inv), Series(name=name, inverter=inv, unit=unit or ""))
        entry.points.append(_point(start, tz, avg, low, high, count))
    return list(series.values()), len(rows) > MAX_POINTS


def health_history(*, device: Device, window: Window, fields: list[str]) -> list[Series]:
    """One series per health figure (battery, RSSI, temperature, ...), buckets without a
    value left out."""
    unknown = [name for name in fields if name not in HEALTH_FIELDS]
    if unknown:
        raise HistoryQueryError("fields", f"Unknown field(s) {', '.join(unknown)}; one of {', '.join(HEALTH_FIELDS)}.")
    tz = device.site.zoneinfo
    binned, params = _bin_expression(window, tz, "sent_at")
    aggregates = ", ".join(f"avg({name}), min({name}), max({name}), count({name})" for name in fields)
    sql = (f"SELECT {binned} AS start, {aggregates} FROM ingest_healthsample "  # noqa: S608
           f"WHERE tenant_id = %(tenant)s AND device_id = %(device)s AND sent_at >= %(since)s AND sent_at < %(until)s "
           f"GROUP BY start ORDER BY start")
    params.update({"tenant": device.tenant_id, "device": device.pk, "since": window.since, "until": window.until})
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    series = [Series(name=name, unit=HEALTH_FIELDS[name]) for name in fields]
    for row in rows:
        for index, entry in enumerate(series):
            avg, low, high, count = row[1 + 4 * index: 5 + 4 * index]
            if count:
                entry.points.append(_point(row[0], tz, float(avg), float(low), float(high), count))
    return series
