"""What ingest keeps, and for how long: health samples, telemetry and scans past each
tenant's retention are deleted in bounded batches, except what a legal hold keeps; whole
months of telemetry partitions are made ahead of time and dropped once past every tenant's
retention.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from apps.common.batches import delete_in_batches
from apps.ingest import partitions
from apps.ingest.models import HealthSample, Scan, TelemetryReading
from apps.tenancy.models import LegalHold, RetainedTable, RetentionPolicy, Tenant
from apps.tenancy.retention import holds_for, retention_cutoff


def telemetry_purge(*, tenant: Tenant, before: datetime, held_site_ids: frozenset[int], batch_size: int,
                    max_batches: int) -> int:
    """One tenant's telemetry past retention, by the readings' own time (what partitions are cut by)."""
    readings = TelemetryReading.objects.filter(tenant=tenant, ts__lt=before) \
        .exclude(device__site_id__in=held_site_ids)
    return delete_in_batches(readings, batch_size=batch_size, max_batches=max_batches)


def telemetry_partitions_maintain(*, now: datetime | None = None) -> dict[str, int]:
    """Next months' partitions made ahead of time; whole months dropped once they are past
    every tenant's telemetry retention and no legal hold is in force anywhere (a drop takes
    every tenant's rows of that month at once; per-tenant periods are purged row by row)."""
    now = now or timezone.now()
    partitions.ensure_partitions(now=now)
    if LegalHold.objects.filter(released_at__isnull=True).exists():
        return {"telemetry_partitions_dropped": 0}
    longest = max([settings.TOCSIN_TELEMETRY_RETENTION_DAYS, *RetentionPolicy.objects.filter(
        table=RetainedTable.TELEMETRY).values_list("days", flat=True)])
    dropped, purged = partitions.drop_expired_partitions(before=now - timedelta(days=longest))
    return {"telemetry_partitions_dropped": len(dropped), "telemetry": purged}


def history_purge(*, tenant: Tenant, now: datetime, batch_size: int, max_batches: int) -> dict[str, int]:
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
        "telemetry": telemetry_purge(tenant=tenant, before=cutoff(RetainedTable.TELEMETRY),
                                     held_site_ids=holds.site_ids, batch_size=batch_size, max_batches=max_batches),
        "scans": delete_in_batches(scans, batch_size=batch_size, max_batches=max_batches),
    }
