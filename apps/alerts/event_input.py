"""An integration's event, PagerDuty Events v2-shaped: the contract of `POST /api/v1/events/`.

Invariant: `validate_event` accepts and refuses what `EventInput` (the OpenAPI schema,
`apps/alerts/api/serializers.py`) does, with the same messages, and gives the same clean
values; the serializer takes its choices and limits from here. Unknown keys are ignored,
as the serializer ignores them: monitors send PagerDuty's other fields (client, links,
images), which Tocsin does not read.

Why not the serializer itself: it is the schema, and stays; but building a nested DRF
serializer for every event cost about a tenth of a new alert's CPU. A property test
(`tests/alerts/test_event_contract.py`) holds the two to the same answers.
"""

from __future__ import annotations

from apps.alerts.models import Severity
from apps.common.limits import details_problem
from apps.common.validation import Invalid, as_choice, as_text, type_name, validate_object

PAGERDUTY_SEVERITIES = {"critical": Severity.CRITICAL, "error": Severity.HIGH, "high": Severity.HIGH,
                        "warning": Severity.WARNING, "info": Severity.INFO}
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
MAX_KEY_LENGTH = 200  # dedup_key, routing_key
MAX_SUMMARY_LENGTH = 300  # Alert.summary
MAX_SOURCE_LENGTH = 200
MAX_SITE_LENGTH = 40  # a site's public id or location id
PAYLOAD_REQUIRED = "Required to trigger."
KEY_REQUIRED = "Required to acknowledge or resolve."


def as_details(value) -> dict:
    """DetailsField: a JSON object of anything, within the details limits."""
    if not isinstance(value, dict):
        raise Invalid(f'Expected a dictionary of items but got type "{type_name(value)}".')
    value = {str(key): item for key, item in value.items()}
    problem = details_problem(value)
    if problem:
        raise Invalid(problem)
    return value


_PAYLOAD_FIELDS = {
    "summary": lambda v: as_text(v, max_length=MAX_SUMMARY_LENGTH),
    "severity": lambda v: as_choice(v, PAGERDUTY_SEVERITIES),
    "source": lambda v: as_text(v, max_length=MAX_SOURCE_LENGTH),
    "site": lambda v: as_text(v, max_length=MAX_SITE_LENGTH),
    "details": as_details,
    "custom_details": as_details,
}


def _payload(value) -> dict:
    clean = validate_object(value, _PAYLOAD_FIELDS, frozenset({"summary", "severity", "source"}), strict=False)
    clean.setdefault("details", {})
    return clean


_EVENT_FIELDS = {
    "event_action": lambda v: as_choice(v, EVENT_ACTIONS),
    "dedup_key": lambda v: as_text(v, max_length=MAX_KEY_LENGTH),
    "routing_key": lambda v: as_text(v, max_length=MAX_KEY_LENGTH),
    "payload": _payload,
}


def validate_event(data) -> tuple[dict | None, dict | None]:
    """(clean event, None) or (None, field errors): the contract of EventInput."""
    try:
        clean = validate_object(data, _EVENT_FIELDS, frozenset({"event_action"}), strict=False)
    except Invalid as exc:
        return None, exc.detail
    if clean["event_action"] == "trigger" and "payload" not in clean:
        return None, {"payload": [PAYLOAD_REQUIRED]}
    if clean["event_action"] != "trigger" and not clean.get("dedup_key"):
        return None, {"dedup_key": [KEY_REQUIRED]}
    return clean, None
