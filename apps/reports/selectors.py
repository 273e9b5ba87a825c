"""Analytics for the portal, computed in PostgreSQL: one query per question, whatever the
number of sites, and every figure per site in the site's own timezone.

A store manager's "Tuesday" runs from local midnight to local midnight, so buckets are cut
in the site's zone by the database (`AT TIME ZONE site.timezone`), never in UTC and never
by loading rows into Python.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from apps.common.errors import NotFoundError
from apps.ingest.models import AgeBand, RuleSet, Scan
from apps.ingest.site_rules import rules_for_site
from apps.tenancy.models import Site, Tenant
from apps.tenancy.scoping import Scope

SCAN_BUCKETS = ("hour", "day")
HEALTH_WINDOW = timedelta(hours=24)


def analytics_sites(*, tenant: Tenant, site_id: str | None = None, scope: Scope | None = None) -> list[Site]:
    """The tenant's sites in the caller's scope, or the one named; another tenant's site, or
    one outside the scope, is not found."""
    sites = Site.objects.for_tenant(tenant).order_by("name", "pk")
    if scope is not None:
        sites = scope.filter(sites)
    if site_id is None:
        return list(sites)
    site = sites.filter(public_id=site_id).first()
    if site is None:
        raise NotFoundError("Site not found.")
    return [site]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _number(value: Decimal | float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def _site_rules(*, tenant: Tenant, sites: list[Site]) -> dict[int, RuleSet]:
    """Every site's rules in one query; a site without any yet is judged by its kind's defaults."""
    found = {rules.site_id: rules for rules in RuleSet.objects.for_tenant(tenant).filter(site__in=sites)}
    for site in sites:
        if site.pk not in found:
            found[site.pk] = rules_for_site(site).rules
    return found


# --- scans ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScanCounts:
    scans: int = 0
    underage: int = 0
    invalid: int = 0
    expired: int = 0

    @property
    def underage_rate(self) -> float | None:
        return _rate(self.underage, self.scans)

    @property
    def invalid_rate(self) -> float | None:
        return _rate(self.invalid, self.scans)

    @property
    def expired_rate(self) -> float | None:
        return _rate(self.expired, self.scans)


@dataclass(frozen=True)
class ScanBucket:
    start: datetime  # in the site's timezone
    counts: ScanCounts


@dataclass(frozen=True)
class SiteScanStats:
    site: Site
    buckets: list[ScanBucket]
    age_bands: dict[str, int]
    totals: ScanCounts


# The start of each scan's bucket as an instant. Days: local midnight. Hours: the scan's
# instant minus its local minutes and seconds, so the repeated hour when clocks go back
# stays two buckets, and zones half an hour off UTC get their own local hours.
_BUCKET_START_SQL = {
    "day": "date_trunc('day', scan.scanned_at AT TIME ZONE site.timezone) AT TIME ZONE site.timezone",
    "hour": ("scan.scanned_at - ((scan.scanned_at AT TIME ZONE site.timezone)"
             " - date_trunc('hour', scan.scanned_at AT TIME ZONE site.timezone))"),
}

# One pass over the period's scans: GROUPING SETS yield the per-bucket rows, the per-age-band
# rows and the per-site totals together; GROUPING() says which a row is (1, 2 and 3).
# Underage is judged like the underage rule judges it, by age against the site's threshold,
# not by the device's own flag, so the rate agrees with the alerts.
_SCANS_SQL = """
WITH scoped AS (
    SELECT scan.site_id, scan.age_band, scan.age < p.underage_age AS is_underage, scan.is_valid,
           scan.document_expired, {bucket_start} AS bucket_start
    FROM unnest(%(site_ids)s::bigint[], %(underage_ages)s::integer[]) AS p(site_id, underage_age)
    JOIN ingest_scan scan ON scan.site_id = p.site_id
    JOIN tenancy_site site ON site.id = scan.site_id AND site.tenant_id = scan.tenant_id
    WHERE scan.tenant_id = %(tenant_id)s AND scan.scanned_at >= %(since)s AND scan.scanned_at < %(until)s
)
SELECT site_id, GROUPING(bucket_start, age_band) AS level, bucket_start, age_band,
       count(*), count(*) FILTER (WHERE is_underage), count(*) FILTER (WHERE NOT is_valid),
       count(*) FILTER (WHERE document_expired)
