"""Names, sex, postal codes, heights and eye colours as the various versions write them."""

from __future__ import annotations

import logging

import pytest

from device_agent.aamva import Height, Sex, Truncation, fields, parse
from tests.device_agent.aamva.samples import SAMPLES, build, licence, payload_text


@pytest.mark.parametrize(
    ("daa", "family", "first", "middles", "suffix"),
    [
        ("PUBLIC,JOHN,Q", "PUBLIC", "JOHN", ("Q",), None),
        ("PUBLIC,JOHN,QUINCY ADAMS,JR", "PUBLIC", "JOHN", ("QUINCY", "ADAMS"), "JR"),
        ("PUBLIC,JOHN QUINCY", "PUBLIC", "JOHN", ("QUINCY",), None),
        ("PUBLIC,JOHN Q JR", "PUBLIC", "JOHN", ("Q",), "JR"),
        ("JOHNSON,JACK,,3RD", "JOHNSON", "JACK", (), "3RD"),
        ("ENGLAND,ADAM,N,", "ENGLAND", "ADAM", ("N",), None),
        ("TESTER,JOEY, MIDLAND", "TESTER", "JOEY", ("MIDLAND",), None),
        ("DOE,JOHN", "DOE", "JOHN", (), None),
        ("DOE, JOHN ", "DOE", "JOHN", (), None),
        ("JOHN ROBERT LEE SMITH", "SMITH", "JOHN", ("ROBERT", "LEE"), None),
        ("JOHN SMITH III", "SMITH", "JOHN", (), "III"),
        ("JOHN SMITH", "SMITH", "JOHN", (), None),
        ("MADONNA", "MADONNA", None, (), None),
    ],
)
def test_version_1_full_name(daa, family, first, middles, suffix):
    elements = [("DAQ", "1"), ("DAA", daa), ("DBB", "19761123"), ("DBA", "20301201")]
    payload = build("636000", 1, elements)

    result = parse(payload)

    assert (result.family_name, result.first_name, result.middle_names, result.name_suffix) == (
        family, first, middles, suffix,
    )


def test_full_name_without_commas_is_flagged_as_inferred():
    payload = build("636025", 1, [("DAQ", "1"), ("DAA", "JOHN ROBERT SMITH"), ("DBB", "19761123"),
                                 ("DBA", "20301201")])

    assert "full name has no commas, read as first name first" in parse(payload).warnings


def test_separate_version_1_name_elements_win_over_the_full_name():
    payload = build("636026", 1, [("DAQ", "1"), ("DAA", "PUBLIC,JOHN,Q"), ("DAB", "PUBLIC-SMITH"),
                                  ("DAC", "JONATHAN"), ("DAD", "QUINCY"), ("DAE", "SR"),
                                  ("DBB", "19700115"), ("DBA", "20350131")])

    result = parse(payload)

    assert (result.family_name, result.first_name, result.middle_names, result.name_suffix) == (
        "PUBLIC-SMITH", "JONATHAN", ("QUINCY",), "SR",
    )


@pytest.mark.parametrize(
    ("dct", "first", "middles"),
    [
        ("JOHN A", "JOHN", ("A",)),
        ("JUSTIN,WILLIAM", "JUSTIN", ("WILLIAM",)),
        ("JAMES ROBERT R", "JAMES", ("ROBERT", "R")),
        ("MARY,ANN" + " " * 40, "MARY", ("ANN",)),
        ("MARY", "MARY", ()),
    ],
)
def test_version_2_and_3_given_names(dct, first, middles):
    payload = licence(version=3, DAC=None, DAD=None, DCT=dct)

    result = parse(payload)

    assert (result.first_name, result.middle_names) == (first, middles)


@pytest.mark.parametrize(
    ("dad", "middles"),
    [
        ("JOHN,BOB", ("JOHN", "BOB")),
        ("LUIS RODRIGUEZ", ("LUIS", "RODRIGUEZ")),
        ("NONE", ()),
        ("", ()),
    ],
)
def test_middle_names(dad, middles):
    result = parse(licence(DAD=dad))

    assert result.middle_names == middles
    assert result.middle_name == (" ".join(middles) or None)


def test_middle_initial_written_into_the_first_name():
    result = parse(licence(DAC="SEAN E", DAD=""))

    assert (result.first_name, result.middle_names) == ("SEAN", ("E",))


def test_two_word_first_name_is_kept():
    assert parse(licence(DAC="MARY ANN", DAD="")).first_name == "MARY ANN"


@pytest.mark.parametrize(
    ("dcu", "suffix"), [("JR", "JR"), ("NONE", None), ("", None), ("PH.D.", "PH.D.")]
)
def test_suffix(dcu, suffix):
    assert parse(licence(DCU=dcu)).name_suffix == suffix


@pytest.mark.parametrize(("code", "value"), [("DDE", "family_name_truncation"),
                                             ("DDF", "first_name_truncation"),
                                             ("DDG", "middle_name_truncation")])
