"""Licence barcodes for the AAMVA parser's tests, each with where its layout comes from.

Two kinds of sample:

* the standard's own published examples, reproduced as printed (``AAMVA_2020_EXAMPLE``,
  ``AAMVA_2000_EXAMPLE``);
* real-world barcodes described publicly (open-source parsers' test fixtures, which are
  captured from real cards with the personal data replaced). Their *layout* is kept exactly:
  header bytes, directory, separators, padding, element order, date order and every quirk;
  the personal values are our own inventions. ``build()`` lays the file out the way the
  standard says (offsets computed, subfiles ending in CR) and a ``scanner`` transform then
  does to it what the cited capture shows the scanner or issuer did.

Sources, cited per sample below:

* [AAMVA-2020] AAMVA DL/ID Card Design Standard (2020), Annex D example, as reproduced in
  github.com/benhovinga/aamva_barcode_library (README.md and tests/test_barcode.py).
* [AAMVA-2000] AAMVA DL/ID-2000 standard's version-01 example, as reproduced in
  benhovinga/aamva_barcode_library tests/test_barcode.py and derekg/DLID dlidparser tests.
* [IdParser] github.com/c0shea/IdParser, IdParser.Test/*.txt (one capture per jurisdiction).
* [aamvajs] github.com/winfinit/aamvajs, test/PDF417_*.js (captures from a keyboard-wedge
  scanner that dropped every control character).
* [license-parser] github.com/ksoftllc/license-parser, Example/Tests/*.swift.
* [DLID] derekg/DLID, dlidparser tests (versions 03-07 built on the standard's example).
* [charlee] cn.charlee.li/drivers-license-decoding.html (an Ontario licence decoded by hand:
  version 03, DL subfile declared at offset 0000).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from device_agent.aamva import Height, Sex, Truncation

Elements = Sequence[tuple[str, str]]
STANDARD_PREFIX = "@\n\x1e\r"


def build(
    iin: str,
    version: int,
    dl: Elements,
    *,
    jurisdiction_version: int | None = 0,
    z: tuple[str, Elements] | None = None,
    subfile: str = "DL",
    file_type: str = "ANSI ",
    marker: bool = True,
    declared_offsets: dict[str, int] | None = None,
    directory: str | None = None,
) -> str:
    """An AAMVA file laid out as the standard prescribes.

    Version 01 headers carry no jurisdiction version; pass ``jurisdiction_version`` on a
    version-01 file to reproduce issuers that wrote the later layout anyway. ``marker=False``
    leaves out the subfile's type (some issuers do); ``declared_offsets`` and ``directory``
    replace what the directory says, to reproduce issuers whose directories are wrong.
    """
    subfiles: list[tuple[str, Elements]] = [(subfile, dl)]
    if z is not None:
        subfiles.append(z)
    head = STANDARD_PREFIX + file_type + iin + f"{version:02d}"
    if version >= 2 and jurisdiction_version is not None:
        head += f"{jurisdiction_version:02d}"
    head += f"{len(subfiles):02d}"
    bodies = []
    for kind, elements in subfiles:
        start = kind if marker or kind not in ("DL", "ID") else ""
        bodies.append(start + "\n".join(code + value for code, value in elements) + "\r")
    offset = len(head) + 10 * len(subfiles)
    table = ""
    for index, (kind, _) in enumerate(subfiles):
        body = bodies[index]
        declared = (declared_offsets or {}).get(kind, offset)
        table += f"{kind}{declared:04d}{len(body):04d}"
        offset += len(body)
    return head + (table if directory is None else directory) + "".join(bodies)


# What scanners (and the captures cited) do to the bytes on the card.

def idparser_capture(text: str) -> str:
    """[IdParser] captures: record separator dropped, CR delivered as LF ("@\\n\\nANSI")."""
    return text.replace("\x1e", "").replace("\r", "\n")


def lf_only_header(text: str) -> str:
    """[IdParser] NY/GA/VA captures: header reads "@\\nANSI", CR delivered as LF."""
    return text.replace(STANDARD_PREFIX, "@\n").replace("\r", "\n")


def strip_controls(text: str) -> str:
    """[aamvajs] captures: a keyboard wedge that drops LF, RS and CR altogether."""
    return text.replace("\n", "").replace("\x1e", "").replace("\r", "")


def crlf(text: str) -> str:
    """[license-parser] LineEndingsSpec: every line break delivered as CR LF, RS dropped."""
    return text.replace("\x1e", "").replace("\r", "\n").replace("\n", "\r\n")


def piped(text: str) -> str:
    """[IdParser] "MA License Piped": LF and CR sent as "|", RS dropped."""
    return text.replace("\x1e", "").replace("\n", "|").replace("\r", "|")


def header_noise(prefix: str) -> Callable[[str], str]:
    """Captures whose first bytes were mangled (e.g. "@a\\n", " @\\n6"), CR as LF."""

    def apply(text: str) -> str:
        return text.replace(STANDARD_PREFIX, prefix, 1).replace("\r", "\n")

    return apply


def pad(value: str, width: int) -> str:
    """Issuers that write fixed-width fields pad them with spaces."""
    return value.ljust(width)


SEPARATORS_WARNING = "header separators are non-standard"
CODES_WARNING = "data separators missing, elements recovered by their codes"
NO_MARKER_WARNING = "subfile DL has no type marker, read from the end of the header"


def offset_warning(kind: str) -> str:
    return f"subfile {kind} offset wrong, recovered by search"


def swapped_warning(label: str) -> str:
    return f"{label} is in CCYYMMDD order, not MMDDCCYY as its version prescribes"


@dataclass(frozen=True)
class Sample:
    name: str
    version: int
    jurisdiction: str
    payload: str | bytes
    source: str
    expected: dict[str, object]
    warnings: frozenset[str] = field(default_factory=frozenset)


# [AAMVA-2020] verbatim: Virginia, version 10, DL + ZV subfiles, offsets correct.
AAMVA_2020_EXAMPLE = (
    "@\n\x1e\rANSI 636000100102DL00410278ZV03190008DLDAQT64235789\n"
    "DCSSAMPLE\nDDEN\nDACMICHAEL\nDDFN\nDADJOHN\nDDGN\nDCUJR\nDCAD\n"
    "DCBK\nDCDPH\nDBD06062019\nDBB06061986\nDBA12102024\nDBC1\n"
    "DAU068 in\nDAYBRO\nDAG2300 WEST BROAD STREET\nDAIRICHMOND\nDAJVA\n"
    "DAK232690000  \nDCF2424244747474786102204\nDCGUSA\nDCK123456789\n"
    "DDAF\nDDB06062018\nDDC06062020\nDDD1\rZVZVA01\r"
)

# [AAMVA-2000] verbatim: version 01, 19-character header (no jurisdiction version), DAA full
# name, CCYYMMDD dates, sex "M", height as feet-and-inches "509".
AAMVA_2000_EXAMPLE = (
    "@\n\x1e\rANSI 6360000102DL00390187ZV02260032DLDAQ0123456789ABC\n"
    "DAAPUBLIC,JOHN,Q\nDAG123 MAIN STREET\nDAIANYTOWN\nDAJVA\n"
    "DAK123459999  \nDARDM  \nDAS          \nDAT     \nDAU509\nDAW175\n"
    "DAYBL \nDAZBR \nDBA20011201\nDBB19761123\nDBCM\nDBD19961201\r"
    "ZVZVAJURISDICTIONDEFINEDELEMENT\r"
)

SAMPLES: list[Sample] = [
    Sample(
        name="v10-VA-aamva-2020-example",
        version=10,
        jurisdiction="VA",
        payload=AAMVA_2020_EXAMPLE,
        source="[AAMVA-2020] Annex D example, verbatim",
        expected={
            "family_name": "SAMPLE", "first_name": "MICHAEL", "middle_names": ("JOHN",),
            "name_suffix": "JR", "date_of_birth": date(1986, 6, 6),
            "expiry_date": date(2024, 12, 10), "issue_date": date(2019, 6, 6),
            "sex": Sex.MALE, "document_number": "T64235789", "country": "USA",
            "street": "2300 WEST BROAD STREET", "city": "RICHMOND", "postal_code": "23269",
            "height": Height(68, "in"), "eye_colour": "BRO",
            "document_discriminator": "2424244747474786102204",
            "family_name_truncation": Truncation.NOT_TRUNCATED, "jurisdiction_version": 1,
            "date_order": "MMDDCCYY",
        },
    ),
    Sample(
        name="v01-VA-aamva-2000-example",
        version=1,
        jurisdiction="VA",
        payload=AAMVA_2000_EXAMPLE,
        source="[AAMVA-2000] version-01 example, verbatim",
        expected={
            "family_name": "PUBLIC", "first_name": "JOHN", "middle_names": ("Q",),
            "date_of_birth": date(1976, 11, 23), "expiry_date": date(2001, 12, 1),
            "issue_date": date(1996, 12, 1), "sex": Sex.MALE, "height": Height(69, "in"),
            "postal_code": "12345-9999", "document_number": "0123456789ABC",
            "jurisdiction_version": None, "date_order": "CCYYMMDD", "country": "USA",
        },
    ),
    Sample(
        name="v01-CT-aamva-file-type-no-subfile-marker",
        version=1,
        jurisdiction="CT",
        payload=header_noise("@\n6")(
            build(
                "636006", 1,
                [("DAA", "RIVERA,TOMAS,,JR"), ("DAG", "48 ELM ST"), ("DAI", "NEW BRITAIN"),
                 ("DAJ", "CT"), ("DAK", "060511234  "), ("DAQ", "123456789"), ("DAR", "D   "),
                 ("DAS", pad("", 10)), ("DAT", pad("", 5)), ("DBA", "20270314"),
                 ("DBB", "19790314"), ("DBC", "1"), ("DBD", "20210302"), ("DAU", "510"),
                 ("DAY", "BRO"), ("DBF", "00"), ("DBH", "Y")],
                file_type="AAMVA", marker=False,
            )
        ).rstrip("\n"),
        source="[IdParser] 'CT Suffix.txt' / 'Invalid Header.txt': '@\\n6AAMVA6360060101DL0029...'"
        " with no DL marker before DAA, suffix in the fourth DAA part, no trailing separator",
        expected={
            "family_name": "RIVERA", "first_name": "TOMAS", "middle_names": (),
            "name_suffix": "JR", "date_of_birth": date(1979, 3, 14),
            "expiry_date": date(2027, 3, 14), "height": Height(70, "in"),
            "postal_code": "06051-1234", "sex": Sex.MALE,
        },
        warnings=frozenset({SEPARATORS_WARNING, NO_MARKER_WARNING}),
    ),
    Sample(
        name="v01-CT-wedge-stripped-separators",
        version=1,
        jurisdiction="CT",
        payload=strip_controls(
            build(
                "636006", 1,
                [("DAA", "SAMPLELP,SELECTID,A,3RD"), ("DAG", "60 STATE ST"),
                 ("DAI", "WETHERSFIELD"), ("DAJ", "CT"), ("DAK", "061091896  "),
                 ("DAQ", "990000555"), ("DAR", "D   "), ("DAS", pad("B", 10)),
                 ("DAT", pad("", 5)), ("DBA", "20311107"), ("DBB", "19940101"), ("DBC", "1"),
                 ("DBD", "20231115"), ("DAU", "601"), ("DAY", "BLU"), ("DBF", "00"),
                 ("DBH", "Y")],
                file_type="AMVA ", marker=False,
            )
        ),
        source="[aamvajs] test/PDF417_CT.js: '@AMVA 6360060101DL00290198DAA...' with every"
        " separator lost ('3RDDAG', 'WETHERSFIELDDAJ')",
        expected={
            "family_name": "SAMPLELP", "first_name": "SELECTID", "middle_names": ("A",),
            "name_suffix": "3RD", "street": "60 STATE ST", "city": "WETHERSFIELD",
            "date_of_birth": date(1994, 1, 1), "expiry_date": date(2031, 11, 7),
            "postal_code": "06109-1896", "height": Height(73, "in"),
        },
        warnings=frozenset({SEPARATORS_WARNING, NO_MARKER_WARNING, CODES_WARNING}),
    ),
    Sample(
        name="v01-FL-comma-and-space-full-name",
        version=1,
        jurisdiction="FL",
        payload=idparser_capture(
            build(
                "636010", 1,
                [("DAA", "MARSH,ELLEN, RUTH"), ("DAG", "1234 PALM AVE LOT 5"),
                 ("DAI", "KEY WEST"), ("DAJ", "FL"), ("DAK", "33040-0504 "),
                 ("DAQ", "M620123450910"), ("DAR", "E   "), ("DAS", pad("A", 10)),
                 ("DAT", "NONE"), ("DBA", "20290309"), ("DBB", "19510309"), ("DBC", "2"),
                 ("DBD", "20210501"), ("DAU", "504")],
                z=("ZF", [("ZFA", ""), ("ZFB", ""), ("ZFC", "N899999999077"), ("ZFD", ""),
                          ("ZFE", "09-01-12")]),
            )
        ).rstrip("\n"),
        source="[IdParser] Licenses/FL.txt: 'ANSI 6360100102DL00390187ZF...', DAA"
        " 'LAST,FIRST, MIDDLE', DAK with a hyphen, no trailing separator",
        expected={
            "family_name": "MARSH", "first_name": "ELLEN", "middle_names": ("RUTH",),
            "sex": Sex.FEMALE, "postal_code": "33040-0504", "height": Height(64, "in"),
            "date_of_birth": date(1951, 3, 9),
        },
        warnings=frozenset({SEPARATORS_WARNING}),
    ),
    Sample(
        name="v01-FL-wedge-stripped-separators",
        version=1,
        jurisdiction="FL",
        payload=strip_controls(
            build(
                "636010", 1,
                [("DAA", "DOE,JANE"), ("DAG", "5929 N ROCK ST"), ("DAI", "DELRAY SHORE"),
                 ("DAJ", "FL"), ("DAK", "44556-     "), ("DAQ", "J641720820450"),
                 ("DAR", "I   "), ("DAS", pad("", 10)), ("DAT", pad("", 5)),
                 ("DBA", "20310108"), ("DBB", "19770204"), ("DBC", "2"), ("DBD", "20230612"),
                 ("DBH", pad("N", 10)), ("DAU", "600")],
                z=("ZF", [("ZFA", "REPLACED: 00000000"), ("ZFB", " "), ("ZFC", "P771206120090"),
                          ("ZFD", " "), ("ZFE", "07-01-11")]),
            )
        ),
        source="[aamvajs] test/PDF417_FL.js: '@ANSI 6360100102DL00390190ZF02290063DLDAA...'"
        " with every separator lost",
        expected={
            "family_name": "DOE", "first_name": "JANE", "city": "DELRAY SHORE",
            "date_of_birth": date(1977, 2, 4), "postal_code": "44556",
            "height": Height(72, "in"), "document_number": "J641720820450",
        },
        warnings=frozenset({SEPARATORS_WARNING, CODES_WARNING, offset_warning("ZF")}),
    ),
    Sample(
        name="v01-PA-full-name-without-commas",
        version=1,
        jurisdiction="PA",
        payload=idparser_capture(
            build(
                "636025", 1,
                [("DAQ", "26798765"), ("DAA", "PETER JAMES PAUL ANDREW NOWAK"),
                 ("DAG", "140 MAIN ST"), ("DAI", "PHILADELPHIA"), ("DAJ", "PA"),
                 ("DAK", "19130      "), ("DAR", "C   "), ("DAS", pad("*/1", 16)),
                 ("DAT", "---- "), ("DAU", "600"), ("DAY", "HAZ"), ("DBA", "20280203"),
                 ("DBB", "19860202"), ("DBC", "M"), ("DBD", "20240104"), ("DBF", "00"),
                 ("DBH", "Y")],
            )
        ),
        source="[IdParser] 'PA Three Middle Names.txt': DAA 'FIRST MIDDLE MIDDLE MIDDLE LAST'"
        " without commas (IdParser's test reads it first name first)",
        expected={
            "family_name": "NOWAK", "first_name": "PETER",
            "middle_names": ("JAMES", "PAUL", "ANDREW"), "name_suffix": None,
            "date_of_birth": date(1986, 2, 2), "postal_code": "19130", "eye_colour": "HAZ",
        },
        warnings=frozenset(
            {SEPARATORS_WARNING, "full name has no commas, read as first name first"}
        ),
    ),
    Sample(
        name="v01-MD-aamva-file-type",
        version=1,
        jurisdiction="MD",
        payload=build(
            "636003", 1,
            [("DAQ", "K-134-123-145-103"), ("DAA", "HOLLOWAY,JAMES,,3RD"),
             ("DAG", "1234 BARNEYS INN PL"), ("DAI", "BALTIMORE"), ("DAJ", "MD"),
             ("DAK", "21230 "), ("DAR", "C "), ("DAS", " "), ("DAT", " "), ("DAU", "505"),
             ("DAW", "135"), ("DBA", "20300209"), ("DBB", "19910209"), ("DBC", "1"),
             ("DBD", "20220210"), ("DBH", "N")],
            file_type="AAMVA",
        ),
        source="[aamvajs] test/PDF417_MD.js: '@\\n\\x1e\\rAAMVA6360030101DL00290192DLDAQ...',"
        " the older 'AAMVA' file type, DAA 'LAST,FIRST,,SUFFIX'",
        expected={
            "family_name": "HOLLOWAY", "first_name": "JAMES", "middle_names": (),
            "name_suffix": "3RD", "date_of_birth": date(1991, 2, 9), "postal_code": "21230",
            "height": Height(65, "in"), "document_number": "K-134-123-145-103",
        },
    ),
    Sample(
        name="v02-NJ-built-from-cds-2003",
        version=2,
        jurisdiction="NJ",
        payload=build(
            "636036", 2,
            [("DCA", "D"), ("DCB", "NONE"), ("DCD", "NONE"), ("DBA", "04302029"),
             ("DCS", "ALVAREZ"), ("DCT", "MARIA ELENA"), ("DCU", ""), ("DBD", "05012021"),
             ("DBB", "04301990"), ("DBC", "2"), ("DAY", "BRO"), ("DAU", "064 in"),
             ("DAG", "77 HIGH ST"), ("DAI", "NEWARK"), ("DAJ", "NJ"), ("DAK", "071020000  "),
             ("DAQ", "A12345678901234"), ("DCF", "ABC1234567890"), ("DCG", "USA"),
             ("DCH", "NONE")],
            jurisdiction_version=1,
        ),
        source="AAMVA Card Design Specification 2003 (version 02) layout: DCS family name, DCT"
        " given names, DCU suffix, MMDDCCYY dates (element list as in BlinkID's MBUsdlKeys.h)",
        expected={
            "family_name": "ALVAREZ", "first_name": "MARIA", "middle_names": ("ELENA",),
            "name_suffix": None, "date_of_birth": date(1990, 4, 30),
            "expiry_date": date(2029, 4, 30), "postal_code": "07102", "sex": Sex.FEMALE,
        },
    ),
    Sample(
        name="v02-NB-canadian-mmddccyy-latin1",
        version=2,
        jurisdiction="NB",
        payload=idparser_capture(
            build(
                "636017", 2,
                [("DCA", "NONE"), ("DCB", pad("NONE", 11)), ("DCD", pad("NONE", 5)),
                 ("DBA", "09142028"), ("DCS", pad("LEBLANC", 43)), ("DCT", pad("SOPHIE A", 80)),
                 ("DCU", pad("NONE", 5)), ("DBD", "09202020"), ("DBB", "09141985"),
                 ("DBC", "2"), ("DAY", "UNK"), ("DAU", "165 CM"), ("DCE", " "),
                 ("DAG", pad("45 RUE CHAMPLAIN", 35)), ("DAI", pad("DIEPPE", 20)),
                 ("DAJ", "NB"), ("DAK", "E1A 1N4    "), ("DAQ", pad("7654321", 25)),
                 ("DCF", "NB20200920123456789012345   "), ("DCG", "CAN"), ("DCH", "NONE")],
                z=("ZN", [("ZNA", "5"), ("ZNB", "NONE\u00bfAUCUNE"), ("ZNC", "NONE\u00bfAUCUNE"),
                          ("ZND", "BLU\u00bfBLE"), ("ZNF", "1980\u00bf08")]),
            )
        ).encode("latin-1"),
        source="[IdParser] Licenses/NB.txt: New Brunswick version 02, MMDDCCYY although"
        " Canadian (DCF embeds the issue date as CCYYMMDD), padded values, bilingual ZN"
        " values split by an inverted question mark (sent here as Latin-1 bytes)",
        expected={
            "family_name": "LEBLANC", "first_name": "SOPHIE", "middle_names": ("A",),
            "name_suffix": None, "date_of_birth": date(1985, 9, 14),
            "expiry_date": date(2028, 9, 14), "issue_date": date(2020, 9, 20),
            "country": "CAN", "postal_code": "E1A 1N4", "height": Height(165, "cm"),
            "eye_colour": None, "city": "DIEPPE", "date_order": "MMDDCCYY",
        },
        warnings=frozenset({SEPARATORS_WARNING}),
    ),
    Sample(
        name="v03-ON-directory-offset-zero",
        version=3,
        jurisdiction="ON",
        payload=idparser_capture(
            build(
                "636012", 3,
                [("DCA", "G   "), ("DCB", pad("NONE", 11)), ("DCD", pad("NONE", 5)),
                 ("DBA", "20290603"), ("DCS", pad("TREMBLAY,", 41)),
                 ("DCT", pad("JULIE,ANNE", 82)), ("DBD", "20240607"), ("DBB", "19960603"),
                 ("DBC", "2"), ("DAY", "NONE"), ("DAU", "170 CM"),
                 ("DAG", pad("123 KING ST E,", 38)), ("DAI", pad("KINGSTON", 23)),
                 ("DAJ", "ON"), ("DAK", "K7L 3N6    "), ("DAQ", "T7092-43879-65702"),
                 ("DCF", "DV1539283"), ("DCG", "CAN"), ("DCH", "NONE"), ("DCK", "839267959")],
                declared_offsets={"DL": 0},
            )
        ),
        source="[IdParser] 'ON License.txt' and [charlee]: 'ANSI 636012030001DL00000367',"
        " a directory offset of 0000, trailing commas after names and street, CCYYMMDD",
        expected={
            "family_name": "TREMBLAY", "first_name": "JULIE", "middle_names": ("ANNE",),
            "street": "123 KING ST E", "city": "KINGSTON", "date_of_birth": date(1996, 6, 3),
            "expiry_date": date(2029, 6, 3), "postal_code": "K7L 3N6",
            "height": Height(170, "cm"), "eye_colour": None, "country": "CAN",
            "date_order": "CCYYMMDD", "sex": Sex.FEMALE,
        },
        warnings=frozenset({SEPARATORS_WARNING, offset_warning("DL")}),
    ),
    Sample(
        name="v03-AB-unreadable-directory",
        version=3,
        jurisdiction="AB",
        payload=idparser_capture(
            build(
                "990876", 3,
                [("DCS", "NGUYEN"), ("DCT", "LINH THI"), ("DAB", "NGUYEN"), ("DAC", "LINH"),
                 ("DAD", "THI"), ("DAG", "123 MAPLE LEAF TERR SW"), ("DAQ", "123400-056"),
                 ("DAK", "T4G 7A7"), ("DAI", "CALGARY"), ("DAJ", "AB"), ("DBC", "F"),
                 ("DBB", "19930204"), ("DAR", "5"), ("DAT", "A"), ("DBA", "20290108"),
                 ("DAU", "155 CM"), ("DAW", "50 KG"), ("DCE", "2"), ("DAZ", "BROWN"),
                 ("DAY", "BROWN")],
                directory="DLabac",
            )
        ),
        source="[IdParser] Licenses/AB.txt: 'ANSI 990876030001DLabacDL...' (directory entry"
        " not digits), no DCG, both DCT and DAC/DAD, spelled-out colours, IIN not on AAMVA's list",
        expected={
            "family_name": "NGUYEN", "first_name": "LINH", "middle_names": ("THI",),
            "country": "CAN", "date_of_birth": date(1993, 2, 4),
            "expiry_date": date(2029, 1, 8), "eye_colour": "BRO", "height": Height(155, "cm"),
            "sex": Sex.FEMALE, "issuer_jurisdiction": None, "postal_code": "T4G 7A7",
        },
        warnings=frozenset({
            SEPARATORS_WARNING, "header lists 1 subfiles but only 0 are readable",
            "subfile DL not in the header directory, found by search",
            "issuer IIN 990876 is not on AAMVA's list",
        }),
    ),
    Sample(
        name="v03-TX-given-names-empty-suffix",
        version=3,
        jurisdiction="TX",
        payload=idparser_capture(
            build(
                "636015", 3,
                [("DCA", "C"), ("DCB", "NONE"), ("DCD", "NONE"), ("DBA", "10242029"),
                 ("DCS", "GARZA"), ("DCT", "ROBERTO LUIS"), ("DBD", "10252021"),
                 ("DBB", "10241993"), ("DBC", "1"), ("DAY", "BRO"), ("DAU", " 65 IN"),
                 ("DAG", "1254 FIRST ST"), ("DAI", "EL PASO"), ("DAJ", "TX"),
                 ("DAK", "79936      "), ("DAQ", "37110073"), ("DCF", "06729481103350359877"),
                 ("DCG", "USA"), ("DCH", "NONE"), ("DAZ", "BRO"), ("DCU", "")],
                z=("ZT", [("ZTA", "232"), ("ZTB", "H")]),
            )
        ),
        source="[IdParser] 'TX License.txt' and [DLID] TestV3Parser: version 03, DCT given"
        " names, DAU ' 65 IN' with a leading space, empty DCU before the ZT subfile",
        expected={
            "family_name": "GARZA", "first_name": "ROBERTO", "middle_names": ("LUIS",),
            "name_suffix": None, "height": Height(65, "in"), "date_of_birth": date(1993, 10, 24),
            "postal_code": "79936", "city": "EL PASO",
        },
        warnings=frozenset({SEPARATORS_WARNING}),
    ),
    Sample(
        name="v03-VA-comma-given-names",
        version=3,
        jurisdiction="VA",
        payload=lf_only_header(
            build(
                "636000", 3,
                [("DCA", "NONE"), ("DCB", pad("158X9", 10)), ("DCD", pad("S", 5)),
                 ("DBA", "08142027"), ("DCS", pad("CARTER", 41)), ("DCT", pad("OWEN,WILLIAM", 82)),
                 ("DBD", "08142019"), ("DBB", "07151958"), ("DBC", "1"), ("DAY", "BRO"),
                 ("DAU", "075 in"), ("DAG", pad("17 FIRST STREET", 35)),
                 ("DAI", pad("STAUNTON", 20)), ("DAJ", "VA"), ("DAK", "244010000  "),
                 ("DAQ", pad("T16700185", 25)), ("DCF", pad("061234567", 25)), ("DCG", "USA"),
                 ("DCH", "S   "), ("DDC", "00000000"), ("DDB", "12102008"), ("DDD", "N"),
                 ("DDA", "N"), ("DCK", pad("9060600000017843", 25))],
            )
        ),
        source="[IdParser] Tests/VA License.txt: '@\\nANSI 636000030001DL00310440', DCT"
        " 'FIRST,MIDDLE', padded values, zero-filled DDC",
        expected={
            "family_name": "CARTER", "first_name": "OWEN", "middle_names": ("WILLIAM",),
            "postal_code": "24401", "height": Height(75, "in"), "date_of_birth": date(1958, 7, 15),
            "document_number": "T16700185", "city": "STAUNTON",
        },
        warnings=frozenset({SEPARATORS_WARNING}),
    ),
    Sample(
        name="v03-WA-zip-plus-four",
        version=3,
        jurisdiction="WA",
        payload=idparser_capture(
            build(
                "636045", 3,
                [("DCA", "NONE"), ("DCB", "NONE"), ("DCD", "NONE"), ("DBA", "05232029"),
                 ("DCS", "LINDGREN"), ("DCT", "EMMA S"), ("DCU", ""), ("DBD", "04162021"),
                 ("DBB", "05231950"), ("DBC", "2"), ("DAY", "BRO"), ("DAU", "061 IN"),
                 ("DCE", "3"), ("DAG", "16255 PEWTER CT SE"), ("DAI", "REDMOND"), ("DAJ", "WA"),
                 ("DAK", "980081234  "), ("DAQ", "LINDGES504K9"),
                 ("DCF", "LINDGES504K932151907H2650"), ("DCG", "USA"), ("DCH", "NONE")],
                z=("ZW", [("ZWA", "151267H2650"), ("ZWB", ""), ("ZWC", "32"), ("ZWD", ""),
                          ("ZWE", ""), ("ZWF", "REV09162009")]),
            )
        ),
        source="[IdParser] 'WA License.txt': version 03, DCT 'FIRST M', ZIP+4 '980081234  '",
        expected={
            "first_name": "EMMA", "middle_names": ("S",), "postal_code": "98008-1234",
            "height": Height(61, "in"), "date_of_birth": date(1950, 5, 23), "sex": Sex.FEMALE,
        },
        warnings=frozenset({SEPARATORS_WARNING}),
    ),
    Sample(
        name="v04-CA-noisy-header",
        version=4,
        jurisdiction="CA",
        payload=header_noise("@a\n")(
            build(
                "636014", 4,
                [("DCA", "C"), ("DCB", "NONE"), ("DCD", "NONE"), ("DBA", "07052029"),
                 ("DCS", "HARPER"), ("DAC", "ELIJAH"), ("DAD", "MASON"), ("DBD", "02022024"),
                 ("DBB", "07051973"), ("DBC", "1"), ("DAY", "BLU"), ("DAU", "068 IN"),
                 ("DAG", "671 BLUEBERRY HILL DR"), ("DAI", "MILPITAS"), ("DAJ", "CA"),
                 ("DAK", "950350000  "), ("DAQ", "F1485768"), ("DCF", "99?02?2916640L7?ZBFD?K9"),
                 ("DCG", "USA"), ("DDE", "U"), ("DDF", "U"), ("DDG", "U"), ("DAW", "165"),
                 ("DAZ", "BRN"), ("DCK", "26933F14948489491"), ("DDB", "04162010"),
                 ("DDD", "0")],
                z=("ZC", [("ZCA", "Y"), ("ZCB", ""), ("ZCC", "BLU"), ("ZCD", "BRN"), ("ZCE", ""),
                          ("ZCF", "")]),
            )
        ),
        source="[IdParser] Licenses/CA.txt: header bytes '@a\\nANSI 636014040002',"
        " truncation flags 'U', undefined characters in DCF",
        expected={
            "family_name": "HARPER", "first_name": "ELIJAH", "middle_names": ("MASON",),
            "postal_code": "95035", "document_discriminator": "99?02?2916640L7?ZBFD?K9",
            "family_name_truncation": Truncation.UNKNOWN,
            "first_name_truncation": Truncation.UNKNOWN,
            "middle_name_truncation": Truncation.UNKNOWN, "date_of_birth": date(1973, 7, 5),
        },
        warnings=frozenset({SEPARATORS_WARNING}),
    ),
    Sample(
        name="v04-MA-pipe-separators",
        version=4,
        jurisdiction="MA",
        payload=piped(
            build(
                "636002", 4,
                [("DCA", "D"), ("DCB", "NONE"), ("DCD", "NONE"), ("DBA", "07072030"),
                 ("DCS", "OBRIEN"), ("DAC", "KEVIN"), ("DAD", "PATRICK"), ("DBD", "06292022"),
                 ("DBB", "07071977"), ("DBC", "1"), ("DAY", "UNK"), ("DAU", "072 IN"),
                 ("DAG", "123 MAIN STREET"), ("DAI", "BOSTON"), ("DAJ", "MA"),
                 ("DAK", "0210800000  "), ("DAQ", "S65807412"),
                 ("DCF", "06-29-2022 Rev 07-15-2009"), ("DCG", "USA"), ("DDE", "N"),
                 ("DDF", "N"), ("DDG", "N"), ("DCK", "12345S658074120601"), ("DDB", "07152009")],
                z=("ZM", [("ZMA", "N"), ("ZMB", ""), ("ZMC", "UNDER21UNTIL07071998"),
                          ("ZMD", "07012015"), ("ZME", ""), ("ZMF", "")]),
            )
        ),
        source="[IdParser] Tests/'MA License Piped.txt': '@||ANSI 636002040002...', a scanner"
        " sending '|' for LF and CR; ten-digit DAK '0210800000'",
        expected={
            "family_name": "OBRIEN", "first_name": "KEVIN", "middle_names": ("PATRICK",),
            "postal_code": "02108", "eye_colour": None, "height": Height(72, "in"),
            "date_of_birth": date(1977, 7, 7), "expiry_date": date(2030, 7, 7),
            "document_discriminator": "06-29-2022 Rev 07-15-2009",
        },
        warnings=frozenset({SEPARATORS_WARNING}),
    ),
    Sample(
        name="v04-MA-leading-whitespace",
        version=4,
        jurisdiction="MA",
        payload=header_noise(" @\n6")(
            build(
                "636002", 4,
                [("DCA", "DM"), ("DCB", "B"), ("DCD", "NONE"), ("DBA", "12072026"),
                 ("DCS", "DOYLE"), ("DAC", "MARGARET"), ("DAD", "R"), ("DBD", "11142018"),
                 ("DBB", "12071939"), ("DBC", "2"), ("DAY", "UNK"), ("DAU", "064 IN"),
                 ("DAG", "2 ROBERTS DRIVE"), ("DAI", "PLYMOUTH"), ("DAJ", "MA"),
                 ("DAK", "023601234  "), ("DAQ", "S58239477"),
                 ("DCF", "11-15-2018 REV 07-15-2009"), ("DCG", "USA"), ("DDE", "N"),
                 ("DDF", "N"), ("DDG", "N"), ("DCK", "15441S582394770602"), ("DDB", "07152009")],
                z=("ZM", [("ZMA", "N"), ("ZMB", ""), ("ZMC", ""), ("ZMD", "11152018"),
                          ("ZME", ""), ("ZMF", "")]),
            )
        ),
        source="[IdParser] 'Leading Whitespace.txt': ' @\\n6ANSI 636002040002...'",
        expected={
            "family_name": "DOYLE", "first_name": "MARGARET", "middle_names": ("R",),
            "postal_code": "02360-1234", "date_of_birth": date(1939, 12, 7), "sex": Sex.FEMALE,
        },
        warnings=frozenset({SEPARATORS_WARNING}),
    ),
    Sample(
        name="v04-WY-no-marker-ccyymmdd-dates",
        version=4,
        jurisdiction="WY",
        payload=header_noise("@ac")(
            build(
                "636060", 4,
                [("DCA", "C"), ("DCB", "NONE"), ("DCD", "NONE"), ("DBA", "20291031"),
                 ("DCS", "O NEIL"), ("DAC", "SEAN E"), ("DAD", ""), ("DBD", "20211011"),
                 ("DBB", "19581031"), ("DBC", "1"), ("DAY", "BLU"), ("DAU", "069 IN"),
                 ("DAG", "1234 MAIN WAY"), ("DAI", "BLUE STREAM"), ("DAJ", "WY"),
                 ("DAK", "82930      "), ("DAQ", "123456-789"), ("DCF", "58117326"),
                 ("DCG", "USA"), ("DDE", "U"), ("DDF", "U"), ("DDG", "U"),
                 ("DAH", "BLUE STREAM, WY  82930"), ("DAZ", "BLN"),
                 ("DCJ", "20211011-003212-3-1529")],
                z=("ZW", [("ZWA", ""), ("ZWB", ""), ("ZWC", ""), ("ZWD", ""), ("ZWE", ""),
                          ("ZWF", "0033-07362")]),
                marker=False,
            )
        ),
        source="[IdParser] Licenses/WY.txt: '@acANSI 636060040002DL00410266ZW...DCAC' (no DL"
        " marker), CCYYMMDD dates on a U.S. version-04 card, middle initial inside DAC",
        expected={
            "family_name": "O NEIL", "first_name": "SEAN", "middle_names": ("E",),
            "date_of_birth": date(1958, 10, 31), "expiry_date": date(2029, 10, 31),
            "issue_date": date(2021, 10, 11), "date_order": "MMDDCCYY", "postal_code": "82930",
        },
        warnings=frozenset({
            SEPARATORS_WARNING, NO_MARKER_WARNING, swapped_warning("date of birth"),
            swapped_warning("expiry date"), swapped_warning("issue date"),
        }),
    ),
    Sample(
        name="v05-VA-two-middle-names",
        version=5,
        jurisdiction="VA",
        payload=build(
            "636000", 5,
            [("DAQ", "T64235789"), ("DCS", "SAMPLE"), ("DDE", "N"), ("DAC", "MICHAEL"),
             ("DDF", "N"), ("DAD", "JOHN,BOB"), ("DDG", "N"), ("DCU", "JR"), ("DCA", "D"),
             ("DCB", "K"), ("DCD", "PH"), ("DBD", "06062008"), ("DBB", "06071986"),
             ("DBA", "12102012"), ("DBC", "1"), ("DAU", "068 in"), ("DAY", "BRO"),
             ("DAG", "2300 WEST BROAD STREET"), ("DAI", "RICHMOND"), ("DAJ", "VA"),
             ("DAK", "232690000 "), ("DCF", "2424244747474786102204"), ("DCG", "USA"),
             ("DCK", "123456789"), ("DDA", "M"), ("DDB", "06062008"), ("DDC", "06062009"),
             ("DDD", "1")],
            z=("ZV", [("ZVA", "01")]),
        ),
        source="[DLID] TestV5Parser: the standard's Virginia example in version-05 layout,"
        " two middle names separated by a comma",
        expected={
            "middle_names": ("JOHN", "BOB"), "name_suffix": "JR",
            "date_of_birth": date(1986, 6, 7), "expiry_date": date(2012, 12, 10),
        },
    ),
    Sample(
        name="v06-KS-wedge-stripped-separators",
        version=6,
        jurisdiction="KS",
        payload=strip_controls(
            build(
                "636022", 6,
                [("DAQ", "K03-76-9213"), ("DCS", "BRANDT"), ("DDE", "N"), ("DAC", "JANA"),
                 ("DDF", "N"), ("DAD", "BETH"), ("DDG", "N"), ("DCA", "C"), ("DCB", "NONE"),
                 ("DCD", "NONE"), ("DBD", "10152022"), ("DBB", "04081991"), ("DBA", "04082028"),
                 ("DBC", "2"), ("DAU", "069 IN"), ("DAY", "BRO"), ("DAG", "16315 W 124TH STREET"),
                 ("DAI", "OLATHE"), ("DAJ", "KS"), ("DAK", "660620000  "),
                 ("DCF", "92891022041HJ16289F2208DB"), ("DCG", "USA"), ("DAW", "140"),
                 ("DAH", "UNAVL"), ("DCK", "16291K037692130101"), ("DDB", "06012012"),
                 ("DDK", "1")],
                z=("ZK", [("ZKA", "")]),
            )
        ),
        source="[aamvajs] test/PDF417_KS.js: '@ANSI 636022060002DL00410286ZK03270007DLDAQ...'"
        " with every separator lost (note DCF ending 'DB' right before 'DCG')",
        expected={
            "family_name": "BRANDT", "first_name": "JANA", "middle_names": ("BETH",),
            "date_of_birth": date(1991, 4, 8), "expiry_date": date(2028, 4, 8),
            "issue_date": date(2022, 10, 15), "sex": Sex.FEMALE, "postal_code": "66062",
            "street_2": None, "country": "USA",
            "document_discriminator": "92891022041HJ16289F2208DB",
            "height": Height(69, "in"),
        },
        warnings=frozenset({SEPARATORS_WARNING, CODES_WARNING, offset_warning("ZK")}),
    ),
    Sample(
        name="v07-CO-unknown-truncation",
        version=7,
        jurisdiction="CO",
        payload=idparser_capture(
            build(
                "636020", 7,
                [("DAQ", "102367033"), ("DCS", "ARCHULETA"), ("DDE", "U"), ("DAC", "MICHAEL"),
                 ("DDF", "U"), ("DAD", "CODY"), ("DDG", "U"), ("DCA", "R"), ("DCB", "NONE"),
                 ("DCD", "NONE"), ("DBD", "08082021"), ("DBB", "07131992"), ("DBA", "07132029"),
                 ("DBC", "1"), ("DAU", "073 IN"), ("DAY", "GRN"), ("DAG", "909 COUNTY ROAD 206"),
                 ("DAI", "BOULDER"), ("DAJ", "CO"), ("DAK", "816350000  "), ("DCF", "NONE"),
                 ("DCG", "USA"), ("DDA", "M"), ("DDB", "06012013")],
                z=("ZC", [("ZCA", ""), ("ZCB", "")]),
            )
        ),
        source="[IdParser] 'CO License.txt': version 07, truncation flags 'U', DCF 'NONE'",
        expected={
            "family_name": "ARCHULETA", "first_name": "MICHAEL", "middle_names": ("CODY",),
            "document_discriminator": None, "family_name_truncation": Truncation.UNKNOWN,
            "postal_code": "81635", "eye_colour": "GRN", "date_of_birth": date(1992, 7, 13),
        },
        warnings=frozenset({SEPARATORS_WARNING}),
    ),
    Sample(
        name="v07-NY-mixed-case-no-document-number",
        version=7,
        jurisdiction="NY",
        payload=lf_only_header(
            build(
                "636001", 7,
                [("DCA", "NONE  "), ("DCB", pad("NONE", 15)), ("DCD", "NONE "), ("DBA", "08312029"),
                 ("DCS", pad("Ortiz", 41)), ("DAC", pad("Lucia", 41)), ("DAD", pad("Ana", 41)),
                 ("DBD", "08312021"), ("DBB", "08311999"), ("DBC", "2"), ("DAY", "BRO"),
                 ("DAU", "064 in"), ("DAG", pad("2345 ANYWHERE STREET", 35)),
                 ("DAI", pad("YOUR CITY", 20)), ("DAJ", "NY"), ("DAK", "123450000  "),
                 ("DAQ", pad("NONE", 25)), ("DCF", pad("NONE", 25)), ("DCG", "USA"), ("DDE", "N"),
                 ("DDF", "N"), ("DDG", "N")],
                z=("ZN", [("ZNA", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkw")]),
            )
        ),
        source="[IdParser] Tests/'NY License.txt': '@\\nANSI 636001070002...', mixed-case"
        " names, DAQ and DCF 'NONE', padded values",
        expected={
            "family_name": "Ortiz", "first_name": "Lucia", "middle_names": ("Ana",),
            "document_number": None, "document_discriminator": None, "postal_code": "12345",
            "date_of_birth": date(1999, 8, 31), "city": "YOUR CITY",
        },
        warnings=frozenset({SEPARATORS_WARNING}),
    ),
    Sample(
        name="v08-NC-two-word-family-name",
        version=8,
        jurisdiction="NC",
        payload=idparser_capture(
            build(
                "636004", 8,
                [("DAQ", "000049856"), ("DCS", "MORALES MARTINEZ"), ("DDE", "N"),
                 ("DAC", "RICARDO"), ("DDF", "N"), ("DAD", "SANTIAGO"), ("DDG", "N"),
                 ("DCA", "C"), ("DCB", "NONE"), ("DCD", "NONE"), ("DBD", "11162021"),
                 ("DBB", "06121986"), ("DBA", "06122029"), ("DBC", "1"), ("DAU", "069 IN"),
                 ("DAY", "BRO"), ("DAG", "1440 BROWN TER"), ("DAI", "FAYETTEVILLE"),
                 ("DAJ", "NC"), ("DAK", "283041234  "), ("DCF", "00215187398"), ("DCG", "USA"),
                 ("DAZ", "BLK"), ("DCL", "U  "), ("DCK", "000039743619NCENTL21"), ("DDA", "N"),
                 ("DDB", "10242014")],
                z=("ZN", [("ZNA", ""), ("ZNB", ""), ("ZNC", "0")]),
            )
        ),
        source="[IdParser] 'NC License.txt': version 08, two-word family name",
        expected={
            "family_name": "MORALES MARTINEZ", "first_name": "RICARDO",
            "middle_names": ("SANTIAGO",), "postal_code": "28304-1234",
            "date_of_birth": date(1986, 6, 12), "expiry_date": date(2029, 6, 12),
        },
        warnings=frozenset({SEPARATORS_WARNING}),
    ),
    Sample(
        name="v08-CA-address-on-AZ-iin-crlf",
        version=8,
        jurisdiction="CA",
        payload=crlf(
            build(
                "636026", 8,
                [("DAQ", "D12345678"), ("DCS", "LINDQVIST"), ("DDE", "N"), ("DAC", "ERIK"),
                 ("DDF", "N"), ("DAD", "JOHAN"), ("DDG", "N"), ("DCA", "D"), ("DCB", "NONE"),
                 ("DCD", "NONE"), ("DBD", "08242021"), ("DBB", "09151970"), ("DBA", "09152029"),
                 ("DBC", "1"), ("DAU", "069 in"), ("DAY", "GRN"), ("DAG", "789 E OAK ST"),
                 ("DAH", "APT #4A"), ("DAI", "ANYTOWN"), ("DAJ", "CA"), ("DAK", "902230000  "),
                 ("DCF", "83D9BN217QO983B1"), ("DCG", "USA"), ("DAW", "180"), ("DAZ", "BRO"),
                 ("DCK", "12345678900000000000"), ("DDB", "02142014"), ("DDK", "1")],
                jurisdiction_version=1,
                z=("ZA", [("ZAA", "N"), ("ZAB", ""), ("ZAC", "")]),
            )
        ),
        source="[license-parser] LineEndingsSpec.swift: '@\\r\\n\\r\\nANSI 636026080102...'"
        " with CR LF after every element; Arizona's IIN with a California address",
        expected={
            "family_name": "LINDQVIST", "first_name": "ERIK", "middle_names": ("JOHAN",),
            "street_2": "APT #4A", "issuer_jurisdiction": "AZ", "date_of_birth": date(1970, 9, 15),
            "postal_code": "90223", "eye_colour": "GRN",
        },
        warnings=frozenset({SEPARATORS_WARNING, offset_warning("ZA")}),
    ),
    Sample(
        name="v09-PE-middle-name-none",
        version=9,
        jurisdiction="PE",
        payload=idparser_capture(
            build(
                "604426", 9,
                [("DCA", "5"), ("DCB", "NONE"), ("DCD", "NONE"), ("DBA", "20300904"),
                 ("DCS", "MACDONALD"), ("DAC", "FIONA"), ("DAD", "NONE"), ("DBD", "20221222"),
                 ("DBB", "19550904"), ("DBC", "2"), ("DAY", "BLU"), ("DAU", "157 CM"),
                 ("DAG", "123 NORTH LAKE SHORE DR"), ("DAI", "SOURIS"), ("DAJ", "PE"),
                 ("DAK", "C0A 2B4    "), ("DAQ", "247725"), ("DCF", "PE2022122200000019550904"),
                 ("DCG", "CAN"), ("DDE", "N"), ("DDF", "N"), ("DDG", "N")],
                jurisdiction_version=1,
            )
        ),
        source="[IdParser] Licenses/PE.txt: 'ANSI 604426090101DL00310233', DAD 'NONE', CCYYMMDD",
        expected={
            "family_name": "MACDONALD", "first_name": "FIONA", "middle_names": (),
            "postal_code": "C0A 2B4", "country": "CAN", "date_of_birth": date(1955, 9, 4),
            "expiry_date": date(2030, 9, 4), "date_order": "CCYYMMDD", "height": Height(157, "cm"),
        },
        warnings=frozenset({SEPARATORS_WARNING}),
    ),
    Sample(
        name="v10-WA-minor-with-under-age-dates",
        version=10,
        jurisdiction="WA",
        payload=build(
            "636045", 10,
            [("DAQ", "WDL0000001AB"), ("DCS", "PARK"), ("DDE", "N"), ("DAC", "MINJI"),
             ("DDF", "N"), ("DAD", ""), ("DDG", "N"), ("DCA", "D"), ("DCB", "NONE"),
             ("DCD", "NONE"), ("DBD", "04012024"), ("DBB", "03152008"), ("DBA", "03152029"),
             ("DBC", "2"), ("DAU", "5'04\""), ("DAY", "BRO"), ("DAG", "400 PINE ST"),
             ("DAI", "SEATTLE"), ("DAJ", "WA"), ("DAK", "981010000  "), ("DCF", "WDL0000001AB24"),
             ("DCG", "USA"), ("DDH", "03152026"), ("DDI", "03152027"), ("DDJ", "03152029"),
             ("DDA", "F"), ("DDB", "11122019")],
            jurisdiction_version=0,
        ),
        source="[AAMVA-2020] element list: DDH/DDI/DDJ under-18/19/21-until dates (vertical"
        " cards of minors); built, since public captures of minors' cards are rightly rare",
        expected={
            "under_18_until": date(2026, 3, 15), "under_19_until": date(2027, 3, 15),
            "under_21_until": date(2029, 3, 15), "date_of_birth": date(2008, 3, 15),
            "height": Height(64, "in"), "middle_names": (),
        },
    ),
    Sample(
        name="v10-BC-leap-day-birth",
        version=10,
        jurisdiction="BC",
        payload=build(
            "636028", 10,
            [("DAQ", "1234567"), ("DCS", "SINGH"), ("DDE", "N"), ("DAC", "ARJUN"), ("DDF", "N"),
             ("DAD", ""), ("DDG", "N"), ("DCA", "5"), ("DCB", "NONE"), ("DCD", "NONE"),
             ("DBD", "20250110"), ("DBB", "20000229"), ("DBA", "20300228"), ("DBC", "1"),
             ("DAU", "178 cm"), ("DAY", "BRO"), ("DAG", "1200 W 73RD AVE"), ("DAI", "VANCOUVER"),
             ("DAJ", "BC"), ("DAK", "V6P6G5"), ("DCF", "BC2025011012345"), ("DCG", "CAN"),
             ("DDH", "20180301"), ("DDI", "20190301"), ("DDJ", "20210301")],
            jurisdiction_version=0,
        ),
        source="[AAMVA-2020] layout for a Canadian issuer: CCYYMMDD dates, A1A1A1 postal code;"
        " born on 29 February",
        expected={
            "date_of_birth": date(2000, 2, 29), "expiry_date": date(2030, 2, 28),
            "under_21_until": date(2021, 3, 1), "postal_code": "V6P 6G5",
            "height": Height(178, "cm"), "date_order": "CCYYMMDD", "country": "CAN",
        },
    ),
]

SAMPLES_BY_NAME = {sample.name: sample for sample in SAMPLES}

# A plain, well-formed U.S. licence in the current layout, for tests that vary one thing.
BASE_ELEMENTS: list[tuple[str, str]] = [
    ("DAQ", "T64235789"), ("DCS", "SAMPLE"), ("DDE", "N"), ("DAC", "MICHAEL"), ("DDF", "N"),
    ("DAD", "JOHN"), ("DDG", "N"), ("DBD", "06062019"), ("DBB", "06061986"), ("DBA", "12102030"),
    ("DBC", "1"), ("DAU", "068 in"), ("DAY", "BRO"), ("DAG", "2300 WEST BROAD STREET"),
    ("DAI", "RICHMOND"), ("DAJ", "VA"), ("DAK", "232690000  "), ("DCF", "2424244747474786102204"),
    ("DCG", "USA"),
]


def licence(version: int = 10, iin: str = "636000", **changes: str | None) -> str:
    """``BASE_ELEMENTS`` as a file; ``DBB="..."`` replaces an element, ``DBB=None`` drops it,
    and codes not in the base are appended."""
    elements = [(code, changes.get(code, value)) for code, value in BASE_ELEMENTS]
    base_codes = {code for code, _ in BASE_ELEMENTS}
    elements += [(code, value) for code, value in changes.items() if code not in base_codes]
    kept = [(code, value) for code, value in elements if value is not None]
    return build(iin, version, kept, z=("ZV", [("ZVA", "01")]))



# Real-world captures the parser must refuse, and what it must say.
REJECTED: list[tuple[str, str, str]] = [
    (
        "@ANSI 111111030001DL01111111DCA DCB DCD DBA11111112DCSSMITH DCTJOHN A DBD03016013"
        "DBB10071990DBC1DAYBRODAU11 in DAG111 SMITHS ST DAISMITHSTON DAJNHDAK333333333 "
        "DAQ44NST44444 DCGUSADCHNONE",
        "unreadable expiry date '11111112'",
        "[aamvajs] test/PDF417_NH.js, verbatim: dummy IIN and dates (year 1112, 6013)",
    ),
    (
        crlf(
            build(
                "636026", 8,
                [("DAQ", "D12345678"), ("DCS", "PUBLIC"), ("DAC", "JOHN"), ("DBB", "09151970"),
                 ("DBA", "09312035"), ("DBC", "1")],
                jurisdiction_version=1,
            )
        ),
        "unreadable expiry date '09312035'",
        "[license-parser] LineEndingsSpec.swift: expiry 'DBA09312035', 31 September",
    ),
]


def payload_text(sample: Sample) -> str:
    payload = sample.payload
    return payload if isinstance(payload, str) else payload.decode("latin-1")
