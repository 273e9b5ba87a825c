"""Delivering one outbox row: claim it under a lock, send, record the outcome.

The claim (pending → sending) is a short transaction, so no lock is held during the
network call. A row is sent only if it is still due: an acknowledged or resolved alert,
a disabled channel, a superseded route or a row already sent all end the attempt
without sending. Attempts are counted in the row, so a killed worker can't reset them;
exhausted rows go dead.

The row's `due_at` is the one retry clock: a transient failure moves it (backoff with
jitter, or the provider's Retry-After, bounded) and publishes a message for that moment;
Celery's own retry machinery is not used. Outcomes are fenced by the claim (`status =
'sending' AND attempts = <claimed>`), so a slow attempt can't overwrite a newer one.
"""

from __future__ import annotations

import logging
import random
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.alerts.models import Alert, AlertStatus
from apps.notifications import delivery_sql, messages
from apps.notifications.lifecycle import mark_unnotified
from apps.notifications.metrics import record_outcome
from apps.notifications.models import ChannelKind, Notification, NotificationStatus, Purpose
from apps.notifications.outbox import delivery_task, enqueue_deliveries_on_commit, enqueue_retry_on_commit
from apps.notifications.providers.base import PermanentError, TransientError
from apps.notifications.providers.registry import provider_for
from apps.notifications.signals import notification_updated

logger = logging.getLogger(__name__)
DUE_TOLERANCE = timedelta(seconds=2)


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None


SKIPPED = Outcome("skipped")


def backoff_seconds(attempt: int) -> float:
    """Exponential with full jitter, capped well below the broker's visibility timeout."""
    ceiling = min(settings.TOCSIN_NOTIFY_RETRY_MAX_SECONDS,
                  settings.TOCSIN_NOTIFY_RETRY_BASE_SECONDS * (2 ** max(0, attempt - 1)))
    return round(random.uniform(ceiling / 2, ceiling), 2)


def _no_longer_due(notification: Notification) -> str | None:
    if notification.purpose == Purpose.PAGE and notification.alert.status != AlertStatus.TRIGGERED:
        return f"alert {notification.alert.status}"
    if notification.purpose == Purpose.PAGE and notification.cycle < notification.alert.paging_cycle:
        return "superseded by a new route"
    if not notification.channel.enabled:
        return "channel disabled"
    return None


def _claim(notification_id: int, now) -> list[Notification] | None:
    """Lock the row (and, for SMS, other pending rows to the same number) and mark them sending."""
    with transaction.atomic():
        row = (Notification.objects.select_for_update(of=("self",))
               .select_related("alert__site", "alert__device", "alert__tenant", "channel", "tenant")
               .filter(pk=notification_id).order_by().first())
        if row is None or row.status != NotificationStatus.PENDING or row.due_at > now + DUE_TOLERANCE:
            return None
        reason = _no_longer_due(row)
        if reason:
            row.status, row.last_error = NotificationStatus.CANCELLED, reason
            row.save(update_fields=["status", "last_error", "updated_at"])
            return None
        claimed = [row] + (_bundle_mates(row, now) if row.channel.kind == ChannelKind.SMS else [])
        for each in claimed:
            each.status, each.sending_since = NotificationStatus.SENDING, now
            each.attempts += 1
            each.bundled_into = row if each is not row else None
            each.save(update_fields=["status", "sending_since", "attempts", "bundled_into", "updated_at"])
        return claimed


def _bundle_mates(row: Notification, now) -> list[Notification]:
    window = now - timedelta(seconds=settings.TOCSIN_SMS_BUNDLE_SECONDS)
    mates = (Notification.objects.select_for_update(skip_locked=True, of=("self",))
             .select_related("alert__site", "alert__device", "alert__tenant", "channel", "tenant")
             .filter(tenant_id=row.tenant_id, status=NotificationStatus.PENDING, purpose=Purpose.PAGE,
                     channel__kind=ChannelKind.SMS, channel__target=row.channel.target, due_at__lte=now,
                     created_at__gte=window, alert__status=AlertStatus.TRIGGERED)
             .exclude(pk=row.pk).order_by("created_at")[:9])
    return list(mates)


def deliver(notification_id: int) -> Outcome:
    now = timezone.now()
    fast = delivery_sql.claim_one(notification_id, now=now, due_by=now + DUE_TOLERANCE)
    claimed = [fast] if fast is not None else _claim(notification_id, now)
    if not claimed:
        return SKIPPED
    row = claimed[0]
    message = messages.bundle([messages.render(n.alert, n.purpose, channel=n.channel) for n in claimed])
    provider = provider_for(row.channel)
    started = timezone.now()
    try:
        receipt = provider.send(row.channel, message)
    except PermanentError as exc:
        _finish(claimed, NotificationStatus.FAILED, provider.name, error=str(exc), code=exc.code)
        return Outcome("failed")
    except TransientError as exc:
        return _transient(claimed, provider.name, exc)
    except Exception as exc:  # a bug or an unexpected SDK error must not wedge the row in 'sending'
        logger.exception("unexpected provider error", extra={"notification": row.public_id})
        return _transient(claimed, provider.name, TransientError(type(exc).__name__, code="unexpected"))
    _finish(claimed, NotificationStatus.SENT, provider.name, provider_message_id=receipt.provider_message_id)
    record_outcome(provider.name, "sent", seconds=(timezone.now() - started).total_seconds())
    return Outcome("sent")


