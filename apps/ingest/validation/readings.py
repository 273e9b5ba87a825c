"""One telemetry reading of a batch: `{message_id, metric, value, unit, ts}`.

Invariant: a clean reading has a UUID message id (its dedup key), a finite float value, a
lowercase metric name, a unit of at most 16 characters and a recent, zoned timestamp.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from apps.ingest.validation.items import ItemErrors, check_timestamp, check_unknown_keys, check_uuid

METRIC = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
READING_FIELDS = frozenset({"message_id", "metric", "value", "unit", "ts"})


def validate_reading(item: Any, now: datetime | None = None) -> tuple[dict | None, dict | None]:
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["Must be an object."]}
    errors = ItemErrors()
    check_unknown_keys(item, READING_FIELDS, errors)
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        errors.add("value", "Must be a finite number.")
    metric = item.get("metric")
    if not isinstance(metric, str) or not METRIC.fullmatch(metric):
        errors.add("metric", "Must be a lowercase name like power_ac.")
    unit = item.get("unit", "")
    if not isinstance(unit, str) or len(unit) > 16:
        errors.add("unit", "Must be text of at most 16 characters.")
    clean = {
        "message_id": check_uuid(item.get("message_id"), errors, "message_id"),
        "metric": metric, "value": float(value) if not errors.get("value") else None, "unit": unit,
        "ts": check_timestamp(item.get("ts"), errors, "ts", now),
    }
    return (None, dict(errors)) if errors else (clean, None)
