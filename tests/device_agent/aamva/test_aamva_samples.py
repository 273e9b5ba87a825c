"""Every AAMVA version, many jurisdictions: the cited samples in ``samples.py`` parse right."""

from __future__ import annotations

import pytest

from device_agent.aamva import AamvaParseError, parse
from tests.device_agent.aamva.samples import REJECTED, SAMPLES, Sample

CANADIAN = {"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.name)
def test_sample_parses_to_the_expected_fields(sample: Sample):
    licence = parse(sample.payload)

    assert licence.version == sample.version
    assert licence.jurisdiction == sample.jurisdiction
    for name, expected in sample.expected.items():
        assert getattr(licence, name) == expected, name


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.name)
def test_sample_reports_exactly_what_was_repaired(sample: Sample):
    assert set(parse(sample.payload).warnings) == sample.warnings


@pytest.mark.parametrize(("payload", "message", "source"), REJECTED, ids=lambda value: value[:24])
def test_real_world_garbage_is_refused_with_a_reason(payload: str, message: str, source: str):
    with pytest.raises(AamvaParseError) as caught:
        parse(payload)

    assert str(caught.value) == message


def test_samples_cover_every_version_and_enough_jurisdictions():
    versions = {sample.version for sample in SAMPLES}
    states = {sample.jurisdiction for sample in SAMPLES} - CANADIAN
    provinces = {sample.jurisdiction for sample in SAMPLES} & CANADIAN

    assert versions >= set(range(1, 11))
    assert len(states) >= 8
    assert len(provinces) >= 2


def test_every_sample_cites_its_source():
    assert all(sample.source.strip() for sample in SAMPLES)
    assert len({sample.name for sample in SAMPLES}) == len(SAMPLES)
