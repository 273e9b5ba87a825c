"""The notification engine's one reaction to every change of an alert, in its transaction.

Invariants: what a change means for paging is written atomically with the change (a
crash after an acknowledgement commits can't lose its notice; a failure here fails the
acknowledgement rather than half-applying it); pending pages never outlive the state
that made them due; and an alert that pages nobody says so (timeline, badge, log line,
metric) instead of staying silent.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from apps.alerts.extension_points import Change
from apps.alerts.models import Alert, AlertStatus, severity_rank
from apps.notifications import escalation, holds
from apps.notifications.models import Notification, NotificationStatus, Purpose
from apps.notifications.outbox import write_rows
from apps.notifications.silence import mark_unnotified

logger = logging.getLogger(__name__)


def on_alert_change(alert: Alert, change: str) -> None:
    """Registered as the alert engine's lifecycle handler."""
    if change == Change.RAISED:
        _route(alert, new_cycle=False)
    elif change == Change.REOPENED:
        alert.snoozed_until = None  # a snooze was for the incident that ended
        _route(alert, new_cycle=True)
    elif change == Change.SEVERITY_RAISED:
        planned = alert.policy_snapshot.get("severity") if alert.policy_snapshot else None
        # Compared under the row lock: concurrent duplicates re-route once, not once each.
        if alert.status == AlertStatus.TRIGGERED and severity_rank(alert.severity) > severity_rank(planned):
            _route(alert, new_cycle=True)
    elif change == Change.SNOOZED:
        holds.on_snoozed(alert)
    elif change == Change.GROUPED:
        escalation.stop_escalation(alert, reason="paged through its outage alert")
    elif change in (Change.ACKNOWLEDGED, Change.RESOLVED):
        escalation.stop_escalation(alert, reason=f"alert {change}")
        _write_notices(alert, change)


def _route(alert: Alert, *, new_cycle: bool) -> None:
    reason = escalation.start_cycle(alert, new_cycle=new_cycle)
    if reason:
        mark_unnotified(alert, reason=reason)


def _write_notices(alert: Alert, change: str) -> None:
    """Tell every channel that was paged about this alert who acknowledged or resolved it:
    one notice per change (the cycle numbers them), written with the change itself."""
    plan = alert.policy_snapshot or {}
    acknowledged = change == Change.ACKNOWLEDGED
    if not plan.get("notify_on_acknowledge" if acknowledged else "notify_on_resolve"):
        return
    purpose = Purpose.ACKNOWLEDGED if acknowledged else Purpose.RESOLVED
    paged = sorted(set(Notification.objects.filter(alert=alert, purpose=Purpose.PAGE,
                                                   status__in=[NotificationStatus.SENT, NotificationStatus.SENDING])
                       .values_list("channel_id", flat=True)))
    if not paged:
        return
    now = timezone.now()
    write_rows(alert=alert, channel_ids=paged, step=0, purpose=purpose, due_at=now, now=now)