FROM scoped
GROUP BY GROUPING SETS ((site_id, bucket_start), (site_id, age_band), (site_id))
"""
_LEVEL_BUCKET, _LEVEL_AGE_BAND, _LEVEL_SITE = 1, 2, 3


def _bucket_starts(*, since: datetime, until: datetime, bucket: str, tz: zoneinfo.ZoneInfo) -> list[datetime]:
    """Every bucket of the period as a UTC instant, so a chart shows quiet hours and days
    as zeros. Instants, not local times: two local datetimes of one zone compare by wall
    clock, which would merge the repeated hour when clocks go back."""
    if bucket == "day":
        day, last = since.astimezone(tz).date(), (until - timedelta(microseconds=1)).astimezone(tz).date()
        starts = []
        while day <= last:
            starts.append(datetime.combine(day, time(), tzinfo=tz).astimezone(UTC))
            day += timedelta(days=1)
        return starts
    instant = since.astimezone(tz).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    starts = []
    while instant < until:
        starts.append(instant)
        instant += timedelta(hours=1)
    return starts


def scan_analytics(*, tenant: Tenant, since: datetime, until: datetime, bucket: str,
                   sites: list[Site]) -> list[SiteScanStats]:
    """Scans of `sites` in [since, until), per bucket, per age band and in total; underage
    by each site's current threshold."""
    if bucket not in SCAN_BUCKETS:
        raise ValueError(f"bucket must be one of {SCAN_BUCKETS}")
    if not sites:
        return []
    rules = _site_rules(tenant=tenant, sites=sites)
    params = {"tenant_id": tenant.pk, "site_ids": [site.pk for site in sites],
              "underage_ages": [rules[site.pk].underage_age for site in sites], "since": since, "until": until}
    per_bucket: dict[int, dict[datetime, ScanCounts]] = {site.pk: {} for site in sites}
    per_band: dict[int, dict[str, int]] = {site.pk: {} for site in sites}
    totals: dict[int, ScanCounts] = {}
    with connection.cursor() as cursor:
        cursor.execute(_SCANS_SQL.format(bucket_start=_BUCKET_START_SQL[bucket]), params)
        for site_id, level, bucket_start, band, scans, underage, invalid, expired in cursor.fetchall():
            counts = ScanCounts(scans=scans, underage=underage, invalid=invalid, expired=expired)
            if level == _LEVEL_BUCKET:
                per_bucket[site_id][bucket_start.astimezone(UTC)] = counts
            elif level == _LEVEL_AGE_BAND:
                per_band[site_id][band] = scans
            elif level == _LEVEL_SITE:
                totals[site_id] = counts
    result = []
    for site in sites:
        tz = site.zoneinfo
        counted = per_bucket[site.pk]
        # A bucket the database cut differently (a zone whose rules Python knows otherwise)
        # is still shown, never dropped.
        starts = sorted(set(_bucket_starts(since=since, until=until, bucket=bucket, tz=tz)) | set(counted))
        buckets = [ScanBucket(start=start.astimezone(tz), counts=counted.get(start, ScanCounts()))
                   for start in starts]
        age_bands = {band: per_band[site.pk].get(band, 0) for band in AgeBand.values}
        result.append(SiteScanStats(site=site, buckets=buckets, age_bands=age_bands,
                                    totals=totals.get(site.pk, ScanCounts())))
    return result


# --- devices -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SiteDeviceStats:
    site: Site
    total: int
    online: int
    offline: int
    never_seen: int
    revoked: int
    battery_avg: float | None
    battery_min: int | None
    battery_low: int
    avg_cpu_percent: float | None
    max_temperature_c: float | None
    avg_memory_used_pct: float | None


