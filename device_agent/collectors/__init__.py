"""Readers of the device's own state: health, battery and Wi-Fi link.

Every source is optional hardware or an optional tool. A missing one reports "unknown"
(``None``, left out of the heartbeat) and is logged once, never on every interval and
never as a crash.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class MissingSources:
    """Remembers which sources are unavailable so each is logged once, and its return too."""

    def __init__(self) -> None:
        self._missing: set = set()
        self._lock = threading.Lock()

    def missing(self, source: str, reason: str) -> None:
        with self._lock:
            if source in self._missing:
                return
            self._missing.add(source)
        log.warning(
            "sensor source unavailable; reporting unknown",
            extra={"fields": {"source": source, "reason": reason}},
        )

    def present(self, source: str) -> None:
        with self._lock:
            if source not in self._missing:
                return
            self._missing.discard(source)
        log.info("sensor source available again", extra={"fields": {"source": source}})
