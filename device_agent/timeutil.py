"""UTC timestamps in the ISO 8601 form the server expects, parsed the same on 3.9 and 3.11.

``datetime.fromisoformat`` only learnt the ``Z`` suffix and arbitrary fraction lengths in
Python 3.11; field devices run 3.9, so parsing is done here instead.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

_ISO_PATTERN = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:\.(?P<fraction>\d+))?(?P<zone>Z|z|[+-]\d{2}:?\d{2})?$"
)


def iso_utc(epoch_seconds: float) -> str:
    """Format epoch seconds as ``2024-05-01T12:00:00.123456Z``."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp into an aware datetime (naive input is taken as UTC)."""
    match = _ISO_PATTERN.match(text.strip())
    if not match:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    clock = match.group("time")
    if clock.count(":") == 1:
        clock += ":00"
    fraction = (match.group("fraction") or "0")[:6].ljust(6, "0")
    zone = match.group("zone") or "+00:00"
    if zone in ("Z", "z"):
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    return datetime.fromisoformat(f"{match.group('date')}T{clock}.{fraction}{zone}")


def parse_iso_epoch(text: str) -> float:
    return parse_iso(text).timestamp()
