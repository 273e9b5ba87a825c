"""A device-raised alert's contract: a known kind, optional severity and dedup key, the
device's time, and a details object that fits in the alert and its messages.

Invariant: `validate_device_alert` accepts and refuses what `DeviceAlertInput` (the OpenAPI
schema, `apps/ingest/api/serializers.py`) does, with the same messages; the serializer
takes its pattern and the summary limit from here.
"""

from __future__ import annotations

import re

from apps.common.limits import details_problem
from apps.common.validation import Invalid, as_choice, as_recent_timestamp, as_text, type_name, validate_object

DEDUP_KEY_PATTERN = r"^[A-Za-z0-9:._-]{1,100}$"
DEDUP_KEY = re.compile(DEDUP_KEY_PATTERN)
MAX_SUMMARY_LENGTH = 300  # Alert.summary
SUMMARY_MESSAGE = f"Must be text of at most {MAX_SUMMARY_LENGTH} characters."


def summary_problem(details: dict) -> dict | None:
    """`details.summary` becomes the alert's summary, and with it the text of every SMS and
    Slack message: the nested error when it is not short text, or None."""
    summary = details.get("summary")
    if summary is not None and (not isinstance(summary, str) or len(summary) > MAX_SUMMARY_LENGTH):
        return {"summary": [SUMMARY_MESSAGE]}
    return None


def _details(value) -> dict:
    if not isinstance(value, dict):
        raise Invalid(f'Expected a dictionary of items but got type "{type_name(value)}".')
    value = {str(key): item for key, item in value.items()}
    problem = details_problem(value) or summary_problem(value)
    if problem:
        raise Invalid(problem)
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
