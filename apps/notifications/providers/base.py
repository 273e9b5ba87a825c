"""The provider interface: `send(channel, message) -> Receipt`, raising `TransientError`
(worth retrying: timeouts, connection errors, 429, 5xx) or `PermanentError` (will fail the
same way every time: an invalid number, a revoked token, a 4xx from a webhook)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from apps.notifications.messages import Message
from apps.notifications.models import Channel

# The code of a delivery refused before it left: the destination resolves to an internal
# address (apps.common.netguard). Permanent, since it would be refused the same way again.
DESTINATION_REFUSED = "destination_refused"
# The code of a delivery that could not reach its destination (timeout, refused, unknown name).
NETWORK = "network"


@dataclass(frozen=True)
class Receipt:
    provider_message_id: str = ""
    detail: str = ""


class DeliveryError(Exception):
    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.code = str(code) if code is not None else ""
        self.retry_after = retry_after


class TransientError(DeliveryError):
    pass


class PermanentError(DeliveryError):
    pass


class Provider(Protocol):
    name: str

    def send(self, channel: Channel, message: Message) -> Receipt: ...


def retry_after_seconds(value) -> float | None:
    """A Retry-After header in seconds (HTTP dates are rare from these providers)."""
    try:
        return max(0.0, float(value)) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
