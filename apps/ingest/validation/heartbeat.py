"""A heartbeat's contract: only `sent_at` is required; battery, link, health and outbox are
strict nested objects, counters are bounded by the columns they are stored in.

Invariant: `validate_heartbeat` accepts and refuses what `HeartbeatInput` (the OpenAPI
schema, `apps/ingest/api/serializers.py`) does, with the same messages; the serializer
takes its pattern and choices from here.
"""

from __future__ import annotations

import re

from apps.common.limits import INT4_MAX, INT8_MAX
from apps.common.validation import (
    Invalid,
    as_bool,
    as_choice,
    as_float,
    as_int,
    as_recent_timestamp,
    as_text,
    validate_object,
)

BSSID_PATTERN = r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"
BSSID = re.compile(BSSID_PATTERN)
SCANNER_STATUSES = ("ok", "error", "disconnected", "unknown")

_BATTERY = {"level": lambda v: as_int(v, 0, 100), "charging": as_bool}
_LINK = {"wifi_bssid": lambda v: as_text(v, allow_blank=True, pattern=BSSID), "rssi": lambda v: as_int(v, -120, 0)}
_HEALTH = {
    "cpu_percent": lambda v: as_float(v, 0, 100), "memory_used_mb": lambda v: as_float(v, 0),
    "memory_total_mb": lambda v: as_float(v, 0), "disk_used_mb": lambda v: as_float(v, 0),
    "disk_total_mb": lambda v: as_float(v, 0), "temperature_c": lambda v: as_float(v, -50, 150),
}
# The agent's outbox: items waiting, the oldest one's age, items the server refused for good.
_OUTBOX = {"size": lambda v: as_int(v, 0, INT4_MAX), "oldest_age_s": lambda v: as_int(v, 0, INT4_MAX),
           "parked": lambda v: as_int(v, 0, INT4_MAX)}
_HEARTBEAT = {
    "sent_at": as_recent_timestamp,
    "outbox": lambda v: validate_object(v, _OUTBOX),
    "battery": lambda v: validate_object(v, _BATTERY),
    "link": lambda v: validate_object(v, _LINK),
    "health": lambda v: validate_object(v, _HEALTH),
    "uptime_s": lambda v: as_int(v, 0, INT8_MAX),  # bigint column
    "error_count": lambda v: as_int(v, 0, INT4_MAX),  # integer column
    "scanner_status": lambda v: as_choice(v, SCANNER_STATUSES),
    "firmware": lambda v: as_text(v, max_length=64, allow_blank=True),
}
_HEARTBEAT_REQUIRED = frozenset({"sent_at"})


def validate_heartbeat(data) -> tuple[dict | None, dict | None]:
    """(clean heartbeat, None) or (None, field errors): the contract of HeartbeatInput."""
    try:
        return validate_object(data, _HEARTBEAT, _HEARTBEAT_REQUIRED), None
    except Invalid as exc:
        return None, exc.detail
