"""Escalation: route an alert to the policy that covers it, write the outbox rows of each
step when it falls due, and move on when nobody acknowledges.

A route is a paging cycle: a frozen snapshot of the policy (later edits don't change
alerts in flight) and the steps written so far. Raising starts cycle 0; a reopen or a
raised severity starts the next one, whose rows are new rows (the outbox is unique per
alert, channel, cycle, step and purpose), so the people paged before are paged again.

Due steps are found from the database (`next_escalation_at`, rows locked with SKIP
LOCKED) by a periodic task, never by long countdown tasks that a broker restart or the
Redis visibility timeout could lose or duplicate.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.alerts.models import Alert, AlertEvent, AlertEventKind, AlertStatus, Severity
from apps.alerts.outages import may_join_outage
from apps.notifications import holds
from apps.notifications.models import Notification, NotificationStatus, Purpose, QuietHours
from apps.notifications.quiet_hours import quiet_hours_for_site, quiet_until
from apps.notifications.routing import RoutePolicy, enabled_policies, route_context
from apps.notifications.silence import mark_unnotified
from apps.notifications.steps import write_step

logger = logging.getLogger(__name__)
MAX_REPEATS = 5


def policy_for(*, tenant_id: int, kind: str, severity: str, site_id: int | None,
               policies: list[RoutePolicy] | None = None) -> RoutePolicy | None:
    """The enabled policy with the lowest priority number that covers this alert."""
    for policy in policies if policies is not None else enabled_policies(tenant_id):
        if policy.covers(kind=kind, severity=severity, site_id=site_id):
            return policy
    return None


def snapshot(policy: RoutePolicy | None, *, severity: str) -> dict:
    """Frozen copy of the policy, and the severity it was chosen for (a higher one re-routes)."""
    if policy is None:
        return {"policy_id": None, "name": None, "severity": severity, "steps": []}
    return {
        "policy_id": policy.public_id, "name": policy.name, "severity": severity,
        "steps": [_step_snapshot(step) for step in policy.steps],
        "repeat_times": min(policy.repeat_times, MAX_REPEATS),
        "repeat_after_minutes": policy.repeat_after_minutes,
        "notify_on_acknowledge": policy.notify_on_acknowledge,
        "notify_on_resolve": policy.notify_on_resolve,
    }


def _step_snapshot(step) -> dict:
    entry = {"order": step.order, "delay_minutes": step.delay_minutes, "channels": list(step.enabled_channel_ids)}
    if step.people:  # who they are is resolved when the step runs, not now
        entry["people"] = step.people.as_snapshot()
    return entry


def schedule(plan: dict) -> list[tuple[int, int, dict]]:
    """Every (step index, minutes after the cycle started, step), repeats included."""
    steps = plan.get("steps", [])
    if not steps:
        return []
    cycle = steps[-1]["delay_minutes"] + plan.get("repeat_after_minutes", 10)
    entries = []
    for round_ in range(plan.get("repeat_times", 0) + 1):
        for step in steps:
            entries.append((len(entries), round_ * cycle + step["delay_minutes"], step))
    return entries


def unrouted_reason(plan: dict) -> str:
    """Why this plan pages nobody, or "" when it pages someone."""
    if not plan.get("policy_id"):
        return "no escalation policy covers this alert"
    if not any(step["channels"] or step.get("people") for _, _, step in schedule(plan)):
        return "every channel of its policy is disabled"
    return ""


@dataclass
class QuietHoursCache:
    """Quiet hours per site, read once per tick or route rather than once per step."""

    by_site: dict[int, QuietHours | None] = field(default_factory=dict)

    def for_site(self, site_id: int) -> QuietHours | None:
        if site_id not in self.by_site:
            self.by_site[site_id] = quiet_hours_for_site(site_id)
        return self.by_site[site_id]


def _due_at(alert: Alert, now: datetime, quiet: QuietHoursCache) -> datetime:
    if alert.severity == Severity.CRITICAL or not alert.site_id:
        return now  # critical alerts never wait for quiet hours to end
    hours = quiet.for_site(alert.site_id)
    if hours is None:
        return now
    return quiet_until(hours, alert.site.timezone, now) or now


def _write_step(alert: Alert, index: int, step: dict, due: datetime, now: datetime) -> list[Notification]:
    # The unique (alert, channel, cycle, step, purpose) makes a re-run of a step a no-op;
    # people are resolved at `now`, the moment the step runs.
    return write_step(alert, index, step, due, now)


def _escalated(alert: Alert, index: int, rows: list[Notification], now: datetime, **data) -> None:
    AlertEvent.objects.create(tenant_id=alert.tenant_id, alert=alert, kind=AlertEventKind.ESCALATED, at=now,
                              actor_type="system", actor_label="escalation",
                              data={"step": index, "channels": len({row.channel_id for row in rows}),
                                    "cycle": alert.paging_cycle, **data})


def _cycle_started(alert: Alert) -> datetime:
    """Steps count from when Tocsin started the cycle (raised the alert, for the first one),
    not from a device's (possibly late) clock."""
    started_at = alert.policy_snapshot.get("started_at")
    return datetime.fromisoformat(started_at) if started_at else alert.created_at