@pytest.mark.parametrize(
    ("flag", "truncation"),
    [("T", Truncation.TRUNCATED), ("N", Truncation.NOT_TRUNCATED), ("U", Truncation.UNKNOWN)],
)
def test_truncation_flags(code, value, flag, truncation):
    assert getattr(parse(licence(**{code: flag})), value) == truncation


@pytest.mark.parametrize(
    ("dbc", "sex"),
    [
        ("1", Sex.MALE), ("2", Sex.FEMALE), ("9", Sex.NOT_SPECIFIED), ("M", Sex.MALE),
        ("F", Sex.FEMALE), ("X", Sex.NOT_SPECIFIED), ("m", Sex.MALE), (" 2 ", Sex.FEMALE),
    ],
)
def test_sex(dbc, sex):
    assert parse(licence(DBC=dbc)).sex == sex


def test_unknown_sex_code_is_left_out_with_a_warning():
    result = parse(licence(DBC="7"))

    assert result.sex is None
    assert "sex code not recognised" in result.warnings


@pytest.mark.parametrize(
    ("dak", "postal"),
    [
        ("232690000  ", "23269"),
        ("980081234  ", "98008-1234"),
        ("33040-0504 ", "33040-0504"),
        ("44556-     ", "44556"),
        ("0210800000  ", "02108"),
        ("12345", "12345"),
        ("A1A1A1", "A1A 1A1"),
        ("k7l 3n6    ", "K7L 3N6"),
        ("E5K 1Y3    ", "E5K 1Y3"),
        ("SW1A 1AA", "SW1A 1AA"),
        ("", None),
    ],
)
def test_postal_code(dak, postal):
    assert fields.postal_code(dak) == postal


@pytest.mark.parametrize(
    ("dau", "version", "height"),
    [
        ("068 in", 10, Height(68, "in")),
        ("070 IN", 10, Height(70, "in")),
        (" 65 IN", 3, Height(65, "in")),
        ("175 cm", 10, Height(175, "cm")),
        ("155 CM", 3, Height(155, "cm")),
        ("5'10\"", 10, Height(70, "in")),
        ("5' 4''", 10, Height(64, "in")),
        ("6-01", 10, Height(73, "in")),
        ("509", 1, Height(69, "in")),
        ("600", 1, Height(72, "in")),
        ("509", 10, Height(69, "in")),
        ("073", 10, Height(73, "in")),
        ("180", 10, Height(180, "cm")),
        ("999 cm", 10, None),
        ("5'13\"", 10, None),
        ("TALL", 10, None),
        ("", 10, None),
    ],
)
def test_height(dau, version, height):
    assert fields.height(dau, version) == height


def test_height_in_centimetres():
    assert Height(70, "in").to_centimetres() == 178
    assert Height(178, "cm").to_centimetres() == 178


def test_unrecognised_height_warns():
    result = parse(licence(DAU="TALL"))

    assert result.height is None
    assert "height not recognised" in result.warnings


def test_version_1_height_in_centimetres():
    elements = [("DAQ", "1"), ("DAA", "DOE,JANE"), ("DAV", "165"), ("DBB", "19761123"),
                ("DBA", "20301201")]
    payload = build("636000", 1, elements)

    assert parse(payload).height == Height(165, "cm")


@pytest.mark.parametrize(
    ("day", "colour"),
    [("BRO", "BRO"), ("BROWN", "BRO"), ("blue", "BLU"), ("HAZ", "HAZ"), ("UNK", None),
     ("NONE", None), ("", None)],
)
def test_eye_colour(day, colour):
    assert parse(licence(DAY=day)).eye_colour == colour


def test_address_fields():
    result = parse(licence(DAG="17 FIRST STREET,   ", DAH="APT 4", DAI="STAUNTON" + " " * 12))

    assert (result.street, result.street_2, result.city) == ("17 FIRST STREET", "APT 4", "STAUNTON")


def test_country_from_province_when_dcg_is_missing():
    payload = licence(version=9, iin="612345", DAJ="QC", DCG=None, DBB="19900102", DBA="20300102")

    result = parse(payload)

    assert result.country == "CAN"
    assert result.date_of_birth.isoformat() == "1990-01-02"


# Privacy: docs/architecture.md says personal data never leaves the device unreduced.

@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.name)
def test_repr_and_warnings_carry_no_personal_data(sample):
    result = parse(sample.payload)
    personal = [result.family_name, result.first_name, result.document_number, result.street,
                result.date_of_birth.isoformat(), result.date_of_birth.strftime("%m%d%Y"),
                result.date_of_birth.strftime("%Y%m%d")]
    shown = repr(result) + "\n".join(result.warnings)

    for value in filter(None, personal):
        assert value not in shown


def test_parsing_logs_nothing(caplog):
    caplog.set_level(logging.DEBUG)

    for sample in SAMPLES:
        parse(payload_text(sample))

    assert caplog.records == []
