"""Delivery receipts: Twilio's status callbacks (messages and calls), verified by their signature.

A page that never reached its person (an SMS undelivered, a call busy or unanswered) moves
its alert to the next escalation step at once, once per page however often Twilio repeats
the callback: waiting out the step's delay would leave nobody told.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from twilio.request_validator import RequestValidator

from apps.notifications.escalation import alert_escalate_now
from apps.notifications.models import Notification, NotificationStatus, Purpose

logger = logging.getLogger(__name__)
FINAL_STATUSES = {"delivered", "undelivered", "failed", "sent", "read"}
UNDELIVERED_STATUSES = {"undelivered", "failed"}


def twilio_signature_is_valid(*, url: str, params: dict, signature: str) -> bool:
    if not settings.TWILIO_AUTH_TOKEN or not signature:
        return False
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature)


def sms_status_record(*, message_sid: str, status: str, error_code: str = "") -> int:
    """Stores the receipt on every row sent in that message (bundled SMS share one SID).

    A page that could not be delivered moves its alert to the next escalation step at
    once: waiting out the step's delay would leave nobody told.
    """
    if status not in FINAL_STATUSES:
        return 0
    rows = Notification.objects.filter(provider_message_id=message_sid, provider="twilio")
    with transaction.atomic():
        # Twilio repeats a callback it saw fail: only the first "undelivered" escalates.
        newly_undelivered = set() if status not in UNDELIVERED_STATUSES else set(
            rows.select_for_update().filter(purpose=Purpose.PAGE).exclude(receipt_status__in=UNDELIVERED_STATUSES)
            .values_list("alert_id", flat=True))
        updated = rows.update(receipt_status=status, receipt_error_code=error_code[:20], receipt_at=timezone.now())
    if status in UNDELIVERED_STATUSES:
        logger.warning("sms not delivered", extra={"message_sid": message_sid, "error_code": error_code})
    for alert_id in sorted(newly_undelivered):
        alert_escalate_now(alert_id, reason=f"sms {status}")
    return updated


CALL_FINAL_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}
CALL_NOT_ANSWERED = {"busy", "no-answer", "failed", "canceled"}


def call_status_record(*, call_sid: str, status: str, answered_by: str = "") -> int:
    """A voice page's receipt. Not answered is a failed attempt of that page: its row says
    so (failed, with the call status as its code) and the alert moves to its next step."""
    if status not in CALL_FINAL_STATUSES:
        return 0
    now = timezone.now()
    rows = Notification.objects.filter(provider_message_id=call_sid, provider="twilio-voice")
    with transaction.atomic():
        failed = set() if status not in CALL_NOT_ANSWERED else set(
            rows.select_for_update().filter(purpose=Purpose.PAGE, status=NotificationStatus.SENT)
            .values_list("alert_id", flat=True))
        updated = rows.update(receipt_status=status, receipt_error_code=(answered_by or "")[:20], receipt_at=now)
        if failed:
            rows.filter(status=NotificationStatus.SENT).update(
                status=NotificationStatus.FAILED, error_code=status[:40], updated_at=now,
                last_error=f"call not answered ({status})")
    if failed:
        logger.warning("voice page not answered", extra={"call_sid": call_sid, "call_status": status})
    for alert_id in sorted(failed):
        alert_escalate_now(alert_id, reason=f"call {status}")
    return updated
