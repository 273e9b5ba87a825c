"""Where a device is inside its site (Room 305, Till 2, Inverter 07) and which Wi-Fi access
points it may use: the two values staff name per device, checked in one place.

Invariant: every path that sets them (enrolment, the admin, the API, the CSV import) goes
through `clean_location_label` and `clean_bssids`, so a label is at most 60 printable
characters and never carries personal data (it is shown on pages and the board), and an
allowed BSSID is a MAC address, stored lowercase, each once, at most MAX_BSSIDS.
"""

from __future__ import annotations

import re

from apps.common.errors import ApplicationError
from apps.common.privacy import text_is_personal

LOCATION_LABEL_MAX = 60
MAX_BSSIDS = 32
BSSID = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_SEPARATORS = re.compile(r"[\s,;|]+")


def label_problem(value: str) -> str | None:
    """Why this label cannot be stored (None: it can), for per-field and per-line errors."""
    if len(value) > LOCATION_LABEL_MAX:
        return f"At most {LOCATION_LABEL_MAX} characters."
    if any(not char.isprintable() for char in value):
        return "Only printable characters (no control characters)."
    if text_is_personal(value):
        return "Must not carry personal data (a name, a date of birth, a document number)."
    return None


def clean_location_label(value: str | None, *, field: str = "location_label") -> str:
    label = " ".join((value or "").split())
    problem = label_problem(label)
    if problem:
        raise ApplicationError(problem, fields={field: [problem]})
    return label


def bssid_problems(values: list[str]) -> list[str]:
    problems = [f"'{value[:20]}' is not a MAC address (aa:bb:cc:dd:ee:ff)." for value in values
                if not BSSID.match(value.lower())]
    if len(set(v.lower() for v in values)) > MAX_BSSIDS:
        problems.append(f"At most {MAX_BSSIDS} access points.")
    return problems


def split_bssids(text: str) -> list[str]:
    """One per line in the admin; a CSV cell separates them by spaces, ';' or '|'."""
    return [part for part in _SEPARATORS.split(text or "") if part]


def clean_bssids(values, *, field: str = "allowed_bssids") -> list[str]:
    if not isinstance(values, (list, tuple)) or not all(isinstance(value, str) for value in values):
        raise ApplicationError("Expected a list of MAC addresses.", fields={field: ["Expected a list."]})
    values = [value.strip() for value in values if value.strip()]
    problems = bssid_problems(values)
    if problems:
        raise ApplicationError(problems[0], fields={field: problems})
    return list(dict.fromkeys(value.lower() for value in values))