# Per-site thresholds come in as arrays (one element per site) so one statement answers for
# every site. Offline means what the offline sweep means: flagged, or silent past the cutoff.
# Health uses each active device's newest sample of the window, found by the
# (device, -sent_at) index one device at a time.
_DEVICES_SQL = """
SELECT p.site_id,
       count(d.id),
       count(*) FILTER (WHERE d.status = 'active' AND d.last_seen_at >= p.cutoff
                        AND NOT d.rule_state @> '{"rules": {"offline": true}}'::jsonb),
       count(*) FILTER (WHERE d.status = 'active' AND d.last_seen_at IS NOT NULL
                        AND (d.last_seen_at < p.cutoff
                             OR d.rule_state @> '{"rules": {"offline": true}}'::jsonb)),
       count(*) FILTER (WHERE d.status = 'active' AND d.last_seen_at IS NULL),
       count(*) FILTER (WHERE d.status = 'revoked'),
       avg(d.battery_level) FILTER (WHERE d.status = 'active'),
       min(d.battery_level) FILTER (WHERE d.status = 'active'),
       count(*) FILTER (WHERE d.status = 'active' AND d.battery_level < p.battery_warning),
       avg(health.cpu_percent),
       max(health.temperature_c),
       avg(100.0 * health.memory_used_mb / NULLIF(health.memory_total_mb, 0))
FROM unnest(%(site_ids)s::bigint[], %(cutoffs)s::timestamptz[], %(battery_warnings)s::integer[])
     AS p(site_id, cutoff, battery_warning)
LEFT JOIN devices_device d ON d.site_id = p.site_id AND d.tenant_id = %(tenant_id)s
LEFT JOIN LATERAL (
    SELECT sample.cpu_percent, sample.temperature_c, sample.memory_used_mb, sample.memory_total_mb
    FROM ingest_healthsample sample
    WHERE sample.device_id = d.id AND d.status = 'active' AND sample.sent_at >= %(health_since)s
    ORDER BY sample.sent_at DESC
    LIMIT 1
) health ON true
GROUP BY p.site_id
"""


def device_analytics(*, tenant: Tenant, sites: list[Site], now: datetime | None = None) -> list[SiteDeviceStats]:
    """Online/offline, battery and health of the devices of `sites`, judged by each site's rules."""
    if not sites:
        return []
    now = now or timezone.now()
    rules = _site_rules(tenant=tenant, sites=sites)
    params = {
        "tenant_id": tenant.pk,
        "site_ids": [site.pk for site in sites],
        "cutoffs": [now - timedelta(seconds=rules[site.pk].heartbeat_interval_seconds
                                    * rules[site.pk].offline_after_missed) for site in sites],
        "battery_warnings": [rules[site.pk].battery_warning_percent for site in sites],
        "health_since": now - HEALTH_WINDOW,
    }
    with connection.cursor() as cursor:
        cursor.execute(_DEVICES_SQL, params)
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    result = []
    for site in sites:
        (total, online, offline, never_seen, revoked, battery_avg, battery_min, battery_low, cpu, temperature,
         memory) = rows[site.pk]
        result.append(SiteDeviceStats(
            site=site, total=total, online=online, offline=offline, never_seen=never_seen, revoked=revoked,
            battery_avg=_number(battery_avg), battery_min=battery_min, battery_low=battery_low,
            avg_cpu_percent=_number(cpu), max_temperature_c=_number(temperature),
            avg_memory_used_pct=_number(memory),
        ))
    return result


def scan_list(*, tenant: Tenant, site: Site | None = None, device=None, since: datetime | None = None,
              until: datetime | None = None, underage: bool | None = None, valid: bool | None = None):
    """The tenant's scans, newest first, with the list's and the exports' filters."""
    scans = Scan.objects.for_tenant(tenant)
    if site is not None:
        scans = scans.filter(site=site)
    if device is not None:
        scans = scans.filter(device=device)
    if since is not None:
        scans = scans.filter(scanned_at__gte=since)
    if until is not None:
        scans = scans.filter(scanned_at__lt=until)
    if underage is not None:
        scans = scans.filter(is_underage=underage)
    if valid is not None:
        scans = scans.filter(is_valid=valid)
    return scans.order_by("-scanned_at", "-id")
