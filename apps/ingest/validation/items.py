"""The checks of one item of a batch (a scan, a telemetry reading).

Invariant: a check records its field's error in the item's `ItemErrors` and returns None
rather than raising, so that one pass over an item names every bad field at once and a
batch reports each bad item by its index while the rest are stored. Timestamps must be
recent: a device's buffered data older than 30 days is not accepted.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.common.limits import instant_problem
from apps.common.validation import MAX_FUTURE_SKEW

MAX_AGE_OF_DATA = timedelta(days=30)


class ItemErrors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def check_uuid(value, errors: ItemErrors, field: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        errors.add(field, "Must be a UUID.")
        return None


def check_timestamp(value, errors: ItemErrors, field: str, now: datetime | None = None) -> datetime | None:
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


def check_int(value, errors: ItemErrors, field: str, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.add(field, f"Must be a whole number from {low} to {high}.")
        return None
    return value


def check_bool(value, errors: ItemErrors, field: str) -> bool | None:
    if not isinstance(value, bool):
        errors.add(field, "Must be true or false.")
        return None
    return value


def check_unknown_keys(item: dict, allowed: frozenset, errors: ItemErrors) -> None:
    for extra in sorted(set(item) - allowed):
        errors.add(extra, "Unknown field.")
