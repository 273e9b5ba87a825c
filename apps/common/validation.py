"""DRF-shaped checks of one value of a hot-path body, and objects built from them.

Invariant: each check accepts what the DRF field of the same kind accepts (as far as the
JSON parser in `apps/common/parsers.py` can deliver: no NUL, no unpaired surrogate, whole
numbers within int8, finite floats) and refuses the rest with DRF's message, so that the
hot path answers exactly what the OpenAPI schema's serializers would. Device reports
(`apps/ingest/validation/`) and integrations' events (`apps/alerts/event_input.py`) are
checked with these, each held to its serializer by a property test.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.common.limits import instant_problem

MAX_FUTURE_SKEW = timedelta(minutes=10)
REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
NO_DATA = "No data provided"
NO_MATCH = "This value does not match the required pattern."
DATETIME_FORMAT_HINT = ("Datetime has wrong format. Use one of these formats instead: "
                        "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].")
# DRF's BooleanField values as it spelt them before it began to lowercase what it is sent
# (so "TRUE" and "True" pass, "tRuE" does not: what devices have always been answered);
# 1 also stands for True (and 1.0), 0 for False (and 0.0), as in DRF. The schema's
# serializer is held to these spellings (SpeltBooleanField).
TRUE_VALUES = frozenset({"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1", 1})
FALSE_VALUES = frozenset({"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0", 0})
_WHOLE = re.compile(r"\.0*\s*$")
MAX_NUMBER_STRING = 1000  # DRF's guard on numbers sent as strings
TOO_LARGE = "String value too large."


class Invalid(Exception):
    """One field's refusal: a message list, or a dict of nested field errors."""

    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail if isinstance(detail, (list, dict)) else [detail]


def type_name(value) -> str:
    return type(value).__name__


def as_int(value, low: int | None = None, high: int | None = None) -> int:
    """What DRF's IntegerField accepts: whole numbers, also as 12.0 or "12"."""
    if isinstance(value, bool):
        raise Invalid("A valid integer is required.")
    if not isinstance(value, int):
        if isinstance(value, str) and len(value) > MAX_NUMBER_STRING:
            raise Invalid(TOO_LARGE)
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
    if isinstance(value, str) and len(value) > MAX_NUMBER_STRING:
        raise Invalid(TOO_LARGE)
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
        if value in TRUE_VALUES:
            return True
        if value in FALSE_VALUES:
            return False
    except TypeError:  # unhashable
        pass
    raise Invalid("Must be a valid boolean.")


def as_text(value, *, max_length: int | None = None, allow_blank: bool = False,
            pattern: re.Pattern | None = None) -> str:
    """DRF's CharField/RegexField: text or a number, whitespace trimmed. (A RegexField's
    "invalid" message is its pattern's, also for a value that is not text.)"""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Invalid(NO_MATCH if pattern is not None else "Not a valid string.")
    value = str(value).strip()
    if not value:
        if allow_blank:
            return value
        raise Invalid("This field may not be blank.")
    if max_length is not None and len(value) > max_length:
        raise Invalid(f"Ensure this field has no more than {max_length} characters.")
    if pattern is not None and not pattern.search(value):
        raise Invalid(NO_MATCH)
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


def validate_object(data, fields: dict, required: frozenset = frozenset(), *, strict: bool = True) -> dict:
    """An object: each known field checked by its function, `null` refused like DRF does.
    Strict (devices' reports): unknown keys are refused first, so a firmware typo shows at
    once. Not strict (a DRF serializer's way, for integrations that send more than we
    read): unknown keys are ignored."""
    if not isinstance(data, dict):
        if data is None:  # a body of JSON `null` (a nested null is refused by the caller)
            raise Invalid({"non_field_errors": [NO_DATA]})
        raise Invalid({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type_name(data)}."]})
    unknown = [key for key in data if key not in fields] if strict else []
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
