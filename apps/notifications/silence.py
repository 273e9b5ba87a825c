"""Making silence visible: an alert that pages nobody says so (badge, timeline, log, metric).

Kept apart from `lifecycle` so the escalation engine can mark a step that resolved to
nobody without importing the module that imports it.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from apps.alerts.extension_points import announce_change
from apps.alerts.models import Alert, AlertEvent, AlertEventKind
from apps.notifications.metrics import record_unnotified

logger = logging.getLogger("apps.notifications.lifecycle")


def mark_unnotified(alert: Alert, *, reason: str, announce: bool = False) -> None:
    """Make silence visible: the alert's badge, its timeline, a warning and a counter.
    `announce` for the live board when no change of the alert announces it anyway."""
    Alert.objects.filter(pk=alert.pk).update(unnotified_reason=reason[:120])
    alert.unnotified_reason = reason[:120]
    AlertEvent.objects.create(tenant_id=alert.tenant_id, alert=alert, kind=AlertEventKind.UNNOTIFIED,
                              at=timezone.now(), actor_type="system", actor_label="notifications",
                              note=reason, data={"cycle": alert.paging_cycle})
    record_unnotified(reason)
    if announce:
        announce_change(alert=alert, change="unnotified", actor_label="notifications")
    logger.warning("alert notified nobody", extra={"alert": alert.public_id, "kind": alert.kind,
                                                   "severity": alert.severity, "reason": reason})
