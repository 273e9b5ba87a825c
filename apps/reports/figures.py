"""What a report says, computed once from the database: plain data for the PDF renderer.

Scan figures come from the analytics selectors (bucketed in each site's timezone by the
database); incidents, response times and uptime from the alerts and their timelines. The
figures carry no more about people than scans hold, plus the labels of the staff who acted.
"""

from __future__ import annotations

import statistics
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apps.alerts.models import Alert, AlertKind
from apps.devices.models import Device
from apps.reports.sections import delivery_counts
from apps.reports.selectors import scan_analytics
from apps.tenancy.models import Site, Tenant


@dataclass
class Incident:
    alert_id: str
    site: str
    at_local: str
    status: str
    summary: str
    acknowledged_by: str
    time_to_acknowledge: str
    timeline: list[tuple[str, str, str]]  # (local time, event, actor)


@dataclass
class ComplianceFigures:
    scans: int = 0
    underage: int = 0
    invalid: int = 0
    expired: int = 0
    per_day: list[tuple[str, int]] = field(default_factory=list)
    per_hour: list[int] = field(default_factory=lambda: [0] * 24)
    age_bands: dict[str, int] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)
    reuse: list[tuple[str, str, str, int]] = field(default_factory=list)  # (local time, hash prefix, reason, scans)


@dataclass
class OperationsFigures:
    alerts: int = 0
    by_kind: dict[str, Counter] = field(default_factory=dict)  # kind -> severity -> count
    mtta: tuple[str, str] = ("-", "-")  # p50, p90
    mttr: tuple[str, str] = ("-", "-")
    deliveries: list[tuple[str, str, str, int]] = field(default_factory=list)
    uptime: list[tuple[str, str, float]] = field(default_factory=list)  # (device, site, percent)


def report_zone(sites: list[Site]) -> zoneinfo.ZoneInfo:
    """A site's report speaks its zone; a tenant-wide one the zone its sites share, else UTC."""
    zones = {site.timezone for site in sites}
    return zoneinfo.ZoneInfo(zones.pop()) if len(zones) == 1 else zoneinfo.ZoneInfo("UTC")


def local(instant: datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if instant else "-"


def duration(delta: timedelta | float | None) -> str:
    if delta is None:
        return "-"
    seconds = int(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _percentiles(values: list[float]) -> tuple[str, str]:
    if not values:
        return "-", "-"
    if len(values) == 1:
        return duration(values[0]), duration(values[0])
    cuts = statistics.quantiles(values, n=10, method="inclusive")
    return duration(statistics.median(values)), duration(cuts[8])


def _alerts(tenant: Tenant, sites: list[Site], since: datetime, until: datetime):
    return Alert.objects.for_tenant(tenant).filter(site__in=sites, first_seen_at__gte=since, first_seen_at__lt=until)


def compliance_figures(*, tenant: Tenant, sites: list[Site], since: datetime, until: datetime) -> ComplianceFigures:
    figures = ComplianceFigures()
    zone = report_zone(sites)
    days: Counter = Counter()
    for stats in scan_analytics(tenant=tenant, since=since, until=until, bucket="day", sites=sites):
        figures.scans += stats.totals.scans
        figures.underage += stats.totals.underage
        figures.invalid += stats.totals.invalid
        figures.expired += stats.totals.expired
        for band, count in stats.age_bands.items():
            figures.age_bands[band] = figures.age_bands.get(band, 0) + count
        for bucket in stats.buckets:
            days[bucket.start.astimezone(stats.site.zoneinfo).strftime("%m-%d")] += bucket.counts.scans
    figures.per_day = sorted(days.items())
    for stats in scan_analytics(tenant=tenant, since=since, until=until, bucket="hour", sites=sites):
        for bucket in stats.buckets:
            figures.per_hour[bucket.start.astimezone(stats.site.zoneinfo).hour] += bucket.counts.scans
    underage = _alerts(tenant, sites, since, until).filter(kind=AlertKind.UNDERAGE).select_related("site") \
        .prefetch_related("events").order_by("first_seen_at")
    for alert in underage:
        site_zone = alert.site.zoneinfo if alert.site else zone
        acked = alert.acknowledged_at - alert.first_seen_at if alert.acknowledged_at else None
        figures.incidents.append(Incident(
            alert_id=alert.public_id, site=alert.site.name if alert.site else "-",
            at_local=local(alert.first_seen_at, site_zone), status=alert.status, summary=alert.summary,
            acknowledged_by=alert.acknowledged_by_label or "-", time_to_acknowledge=duration(acked),
            timeline=[(local(event.at, site_zone), event.kind, event.actor_label or event.actor_type)
                      for event in alert.events.all()]))
    for alert in _alerts(tenant, sites, since, until).filter(kind=AlertKind.DOCUMENT_REUSE).order_by("first_seen_at"):
        figures.reuse.append((local(alert.first_seen_at, zone), alert.details.get("hash_prefix", ""),
                              alert.details.get("reason", ""), int(alert.details.get("scans", 0))))
    return figures


def operations_figures(*, tenant: Tenant, sites: list[Site], since: datetime, until: datetime) -> OperationsFigures:
    figures = OperationsFigures()
    acks, resolves = [], []
    rows = _alerts(tenant, sites, since, until).values_list("kind", "severity", "first_seen_at", "acknowledged_at",
                                                            "resolved_at")
    for kind, severity, first_seen, acknowledged, resolved in rows.iterator(chunk_size=2000):
        figures.alerts += 1
        figures.by_kind.setdefault(kind, Counter())[severity] += 1
        if acknowledged:
            acks.append((acknowledged - first_seen).total_seconds())
        if resolved:
            resolves.append((resolved - first_seen).total_seconds())
    figures.mtta, figures.mttr = _percentiles(acks), _percentiles(resolves)
    figures.deliveries = sorted(delivery_counts(tenant=tenant, site_ids=[s.pk for s in sites], since=since,
                                                until=until))
    period = (until - since).total_seconds()
    offline: Counter = Counter()
    overlapping = Alert.objects.for_tenant(tenant).filter(kind=AlertKind.OFFLINE, site__in=sites,
                                                          device__isnull=False, first_seen_at__lt=until) \
        .exclude(resolved_at__lt=since).values_list("device_id", "first_seen_at", "resolved_at")
    for device_id, first_seen, resolved in overlapping:
        start, end = max(first_seen, since), min(resolved or until, until)
        offline[device_id] += max(0.0, (end - start).total_seconds())
    devices = Device.objects.for_tenant(tenant).filter(site__in=sites, created_at__lt=until).select_related("site")
    for device in devices.order_by("site__name", "name"):
        figures.uptime.append((str(device), device.site.name, round(100 * (1 - offline[device.pk] / period), 2)))
    return figures


def month_bounds(day: datetime) -> tuple[datetime, datetime]:
    """The calendar month before `day`, in UTC."""
    first_this = day.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    first_last = (first_this - timedelta(days=1)).replace(day=1)
    return first_last, first_this
