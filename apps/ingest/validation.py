"""Fast, strict validation of what devices send: batches (scans, telemetry readings) and
the two busiest single reports (heartbeats, device-raised alerts).

Plain Python rather than DRF serializers: a batch of 500 scans must cost milliseconds and
report a bad item by its index while the rest are stored, and a heartbeat is validated on
every beat of every device (the serializers cost more than the database work behind them).
The single-report validators accept and refuse what the serializers in
`apps/ingest/api/serializers.py` describe (those remain the OpenAPI schema), with DRF's
messages, so a firmware author sees the same errors either way.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.common.limits import INT4_MAX, INT8_MAX, MAX_UTC_OFFSET, details_problem, instant_problem

MAX_FUTURE_SKEW = timedelta(minutes=10)
MAX_AGE_OF_DATA = timedelta(days=30)
JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
SUBJECT_HASH = re.compile(r"^[0-9a-f]{64}$")
METRIC = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")

SCAN_FIELDS = frozenset({"scan_id", "scanned_at", "birth_year", "age", "is_underage", "is_valid",
                         "document_expired", "jurisdiction", "subject_hash"})
READING_FIELDS = frozenset({"message_id", "metric", "value", "unit", "ts"})
# Fields whose validators below admit only UUIDs, timestamps, codes, hashes, numbers or
# choices: the personal-data check (apps/common/privacy.py) need not read their text, which
# keeps a clean batch of scans on its fast path. Free text and identifiers a device names
# (firmware, unit, metric, dedup_key, details) are not among them.
TYPED_FIELDS = frozenset({
    "scan_id", "scanned_at", "birth_year", "age", "is_underage", "is_valid", "document_expired", "jurisdiction",
    "subject_hash", "batch_id", "message_id", "value", "ts", "sent_at", "level", "charging",
    "wifi_bssid", "rssi", "cpu_percent", "memory_used_mb", "memory_total_mb", "disk_used_mb", "disk_total_mb",
    "temperature_c", "uptime_s", "error_count", "scanner_status", "kind", "severity", "occurred_at",
})


class ItemErrors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def _uuid(value, errors: ItemErrors, field: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        errors.add(field, "Must be a UUID.")
        return None


def _timestamp(value, errors: ItemErrors, field: str, now: datetime | None = None) -> datetime | None:
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
    problem = instant_problem(parsed)
    if problem:
        errors.add(field, problem)
        return None
    now = now or timezone.now()
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


def _clean_scan(item: Any, now: datetime) -> dict | None:
    """The scan when it is entirely valid (the usual case, checked in one pass); None when
    anything is off, and `validate_scan` then works out exactly what."""
    if not isinstance(item, dict) or not item.keys() <= SCAN_FIELDS:
        return None
    scan_id, scanned_at, birth_year, age = item.get("scan_id"), item.get("scanned_at"), item.get("birth_year"), \
        item.get("age")
    is_underage, is_valid, expired = item.get("is_underage"), item.get("is_valid"), item.get("document_expired")
    jurisdiction, subject_hash = item.get("jurisdiction", ""), item.get("subject_hash", "")
    if (type(birth_year) is not int or type(age) is not int or not isinstance(scan_id, str)
            or not isinstance(scanned_at, str) or type(is_underage) is not bool or type(is_valid) is not bool
            or type(expired) is not bool or not isinstance(jurisdiction, str) or not isinstance(subject_hash, str)):
        return None
    if not (1900 <= birth_year <= now.year and 0 <= age <= 130 and abs(now.year - birth_year - age) <= 1):
        return None
    if jurisdiction and not JURISDICTION.match(jurisdiction):
        return None
    if subject_hash and not SUBJECT_HASH.match(subject_hash):
        return None
    try:
        scan_uuid = uuid.UUID(scan_id)
        at = datetime.fromisoformat(scanned_at)  # what parse_datetime tries first, too
    except ValueError:
        return None
    offset = at.utcoffset()
    if offset is None or abs(offset) > MAX_UTC_OFFSET or not now - MAX_AGE_OF_DATA <= at <= now + MAX_FUTURE_SKEW:
        return None
    return {"scan_id": scan_uuid, "scanned_at": at, "birth_year": birth_year, "age": age, "is_underage": is_underage,
            "is_valid": is_valid, "document_expired": expired, "jurisdiction": jurisdiction,
            "subject_hash": subject_hash}


def validate_scan(item: Any, now: datetime | None = None) -> tuple[dict | None, dict | None]:
    """(clean scan, None) or (None, field errors). `now` once per batch saves a clock read per item."""
    now = now or timezone.now()
    clean = _clean_scan(item, now)
    if clean is not None:
        return clean, None
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["Must be an object."]}
    errors = ItemErrors()
    _unknown_keys(item, SCAN_FIELDS, errors)
    year = now.year
    clean = {
        "scan_id": _uuid(item.get("scan_id"), errors, "scan_id"),
        "scanned_at": _timestamp(item.get("scanned_at"), errors, "scanned_at", now),
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


def validate_reading(item: Any, now: datetime | None = None) -> tuple[dict | None, dict | None]:
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
        "ts": _timestamp(item.get("ts"), errors, "ts", now),
    }
    return (None, dict(errors)) if errors else (clean, None)


# --- single reports: heartbeats and device-raised alerts ----------------------------------------------

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
DATETIME_FORMAT_HINT = ("Datetime has wrong format. Use one of these formats instead: "
                        "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].")
BSSID = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$")
DEDUP_KEY = re.compile(r"^[A-Za-z0-9:._-]{1,100}$")
SCANNER_STATUSES = ("ok", "error", "disconnected", "unknown")
MAX_SUMMARY_LENGTH = 300  # Alert.summary
# DRF's BooleanField values; 1 also stands for True (and 1.0), 0 for False (and 0.0), as in DRF.
_TRUE = frozenset({"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1", 1})
_FALSE = frozenset({"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0", 0})
_WHOLE = re.compile(r"\.0*\s*$")


class Invalid(Exception):
    """One field's refusal: a message list, or a dict of nested field errors."""

    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail if isinstance(detail, (list, dict)) else [detail]


