"""Whatever arrives, ``parse`` returns a licence or raises ``AamvaParseError``, nothing else.

The parser wraps any unexpected exception in an ``AamvaParseError`` with ``__cause__`` set;
these tests also insist that ``__cause__`` is empty, so a wrapped bug fails them too.
"""

from __future__ import annotations

import re
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device_agent.aamva import AamvaParseError, LicenceData, parse
from tests.device_agent.aamva.samples import SAMPLES, payload_text

FUZZ = settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# Characters that matter to the format, so that generated text reaches deep into the parser.
AAMVA_ALPHABET = [*"@\n\x1e\r\x1d\x00 |,-'\"ANSIAMVDLZVBCEGHJKQRSTUXY0123456789", "\u00bf"]
HEADERS = [
    "@\n\x1e\rANSI 636000100102DL0041",
    "@\n\x1e\rANSI 6360140802",
    "ANSI 636012030001DL0000",
    "@\n\x1e\rAAMVA6360060101DL0029",
    "@||ANSI 636002040002DL0041",
    "@ANSI 6360100102DL0039",
]

aamva_text = st.text(alphabet=st.sampled_from(AAMVA_ALPHABET), max_size=400)
mutation = st.tuples(
    st.sampled_from(("delete", "insert", "replace", "duplicate", "swap")),
    st.integers(min_value=0, max_value=5_000),
    st.integers(min_value=1, max_value=40),
    st.text(alphabet=st.sampled_from(AAMVA_ALPHABET), min_size=1, max_size=3),
)
byte_patch = st.tuples(st.integers(min_value=0, max_value=5_000), st.binary(min_size=1, max_size=3))
_DATE_OF_BIRTH = re.compile(r"DBB[0-9]{8}")


def mutate(text: str, mutations: list[tuple[str, int, int, str]]) -> str:
    for kind, at, size, chars in mutations:
        if not text:
            return chars
        at %= len(text)
        if kind == "delete":
            text = text[:at] + text[at + size :]
        elif kind == "insert":
            text = text[:at] + chars + text[at:]
        elif kind == "replace":
            text = text[:at] + chars + text[at + len(chars) :]
        elif kind == "duplicate":
            text = text[:at] + text[at : at + size] + text[at:]
        else:
            other = (at + size) % len(text)
            low, high = sorted((at, other))
            chars = list(text)
            chars[low], chars[high] = chars[high], chars[low]
            text = "".join(chars)
    return text


def parse_or_refuse(data: object) -> LicenceData | None:
    """Parse, allowing only a deliberate ``AamvaParseError`` out."""
    try:
        result = parse(data)
    except AamvaParseError as refused:
        assert refused.__cause__ is None, f"internal error: {refused.__cause__!r}"
        assert str(refused)
        return None
    assert isinstance(result, LicenceData)
    assert isinstance(result.date_of_birth, date)
    assert all(isinstance(warning, str) for warning in result.warnings)
    return result


@FUZZ
@given(st.binary(max_size=800))
def test_arbitrary_bytes(data: bytes):
    parse_or_refuse(data)


@FUZZ
@given(st.text(max_size=800))
def test_arbitrary_text(text: str):
    parse_or_refuse(text)


@FUZZ
@given(st.sampled_from(HEADERS), aamva_text)
def test_header_followed_by_format_characters(header: str, body: str):
    parse_or_refuse(header + body)


@FUZZ
@given(st.sampled_from(SAMPLES), st.lists(mutation, min_size=1, max_size=8))
def test_mutated_real_world_samples(sample, mutations):
    parse_or_refuse(mutate(payload_text(sample), mutations))


@FUZZ
@given(
    st.sampled_from(SAMPLES),
    st.lists(byte_patch, min_size=1, max_size=6),
)
def test_mutated_samples_as_bytes(sample, patches):
    data = bytearray(payload_text(sample).encode("utf-8"))
    for at, chunk in patches:
        at %= len(data)
        data[at : at + len(chunk)] = chunk
    parse_or_refuse(bytes(data))


@FUZZ
@given(
    st.sampled_from(SAMPLES),
    st.lists(mutation, min_size=1, max_size=8),
    st.lists(mutation, max_size=8),
)
def test_damage_elsewhere_never_changes_the_date_of_birth(sample, before, after):
    """Mutating everything but the DBB element either keeps the date of birth or is refused."""
    text = payload_text(sample)
    element = _DATE_OF_BIRTH.search(text)
    assert element is not None
    head, tail = text[: element.start()], text[element.end() :]
    damaged = mutate(head, before) + element.group() + mutate(tail, after)

    result = parse_or_refuse(damaged)

    if result is not None:
        assert result.date_of_birth == sample.expected["date_of_birth"]
