"""Logs instead of sending: the default when a provider has no credentials (development)."""

from __future__ import annotations

import logging
import uuid

from apps.notifications.messages import Message
from apps.notifications.models import Channel
from apps.notifications.providers.base import Receipt

logger = logging.getLogger("tocsin.notify.console")


class ConsoleProvider:
    name = "console"

    def send(self, channel: Channel, message: Message) -> Receipt:
        # The target (a phone number, an address) is not logged: it is personal data.
        logger.info("console delivery", extra={"channel": channel.public_id, "channel_kind": channel.kind,
                                               "subject": message.subject, "alert": message.data.get("alert_id")})
        return Receipt(provider_message_id=f"console-{uuid.uuid4().hex[:12]}", detail="logged")
