"""Plant gateway: readings from a configured source, queued as telemetry.

A source is anything that produces readings as JSON: a command run every interval (a vendor
tool that polls the inverter), or a file another process rewrites. Modbus can be added as
one more ``ReadingSource``. The accepted shapes are a list of readings, one reading, or one
reading per line, where a reading is ``{"metric": str, "value": number, "unit": str,
"ts": ISO 8601 (optional, default now)}``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shlex
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from device_agent.outbox import TELEMETRY, NewItem, Outbox
from device_agent.timeutil import iso_utc, parse_iso_epoch

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Reading:
    metric: str
    value: float
    unit: str
    ts: float

    def outbox_item(self) -> NewItem:
        message_id = str(uuid.uuid4())
        return NewItem(
            kind=TELEMETRY,
            item_id=message_id,
            occurred_at=self.ts,
            payload={
                "message_id": message_id,
                "metric": self.metric,
                "value": self.value,
                "unit": self.unit,
                "ts": iso_utc(self.ts),
            },
        )


def parse_readings(text: str, now: float) -> tuple[list[Reading], list[str]]:
    """Readings from a source's output, and a description of each entry that was unusable."""
    try:
        document = json.loads(text)
        entries = document if isinstance(document, list) else [document]
    except ValueError:
        entries = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    entries.append(f"line {number} is not JSON")
    readings, problems = [], []
    for position, entry in enumerate(entries):
        reading, problem = _reading(entry, now)
        if reading is not None:
            readings.append(reading)
        else:
            problems.append(f"entry {position}: {problem}")
    return readings, problems


def _reading(entry: Any, now: float) -> tuple[Reading | None, str]:
    if isinstance(entry, str):
        return None, entry
    if not isinstance(entry, dict):
        return None, "not an object"
    metric, value, unit = entry.get("metric"), entry.get("value"), entry.get("unit", "")
    if not isinstance(metric, str) or not metric:
        return None, "metric must be a non-empty string"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None, "value must be a finite number"
    if not isinstance(unit, str):
        return None, "unit must be a string"
    ts = now
    if entry.get("ts") is not None:
        try:
            ts = parse_iso_epoch(str(entry["ts"]))
        except ValueError:
            return None, "ts is not an ISO 8601 timestamp"
    return Reading(metric=metric, value=float(value), unit=unit, ts=ts), ""


class ReadingSource(Protocol):
    name: str

    def read(self) -> str | None:
        """The source's current output, or None when it has nothing new."""


class CommandSource:
    """Runs a command (no shell) and reads readings from its standard output."""

    def __init__(self, command: str) -> None:
        self.argv = shlex.split(command)
        self.name = f"command:{self.argv[0]}" if self.argv else "command:"

    def read(self) -> str | None:
        # The command comes from the root-owned agent config, run without a shell.
        done = subprocess.run(  # noqa: S603
            self.argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"exit status {done.returncode}: {done.stderr.strip()[:200]}")
        return done.stdout


class FileSource:
    """Reads a file another process rewrites; an unchanged file yields nothing new."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = f"file:{path}"
        self._last_mtime: float | None = None

    def read(self) -> str | None:
        mtime = os.stat(self.path).st_mtime
        if mtime == self._last_mtime:
            return None
        with open(self.path, encoding="utf-8") as handle:
            text = handle.read()
        self._last_mtime = mtime
        return text


class TelemetryLoop(threading.Thread):
    """Polls the source every interval and queues what it read; a failure is logged, not fatal."""

    def __init__(
        self,
        source: ReadingSource,
        interval: float,
        outbox: Outbox,
        notify: Callable[[], None],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name="tocsin-telemetry", daemon=True)
        self.source = source
        self.interval = interval
        self.outbox = outbox
        self.notify = notify
        self._clock = clock
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.poll()
            self._stop_event.wait(self.interval)

    def poll(self) -> int:
        """Read the source once; returns the number of readings queued."""
        try:
            text = self.source.read()
        except (OSError, RuntimeError, subprocess.SubprocessError, UnicodeDecodeError) as exc:
            log.error("telemetry source failed; will try again",
                      extra={"fields": {"source": self.source.name, "error": str(exc)}})
            return 0
        if text is None:
            return 0
        readings, problems = parse_readings(text, self._clock())
        if problems:
            log.warning("telemetry source gave unusable readings; skipped",
                        extra={"fields": {"source": self.source.name, "problems": problems[:10]}})
        if readings:
            self.outbox.put_many([reading.outbox_item() for reading in readings])
            self.notify()
        return len(readings)


def telemetry_source(command: str | None, path: str | None) -> ReadingSource | None:
    """The configured source: a command wins over a file; None when neither is set."""
    if command:
        return CommandSource(command)
    if path:
        return FileSource(path)
    return None
