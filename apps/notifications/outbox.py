"""Handing outbox rows to the workers, and picking up what never reached them.

Rows are committed first and published after commit; if the broker is down at that
moment the rows simply stay pending, and the sweeper publishes them again once it is
back. A duplicate publish is harmless: delivery claims each row under a lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.common.queueing import enqueue
from apps.notifications.models import Notification, NotificationStatus

logger = logging.getLogger(__name__)

DELIVER_TASK = "tocsin.notify.deliver"
DELIVER_CRITICAL_TASK = "tocsin.notify.deliver_critical"


def _publish(notification_ids: list[int], *, critical: bool) -> None:
    task = DELIVER_CRITICAL_TASK if critical else DELIVER_TASK
    published = [nid for nid in notification_ids if enqueue(task, nid)]
    if published:
        Notification.objects.filter(pk__in=published).update(enqueued_at=timezone.now())


def enqueue_deliveries_on_commit(notifications: Iterable[Notification], *, critical: bool) -> None:
    ids = [n.pk for n in notifications if n.status == NotificationStatus.PENDING]
    if ids:
        transaction.on_commit(lambda: _publish(ids, critical=critical))


def sweep_outbox(*, batch: int = 500) -> int:
    """Publish again what is due but was never picked up, and what a dead worker held."""
    now = timezone.now()
    stale_sending = now - timedelta(seconds=settings.TOCSIN_NOTIFY_STALE_SENDING_SECONDS)
    # A worker killed mid-send leaves its row 'sending'; put it back in line.
    revived = Notification.objects.filter(status=NotificationStatus.SENDING, sending_since__lt=stale_sending).update(
        status=NotificationStatus.PENDING, sending_since=None, last_error="worker lost while sending")
    quiet_period = now - timedelta(seconds=settings.TOCSIN_NOTIFY_REENQUEUE_AFTER_SECONDS)
    lost = list(
        Notification.objects.filter(status=NotificationStatus.PENDING, due_at__lte=now)
        # Never published (broker down at commit, or held for quiet hours), or published
        # long ago and still pending (the message was lost).
        .filter(Q(enqueued_at__isnull=True, created_at__lt=quiet_period) | Q(enqueued_at__lt=quiet_period)
                | Q(enqueued_at__isnull=True, due_at__gt=F("created_at")))
        .select_related("alert").order_by("due_at")[:batch]
    )
    for critical in (True, False):
        ids = [n.pk for n in lost if (n.alert.severity == "critical") == critical]
        if ids:
            _publish(ids, critical=critical)
    if lost or revived:
        logger.info("outbox sweep", extra={"republished": len(lost), "revived": revived})
    return len(lost)
