"""Structured (one JSON object per line) logging for the agent.

Field devices ship their journal to whatever log collector the site runs, so every line is
machine-readable. Callers attach facts with ``extra={"fields": {...}}``; they must never put
tokens, keys, setup tokens, barcode text or parsed personal fields there.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any

LOGGER_NAME = "device_agent"


class JsonFormatter(logging.Formatter):
    """Render a record as a single JSON line with its structured fields merged in."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                line.setdefault(key, value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class ErrorCounter(logging.Handler):
    """Counts ERROR-and-worse records so heartbeats can report ``error_count``."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self._count = 0
        self._lock_count = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock_count:
            self._count += 1

    @property
    def count(self) -> int:
        with self._lock_count:
            return self._count


_error_counter: ErrorCounter | None = None


def error_counter() -> ErrorCounter:
    """The process-wide error counter, attached to the agent's logger on first use."""
    global _error_counter
    if _error_counter is None:
        _error_counter = ErrorCounter()
        logging.getLogger(LOGGER_NAME).addHandler(_error_counter)
    return _error_counter


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Send the agent's logs as JSON lines to ``stream`` (stderr: journald picks it up)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(LOGGER_NAME)
    for existing in list(logger.handlers):
        if isinstance(existing, logging.StreamHandler) and not isinstance(existing, ErrorCounter):
            logger.removeHandler(existing)
    logger.addHandler(handler)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    logger.propagate = False
    error_counter()
