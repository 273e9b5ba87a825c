"""One contract per report: the fast validators the views run and the serializers that are
the OpenAPI schema give the same answer to every body.

For heartbeats and device alerts, each generated body (valid, near-valid and invalid:
wrong types, out of range, blank, oversize, null, missing, unknown keys, bad nested
objects) gets the same clean values or the same field errors, message for message, from
`validate_heartbeat` / `validate_device_alert` and from `HeartbeatInput` /
`DeviceAlertInput`. Scans and readings have no serializer (their batches are documented as
objects); for them the test holds the scan's one-pass check to the detailed one, and
checks that a batch item with one bad field is refused naming that field.

Bodies stay within what the JSON parser (`apps/common/parsers.py`) lets through: no NUL,
no unpaired surrogate, whole numbers within int8, finite floats.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from apps.common.limits import INT4_MAX, INT8_MAX
from apps.ingest.api.serializers import DeviceAlertInput, HeartbeatInput
from apps.ingest.api.views import ALERT_KINDS, SEVERITIES
from apps.ingest.validation import scans
from apps.ingest.validation.device_alert import DEDUP_KEY, MAX_SUMMARY_LENGTH, validate_device_alert
from apps.ingest.validation.heartbeat import SCANNER_STATUSES, validate_heartbeat
from apps.ingest.validation.readings import validate_reading
from apps.ingest.validation.scans import validate_scan
from tests.support.contracts import (
    CONTRACT,
    Field,
    assert_same,
    bodies,
    bool_field,
    choice_field,
    finite,
    float_field,
    int_field,
    junk,
    obj_field,
    serializer_answer,
    text,
    text_field,
    timestamp_field,
    whole,
)

HEARTBEAT = obj_field({
    "sent_at": timestamp_field(),
    "outbox": obj_field({"size": int_field(0, INT4_MAX), "oldest_age_s": int_field(0, INT4_MAX),
                         "parked": int_field(0, INT4_MAX)}),
    "battery": obj_field({"level": int_field(0, 100), "charging": bool_field()}),
    "link": obj_field({"wifi_bssid": text_field(r"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}"), "rssi": int_field(-120, 0)}),
    "health": obj_field({"cpu_percent": float_field(0, 100), "memory_used_mb": float_field(0),
                         "memory_total_mb": float_field(0), "disk_used_mb": float_field(0),
                         "disk_total_mb": float_field(0), "temperature_c": float_field(-50, 150)}),
    "uptime_s": int_field(0, INT8_MAX - 1),
    "error_count": int_field(0, INT4_MAX),
    "scanner_status": choice_field(SCANNER_STATUSES),
    "firmware": text_field(max_length=64),
}, required=("sent_at",))

no_summary = st.dictionaries(text.filter(lambda k: k != "summary"), junk, max_size=4)
DETAILS = Field(
    valid=st.one_of(no_summary, st.tuples(no_summary, st.text(max_size=MAX_SUMMARY_LENGTH))
                    .map(lambda pair: {**pair[0], "summary": pair[1]}), st.just({"summary": "s" * MAX_SUMMARY_LENGTH})),
    wild=st.one_of(st.just({"summary": "s" * (MAX_SUMMARY_LENGTH + 1)}), st.fixed_dictionaries({"summary": junk}),
                   st.just({"blob": "x" * 9000}), junk),
)
DEVICE_ALERT = obj_field({
    "kind": choice_field(ALERT_KINDS),
    "severity": choice_field(SEVERITIES),
    "dedup_key": text_field(DEDUP_KEY.pattern.strip("^$"), max_length=100, allow_blank=False),
    "occurred_at": timestamp_field(),
    "details": DETAILS,
}, required=("kind", "occurred_at"))


@CONTRACT
@given(body=bodies(HEARTBEAT))
def test_heartbeat_validator_answers_as_its_serializer(body):
    assert_same(validate_heartbeat(body), serializer_answer(HeartbeatInput, body))


@CONTRACT
@given(body=bodies(DEVICE_ALERT))
def test_device_alert_validator_answers_as_its_serializer(body):
    fast = validate_device_alert(body, kinds=ALERT_KINDS, severities=SEVERITIES)
    assert_same(fast, serializer_answer(DeviceAlertInput, body))


def test_the_serializers_choices_are_the_validators():
    assert set(DeviceAlertInput().fields["kind"].choices) == ALERT_KINDS
    assert set(DeviceAlertInput().fields["severity"].choices) == SEVERITIES
    assert set(HeartbeatInput().fields["scanner_status"].choices) == set(SCANNER_STATUSES)


# --- batch items -------------------------------------------------------------------------------------------

def _iso(minutes: int) -> str:
    return (timezone.now() + timedelta(minutes=minutes)).isoformat()


valid_scan = st.fixed_dictionaries(
    {"scan_id": st.uuids().map(str), "scanned_at": st.integers(-60 * 24 * 29, 9).map(_iso),
     "birth_year": st.integers(1900, timezone.now().year), "is_underage": st.booleans(), "is_valid": st.booleans(),
     "document_expired": st.booleans()},
    optional={"jurisdiction": st.sampled_from(["", "US", "US-TX", "CA-ON", "MX-CMX"]),
              "subject_hash": st.sampled_from(["", "ab" * 32])},
).flatmap(lambda s: st.integers(-1, 1).map(lambda d: {**s, "age": max(0, timezone.now().year - s["birth_year"] + d)}))

stale_or_future = st.sampled_from([-60 * 24 * 31, 60]).map(_iso)  # drawn, not imported: the clock moves
not_text = junk.filter(lambda v: not isinstance(v, str))
not_int = junk.filter(lambda v: type(v) is not int)
not_bool = junk.filter(lambda v: not isinstance(v, bool))
bad_scan_fields = {
    "scan_id": st.one_of(st.sampled_from(["", "not-a-uuid", str(uuid.uuid4())[:-1]]), whole, not_text),
    "scanned_at": st.one_of(stale_or_future, st.sampled_from(["2026-01-01T10:00:00", "soon"]), not_text),
    "birth_year": st.one_of(st.sampled_from([1899, timezone.now().year + 1, True, 1990.0, "1990"]), not_int),
    "age": st.one_of(st.sampled_from([-1, 131, False, 30.0, "30"]), not_int),
    "is_underage": st.one_of(st.sampled_from([0, 1, "true"]), not_bool),
    "jurisdiction": st.one_of(st.sampled_from(["us-tx", "USA", "US-TEXAS", "US-TX\n", 1]), not_text),
    "subject_hash": st.one_of(st.sampled_from(["AB" * 32, "ab" * 31, "ab" * 33, "ab" * 32 + "\n"]), not_text),
    "colour": junk,
}


def _detailed_only(item, now):
    """validate_scan without its one-pass check of the usual case."""
    real, scans._clean_scan = scans._clean_scan, lambda item, now: None
    try:
        return validate_scan(item, now)
    finally:
        scans._clean_scan = real


@CONTRACT
@given(item=st.one_of(valid_scan, st.tuples(valid_scan, st.sampled_from(list(bad_scan_fields)), st.data())
                      .map(lambda t: {**t[0], t[1]: t[2].draw(bad_scan_fields[t[1]])}), junk))
def test_a_scans_one_pass_check_agrees_with_the_detailed_one(item):
    now = timezone.now()
    assert validate_scan(item, now) == _detailed_only(item, now)


@CONTRACT
@given(item=valid_scan, field=st.sampled_from(list(bad_scan_fields)), data=st.data())
def test_a_scan_with_one_bad_field_is_refused_naming_it(item, field, data):
    assert validate_scan(item)[1] is None
    value = data.draw(bad_scan_fields[field])
    clean, errors = validate_scan({**item, field: value})
    assert clean is None and set(errors) == {field}


valid_reading = st.fixed_dictionaries(
    {"message_id": st.uuids().map(str), "metric": st.from_regex(r"[a-z][a-z0-9_.]{0,63}", fullmatch=True),
     "value": st.one_of(whole, finite), "ts": st.integers(-60 * 24 * 29, 9).map(_iso)},
    optional={"unit": st.text(max_size=16)},
)
bad_reading_fields = {
    "message_id": st.one_of(st.sampled_from(["", "nope"]), whole, not_text),
    "metric": st.one_of(st.sampled_from(["Power", "1x", "a" * 65, "", "power ac", "power\n"]), whole, not_text),
    "value": st.one_of(st.booleans(), st.sampled_from(["1.5", None, [1]]), st.dictionaries(text, junk, max_size=1)),
    "unit": st.one_of(st.just("u" * 17), whole, st.lists(junk, max_size=1)),
    "ts": st.one_of(stale_or_future, st.sampled_from(["2026-01-01T10:00:00", "now"]), not_text),
    "Value": junk,
}


@CONTRACT
@given(item=valid_reading, field=st.sampled_from(list(bad_reading_fields)), data=st.data())
def test_a_reading_with_one_bad_field_is_refused_naming_it(item, field, data):
    clean, errors = validate_reading(item)
    assert errors is None and type(clean["value"]) is float and str(clean["message_id"]) == item["message_id"]
    clean, errors = validate_reading({**item, field: data.draw(bad_reading_fields[field])})
    assert clean is None and set(errors) == {field}
