"""Delivering one outbox row: claim it under a lock, send, record the outcome.

The claim (pending → sending) is a short transaction, so no lock is held during the
network call. A row is sent only if it is still due: an acknowledged or resolved alert,
a disabled channel or a row already sent all end the attempt without sending. Attempts
are counted in the row, so a killed worker can't reset them; exhausted rows go dead.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.alerts.models import AlertEvent, AlertEventKind, AlertStatus
from apps.notifications import messages
from apps.notifications.metrics import record_outcome
from apps.notifications.models import ChannelKind, Notification, NotificationStatus, Purpose
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
    if not notification.channel.enabled:
        return "channel disabled"
    return None


def _claim(notification_id: int, now) -> list[Notification] | None:
    """Lock the row (and, for SMS, other pending rows to the same number) and mark them sending."""
    with transaction.atomic():
        row = (Notification.objects.select_for_update(of=("self",))
               .select_related("alert__site", "alert__device", "alert__tenant", "channel")
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
             .select_related("alert__site", "alert__device", "channel")
             .filter(tenant_id=row.tenant_id, status=NotificationStatus.PENDING, purpose=Purpose.PAGE,
                     channel__kind=ChannelKind.SMS, channel__target=row.channel.target, due_at__lte=now,
                     created_at__gte=window, alert__status=AlertStatus.TRIGGERED)
             .exclude(pk=row.pk).order_by("created_at")[:9])
    return list(mates)


def deliver(notification_id: int) -> Outcome:
    now = timezone.now()
    claimed = _claim(notification_id, now)
    if not claimed:
        return SKIPPED
    row = claimed[0]
    message = messages.bundle([messages.render(n.alert, n.purpose) for n in claimed])
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


def _transient(claimed: list[Notification], provider_name: str, exc: TransientError) -> Outcome:
    row = claimed[0]
    if row.attempts >= settings.TOCSIN_NOTIFY_MAX_ATTEMPTS:
        _finish(claimed, NotificationStatus.DEAD, provider_name, error=str(exc), code=exc.code)
        return Outcome("dead")
    delay = backoff_seconds(row.attempts)
    if exc.retry_after is not None:
        delay = min(max(delay, exc.retry_after), settings.TOCSIN_NOTIFY_RETRY_MAX_SECONDS)
    now = timezone.now()
    with transaction.atomic():
        for each in claimed:
            each.status, each.sending_since, each.bundled_into = NotificationStatus.PENDING, None, None
            each.due_at = now + timedelta(seconds=delay)
            each.last_error, each.error_code, each.provider = str(exc)[:300], exc.code[:40], provider_name
            each.save(update_fields=["status", "sending_since", "bundled_into", "due_at", "last_error", "error_code",
                                     "provider", "updated_at"])
    record_outcome(provider_name, "retry")
    logger.warning("delivery will be retried", extra={"notification": row.public_id, "attempt": row.attempts,
                                                      "retry_in": delay, "code": exc.code})
    return Outcome("retry", retry_in=delay)


def _finish(claimed: list[Notification], status: str, provider_name: str, *, error: str = "", code: str = "",
            provider_message_id: str = "") -> None:
    now = timezone.now()
    with transaction.atomic():
        for each in claimed:
            each.status, each.sending_since, each.provider = status, None, provider_name
            each.last_error, each.error_code = error[:300], code[:40]
            each.provider_message_id = provider_message_id
            if status == NotificationStatus.SENT:
                each.sent_at = now
            if status == NotificationStatus.DEAD:
                each.dead_at = now
            each.save(update_fields=["status", "sending_since", "provider", "last_error", "error_code",
                                     "provider_message_id", "sent_at", "dead_at", "updated_at"])
            AlertEvent.objects.create(
                tenant_id=each.tenant_id, alert_id=each.alert_id, kind=AlertEventKind.NOTIFIED, at=now,
                actor_type="system", actor_label=f"{each.channel.get_kind_display()} · {each.channel.name}",
                data={"notification": each.public_id, "status": status, "step": each.step, "purpose": each.purpose,
                      "error_code": code or None},
            )
            _announce(each)
    if status != NotificationStatus.SENT:
        record_outcome(provider_name, status)
        logger.warning("delivery %s", status, extra={"notification": claimed[0].public_id, "code": code})


def _announce(notification: Notification) -> None:
    payload = {"notification_id": notification.pk, "alert_id": notification.alert_id,
               "tenant_id": notification.tenant_id, "status": notification.status}
    transaction.on_commit(lambda: notification_updated.send(sender=Notification, **payload))


def replay(notification: Notification) -> Notification:
    """Staff put a dead or failed delivery back in line (attempts start over)."""
    from apps.notifications.outbox import enqueue_deliveries_on_commit

    with transaction.atomic():
        locked = Notification.objects.select_for_update().select_related("alert").get(pk=notification.pk)
        if locked.status not in (NotificationStatus.DEAD, NotificationStatus.FAILED, NotificationStatus.CANCELLED):
            return locked
        locked.status, locked.attempts, locked.due_at = NotificationStatus.PENDING, 0, timezone.now()
        locked.last_error, locked.error_code, locked.dead_at = "", "", None
        locked.save(update_fields=["status", "attempts", "due_at", "last_error", "error_code", "dead_at", "updated_at"])
        enqueue_deliveries_on_commit([locked], critical=locked.alert.severity == "critical")
    return locked
