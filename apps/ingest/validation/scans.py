"""One anonymised ID scan of a batch: ids, time, birth year and age, flags, jurisdiction
and a keyed subject hash (never the document's text).

Invariant: `_clean_scan` (one pass over the usual, entirely valid scan) accepts only scans
the detailed check in `validate_scan` accepts, cleaned to the same values, so that the
answer never depends on which path ran; the detailed check runs for any other scan (one
that is off, or spelt unusually, e.g. a timestamp only Django's parser reads), to say
exactly what is off.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone

from apps.common.limits import MAX_UTC_OFFSET
from apps.common.validation import MAX_FUTURE_SKEW
from apps.ingest.validation.items import (
    MAX_AGE_OF_DATA,
    ItemErrors,
    check_bool,
    check_int,
    check_timestamp,
    check_unknown_keys,
    check_uuid,
)

JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
SUBJECT_HASH = re.compile(r"^[0-9a-f]{64}$")
SCAN_FIELDS = frozenset({"scan_id", "scanned_at", "birth_year", "age", "is_underage", "is_valid",
                         "document_expired", "jurisdiction", "subject_hash"})


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
    if jurisdiction and not JURISDICTION.fullmatch(jurisdiction):
        return None
    if subject_hash and not SUBJECT_HASH.fullmatch(subject_hash):
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
    check_unknown_keys(item, SCAN_FIELDS, errors)
    year = now.year
    clean = {
        "scan_id": check_uuid(item.get("scan_id"), errors, "scan_id"),
        "scanned_at": check_timestamp(item.get("scanned_at"), errors, "scanned_at", now),
        "birth_year": check_int(item.get("birth_year"), errors, "birth_year", 1900, year),
        "age": check_int(item.get("age"), errors, "age", 0, 130),
        "is_underage": check_bool(item.get("is_underage"), errors, "is_underage"),
        "is_valid": check_bool(item.get("is_valid"), errors, "is_valid"),
        "document_expired": check_bool(item.get("document_expired"), errors, "document_expired"),
        "jurisdiction": item.get("jurisdiction", ""),
        "subject_hash": item.get("subject_hash", ""),
    }
    if not isinstance(clean["jurisdiction"], str) or (clean["jurisdiction"]
                                                      and not JURISDICTION.fullmatch(clean["jurisdiction"])):
        errors.add("jurisdiction", "Must be a code like US-TX or CA-ON.")
    if not isinstance(clean["subject_hash"], str) or (clean["subject_hash"]
                                                      and not SUBJECT_HASH.fullmatch(clean["subject_hash"])):
        errors.add("subject_hash", "Must be 64 lowercase hex characters (an HMAC-SHA256).")
    if (not errors and clean["birth_year"] is not None and clean["age"] is not None
            and abs((year - clean["birth_year"]) - clean["age"]) > 1):
        errors.add("age", "Does not match birth_year.")
    return (None, dict(errors)) if errors else (clean, None)
