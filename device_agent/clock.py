"""The server's clock as the agent knows it: a Pi without a real-time clock can be days off.

Every device answer carries ``X-Server-Time``; the offset (server minus local, taken at the
middle of the request) is kept and written to the state directory, so it survives a
restart before the first answer. Items keep their local timestamps in the outbox; the
sender shifts them by the offset when it sends, so a scan taken while the clock was two
days behind arrives with the right time instead of being refused as "too old" or parked
forever. Offsets under ``TOLERANCE_SECONDS`` are ignored (network jitter, not skew).

Limit: an item is corrected by the offset known when it is *sent*; if the local clock is
set right (NTP) between queueing and sending, that item keeps its old error.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any, Callable

from device_agent.timeutil import iso_utc, parse_iso_epoch

log = logging.getLogger(__name__)

CLOCK_FILE = "clock.json"
SERVER_TIME_HEADER = "X-Server-Time"
TOLERANCE_SECONDS = 2.0
# Timestamp fields of each request body the sender may shift.
TIMESTAMP_FIELDS = ("sent_at", "scanned_at", "occurred_at", "ts", "timestamp")


class ServerClock:
    """Thread-safe holder of the skew; ``correction()`` is what to add to a local time."""

    def __init__(
        self, state_dir: str | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._path = os.path.join(state_dir, CLOCK_FILE) if state_dir else None
        self._clock = clock
        self._lock = threading.Lock()
        self._offset = self._load()

    def _load(self) -> float:
        if not self._path:
            return 0.0
        try:
            with open(self._path, encoding="utf-8") as handle:
                value = json.load(handle).get("offset_seconds", 0.0)
            return float(value) if isinstance(value, (int, float)) else 0.0
        except (OSError, ValueError, AttributeError):
            return 0.0

    @property
    def offset(self) -> float:
        with self._lock:
            return self._offset

    def local_now(self) -> float:
        return self._clock()

    def correction(self) -> float:
        offset = self.offset
        return offset if abs(offset) >= TOLERANCE_SECONDS else 0.0

    def now(self) -> float:
        """The server's idea of now."""
        return self._clock() + self.correction()

    def observe(self, headers: Any, sent_at: float, received_at: float) -> None:
        """Learn the offset from an answer's ``X-Server-Time`` (ignored when absent or bad)."""
        value = headers.get(SERVER_TIME_HEADER) if headers is not None else None
        if not value:
            return
        try:
            server = parse_iso_epoch(str(value))
        except ValueError:
            return
        offset = server - (sent_at + received_at) / 2
        with self._lock:
            changed = abs(offset - self._offset) >= TOLERANCE_SECONDS
            self._offset = offset
        if changed:
            log.warning(
                "device clock differs from the server's; correcting timestamps",
                extra={"fields": {"offset_s": round(offset, 1)}},
            )
            self._save(offset)

    def _save(self, offset: float) -> None:
        if not self._path:
            return
        temporary = f"{self._path}.tmp"
        try:
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump({"offset_seconds": offset}, handle)
            os.replace(temporary, self._path)
        except OSError:
            log.warning("could not store the clock offset", exc_info=True)

    def corrected(self, payload: Any) -> Any:
        """A copy of ``payload`` with its timestamp fields shifted by the correction."""
        shift = self.correction()
        if not shift:
            return payload
        return _shift(payload, shift)


def _shift(value: Any, shift: float) -> Any:
    if isinstance(value, list):
        return [_shift(item, shift) for item in value]
    if not isinstance(value, dict):
        return value
    shifted = {}
    for key, item in value.items():
        if key in TIMESTAMP_FIELDS and isinstance(item, str):
            try:
                shifted[key] = iso_utc(parse_iso_epoch(item) + shift)
                continue
            except ValueError:
                pass
        shifted[key] = _shift(item, shift) if isinstance(item, (dict, list)) else item
    return shifted
