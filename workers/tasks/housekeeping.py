"""Periodic clean-up and liveness tasks (the `maintenance` queue)."""

from __future__ import annotations

import logging

from django.core import management

from workers.base import tocsin_task

logger = logging.getLogger(__name__)


@tocsin_task(name="tocsin.housekeeping.flush_expired_tokens")
def flush_expired_tokens(self) -> None:
    """Drop expired refresh tokens (and their blacklist rows), and the nonces of answers
    older than any link or request they guard, so the tables stay small."""
    from apps.responses.nonces import purge_spent_nonces

    management.call_command("flushexpiredtokens", verbosity=0)
    purge_spent_nonces()


@tocsin_task(name="tocsin.housekeeping.ping", max_retries=0)
def ping(self) -> str:
    """A no-op that logs; used by operators and tests to see a worker end to end."""
    logger.info("ping received")
    return "pong"


def purge_archived(*, tenant) -> dict[str, int]:
    """Archived devices, channels and sites whose history retention has since removed are
    deleted (through their services, audited); held sites keep theirs."""
    from apps.audit.services import Actor
    from apps.devices.models import Device
    from apps.devices.services import device_delete, device_history
    from apps.notifications.channels import channel_delete
    from apps.notifications.models import Channel
    from apps.tenancy.models import Site
    from apps.tenancy.retention import holds_for
    from apps.tenancy.services import site_delete, site_history

    holds, actor = holds_for(tenant=tenant), Actor.system("retention")
    if holds.whole_tenant:
        return {}
    deleted = {"archived_devices": 0, "archived_channels": 0, "archived_sites": 0}
    for device in Device.objects.filter(tenant=tenant, archived_at__isnull=False) \
            .exclude(site_id__in=holds.site_ids):
        if not device_history(device=device):
            device_delete(device=device, actor=actor)
            deleted["archived_devices"] += 1
    for channel in Channel.objects.filter(tenant=tenant, archived_at__isnull=False, notifications__isnull=True):
        channel_delete(channel=channel, actor=actor)
        deleted["archived_channels"] += 1
    for site in Site.objects.filter(tenant=tenant, archived_at__isnull=False).exclude(pk__in=holds.site_ids):
        if not site_history(site=site):
            site_delete(site=site, actor=actor)
            deleted["archived_sites"] += 1
    return deleted


@tocsin_task(name="tocsin.housekeeping.retention", max_retries=0, time_limit=3000)
def retention(self) -> dict:
    """Expired credentials, then each tenant's rows past its retention (health samples,
    telemetry, scans, resolved alerts with their timelines and deliveries, reports, audit entries),
    skipping what a legal hold keeps, in bounded batches; then archived devices, channels
    and sites left without history. Each tenant's purge is audited;
    the totals are logged and returned."""
    from django.conf import settings
    from django.utils import timezone

    from apps.alerts.services import alerts_purge_resolved
    from apps.audit.services import Actor, audit_purge_past_retention, audit_record
    from apps.devices.services import credentials_purge_expired
    from apps.ingest.services.retention import history_purge, telemetry_partitions_maintain
    from apps.reports.services import report_purge_past_retention
    from apps.tenancy.models import Tenant

    now = timezone.now()
    bounds = {"now": now, "batch_size": settings.TOCSIN_RETENTION_BATCH_SIZE,
              "max_batches": settings.TOCSIN_RETENTION_MAX_BATCHES}
    totals = dict(credentials_purge_expired())
    totals.update({key: value for key, value in telemetry_partitions_maintain(now=now).items() if value})
    for tenant in Tenant.objects.order_by("pk"):
        purged = {**history_purge(tenant=tenant, **bounds),
                  "alerts": alerts_purge_resolved(tenant=tenant, **bounds),
                  "reports": report_purge_past_retention(tenant=tenant, **bounds),
                  "audit": audit_purge_past_retention(tenant=tenant, **bounds)}
        purged.update(purge_archived(tenant=tenant))
        purged = {table: count for table, count in purged.items() if count}
        if purged:
            audit_record(tenant=tenant, actor=Actor.system("retention"), action="retention.purged", details=purged)
        for table, count in purged.items():
            totals[table] = totals.get(table, 0) + count
    logger.info("retention cleanup", extra={"purged": totals})
    return totals


@tocsin_task(name="tocsin.housekeeping.audit_anchor", max_retries=0)
def audit_anchor(self) -> int:
    """Checkpoint every audit chain's head, so truncating its newest entries is detected."""
    from apps.audit.services import audit_anchor_chains

    return audit_anchor_chains()


@tocsin_task(name="tocsin.housekeeping.audit_verify", max_retries=0, time_limit=1800)
def audit_verify(self) -> int:
    """Verify every audit chain; each break pages the operators (critical). Returns the breaks."""
    from apps.alerts.services import operator_alert_raise
    from apps.audit.selectors import verify_audit_log

    checked, breaks = verify_audit_log()
    for found in breaks:
        logger.critical("audit chain broken", extra={"chain": found.tenant_label, "seq": found.seq,
                                                     "entry": found.public_id, "reason": found.reason})
        operator_alert_raise(
            dedup_key=f"audit-chain-broken:{found.tenant_label}",
            summary=f"Audit chain of {found.tenant_label} is broken at entry #{found.seq}",
            details={"chain": found.tenant_label, "seq": found.seq, "entry": found.public_id,
                     "reason": found.reason},
        )
    logger.info("audit chains verified", extra={"checked": checked, "broken": len(breaks)})
    return len(breaks)
