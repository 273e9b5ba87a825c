"""The alert engine's writes: raise (deduplicated by the database) and the lifecycle.

Every alert, whatever raised it (a rule, a device report, an external system), goes
through `alert_raise`. Every change leaves an AlertEvent on the timeline and, for
lifecycle changes, an audit entry; higher apps hear about it through `extension_points`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.alerts import outages
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
from apps.audit.services import Actor, audit_record
from apps.common.batches import delete_in_batches
from apps.common.errors import ConflictError
from apps.common.ids import generate_public_id
from apps.devices.authentication import hydrate, select_columns
from apps.devices.models import Device
from apps.tenancy.models import RetainedTable, Site, Tenant
from apps.tenancy.retention import holds_for, retention_cutoff

logger = logging.getLogger(__name__)

# Severities only ever go up on a duplicate: the CASE below ranks them in this order.
_SEVERITY_RANK = "ARRAY['info', 'warning', 'high', 'critical']"

# A duplicate of an open alert: bump it and write its timeline event in one statement.
# No row means no open alert has the key (or it was resolved meanwhile): create one below.
# `previous` reads the severity before the bump, so a raised severity can be re-routed.
_BUMP_SQL = """
WITH previous AS (
    SELECT id AS previous_id, severity AS previous_severity FROM alerts_alert
    WHERE tenant_id = %(tenant_id)s AND dedup_key = %(dedup_key)s AND status IN ('triggered', 'acknowledged')
    FOR UPDATE
), raised AS (
    UPDATE alerts_alert SET
        count = count + 1,
        first_seen_at = LEAST(first_seen_at, %(seen_at)s),
        last_seen_at = GREATEST(last_seen_at, %(seen_at)s),
        severity = CASE
            WHEN array_position({rank}, %(severity)s::text) > array_position({rank}, severity::text)
            THEN %(severity)s ELSE severity END,
        details = details || %(details)s::jsonb,
        updated_at = now()
    FROM previous WHERE alerts_alert.id = previous.previous_id
    RETURNING {columns}, false AS inserted, previous.previous_severity
), {event}
SELECT * FROM raised
"""

# Create, or bump the open alert a concurrent raise created first: the partial unique index decides.
_RAISE_SQL = """
WITH raised AS (
    INSERT INTO alerts_alert (
        public_id, tenant_id, site_id, device_id, kind, severity, status, source, dedup_key, summary,
        details, count, first_seen_at, last_seen_at, acknowledged_by_label, resolved_by_label, resolution,
        policy_snapshot, escalation_step, is_group, created_at, updated_at
    ) VALUES (
        %(public_id)s, %(tenant_id)s, %(site_id)s, %(device_id)s, %(kind)s, %(severity)s, 'triggered', %(source)s,
        %(dedup_key)s, %(summary)s, %(details)s::jsonb, 1, %(seen_at)s, %(seen_at)s, '', '', '', '{{}}'::jsonb, 0,
        %(is_group)s, now(), now()
    )
    ON CONFLICT (tenant_id, dedup_key) WHERE status IN ('triggered', 'acknowledged')
    DO UPDATE SET
        count = alerts_alert.count + 1,
        first_seen_at = LEAST(alerts_alert.first_seen_at, EXCLUDED.first_seen_at),
        last_seen_at = GREATEST(alerts_alert.last_seen_at, EXCLUDED.last_seen_at),
        severity = CASE
            WHEN array_position({rank}, EXCLUDED.severity::text)
                 > array_position({rank}, alerts_alert.severity::text)
            THEN EXCLUDED.severity ELSE alerts_alert.severity END,
        details = alerts_alert.details || EXCLUDED.details,
        updated_at = now()
    RETURNING {columns}, (xmax = 0) AS inserted, NULL::text AS previous_severity
), {event}
SELECT * FROM raised
"""

# The raise's entry on the timeline, written by the same statement.
_EVENT_SQL = """event AS (
    INSERT INTO alerts_alertevent (public_id, tenant_id, alert_id, kind, at, actor_type, actor_label, note, data)
    SELECT %(event_id)s, tenant_id, id, CASE WHEN inserted THEN 'raised' ELSE 'duplicate' END, %(seen_at)s,
           %(actor_type)s, %(actor_label)s, '', jsonb_build_object('count', count)
    FROM raised
)"""

_statements: dict[str, str] = {}


def _statement(name: str) -> str:
    """The SQL with the alert's columns spelled out (once: they come from the model)."""
    if name not in _statements:
        template = _BUMP_SQL if name == "bump" else _RAISE_SQL
        _statements[name] = template.format(rank=_SEVERITY_RANK, columns=select_columns(Alert, "alerts_alert"),
                                            event=_EVENT_SQL)
    return _statements[name]


