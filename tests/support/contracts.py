"""Hypothesis strategies and comparisons for contract tests: a hot path's fast validator
against the DRF serializer that is its OpenAPI schema (tests/ingest/test_report_contract.py,
tests/alerts/test_event_contract.py).

Bodies stay within what the JSON parser (`apps/common/parsers.py`) lets through: no NUL,
no unpaired surrogate, whole numbers within int8, finite floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from apps.common.limits import INT8_MAX, INT8_MIN

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
