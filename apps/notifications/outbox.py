"""Handing outbox rows to the workers, and picking up what never reached them.

Rows are committed first and published after commit; if the broker is down at that
moment the rows simply stay pending, and the sweeper publishes them again once it is
back. A duplicate publish is harmless: delivery claims each row under a lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.alerts.models import Severity
from apps.common.ids import generate_public_id
from apps.common.queueing import enqueue
from apps.common.rawsql import hydrate, select_columns
from apps.notifications.models import Notification, NotificationStatus, Purpose

logger = logging.getLogger(__name__)

DELIVER_TASK = "tocsin.notify.deliver"
DELIVER_CRITICAL_TASK = "tocsin.notify.deliver_critical"


def delivery_task(*, severity: str, purpose: str) -> str:
    """The one choice of the task, hence of the queue (workers/routes.py), a delivery is
    published to: a critical alert's pages take the critical queue, so a breach never waits
    behind battery notices; everything else (lower severities, the notices that tell who
    acknowledged or resolved) takes the notify queue."""
    return DELIVER_CRITICAL_TASK if severity == Severity.CRITICAL and purpose == Purpose.PAGE else DELIVER_TASK


# Rows due within this long are published with a countdown (a held outage page, a retry);
# later ones (quiet hours) are left to the sweeper, so no message waits for hours in a worker.
COUNTDOWN_HORIZON = timedelta(minutes=5)
RETRY_QUEUE = "retry"


def _publish(notification_ids: list[int], *, task: str, countdown: float | None = None,
             queue: str | None = None, marked: bool = False) -> None:
    """`task` as `delivery_task` chose it. `marked`: the rows were written with `enqueued_at`
    already set (see `write_rows`), so only a failed publish needs a write: back to NULL, for
    the sweeper to find at once."""
    published = [nid for nid in notification_ids if enqueue(task, nid, countdown=countdown, queue=queue)]
    if marked:
        failed = [nid for nid in notification_ids if nid not in published]
        if failed:
            Notification.objects.filter(pk__in=failed).update(enqueued_at=None)
    elif published:
        Notification.objects.filter(pk__in=published).update(enqueued_at=timezone.now())


_INSERT_SQL = """
INSERT INTO {table} (public_id, tenant_id, alert_id, channel_id, cycle, step, purpose, status, due_at, attempts,
    last_error, error_code, provider, provider_message_id, receipt_status, receipt_error_code, enqueued_at,
    created_at, updated_at)
VALUES {values}
ON CONFLICT DO NOTHING
RETURNING {columns}
"""


def write_rows(*, alert, channel_ids: list[int], step: int, purpose: str, due_at: datetime,
               now: datetime) -> list[Notification]:
    """Insert outbox rows (one per channel) and publish them after commit, in one statement.

    A row that exists already (a re-run of a step: the unique key decides) is not written
    again; it is read back instead, and published only if still pending. Rows due soon are
    written as enqueued, since they are published right after commit.
    """
    if not channel_ids:
        return []
    soon = due_at - now <= COUNTDOWN_HORIZON
    values, params = [], []
    for channel_id in channel_ids:
        values.append("(%s, %s, %s, %s, %s, %s, %s, 'pending', %s, 0, '', '', '', '', '', '', %s, %s, %s)")
        params += [generate_public_id("ntf"), alert.tenant_id, alert.pk, channel_id, alert.paging_cycle, step,
                   purpose, due_at, now if soon else None, now, now]
    table = Notification._meta.db_table
    statement = _INSERT_SQL.format(table=table, values=", ".join(values), columns=select_columns(Notification, table))
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = [hydrate(Notification, row) for row in cursor.fetchall()]
    fresh = [row.pk for row in rows]
    if len(rows) < len(channel_ids):  # some existed: read them back
        rows += list(Notification.objects.filter(alert=alert, cycle=alert.paging_cycle, step=step, purpose=purpose,
                                                 channel_id__in=channel_ids).exclude(pk__in=fresh))
    task = delivery_task(severity=alert.severity, purpose=purpose)
    if soon:
        delay = max(0.0, round((due_at - now).total_seconds(), 1)) or None
        new_ids = fresh
        old_ids = [row.pk for row in rows if row.pk not in fresh and row.status == NotificationStatus.PENDING]
        if new_ids:
            transaction.on_commit(lambda: _publish(new_ids, task=task, countdown=delay, marked=True))
        if old_ids:
            transaction.on_commit(lambda: _publish(old_ids, task=task, countdown=delay))
    return rows


def enqueue_deliveries_on_commit(notifications: Iterable[Notification], *, task: str) -> None:
    """Publish after commit (to `task`, as `delivery_task` chose it): rows due now at once,
    rows due soon with their countdown."""
    now = timezone.now()
    by_delay: dict[float, list[int]] = {}
    for row in notifications:
        if row.status != NotificationStatus.PENDING or row.due_at - now > COUNTDOWN_HORIZON:
            continue
        delay = max(0.0, round((row.due_at - now).total_seconds(), 1))
        by_delay.setdefault(delay, []).append(row.pk)
    for delay, ids in by_delay.items():
        transaction.on_commit(lambda ids=ids, delay=delay: _publish(ids, task=task, countdown=delay or None))


def enqueue_retry_on_commit(notifications: Iterable[Notification], *, task: str) -> None:
    """A retry is published on the retry queue for the moment its row is due: the row's
    `due_at` is the one clock, the message only wakes a worker then."""
    rows = list(notifications)
    if not rows:
        return
    ids = [row.pk for row in rows]
    due_at = min(row.due_at for row in rows)

    def publish() -> None:
        _publish(ids, task=task, queue=RETRY_QUEUE,
                 countdown=max(0.0, (due_at - timezone.now()).total_seconds()) or None)

    transaction.on_commit(publish)


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
    for task in (DELIVER_CRITICAL_TASK, DELIVER_TASK):
        ids = [n.pk for n in lost if delivery_task(severity=n.alert.severity, purpose=n.purpose) == task]
        if ids:
            _publish(ids, task=task)
    if lost or revived:
        logger.info("outbox sweep", extra={"republished": len(lost), "revived": revived})
    return len(lost)
