"""In-memory facts about the running agent that the status API and heartbeats report."""

from __future__ import annotations

import threading


class RuntimeStatus:
    """Thread-safe: written by the sender and inputs, read by the status API."""

    def __init__(self, config_problems: tuple[str, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._last_error: str | None = config_problems[-1] if config_problems else None
        self._offline = False
        self._scanner_status = "unknown"
        self.config_problems = config_problems

    @property
    def last_error(self) -> str | None:
        with self._lock:
            return self._last_error

    @last_error.setter
    def last_error(self, value: str | None) -> None:
        with self._lock:
            self._last_error = value

    @property
    def offline(self) -> bool:
        with self._lock:
            return self._offline

    @offline.setter
    def offline(self, value: bool) -> None:
        with self._lock:
            self._offline = value

    @property
    def scanner_status(self) -> str:
        """One of ok, error, disconnected, unknown (the heartbeat's ``scanner_status``)."""
        with self._lock:
            return self._scanner_status

    @scanner_status.setter
    def scanner_status(self, value: str) -> None:
        with self._lock:
            self._scanner_status = value