@dataclass(frozen=True)
class RaiseResult:
    alert: Alert
    created: bool

    @property
    def deduplicated(self) -> bool:
        return not self.created


def _execute_raise(name: str, params: dict, *, tenant: Tenant, site: Site | None,
                   device: Device | None) -> tuple[Alert, bool, str | None] | None:
    """(alert, inserted, severity before this raise: None when unknown)."""
    with connection.cursor() as cursor:
        cursor.execute(_statement(name), params)
        row = cursor.fetchone()
    if row is None:
        return None
    alert = hydrate(Alert, row[:-2])
    # The caller's tenant, site and device are the alert's own: attach them, as select_related would.
    Alert._meta.get_field("tenant").set_cached_value(alert, tenant)
    if site is not None and alert.site_id == site.pk:
        Alert._meta.get_field("site").set_cached_value(alert, site)
    if device is not None and alert.device_id == device.pk:
        Alert._meta.get_field("device").set_cached_value(alert, device)
    return alert, bool(row[-2]), row[-1]


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
    seen_at = occurred_at or timezone.now()
    actor = actor or Actor.system("rules")
    params = {
        "public_id": generate_public_id("alr"), "tenant_id": tenant.pk, "site_id": site.pk if site else None,
        "device_id": device.pk if device else None, "kind": kind, "severity": severity, "source": source,
        "dedup_key": dedup_key[:255], "summary": summary[:300], "details": json.dumps(details or {}, default=str),
        "seen_at": seen_at, "event_id": generate_public_id("evt"), "actor_type": actor.type,
        "actor_label": actor.label, "is_group": is_group,
    }
    bumped = _execute_raise("bump", params, tenant=tenant, site=site, device=device)
    if bumped is not None:
        alert, _, previous_severity = bumped
        announce_change(alert=alert, change="duplicate", actor_label=actor.label)
        if severity_rank(alert.severity) > severity_rank(previous_severity):
            alert = _severity_raised(alert, previous_severity=previous_severity, actor=actor)
        return RaiseResult(alert=alert, created=False)
    # A savepoint would only cost round trips: a failure here fails the caller's transaction anyway.
    with transaction.atomic(savepoint=False):
        alert, created, _ = _execute_raise("raise", params, tenant=tenant, site=site, device=device)
        if created:
            outages.join_outage(alert)
            run_lifecycle_handlers(alert, Change.RAISED)
            # Last before commit: the audit entry takes the tenant's chain lock, held until commit.
            audit_record(tenant=tenant, actor=actor, action="alert.raised", target_type="alert",
                         target_id=alert.public_id, details={"kind": kind, "severity": severity})
        elif alert.severity == severity:
            # A concurrent raise created it first; ours may have raised its severity. The row is
            # locked by the upsert; the handlers compare with what the alert was routed for.
            run_lifecycle_handlers(alert, Change.SEVERITY_RAISED)
        announce_change(alert=alert, change="raised" if created else "duplicate", actor_label=actor.label)
    if created:
        logger.info("alert raised", extra={"alert": alert.public_id, "kind": kind, "severity": severity})
    return RaiseResult(alert=alert, created=created)


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
    alert = (Alert.objects.filter(tenant=tenant, dedup_key=dedup_key, status__in=["triggered", "acknowledged"])
             .order_by().first())
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


def purge_resolved_alerts(*, tenant: Tenant, now: datetime, batch_size: int, max_batches: int) -> int:
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
