"""Header, subfile directory and element framing, as scanners really deliver them."""

from __future__ import annotations

import pytest

from device_agent.aamva import AamvaParseError, parse
from device_agent.aamva import parser as parser_module
from tests.device_agent.aamva.samples import (
    AAMVA_2020_EXAMPLE,
    BASE_ELEMENTS,
    build,
    crlf,
    licence,
    offset_warning,
    strip_controls,
)

ZV = ("ZV", [("ZVA", "01")])


def test_standard_file_reads_header_fields_without_warnings():
    result = parse(AAMVA_2020_EXAMPLE)

    assert (result.iin, result.version, result.jurisdiction_version) == ("636000", 10, 1)
    assert result.issuer_jurisdiction == "VA"
    assert result.document_type == "DL"
    assert result.warnings == ()


def test_id_card_subfile():
    payload = build("636000", 10, BASE_ELEMENTS, subfile="ID")

    result = parse(payload)

    assert result.document_type == "ID"
    assert result.warnings == ()


@pytest.mark.parametrize(
    "declared", [55, 21, 0, 9999], ids=["past-start", "inside-header", "zero", "beyond-end"]
)
def test_wrong_dl_offset_is_recovered_by_search(declared: int):
    payload = build("636000", 10, BASE_ELEMENTS, z=ZV, declared_offsets={"DL": declared})

    result = parse(payload)

    assert result.date_of_birth.isoformat() == "1986-06-06"
    assert offset_warning("DL") in result.warnings


def test_wrong_jurisdiction_subfile_offset_only_costs_a_warning():
    payload = build("636000", 10, BASE_ELEMENTS, z=ZV, declared_offsets={"ZV": 12})

    result = parse(payload)

    assert result.warnings == (offset_warning("ZV"),)
    assert result.family_name == "SAMPLE"


def test_licence_subfile_missing_from_directory_is_found_by_search():
    payload = licence().replace("DL0041", "ZX0041", 1)

    result = parse(payload)

    assert "subfile DL not in the header directory, found by search" in result.warnings
    assert result.family_name == "SAMPLE"


def test_unreadable_directory_falls_back_to_search():
    payload = licence().replace("100002DL0041", "10xxxxDL0041", 1)

    result = parse(payload)

    assert "subfile directory unreadable" in result.warnings
    assert result.date_of_birth.isoformat() == "1986-06-06"


def test_directory_listing_more_subfiles_than_it_holds():
    payload = licence().replace("ANSI 636000100002", "ANSI 636000100003", 1)

    result = parse(payload)

    assert "header lists 3 subfiles but only 2 are readable" in result.warnings


@pytest.mark.parametrize(
    ("payload", "version"),
    [
        # [license-parser] VersionParsingSpec: version 05 written with the version-01 header.
        ("@\nANSI 6360260502DL00390246ZA02850010DLDAQD00113824\nDAANEUMAN,ALFRED,E\n"
         "DAG15169 NORTH SCOTTSDALE ROAD\nDAISCOTTSDALE\nDAJAZ\nDAK85254\nDBB04161977\n"
         "DBA04162037\nDBC1\nZAZAA7V81", 5),
        # [license-parser] VersionOneParserSpec: version 01 written with the later header.
        ("@\n\nANSI 636026010102DL00410288ZA03290015DLDAQD12345678\nDAAPUBLIC,JOHN,Q\n"
         "DAJCA\nDAK90223\nDBB19700115\nDBA20350131\nDBC1\nZAZAA7V81\n", 1),
    ],
    ids=["v05-without-jurisdiction-version", "v01-with-jurisdiction-version"],
)
def test_header_layout_that_does_not_match_its_version(payload: str, version: int):
    result = parse(payload)

    assert result.version == version
    assert "header layout does not match its AAMVA version" in result.warnings


@pytest.mark.parametrize(
    "noise",
    ["]L2", "\ufeff", "\x02", "SCAN> ", "\r\n\r\n", "@@@ ", "ANSI 12 ", "\x1b[0m"],
    ids=["aim-symbology-id", "bom", "stx", "prompt", "blank-lines", "stray-at", "stray-ansi",
         "escape-code"],
)
def test_keyboard_wedge_noise_before_the_header_is_skipped(noise: str):
    result = parse(noise + AAMVA_2020_EXAMPLE)

    assert result.warnings == ()
    assert result.date_of_birth.isoformat() == "1986-06-06"


@pytest.mark.parametrize("tail", ["", "\r\n", "\n\n", "\x04", "   ", "\t"])
def test_trailing_noise_and_missing_trailing_separators(tail: str):
    result = parse(AAMVA_2020_EXAMPLE.rstrip("\r") + tail)

    assert result.warnings == ()
    assert result.family_name == "SAMPLE"


def test_crlf_line_endings():
    result = parse(crlf(AAMVA_2020_EXAMPLE))

    assert result.date_of_birth.isoformat() == "1986-06-06"
    assert result.postal_code == "23269"
    assert "header separators are non-standard" in result.warnings


def test_whitespace_padding_around_values():
    payload = licence(DCS="   SAMPLE\t  ", DAC=" MICHAEL ", DBB="06061986   ", DAI="RICHMOND    ")

    result = parse(payload)

    assert (result.family_name, result.first_name, result.city) == ("SAMPLE", "MICHAEL", "RICHMOND")
    assert result.date_of_birth.isoformat() == "1986-06-06"


def test_every_separator_lost():
    result = parse(strip_controls(AAMVA_2020_EXAMPLE))

    assert result.date_of_birth.isoformat() == "1986-06-06"
    assert (result.family_name, result.first_name) == ("SAMPLE", "MICHAEL")
    assert result.middle_names == ("JOHN",)
    assert "data separators missing, elements recovered by their codes" in result.warnings


