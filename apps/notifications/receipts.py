"""Delivery receipts: Twilio's status callbacks, verified by their signature."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from twilio.request_validator import RequestValidator

from apps.notifications.models import Notification

logger = logging.getLogger(__name__)
FINAL_STATUSES = {"delivered", "undelivered", "failed", "sent", "read"}


def twilio_signature_is_valid(*, url: str, params: dict, signature: str) -> bool:
    if not settings.TWILIO_AUTH_TOKEN or not signature:
        return False
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature)


def record_twilio_status(*, message_sid: str, status: str, error_code: str = "") -> int:
    """Stores the receipt on every row sent in that message (bundled SMS share one SID)."""
    if status not in FINAL_STATUSES:
        return 0
    with transaction.atomic():
        updated = Notification.objects.filter(provider_message_id=message_sid, provider="twilio").update(
            receipt_status=status, receipt_error_code=error_code[:20], receipt_at=timezone.now())
    if status in ("undelivered", "failed"):
        logger.warning("sms not delivered", extra={"message_sid": message_sid, "error_code": error_code})
    return updated
