"""Escalation: snapshot the matching policy onto the alert when it is raised, write the
outbox rows of each step when it falls due, and stop when someone acknowledges.

Due steps are found from the database (`next_escalation_at`, rows locked with SKIP
LOCKED) by a periodic task, never by long countdown tasks that a broker restart or the
Redis visibility timeout could lose or duplicate.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.alerts.models import Alert, AlertEvent, AlertEventKind, AlertStatus, Severity
from apps.notifications.models import EscalationPolicy, Notification, Purpose, QuietHours
from apps.notifications.outbox import enqueue_deliveries_on_commit
from apps.notifications.quiet_hours import quiet_until

logger = logging.getLogger(__name__)
MAX_REPEATS = 5


def matching_policy(alert: Alert) -> EscalationPolicy | None:
    policies = (EscalationPolicy.objects.for_tenant(alert.tenant).filter(enabled=True)
                .prefetch_related("sites", "steps__channels").order_by("priority", "pk"))
    for policy in policies:
        if policy.kinds and alert.kind not in policy.kinds:
            continue
        if policy.severities and alert.severity not in policy.severities:
            continue
        site_ids = {site.pk for site in policy.sites.all()}
        if site_ids and alert.site_id not in site_ids:
            continue
        return policy
    return None


def snapshot(policy: EscalationPolicy) -> dict:
    """Frozen copy of the policy: later edits don't change alerts already in flight."""
    return {
        "policy_id": policy.public_id, "name": policy.name,
        "steps": [{"order": step.order, "delay_minutes": step.delay_minutes,
                   "channels": sorted(channel.pk for channel in step.channels.all() if channel.enabled)}
                  for step in sorted(policy.steps.all(), key=lambda s: s.order)],
        "repeat_times": min(policy.repeat_times, MAX_REPEATS),
        "repeat_after_minutes": policy.repeat_after_minutes,
        "notify_on_acknowledge": policy.notify_on_acknowledge,
        "notify_on_resolve": policy.notify_on_resolve,
    }


def _schedule(plan: dict) -> list[tuple[int, int, list[int]]]:
    """Every (step index, minutes after raise, channel ids), repeats included."""
    steps = plan.get("steps", [])
    if not steps:
        return []
    cycle = steps[-1]["delay_minutes"] + plan.get("repeat_after_minutes", 10)
    schedule = []
    for round_ in range(plan.get("repeat_times", 0) + 1):
        for step in steps:
            schedule.append((len(schedule), round_ * cycle + step["delay_minutes"], step["channels"]))
    return schedule


def _due_at(alert: Alert, now: datetime) -> datetime:
    if alert.severity == Severity.CRITICAL or not alert.site_id:
        return now  # critical alerts never wait for quiet hours to end
    hours = QuietHours.objects.filter(site_id=alert.site_id, enabled=True).first()
    if hours is None:
        return now
    return quiet_until(hours, alert.site.timezone, now) or now


def _write_step(alert: Alert, index: int, channel_ids: list[int], now: datetime) -> list[Notification]:
    due = _due_at(alert, now)
    rows = [Notification(tenant_id=alert.tenant_id, alert=alert, channel_id=channel_id, step=index,
                         purpose=Purpose.PAGE, due_at=due) for channel_id in channel_ids]
    # The unique (alert, channel, step, purpose) makes a re-run of a step a no-op.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    created = list(Notification.objects.filter(alert=alert, step=index, purpose=Purpose.PAGE))
    enqueue_deliveries_on_commit([n for n in created if n.due_at <= now], critical=alert.severity == "critical")
    return created


def _advance(alert: Alert, now: datetime) -> list[Notification]:
    """Write every step whose time has come; set when the next one falls due."""
    schedule = _schedule(alert.policy_snapshot)
    # Steps count from when Tocsin raised the alert, not from a device's (possibly late) clock.
    raised_at = min(alert.created_at, now)
    written: list[Notification] = []
    next_at = None
    for index, minutes, channels in schedule:
        if index < alert.escalation_step:
            continue
        due = raised_at + timedelta(minutes=minutes)
        if due <= now:
            written += _write_step(alert, index, channels, now)
            alert.escalation_step = index + 1
            if index > 0:
                AlertEvent.objects.create(tenant_id=alert.tenant_id, alert=alert, kind=AlertEventKind.ESCALATED,
                                          at=now, actor_type="system", actor_label="escalation",
                                          data={"step": index, "channels": len(channels)})
        else:
            next_at = due
            break
    alert.next_escalation_at = next_at
    return written


def plan_first_step(alert: Alert) -> None:
    """Raise hook, inside the raising transaction: snapshot the policy, write step 0."""
    policy = matching_policy(alert)
    if policy is None:
        return
    alert.policy_snapshot = snapshot(policy)
    alert.escalation_step = 0
    now = timezone.now()
    _advance(alert, now)
    Alert.objects.filter(pk=alert.pk).update(policy_snapshot=alert.policy_snapshot,
                                             escalation_step=alert.escalation_step,
                                             next_escalation_at=alert.next_escalation_at)


def escalation_tick(*, now: datetime | None = None, batch: int = 200) -> int:
    """Write the steps that fell due. Safe to run in parallel: rows are claimed with SKIP LOCKED."""
    now = now or timezone.now()
    advanced = 0
    with transaction.atomic():
        due = list(Alert.objects.select_for_update(skip_locked=True, of=("self",)).select_related("site", "tenant")
                   .filter(status=AlertStatus.TRIGGERED, next_escalation_at__lte=now)
                   .order_by("next_escalation_at")[:batch])
        for alert in due:
            _advance(alert, now)
            alert.save(update_fields=["escalation_step", "next_escalation_at", "updated_at"])
            advanced += 1
    if advanced:
        logger.info("escalation steps written", extra={"alerts": advanced})
    return advanced