def _fenced(row: Notification):
    """The row as this attempt claimed it: an outcome is written only while it still is
    (a sweeper that revived it, or a replay, makes it another attempt's row)."""
    return Notification.objects.filter(pk=row.pk, status=NotificationStatus.SENDING, attempts=row.attempts)


def _transient(claimed: list[Notification], provider_name: str, exc: TransientError) -> Outcome:
    row = claimed[0]
    if row.attempts >= settings.TOCSIN_NOTIFY_MAX_ATTEMPTS:
        _finish(claimed, NotificationStatus.DEAD, provider_name, error=str(exc), code=exc.code)
        return Outcome("dead")
    delay = backoff_seconds(row.attempts)
    if exc.retry_after is not None:
        delay = min(max(delay, exc.retry_after), settings.TOCSIN_NOTIFY_RETRY_MAX_SECONDS)
    due_at = timezone.now() + timedelta(seconds=delay)
    with transaction.atomic():
        retried = [each for each in claimed if _fenced(each).update(
            status=NotificationStatus.PENDING, sending_since=None, bundled_into=None, due_at=due_at,
            last_error=str(exc)[:300], error_code=exc.code[:40], provider=provider_name, updated_at=timezone.now())]
        for each in retried:
            each.status, each.due_at = NotificationStatus.PENDING, due_at
        enqueue_retry_on_commit(retried, task=delivery_task(severity=row.alert.severity, purpose=row.purpose))
    record_outcome(provider_name, "retry")
    logger.warning("delivery will be retried", extra={"notification": row.public_id, "attempt": row.attempts,
                                                      "retry_in": delay, "code": exc.code})
    return Outcome("retry", retry_in=delay)


def _finish(claimed: list[Notification], status: str, provider_name: str, *, error: str = "", code: str = "",
            provider_message_id: str = "") -> None:
    now = timezone.now()
    sent_at = now if status == NotificationStatus.SENT else None
    dead_at = now if status == NotificationStatus.DEAD else None
    # The common case, one page or notice sent with nothing on the alert to clear, is one
    # statement (row and timeline event together), so it needs no transaction of its own:
    # BEGIN and COMMIT would be two more round trips on every delivery.
    alone = (len(claimed) == 1 and status == NotificationStatus.SENT
             and not (claimed[0].purpose == Purpose.PAGE and claimed[0].alert.unnotified_reason))
    with nullcontext() if alone else transaction.atomic():
        for each in claimed:
            written = delivery_sql.finish_one(
                each, status=status, provider=provider_name, error=error[:300], code=code[:40],
                message_id=provider_message_id, now=now, sent_at=sent_at, dead_at=dead_at,
                label=f"{each.channel.get_kind_display()} · {each.channel.name}",
                data={"notification": each.public_id, "status": status, "step": each.step, "purpose": each.purpose,
                      "error_code": code or None})
            if not written:
                logger.warning("delivery outcome not written: the row was claimed again meanwhile",
                               extra={"notification": each.public_id, "status": status})
                continue
            each.status, each.sending_since, each.provider = status, None, provider_name
            each.last_error, each.error_code, each.provider_message_id = error[:300], code[:40], provider_message_id
            each.sent_at, each.dead_at, each.updated_at = sent_at, dead_at, now
            if each.purpose == Purpose.PAGE:
                _note_reach(each)
            _announce(each)
    if status != NotificationStatus.SENT:
        record_outcome(provider_name, status)
        logger.warning("delivery %s", status, extra={"notification": claimed[0].public_id, "code": code})


def _note_reach(page: Notification) -> None:
    """A page that reached someone clears the alert's "nobody was notified"; the last page
    of a cycle failing, with none delivered, sets it."""
    alert = page.alert
    if page.status == NotificationStatus.SENT:
        if alert.unnotified_reason:
            Alert.objects.filter(pk=alert.pk).update(unnotified_reason="")
            alert.unnotified_reason = ""
        return
    alive = (Notification.objects.filter(alert_id=alert.pk, purpose=Purpose.PAGE)
             .filter(Q(status__in=[NotificationStatus.SENT, NotificationStatus.SENDING])
                     | Q(status=NotificationStatus.PENDING, cycle=alert.paging_cycle)))
    if alert.status == AlertStatus.TRIGGERED and not alert.next_escalation_at and not alive.exists():
        mark_unnotified(alert, reason="every delivery of its pages failed", announce=True)


def _announce(notification: Notification) -> None:
    """After commit; the row in hand rides along so the live event needs no re-read."""
    payload = {"notification_id": notification.pk, "alert_id": notification.alert_id,
               "tenant_id": notification.tenant_id, "status": notification.status, "notification": notification}
    transaction.on_commit(lambda: notification_updated.send_robust(sender=Notification, **payload))


def replay(notification: Notification) -> Notification:
    """Staff put a dead or failed delivery back in line (attempts start over)."""
    with transaction.atomic():
        locked = Notification.objects.select_for_update().select_related("alert").get(pk=notification.pk)
        if locked.status not in (NotificationStatus.DEAD, NotificationStatus.FAILED, NotificationStatus.CANCELLED):
            return locked
        locked.status, locked.attempts, locked.due_at = NotificationStatus.PENDING, 0, timezone.now()
        locked.last_error, locked.error_code, locked.dead_at = "", "", None
        locked.save(update_fields=["status", "attempts", "due_at", "last_error", "error_code", "dead_at", "updated_at"])
        enqueue_deliveries_on_commit([locked], task=delivery_task(severity=locked.alert.severity,
                                                                  purpose=locked.purpose))
    return locked
