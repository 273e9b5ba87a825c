"""Acting on an alert from a message: the one place every medium's answer goes through.

Invariant: every answer is attributed to its person, lands on the alert's timeline with
its medium ("acknowledged by SMS": the event's `data.via`) and in the audit, and is
idempotent: acknowledging an acknowledged alert, or resolving a resolved one, changes
nothing and says so. Permission is decided in `people.refusal`, the same for every medium.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction

from apps.alerts.models import Alert, AlertStatus
from apps.alerts.services import alert_acknowledge, alert_resolve
from apps.alerts.snoozing import alert_snooze, snooze_minutes
from apps.audit.services import audit_record
from apps.common.errors import ApplicationError
from apps.notifications.escalation import alert_escalate_now
from apps.notifications.page_actions import SNOOZE_MINUTES
from apps.responses import people

VIAS = {"sms": "SMS", "voice": "phone call", "slack": "Slack", "email": "email link"}


@dataclass(frozen=True)
class Outcome:
    ok: bool  # the answer was taken (acted, or already in that state)
    text: str  # what to tell the person, in their medium


def local_time(alert: Alert, moment) -> str:
    zone = ZoneInfo(alert.site.timezone) if alert.site_id else ZoneInfo("UTC")
    return moment.astimezone(zone).strftime("%H:%M")


def _name(alert: Alert) -> str:
    where = f" at {alert.site.name}" if alert.site_id else ""
    return f"{alert.summary}{where}"


def _acknowledge(alert: Alert, user, via: str) -> Outcome:
    if alert.status == AlertStatus.ACKNOWLEDGED:
        return Outcome(True, f"Already acknowledged by {alert.acknowledged_by_label or 'someone'}: {_name(alert)}.")
    alert = alert_acknowledge(alert=alert, actor=people.actor_for(user), user=user, via=via)
    return Outcome(True, f"Acknowledged by {alert.acknowledged_by_label} at {local_time(alert, alert.acknowledged_at)}:"
                         f" {_name(alert)}.")


def _resolve(alert: Alert, user, via: str) -> Outcome:
    if alert.status == AlertStatus.RESOLVED:
        return Outcome(True, f"Already resolved: {_name(alert)}.")
    alert = alert_resolve(alert=alert, actor=people.actor_for(user), user=user, via=via)
    return Outcome(True, f"Resolved by {alert.resolved_by_label} at {local_time(alert, alert.resolved_at)}:"
                         f" {_name(alert)}.")


def _escalate(alert: Alert, user, via: str) -> Outcome:
    """The next step now, rather than after its delay ("press 2")."""
    if alert.status != AlertStatus.TRIGGERED:
        return Outcome(True, f"Nothing to escalate: it is {alert.status}.")
    with transaction.atomic():
        moved = alert_escalate_now(alert.pk, reason=f"asked by {people.display_name(user)} by {VIAS.get(via, via)}")
        if moved:
            audit_record(tenant=alert.tenant, actor=people.actor_for(user), action="alert.escalated",
                         target_type="alert", target_id=alert.public_id, details={"via": via})
    if not moved:
        return Outcome(True, "Every escalation step has been paged already.")
    return Outcome(True, f"Escalated now: the next people are being paged for {_name(alert)}.")


def _snooze(alert: Alert, user, via: str) -> Outcome:
    """No page for SNOOZE_MINUTES ("3", the Snooze button); it pages again after if still triggered."""
    if alert.status != AlertStatus.TRIGGERED:
        return Outcome(True, f"Nothing to snooze: it is {alert.status}.")
    alert = alert_snooze(alert=alert, actor=people.actor_for(user), until=snooze_minutes(SNOOZE_MINUTES), via=via)
    return Outcome(True, f"Snoozed by {people.display_name(user)} until {local_time(alert, alert.snoozed_until)}:"
                         f" {_name(alert)}.")


_ACTIONS = {"acknowledge": _acknowledge, "resolve": _resolve, "escalate": _escalate, "snooze": _snooze}


def act(*, alert: Alert, user, action: str, via: str) -> Outcome:
    """Apply `action` for `user`, refused politely when they may not act on this alert."""
    if people.refusal(user, alert):
        return Outcome(False, "You can't act on this alert from here: ask your Tocsin admin to give you access.")
    handler = _ACTIONS.get(action)
    if handler is None:
        return Outcome(False, "Unknown action.")
    try:
        return handler(alert, user, via)
    except ApplicationError as exc:  # e.g. acknowledging an alert resolved meanwhile (a ConflictError)
        return Outcome(True, f"{exc} {_name(alert)}.")