def _advance(alert: Alert, now: datetime, quiet: QuietHoursCache, *, hold_seconds: int = 0,
             maintenance=holds.UNREAD) -> list[Notification]:
    """Write every step of the current cycle whose time has come; set when the next falls due.
    A held alert (snoozed, in maintenance) writes nothing and waits for the hold's end."""
    held = holds.hold_until(alert, now, maintenance=maintenance)
    if held is not None:
        holds.hold(alert, *held, now)
        return []
    plan = alert.policy_snapshot
    started = min(_cycle_started(alert), now)
    written: list[Notification] = []
    next_at = None
    for index, minutes, step in schedule(plan):
        if index < alert.escalation_step:
            continue
        due = started + timedelta(minutes=minutes)
        if due <= now:
            first_due = _due_at(alert, now, quiet)
            if index == 0 and hold_seconds:
                first_due = max(first_due, now + timedelta(seconds=hold_seconds))
            rows = _write_step(alert, index, step, first_due, now)
            written += rows
            alert.escalation_step = index + 1
            if index > 0:
                _escalated(alert, index, rows, now)
        else:
            next_at = due
            break
    alert.next_escalation_at = next_at
    return written


_SAVE_ROUTE_SQL = (f"UPDATE {Alert._meta.db_table} SET policy_snapshot = %s::jsonb, escalation_step = %s, "  # noqa: S608
                   "next_escalation_at = %s, paging_cycle = %s, unnotified_reason = %s, maintenance_until = %s, "
                   "snoozed_until = %s WHERE id = %s")


def _save_route(alert: Alert) -> None:
    """One plain statement: it runs on every new alert, where the ORM's compilation of this
    update cost more than PostgreSQL running it."""
    with connection.cursor() as cursor:
        cursor.execute(_SAVE_ROUTE_SQL, [json.dumps(alert.policy_snapshot),
                                         alert.escalation_step, alert.next_escalation_at, alert.paging_cycle,
                                         alert.unnotified_reason, alert.maintenance_until, alert.snoozed_until,
                                         alert.pk])


def cancel_pending_pages(alert: Alert, *, reason: str) -> int:
    return Notification.objects.filter(alert=alert, purpose=Purpose.PAGE, status=NotificationStatus.PENDING).update(
        status=NotificationStatus.CANCELLED, last_error=reason[:300], updated_at=timezone.now())


