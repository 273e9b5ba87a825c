"""Exponential backoff with jitter, capped at five minutes.

Jitter matters here: after a server outage every device in a fleet retries; without it they
would all come back in the same second.
"""

from __future__ import annotations

import random
from typing import Callable

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 300.0


class Backoff:
    """Tracks consecutive failures of one kind of request and when to try again."""

    def __init__(
        self,
        *,
        base: float = BACKOFF_BASE_SECONDS,
        cap: float = BACKOFF_CAP_SECONDS,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base = base
        self.cap = cap
        self._rng = rng
        self.failures = 0
        self.next_at = 0.0

    def ready(self, now: float) -> bool:
        return now >= self.next_at

    def failed(self, now: float, retry_after: float | None = None) -> float:
        """Record a failure; returns the delay chosen (half fixed, half random)."""
        self.failures += 1
        ceiling = min(self.cap, self.base * (2 ** min(self.failures - 1, 30)))
        delay = ceiling / 2 + self._rng() * ceiling / 2
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.cap))
        self.next_at = now + delay
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self.next_at = 0.0
