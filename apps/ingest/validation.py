"""Fast, strict validation of batched device data (scans, telemetry readings).

Batches are validated item by item with plain Python rather than a DRF serializer per
item: a batch of 500 scans must cost milliseconds, and one bad item must be reported by
its index while the rest are stored.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

# Keys that would carry raw personal data. A payload containing any of them is refused
# whole (400, naming the keys), and nothing of it is stored or logged.
PERSONAL_DATA_KEYS = frozenset({
    "name", "first_name", "last_name", "family_name", "given_name", "given_names", "middle_name",
    "full_name", "date_of_birth", "dob", "birth_date", "birthdate", "document_number", "license_number",
    "licence_number", "id_number", "dl_number", "address", "street", "street_address", "city",
    "postal_code", "zip", "zip_code", "raw", "raw_barcode", "barcode", "barcode_text",
})

MAX_FUTURE_SKEW = timedelta(minutes=10)
MAX_AGE_OF_DATA = timedelta(days=30)
JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
SUBJECT_HASH = re.compile(r"^[0-9a-f]{64}$")
METRIC = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")

SCAN_FIELDS = frozenset({"scan_id", "scanned_at", "birth_year", "age", "is_underage", "is_valid",
                         "document_expired", "jurisdiction", "subject_hash"})
READING_FIELDS = frozenset({"message_id", "metric", "value", "unit", "ts"})


def personal_data_keys(payload: Any, _path: str = "") -> list[str]:
    """Dotted paths of every personal-data key anywhere in the payload."""
    found: list[str] = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            path = f"{_path}.{key}" if _path else str(key)
            if isinstance(key, str) and key.lower() in PERSONAL_DATA_KEYS:
                found.append(path)
            found.extend(personal_data_keys(value, path))
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            found.extend(personal_data_keys(value, f"{_path}[{index}]"))
    return found


class ItemErrors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def _uuid(value, errors: ItemErrors, field: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        errors.add(field, "Must be a UUID.")
        return None


def _timestamp(value, errors: ItemErrors, field: str) -> datetime | None:
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but impossible, e.g. an offset of +99:00 or 31 February
        parsed = None
    if parsed is None:
        errors.add(field, "Must be an ISO 8601 timestamp with a timezone.")
        return None
    if timezone.is_naive(parsed):
        errors.add(field, "Must include a timezone (e.g. Z or +00:00).")
        return None
    now = timezone.now()
    if parsed > now + MAX_FUTURE_SKEW:
        errors.add(field, "Is in the future.")
        return None
    if parsed < now - MAX_AGE_OF_DATA:
        errors.add(field, "Is older than 30 days.")
        return None
    return parsed


def _int(value, errors: ItemErrors, field: str, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.add(field, f"Must be a whole number from {low} to {high}.")
        return None
    return value


def _bool(value, errors: ItemErrors, field: str) -> bool | None:
    if not isinstance(value, bool):
        errors.add(field, "Must be true or false.")
        return None
    return value


def _unknown_keys(item: dict, allowed: frozenset, errors: ItemErrors) -> None:
    for extra in sorted(set(item) - allowed):
        errors.add(extra, "Unknown field.")


def validate_scan(item: Any) -> tuple[dict | None, dict | None]:
    """(clean scan, None) or (None, field errors)."""
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["Must be an object."]}
    errors = ItemErrors()
    _unknown_keys(item, SCAN_FIELDS, errors)
    year = timezone.now().year
    clean = {
        "scan_id": _uuid(item.get("scan_id"), errors, "scan_id"),
        "scanned_at": _timestamp(item.get("scanned_at"), errors, "scanned_at"),
        "birth_year": _int(item.get("birth_year"), errors, "birth_year", 1900, year),
        "age": _int(item.get("age"), errors, "age", 0, 130),
        "is_underage": _bool(item.get("is_underage"), errors, "is_underage"),
        "is_valid": _bool(item.get("is_valid"), errors, "is_valid"),
        "document_expired": _bool(item.get("document_expired"), errors, "document_expired"),
        "jurisdiction": item.get("jurisdiction", ""),
        "subject_hash": item.get("subject_hash", ""),
    }
    if not isinstance(clean["jurisdiction"], str) or (clean["jurisdiction"]
                                                      and not JURISDICTION.match(clean["jurisdiction"])):
        errors.add("jurisdiction", "Must be a code like US-TX or CA-ON.")
    if not isinstance(clean["subject_hash"], str) or (clean["subject_hash"]
                                                      and not SUBJECT_HASH.match(clean["subject_hash"])):
        errors.add("subject_hash", "Must be 64 lowercase hex characters (an HMAC-SHA256).")
    if (not errors and clean["birth_year"] is not None and clean["age"] is not None
            and abs((year - clean["birth_year"]) - clean["age"]) > 1):
        errors.add("age", "Does not match birth_year.")
    return (None, dict(errors)) if errors else (clean, None)


def validate_reading(item: Any) -> tuple[dict | None, dict | None]:
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["Must be an object."]}
    errors = ItemErrors()
    _unknown_keys(item, READING_FIELDS, errors)
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        errors.add("value", "Must be a finite number.")
    metric = item.get("metric")
    if not isinstance(metric, str) or not METRIC.match(metric):
        errors.add("metric", "Must be a lowercase name like power_ac.")
    unit = item.get("unit", "")
    if not isinstance(unit, str) or len(unit) > 16:
        errors.add("unit", "Must be text of at most 16 characters.")
    clean = {
        "message_id": _uuid(item.get("message_id"), errors, "message_id"),
        "metric": metric, "value": float(value) if not errors.get("value") else None, "unit": unit,
        "ts": _timestamp(item.get("ts"), errors, "ts"),
    }
    return (None, dict(errors)) if errors else (clean, None)
