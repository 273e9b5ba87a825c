"""Signed webhooks: a JSON POST whose body is signed so receivers can verify it.

Headers: `X-Tocsin-Timestamp` (unix seconds) and `X-Tocsin-Signature: v1=<hex>`, the
HMAC-SHA256 under the channel secret of `"{timestamp}." + body`. Receivers should
recompute it and refuse timestamps older than five minutes (replays).

The URL is a tenant's, so the request goes through `apps.common.netguard`: it connects
only to a vetted public address and never follows a redirect; an internal destination
fails permanently (`destination_refused`), as it would every time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import requests
from django.conf import settings

from apps.common.netguard import DestinationRefused, shared_guarded_session
from apps.notifications.messages import Message
from apps.notifications.models import Channel
from apps.notifications.providers.base import (
    DESTINATION_REFUSED,
    NETWORK,
    PermanentError,
    Receipt,
    TransientError,
    retry_after_seconds,
)

SIGNATURE_HEADER = "X-Tocsin-Signature"
TIMESTAMP_HEADER = "X-Tocsin-Timestamp"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


class WebhookProvider:
    name = "webhook"

    def send(self, channel: Channel, message: Message) -> Receipt:
        body = json.dumps({"text": message.text, **message.data}, separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": "Tocsin-Webhook/1",
                   TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(channel.secret, timestamp, body)}
        try:
            response = shared_guarded_session().post(channel.target, data=body, headers=headers,
                                                     timeout=settings.TOCSIN_NOTIFY_PROVIDER_TIMEOUT,
                                                     allow_redirects=False)
        except DestinationRefused as exc:
            raise PermanentError(f"webhook destination refused: {exc}", code=DESTINATION_REFUSED) from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"webhook unreachable: {type(exc).__name__}", code=NETWORK) from exc
        if 200 <= response.status_code < 300:
            return Receipt(provider_message_id=response.headers.get("X-Request-Id", ""),
                           detail=f"HTTP {response.status_code}")
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise TransientError(f"webhook answered {response.status_code}", code=str(response.status_code),
                                 retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        raise PermanentError(f"webhook refused with {response.status_code}", code=str(response.status_code))