def _type_name(value) -> str:
    return type(value).__name__


def as_int(value, low: int | None = None, high: int | None = None) -> int:
    """What DRF's IntegerField accepts: whole numbers, also as 12.0 or "12"."""
    if isinstance(value, bool):
        raise Invalid("A valid integer is required.")
    if not isinstance(value, int):
        try:
            value = int(_WHOLE.sub("", str(value)))
        except (ValueError, TypeError):
            raise Invalid("A valid integer is required.") from None
    if low is not None and value < low:
        raise Invalid(f"Ensure this value is greater than or equal to {low}.")
    if high is not None and value > high:
        raise Invalid(f"Ensure this value is less than or equal to {high}.")
    return value


def as_float(value, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool):
        raise Invalid("A valid number is required.")
    try:
        value = float(value)
    except (ValueError, TypeError, OverflowError):
        raise Invalid("A valid number is required.") from None
    if not math.isfinite(value):
        raise Invalid("A valid number is required.")
    if low is not None and value < low:
        raise Invalid(f"Ensure this value is greater than or equal to {low}.")
    if high is not None and value > high:
        raise Invalid(f"Ensure this value is less than or equal to {high}.")
    return value


def as_bool(value) -> bool:
    try:
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    except TypeError:  # unhashable
        pass
    raise Invalid("Must be a valid boolean.")


def as_text(value, *, max_length: int | None = None, allow_blank: bool = False,
            pattern: re.Pattern | None = None) -> str:
    """DRF's CharField/RegexField: text or a number, whitespace trimmed."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Invalid("Not a valid string.")
    value = str(value).strip()
    if not value:
        if allow_blank:
            return value
        raise Invalid("This field may not be blank.")
    if max_length is not None and len(value) > max_length:
        raise Invalid(f"Ensure this field has no more than {max_length} characters.")
    if pattern is not None and not pattern.search(value):
        raise Invalid("This value does not match the required pattern.")
    return value


def as_choice(value, choices) -> str:
    if isinstance(value, str) and value in choices:
        return value
    raise Invalid(f'"{value}" is not a valid choice.')


def as_recent_timestamp(value, now: datetime | None = None) -> datetime:
    """A device's own clock: ISO 8601 with a timezone, not (much) in the future."""
    if not isinstance(value, str):
        raise Invalid(DATETIME_FORMAT_HINT)
    try:
        parsed = parse_datetime(value)
    except ValueError:  # well-formed but impossible, e.g. an offset of +99:00
        raise Invalid("Is not a valid timestamp.") from None
    if parsed is None:
        raise Invalid(DATETIME_FORMAT_HINT)
    if timezone.is_naive(parsed):
        raise Invalid("Must include a timezone (e.g. Z or +00:00).")
    problem = instant_problem(parsed)
    if problem:
        raise Invalid(problem)
    if parsed > (now or timezone.now()) + MAX_FUTURE_SKEW:
        raise Invalid("Is in the future; check the device clock.")
    return parsed


def validate_object(data, fields: dict, required: frozenset = frozenset()) -> dict:
    """A strict object: unknown keys are refused first (a firmware typo shows at once), then
    each known field is checked by its function; `null` is refused like DRF does."""
    if not isinstance(data, dict):
        raise Invalid({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {_type_name(data)}."]})
    unknown = [key for key in data if key not in fields]
    if unknown:
        raise Invalid({key: ["Unknown field."] for key in sorted(unknown, key=str)})
    clean, errors = {}, {}
    for name, check in fields.items():
        if name not in data:
            if name in required:
                errors[name] = [REQUIRED]
            continue
        value = data[name]
        if value is None:
            errors[name] = [NOT_NULL]
            continue
        try:
            clean[name] = check(value)
        except Invalid as exc:
            errors[name] = exc.detail
    if errors:
        raise Invalid(errors)
    return clean


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


def _details(value) -> dict:
    if not isinstance(value, dict):
        raise Invalid(f'Expected a dictionary of items but got type "{_type_name(value)}".')
    value = {str(key): item for key, item in value.items()}
    problem = details_problem(value)
    if problem:
        raise Invalid(problem)
    summary = value.get("summary")
    if summary is not None and (not isinstance(summary, str) or len(summary) > MAX_SUMMARY_LENGTH):
        # It becomes the alert's summary, and with it the text of every SMS and Slack message.
        raise Invalid({"summary": [f"Must be text of at most {MAX_SUMMARY_LENGTH} characters."]})
    return value


def validate_device_alert(data, *, kinds, severities) -> tuple[dict | None, dict | None]:
    """(clean report, None) or (None, field errors): the contract of DeviceAlertInput."""
    fields = {
        "kind": lambda v: as_choice(v, kinds),
        "severity": lambda v: as_choice(v, severities),
        "dedup_key": lambda v: as_text(v, pattern=DEDUP_KEY),
        "occurred_at": as_recent_timestamp,
        "details": _details,
    }
    try:
        clean = validate_object(data, fields, frozenset({"kind", "occurred_at"}))
    except Invalid as exc:
        return None, exc.detail
    clean.setdefault("details", {})
    return clean, None
