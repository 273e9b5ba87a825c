"""The notification engine listening to the alert engine (after commit)."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver

from apps.alerts.hooks import alert_changed
from apps.alerts.models import Alert
from apps.notifications.models import Notification, NotificationStatus, Purpose
from apps.notifications.outbox import enqueue_deliveries_on_commit


@receiver(alert_changed)
def stop_paging_when_handled(sender, alert_id: int, change: str, **kwargs) -> None:
    """Acknowledging or resolving stops every page not yet started, and tells the channels
    that were paged, when the policy says so."""
    if change not in ("acknowledged", "resolved"):
        return
    with transaction.atomic():
        Notification.objects.filter(alert_id=alert_id, purpose=Purpose.PAGE, status=NotificationStatus.PENDING).update(
            status=NotificationStatus.CANCELLED, last_error=f"alert {change}")
        alert = Alert.objects.filter(pk=alert_id).order_by().first()
        if alert is None:
            return
        plan = alert.policy_snapshot or {}
        wanted = plan.get("notify_on_acknowledge") if change == "acknowledged" else plan.get("notify_on_resolve")
        if not wanted:
            return
        purpose = Purpose.ACKNOWLEDGED if change == "acknowledged" else Purpose.RESOLVED
        paged = set(Notification.objects.filter(alert_id=alert_id, purpose=Purpose.PAGE,
                                                status=NotificationStatus.SENT).values_list("channel_id", flat=True))
        rows = [Notification(tenant_id=alert.tenant_id, alert_id=alert_id, channel_id=channel_id, step=0,
                             purpose=purpose, due_at=alert.updated_at) for channel_id in sorted(paged)]
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        notices = list(Notification.objects.filter(alert_id=alert_id, purpose=purpose))
        enqueue_deliveries_on_commit(notices, critical=False)
