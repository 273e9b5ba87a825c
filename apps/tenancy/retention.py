"""How long each tenant keeps each table, and what a legal hold keeps whatever the period.

One place answers both questions for every app's purge: the tenant's own period for a table
(`RetentionPolicy`) or the platform default from settings, and the holds in force. A hold
without a site holds the whole tenant; a hold on a site holds that site's rows, and the
tenant-wide tables (the audit log, alerts without a site) too, because they may be about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from apps.tenancy.models import LegalHold, RetainedTable, RetentionPolicy, Tenant

DEFAULT_SETTING = {
    RetainedTable.HEALTH: "TOCSIN_HEALTH_RETENTION_DAYS",
    RetainedTable.TELEMETRY: "TOCSIN_TELEMETRY_RETENTION_DAYS",
    RetainedTable.SCANS: "TOCSIN_SCAN_RETENTION_DAYS",
    RetainedTable.ALERTS: "TOCSIN_ALERT_RETENTION_DAYS",
    RetainedTable.REPORTS: "TOCSIN_REPORT_RETENTION_DAYS",
    RetainedTable.AUDIT: "TOCSIN_AUDIT_RETENTION_DAYS",
}


@dataclass(frozen=True)
class Holds:
    whole_tenant: bool
    site_ids: frozenset[int]

    @property
    def any(self) -> bool:
        return self.whole_tenant or bool(self.site_ids)


def retention_days(*, tenant: Tenant, table: str) -> int:
    own = RetentionPolicy.objects.filter(tenant=tenant, table=table).values_list("days", flat=True).first()
    return own if own is not None else getattr(settings, DEFAULT_SETTING[table])


def retention_cutoff(*, tenant: Tenant, table: str, now: datetime) -> datetime:
    """Rows of this table older than this are past retention."""
    return now - timedelta(days=retention_days(tenant=tenant, table=table))


def holds_for(*, tenant: Tenant) -> Holds:
    active = list(LegalHold.objects.filter(tenant=tenant, released_at__isnull=True).values_list("site_id", flat=True))
    return Holds(whole_tenant=None in active, site_ids=frozenset(site for site in active if site is not None))
