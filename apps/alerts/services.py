"""The alert engine's writes: raise (deduplicated by the database) and the lifecycle.

Every alert, whatever raised it (a rule, a device report, an external system), goes
through `alert_raise` (its statements are in `raise_sql`). Every change leaves an
AlertEvent on the timeline and, for lifecycle changes, an audit entry; higher apps hear
about it through `extension_points`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.alerts import outages, raise_sql
from apps.alerts.extension_points import Change, announce_change, run_lifecycle_handlers
from apps.alerts.models import (
    Alert,
    AlertEvent,
    AlertEventKind,
    AlertKind,
    AlertSource,
    AlertStatus,
    Severity,
    severity_rank,
)
from apps.alerts.selectors import alert_open_by_key
from apps.audit.services import Actor, audit_record
from apps.common.batches import delete_in_batches
from apps.common.errors import ConflictError
from apps.devices.models import Device
from apps.tenancy.models import RetainedTable, Site, Tenant
from apps.tenancy.retention import holds_for, retention_cutoff

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RaiseResult:
    alert: Alert
    created: bool

    @property
    def deduplicated(self) -> bool:
        return not self.created


def alert_raise(
    *,
    tenant: Tenant,
    kind: str,
    dedup_key: str,
    severity: str,
    summary: str,
    source: str,
    site: Site | None = None,
    device: Device | None = None,
    details: dict | None = None,
    occurred_at: datetime | None = None,
    actor: Actor | None = None,
    is_group: bool = False,
) -> RaiseResult:
    """Raise an alert, or bump the open one with the same key. Safe under any concurrency.

    A duplicate (the common case in a storm) is one statement: the bump and its timeline
    event, with no transaction around it, unless it raised the severity, which re-routes
    the alert. A new alert needs one, to write the alert, its outage grouping, its outbox
    (lifecycle handlers) and its audit entry together.
    """
    actor = actor or Actor.system("rules")
    owners = {"tenant": tenant, "site": site, "device": device}
    params = raise_sql.raise_params(kind=kind, dedup_key=dedup_key, severity=severity, summary=summary, source=source,
                                    details=details, seen_at=occurred_at or timezone.now(), actor=actor,
                                    is_group=is_group, **owners)
    bumped = raise_sql.bump_open(params, **owners)
    if bumped is not None:
        alert, previous_severity = bumped
        announce_change(alert=alert, change="duplicate", actor_label=actor.label)
        if severity_rank(alert.severity) > severity_rank(previous_severity):
            alert = _severity_raised(alert, previous_severity=previous_severity, actor=actor)
        return RaiseResult(alert=alert, created=False)
    alert, created = _raise_new(params, owners=owners, actor=actor, kind=kind, severity=severity)
    if created:
        logger.info("alert raised", extra={"alert": alert.public_id, "kind": kind, "severity": severity})
    return RaiseResult(alert=alert, created=created)


def _raise_new(params: dict, *, owners: dict, actor: Actor, kind: str, severity: str) -> tuple[Alert, bool]:
    """No open alert had the key: create it, with its outage grouping, outbox (lifecycle
    handlers) and audit entry in one transaction, unless a concurrent raise created it first."""
    # A savepoint would only cost round trips: a failure here fails the caller's transaction anyway.
    with transaction.atomic(savepoint=False):
        alert, created = raise_sql.insert_or_bump(params, **owners)
        if created:
            outages.join_outage(alert)
            run_lifecycle_handlers(alert, Change.RAISED)
            # Last before commit: the audit entry takes the tenant's chain lock, held until commit.
            audit_record(tenant=owners["tenant"], actor=actor, action="alert.raised", target_type="alert",
                         target_id=alert.public_id, details={"kind": kind, "severity": severity})
        elif alert.severity == severity:
            # A concurrent raise created it first; ours may have raised its severity. The row is
            # locked by the upsert; the handlers compare with what the alert was routed for.
            run_lifecycle_handlers(alert, Change.SEVERITY_RAISED)
        announce_change(alert=alert, change="raised" if created else "duplicate", actor_label=actor.label)
    return alert, created


def _locked(alert: Alert) -> Alert:
    return Alert.objects.select_for_update(of=("self",)).select_related("tenant", "site").get(pk=alert.pk)


def _severity_raised(alert: Alert, *, previous_severity: str | None, actor: Actor) -> Alert:
    """A duplicate raised the severity (battery 19 % → 5 %): route it as what it is now."""
    with transaction.atomic():
        alert = _locked(alert)
        if not alert.is_open:
            return alert
        _record(alert, kind=AlertEventKind.SEVERITY_RAISED, actor=actor, note="", action="alert.severity_raised",
                data={"from": previous_severity, "to": alert.severity})
        run_lifecycle_handlers(alert, Change.SEVERITY_RAISED)
    return alert


def _user_of(actor: Actor, user):
    return user if user is not None and getattr(user, "is_authenticated", False) and actor.type == "user" else None


def _record(alert: Alert, *, kind: str, actor: Actor, note: str, action: str, data: dict | None = None) -> None:
    AlertEvent.objects.create(tenant=alert.tenant, alert=alert, kind=kind, at=timezone.now(),
                              actor_type=actor.type, actor_label=actor.label, note=note, data=data or {})
    audit_record(tenant=alert.tenant, actor=actor, action=action, target_type="alert", target_id=alert.public_id,
                 details={"note_length": len(note), **(data or {})})
    announce_change(alert=alert, change=kind, actor_label=actor.label)


def _via(via: str) -> dict:
    """The medium an action came by ("sms", "voice", "slack", "email"): on the timeline and in the audit."""
    return {"via": via[:20]} if via else {}


def alert_acknowledge(*, alert: Alert, actor: Actor, note: str = "", user=None, via: str = "") -> Alert:
    """Someone is on it: stops escalation. Acknowledging twice is a no-op. `via` names the
    medium when it came from a message ("acknowledged by SMS"), empty for the board and API."""
    with transaction.atomic():
        alert = _locked(alert)
        if alert.status == AlertStatus.ACKNOWLEDGED:
            return alert
        if alert.status == AlertStatus.RESOLVED:
            raise ConflictError("This alert is already resolved.", code="alert_resolved")
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = _user_of(actor, user)
        alert.acknowledged_by_label = actor.label
        alert.next_escalation_at = None
        alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "acknowledged_by_label",
                                  "next_escalation_at", "updated_at"])
        _record(alert, kind=AlertEventKind.ACKNOWLEDGED, actor=actor, note=note, action="alert.acknowledged",
                data=_via(via))
        run_lifecycle_handlers(alert, Change.ACKNOWLEDGED)
        if alert.is_group:
            for member in outages.open_members(alert).filter(status=AlertStatus.TRIGGERED):
                alert_acknowledge(alert=member, actor=actor, note=outages.member_note(alert), user=user, via=via)
    return alert


def alert_acknowledge_on_behalf(*, alert: Alert, actor: Actor, user, on_behalf_of: str, note: str) -> Alert:
    """Acknowledge for someone named in free text (the legacy dashboard's `acknowledgedBy`,
    typed at the desk): a name is not an identity, so it is kept in the note, while the
    alert records the person who was actually authenticated."""
    if on_behalf_of:
        prefix = f"On behalf of {on_behalf_of}"
        note = f"{prefix}: {note}" if note else prefix
    return alert_acknowledge(alert=alert, actor=actor, note=note, user=user)


def alert_resolve(*, alert: Alert, actor: Actor, note: str = "", resolution: str = "manual", user=None,
                  via: str = "") -> Alert:
    """The problem is over. Resolving twice is a no-op. `via` as for `alert_acknowledge`."""
    with transaction.atomic():
        alert = _locked(alert)
        if alert.status == AlertStatus.RESOLVED:
            return alert
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = timezone.now()
        alert.resolved_by = _user_of(actor, user)
        alert.resolved_by_label = actor.label
        alert.resolution = resolution[:40]
        alert.next_escalation_at = None
        alert.save(update_fields=["status", "resolved_at", "resolved_by", "resolved_by_label", "resolution",
                                  "next_escalation_at", "updated_at"])
        _record(alert, kind=AlertEventKind.RESOLVED, actor=actor, note=note, action="alert.resolved",
                data={"resolution": alert.resolution, **_via(via)})
        run_lifecycle_handlers(alert, Change.RESOLVED)
        if alert.is_group:
            for member in outages.open_members(alert):
                alert_resolve(alert=member, actor=actor, note=outages.member_note(alert), resolution=resolution,
                              user=user, via=via)
        elif alert.group_id and not outages.open_members(alert.group).exists():
            # The last device of an outage is back: the outage is over too.
            alert_resolve(alert=alert.group, actor=Actor.system("outage"), resolution="restored",
                          note="Every alert of this outage is resolved.")
    return alert


def alert_reopen(*, alert: Alert, actor: Actor, note: str = "") -> Alert:
    """Back to triggered; refused while another alert with the same key is open."""
    try:
        with transaction.atomic():
            alert = _locked(alert)
            if alert.status != AlertStatus.RESOLVED:
                return alert
            alert.status = AlertStatus.TRIGGERED
            alert.resolved_at = None
            alert.resolved_by = None
            alert.resolved_by_label = ""
            alert.resolution = ""
            alert.acknowledged_at = None
            alert.acknowledged_by = None
            alert.acknowledged_by_label = ""
            alert.save(update_fields=["status", "resolved_at", "resolved_by", "resolved_by_label", "resolution",
                                      "acknowledged_at", "acknowledged_by", "acknowledged_by_label", "updated_at"])
            _record(alert, kind=AlertEventKind.REOPENED, actor=actor, note=note, action="alert.reopened")
            run_lifecycle_handlers(alert, Change.REOPENED)
    except IntegrityError as exc:
        raise ConflictError("Another alert with the same key is open; work on that one.",
                            code="duplicate_open_alert") from exc
    return alert


def alert_add_note(*, alert: Alert, actor: Actor, note: str) -> AlertEvent:
    with transaction.atomic():
        event = AlertEvent.objects.create(tenant=alert.tenant, alert=alert, kind=AlertEventKind.NOTE,
                                          at=timezone.now(), actor_type=actor.type, actor_label=actor.label,
                                          note=note)
        announce_change(alert=alert, change="note", actor_label=actor.label)
    return event


def alert_resolve_open(*, tenant: Tenant, dedup_key: str, resolution: str, note: str = "",
                       actor: Actor | None = None) -> Alert | None:
    """Resolve the open alert with this key, if any (rules call this when a problem clears)."""
    alert = alert_open_by_key(tenant=tenant, dedup_key=dedup_key)
    if alert is None:
        return None
    return alert_resolve(alert=alert, actor=actor or Actor.system("rules"), note=note, resolution=resolution)


def operator_alert_raise(*, dedup_key: str, summary: str, details: dict | None = None) -> RaiseResult | None:
    """Page the platform's operators: a critical alert in the operator tenant's own paging.

    The operator tenant (`TOCSIN_OPERATOR_TENANT`, a slug) is an ordinary tenant whose policies
    reach the people who run Tocsin. Without one the alert cannot be raised, and the problem is
    logged at critical level instead, so it is never silent.
    """
    slug = settings.TOCSIN_OPERATOR_TENANT
    tenant = Tenant.objects.filter(slug=slug).first() if slug else None
    if tenant is None:
        logger.critical("operator alert with no operator tenant configured",
                        extra={"dedup_key": dedup_key, "summary": summary})
        return None
    return alert_raise(tenant=tenant, kind=AlertKind.TAMPER, dedup_key=dedup_key, severity=Severity.CRITICAL,
                       summary=summary, source=AlertSource.SYSTEM, details=details,
                       actor=Actor.system("operator"))


def alerts_purge_resolved(*, tenant: Tenant, now: datetime, batch_size: int, max_batches: int) -> int:
    """Resolved alerts past the tenant's retention, with their timelines and deliveries (which
    cascade). A hold on the tenant keeps all; a hold on a site keeps that site's alerts and
    the ones of no site, which may be about it. Open alerts are never removed."""
    holds = holds_for(tenant=tenant)
    if holds.whole_tenant:
        return 0
    alerts = Alert.objects.filter(
        tenant=tenant, status=AlertStatus.RESOLVED,
        resolved_at__lt=retention_cutoff(tenant=tenant, table=RetainedTable.ALERTS, now=now))
    if holds.site_ids:
        alerts = alerts.exclude(site_id__in=holds.site_ids).exclude(site__isnull=True)
    return delete_in_batches(alerts, batch_size=batch_size, max_batches=max_batches)