def start_cycle(alert: Alert, *, new_cycle: bool, now: datetime | None = None) -> str:
    """Route the alert afresh (inside the transaction of the change, the row locked or new).

    Returns why it pages nobody ("" when it pages someone); the caller makes that visible.
    """
    now = now or timezone.now()
    if new_cycle:
        cancel_pending_pages(alert, reason="superseded by a new route")
        alert.paging_cycle += 1
    context = route_context(alert, now)  # the routing version, the maintenance, quiet hours: one round trip
    policy = policy_for(tenant_id=alert.tenant_id, kind=alert.kind, severity=alert.severity, site_id=alert.site_id,
                        policies=enabled_policies(alert.tenant_id, version=context.routing_version))
    alert.policy_snapshot = snapshot(policy, severity=alert.severity)
    if new_cycle:  # the first cycle starts when the alert was raised
        alert.policy_snapshot["started_at"] = now.isoformat()
    alert.escalation_step = 0
    alert.next_escalation_at = None
    group = alert.group if alert.group_id else None
    if group is not None and group.is_open:
        alert.policy_snapshot["paged_through"] = group.public_id
        reason = alert.unnotified_reason = ""
    else:
        reason = alert.unnotified_reason = unrouted_reason(alert.policy_snapshot)
        hold = settings.TOCSIN_OUTAGE_HOLD_SECONDS if may_join_outage(alert) else 0
        quiet = QuietHoursCache(by_site={alert.site_id: context.quiet_hours} if alert.site_id else {})
        _advance(alert, now, quiet, hold_seconds=hold,  # a step paging nobody says so itself
                 maintenance=context.maintenance_until)
    _save_route(alert)
    return reason


def stop_escalation(alert: Alert, *, reason: str) -> None:
    """Acknowledged, resolved or paged through an outage: no step not yet sent goes out."""
    cancel_pending_pages(alert, reason=reason)
    alert.next_escalation_at = None
    Alert.objects.filter(pk=alert.pk).update(next_escalation_at=None)


def alert_escalate_now(alert_id: int, *, reason: str) -> bool:
    """A page could not be delivered (SMS undelivered): write the next step now, not after its delay."""
    now = timezone.now()
    with transaction.atomic():
        alert = (Alert.objects.select_for_update(of=("self",)).select_related("site", "tenant")
                 .filter(pk=alert_id, status=AlertStatus.TRIGGERED).order_by().first())
        if alert is None or holds.hold_until(alert, now) is not None:
            return False  # a held alert pages nobody until its hold ends, early or not
        entries = schedule(alert.policy_snapshot)
        if alert.escalation_step >= len(entries):
            return False
        index, _, step = entries[alert.escalation_step]
        rows = _write_step(alert, index, step, _due_at(alert, now, QuietHoursCache()), now)
        _escalated(alert, index, rows, now, reason=reason)
        alert.escalation_step = index + 1
        if alert.escalation_step < len(entries):
            following = _cycle_started(alert) + timedelta(minutes=entries[alert.escalation_step][1])
            alert.next_escalation_at = max(now, following)
        else:
            alert.next_escalation_at = None
        alert.save(update_fields=["escalation_step", "next_escalation_at", "updated_at"])
    logger.info("escalated early", extra={"alert": alert.public_id, "step": index, "reason": reason})
    return True


def _tick_one(alert: Alert, now: datetime, quiet: QuietHoursCache) -> None:
    """One due alert: a hold that is over starts a new cycle (it pages again from the first
    step); otherwise the steps that fell due are written (or the hold goes on)."""
    if holds.was_held(alert) and holds.hold_until(alert, now) is None:
        holds.release(alert, now)
        reason = start_cycle(alert, new_cycle=True, now=now)
        if reason:
            mark_unnotified(alert, reason=reason)
        return
    _advance(alert, now, quiet)
    alert.save(update_fields=["escalation_step", "next_escalation_at", "maintenance_until", "updated_at"])


def escalation_tick(*, now: datetime | None = None, batch: int = 200) -> int:
    """Write the steps that fell due. Safe to run in parallel: rows are claimed with SKIP LOCKED.

    Each alert gets its own savepoint, so one that fails (a bug, a deleted channel) is
    logged and skipped instead of holding back every other alert's escalation.
    """
    now = now or timezone.now()
    advanced = 0
    quiet = QuietHoursCache()
    with transaction.atomic():
        due = list(Alert.objects.select_for_update(skip_locked=True, of=("self",)).select_related("site", "tenant")
                   .filter(status=AlertStatus.TRIGGERED, next_escalation_at__lte=now)
                   .order_by("next_escalation_at")[:batch])
        for alert in due:
            try:
                with transaction.atomic():
                    _tick_one(alert, now, quiet)
                advanced += 1
            except Exception:
                logger.exception("escalation step not written", extra={"alert": alert.public_id})
    if advanced:
        logger.info("escalation steps written", extra={"alerts": advanced})
    return advanced