def test_two_elements_run_together_still_yield_the_date_of_birth():
    payload = AAMVA_2020_EXAMPLE.replace("DBC1\n", "DBC1").replace("DBB06061986\n", "DBB06061986")

    result = parse(payload)

    assert result.date_of_birth.isoformat() == "1986-06-06"


def test_missing_compliance_indicator():
    result = parse(AAMVA_2020_EXAMPLE[1:])

    assert "compliance indicator '@' missing" in result.warnings
    assert result.family_name == "SAMPLE"


@pytest.mark.parametrize("file_type", ["ANSI", "AAMVA", "AAMVA "])
def test_file_type_variants(file_type: str):
    payload = AAMVA_2020_EXAMPLE.replace("ANSI ", file_type, 1)

    assert parse(payload).date_of_birth.isoformat() == "1986-06-06"


def test_version_00_is_read_like_version_01():
    elements = [("DAQ", "1"), ("DAA", "PUBLIC,JOHN"), ("DBB", "19761123"), ("DBA", "20301201")]
    payload = build("636000", 0, elements)

    result = parse(payload)

    assert result.version == 0
    assert result.date_of_birth.isoformat() == "1976-11-23"
    assert result.warnings == ()


def test_newer_version_than_known_is_read_as_the_newest():
    result = parse(licence(version=11))

    assert result.version == 11
    assert result.warnings == ("AAMVA version 11 is newer than this parser, read as 10",)
    assert result.date_of_birth.isoformat() == "1986-06-06"


def test_unknown_issuer_falls_back_to_address_jurisdiction():
    result = parse(licence(iin="612345"))

    assert result.issuer_jurisdiction is None
    assert result.jurisdiction == "VA"
    assert "issuer IIN 612345 is not on AAMVA's list" in result.warnings


def test_jurisdiction_from_iin_when_address_has_none():
    result = parse(licence(iin="636015", DAJ=None))

    assert result.jurisdiction == "TX"


def test_repeated_element_keeps_the_first_value():
    payload = licence(DAQ="T64235789").replace("DCSSAMPLE\n", "DCSSAMPLE\nDAQX0000000\n")

    result = parse(payload)

    assert result.document_number == "T64235789"
    assert "element DAQ repeated, first value kept" in result.warnings


def test_repeated_identical_date_of_birth_is_fine():
    payload = licence().replace("DCSSAMPLE\n", "DCSSAMPLE\nDBB06061986\n")

    assert parse(payload).date_of_birth.isoformat() == "1986-06-06"


def test_two_different_dates_of_birth_are_refused():
    payload = licence().replace("DCSSAMPLE\n", "DCSSAMPLE\nDBB06061968\n")

    with pytest.raises(AamvaParseError, match="^barcode has two different dates of birth$"):
        parse(payload)


def test_no_licence_subfile():
    with pytest.raises(AamvaParseError, match="^no licence data in barcode$"):
        parse("@\n\x1e\rANSI 636000100001ZV00310008ZVZVA01\r")


@pytest.mark.parametrize(
    "payload",
    [
        "hello world",
        "https://example.com/?q=ANSI",
        "0123456789012",
        "BEGIN:VCARD\nVERSION:3.0\nN:Doe;John\nEND:VCARD",
        "%VAANYTOWN^PUBLIC$JOHN$Q^123 MAIN ST^?;6360001234567=2512197611230?",
        "@\n\x1e\rANSI 63",
    ],
    ids=["text", "url", "ean", "vcard", "magstripe", "cut-short-header"],
)
def test_other_barcodes_are_not_licences(payload: str):
    with pytest.raises(AamvaParseError, match="^not a driver-licence barcode$"):
        parse(payload)


@pytest.mark.parametrize("payload", ["", "   ", "\r\n", b"", b"\n\x00"[:1]])
def test_empty_scan(payload):
    with pytest.raises(AamvaParseError, match="^nothing was scanned$"):
        parse(payload)


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview], ids=lambda wrap: wrap.__name__)
def test_binary_input(wrap):
    result = parse(wrap(AAMVA_2020_EXAMPLE.encode("ascii")))

    assert result.family_name == "SAMPLE"


def test_invalid_utf8_is_read_as_latin1():
    payload = licence(DCS="M\u00dcLLER").encode("latin-1")

    assert parse(payload).family_name == "M\u00dcLLER"


def test_utf8_input():
    assert parse(licence(DCS="M\u00dcLLER").encode("utf-8")).family_name == "M\u00dcLLER"


@pytest.mark.parametrize("payload", [None, 42, 4.2, ["@"], {"DBB": "1"}, object()])
def test_input_of_another_type(payload):
    with pytest.raises(AamvaParseError, match="^not a driver-licence barcode$"):
        parse(payload)


@pytest.mark.parametrize("payload", [AAMVA_2020_EXAMPLE + "X" * 20_000, b"@" * 200_000])
def test_oversized_input(payload):
    with pytest.raises(AamvaParseError, match="^not a driver-licence barcode$"):
        parse(payload)


def test_an_internal_failure_still_surfaces_as_a_parse_error(monkeypatch):
    def broken(text):
        raise KeyError("bug")

    monkeypatch.setattr(parser_module, "read_header", broken)

    with pytest.raises(AamvaParseError, match="^barcode could not be read, scan again$") as caught:
        parse(AAMVA_2020_EXAMPLE)
    assert isinstance(caught.value.__cause__, KeyError)
