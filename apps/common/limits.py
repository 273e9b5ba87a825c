"""What any value from outside may be, so that it fits the column it is headed for.

Invariant: a value that passes these checks is stored by PostgreSQL as sent; one that
would not (an integer past int4/int8, a non-finite float, text with NUL, an instant
before 2000, after 2100 or with an offset PostgreSQL refuses, a details object past
8 KiB) is refused here with a message naming the limit, and so answers 400, not 500.
Every parser, serializer field, filter and validator checks against these numbers, so
the API, the admin and the device paths agree on them.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

INT4_MAX = 2**31 - 1
INT8_MIN, INT8_MAX = -(2**63), 2**63 - 1

# PostgreSQL refuses offsets past ±15:59; real zones stay within −12:00…+14:00.
MAX_UTC_OFFSET = timedelta(hours=14)
EARLIEST_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2100, 1, 1, tzinfo=UTC)

# One details object (a device's alert details, an event's details or custom_details):
# it is copied into the alert, its timeline and the messages sent for it.
MAX_DETAILS_BYTES = 8192

NUL_MESSAGE = "NUL characters are not allowed."
INSTANT_MESSAGE = (f"Must be between {EARLIEST_INSTANT:%Y-%m-%d} and {LATEST_INSTANT:%Y-%m-%d}, "
                   f"with a UTC offset within ±14:00.")
DETAILS_MESSAGE = f"At most {MAX_DETAILS_BYTES // 1024} KiB of details (as JSON)."


def instant_problem(value: datetime) -> str | None:
    """Why an aware datetime cannot be stored or compared with stored ones, or None."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        return INSTANT_MESSAGE
    try:
        in_range = EARLIEST_INSTANT <= value < LATEST_INSTANT
    except TypeError:  # naive: compared as UTC, as Django would store it
        in_range = EARLIEST_INSTANT <= value.replace(tzinfo=UTC) < LATEST_INSTANT
    except OverflowError:  # year 1 with a positive offset is before year 1 in UTC
        in_range = False
    return None if in_range else INSTANT_MESSAGE


def number_problem(value: Any) -> str | None:
    """Why a number cannot be stored in any numeric column we have (int8, float8), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if INT8_MIN <= value <= INT8_MAX else "Must be within the 64-bit integer range."
    if isinstance(value, float):
        return None if math.isfinite(value) else "Must be a finite number."
    return None


def details_size(value: Any) -> int:
    """Bytes of the UTF-8 JSON the object is stored as."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode())


def details_problem(value: Any) -> str | None:
    return DETAILS_MESSAGE if details_size(value) > MAX_DETAILS_BYTES else None
