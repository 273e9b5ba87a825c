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
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apps.common.limits import INT4_MAX, INT8_MAX, INT8_MIN
from apps.ingest.api.serializers import DeviceAlertInput, HeartbeatInput
from apps.ingest.api.views import ALERT_KINDS, SEVERITIES
from apps.ingest.validation import scans
from apps.ingest.validation.device_alert import DEDUP_KEY, MAX_SUMMARY_LENGTH, validate_device_alert
from apps.ingest.validation.heartbeat import SCANNER_STATUSES, validate_heartbeat
from apps.ingest.validation.readings import validate_reading
from apps.ingest.validation.scans import validate_scan

CONTRACT = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow])

# --- values the parser can deliver ---------------------------------------------------------------------

text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12)
whole = st.integers(INT8_MIN, INT8_MAX)
finite = st.floats(allow_nan=False, allow_infinity=False)
scalar = st.one_of(st.none(), st.booleans(), whole, finite, text)
junk = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(text, inner, max_size=3)), max_leaves=6)
oversize = st.sampled_from(["0" * 1001, "1" * 1001, "x" * 65, "a" * 101, " " * 1001 + "1"])


@dataclass(frozen=True)
class Field:
    """A field's values: `valid` ones, and `wild` ones that are mostly not (but may be)."""

    valid: st.SearchStrategy
    wild: st.SearchStrategy


def int_field(low: int, high: int) -> Field:
    """Whole numbers as sent, and as the strings and whole floats DRF also takes; edges and beyond."""
    def forms(n):
        return st.sampled_from([n, float(n), str(n), f"{n}.0", f" {n} "])
    edges = [v for v in (low - 1, low, high, high + 1) if INT8_MIN <= v <= INT8_MAX]
    near = st.integers(max(low - 5, INT8_MIN), min(high + 5, INT8_MAX))
    return Field(valid=st.one_of(st.integers(low, high), st.integers(low, min(high, low + 1000)).flatmap(forms)),
                 wild=st.one_of(st.sampled_from(edges), near.flatmap(forms), near.map(lambda n: f"{n}.5"), whole,
                                junk, oversize))


def float_field(low: float | None = None, high: float | None = None) -> Field:
    inside = st.floats(low, high, allow_nan=False, allow_infinity=False)
    edges = [v for v in (low, high) if v is not None]
    near = [v + d for v in edges for d in (-0.001, 0.001)] + edges
    return Field(valid=st.one_of(inside, inside.map(str)),
                 wild=st.one_of(st.sampled_from(near or [0.0]), finite, st.booleans(),
                                st.sampled_from(["nan", "inf", "-inf", "1e999", "12abc", ""]), junk, oversize))


def bool_field() -> Field:
    return Field(valid=st.one_of(st.booleans(), st.sampled_from(["true", "True", "TRUE", "yes", "on", "1", "t", "y",
                                                                 "false", "NO", "0", "f", 1, 0, 1.0, 0.0])),
                 wild=st.one_of(st.sampled_from(["tRuE", "YeS", "oFF", "maybe", "", 2, 0.5]), junk))


def text_field(pattern=None, max_length: int | None = None, allow_blank: bool = True) -> Field:
    valid = st.from_regex(pattern, fullmatch=True) if pattern is not None else st.text(max_size=max_length)
    valid = valid.filter(lambda v: "\x00" not in v and (allow_blank or v.strip()))
    return Field(valid=st.one_of(valid, valid.map(lambda v: f"  {v}\n")),
                 wild=st.one_of(st.just("v" * ((max_length or 100) + 1)), st.just("v" * (max_length or 100)),
                                st.sampled_from(["", "   ", "has space", "a\nb"]), whole, finite, junk, oversize))


def choice_field(choices) -> Field:
    return Field(valid=st.sampled_from(sorted(choices)),
                 wild=st.one_of(st.sampled_from([c.upper() for c in choices]), st.sampled_from(["", " ok", "ok "]),
                                junk))


def _spell(minutes: int, form: int) -> str:
    at = timezone.now().astimezone(UTC) + timedelta(minutes=minutes)
    return [at.isoformat(), at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            at.astimezone(timezone.get_fixed_timezone(-300)).isoformat(), at.strftime("%Y-%m-%d %H:%M"),
            at.replace(tzinfo=None).isoformat(), at.strftime("%Y-%m-%dT%H:%M:%S.%f+14:30")][form]


def timestamp_field() -> Field:
    """Instants around the limits (whole minutes, so the two sides' clocks agree), in several spellings."""
    odd = st.sampled_from(["1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
                           "2026-02-31T10:00:00Z", "2026-01-01T10:00:00+99:00", "2026-01-01T10:00:00+15:00",
                           "2026-13-01T00:00:00Z", "yesterday", "", "2026-01-01", "12:00:00Z"])
    return Field(valid=st.builds(_spell, st.integers(-60 * 24 * 60, 9), st.integers(0, 2)),
                 wild=st.one_of(st.builds(_spell, st.integers(11, 60 * 24), st.integers(0, 5)),
                                st.builds(_spell, st.integers(-60, 0), st.integers(3, 5)), odd, junk))


def obj_field(fields: dict, required: tuple = ()) -> Field:
    """A strict object: valid bodies, and near ones (one field wild, an unknown key, a
    required field missing), other objects and no object at all."""
    valid = st.fixed_dictionaries({k: fields[k].valid for k in required},
                                  optional={k: v.valid for k, v in fields.items() if k not in required})
    one_wild = st.sampled_from(sorted(fields)).flatmap(
        lambda key: st.tuples(valid, fields[key].wild).map(lambda pair: {**pair[0], key: pair[1]}))
    extra = st.dictionaries(st.sampled_from(["colour", "Level", "sent_At", "id", ""]), junk, min_size=1, max_size=2)
    with_extra = st.tuples(valid, extra).map(lambda pair: {**pair[1], **pair[0]})
    missing = st.tuples(valid, st.sampled_from(sorted(fields))).map(
        lambda pair: {k: v for k, v in pair[0].items() if k != pair[1]})
    return Field(valid=valid, wild=st.one_of(one_wild, one_wild, with_extra, missing,
                                             st.dictionaries(text, junk, max_size=3), junk))


def bodies(field: Field):
    return st.one_of(field.valid, field.wild)


# --- the two answers ------------------------------------------------------------------------------------

def plain(value):
    """DRF's ErrorDetail and ReturnDict as the plain str, dict and list the validators give."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def serializer_answer(serializer_class, body):
    serializer = serializer_class(data=body)
    if serializer.is_valid():
        return plain(dict(serializer.validated_data)), None
    return None, plain(serializer.errors)


def assert_same(fast, schema):
    event("accepted" if schema[1] is None else "refused")  # both kinds are drawn (--hypothesis-show-statistics)
    assert plain(fast[1]) == schema[1]
    assert plain(fast[0]) == schema[0]
    if fast[0] is not None:  # same values and the same types (an int stays an int)
        assert {k: type(v) for k, v in fast[0].items()} == {k: type(v) for k, v in schema[0].items()}


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
