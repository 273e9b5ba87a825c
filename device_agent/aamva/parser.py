"""``parse()``: from scanner output to a ``LicenceData``, or one ``AamvaParseError``."""

from __future__ import annotations

import re
from datetime import date

from . import dates, fields, iin
from .errors import AamvaParseError
from .header import NOT_A_LICENCE, read_header, read_licence_subfile
from .record import Height, LicenceData, Sex

# A PDF417 symbol holds well under 2,000 characters; far more is not a licence scan.
MAX_PAYLOAD_CHARS = 16_384
NEWEST_VERSION = 10

NOTHING_SCANNED = "nothing was scanned"
UNREADABLE = "barcode could not be read, scan again"
NO_EXPIRY = frozenset({"00000000", "99999999"})

_JURISDICTION = re.compile(r"[A-Z]{2}")
_COUNTRIES = frozenset({iin.USA, iin.CAN, iin.MEX})
_SHOWN = re.compile(r"[^ -~]")

_DATE_LABELS = {
    "DBB": "date of birth",
    "DBA": "expiry date",
    "DBD": "issue date",
    "DDH": "under-18 date",
    "DDI": "under-19 date",
    "DDJ": "under-21 date",
}


def parse(data: str | bytes) -> LicenceData:
    """Parse the text of a licence's PDF417 barcode (AAMVA versions 00-10).

    Accepts what a scanner delivers, as ``str`` or raw ``bytes`` (UTF-8, else Latin-1).
    Raises ``AamvaParseError`` and nothing else, whatever arrives.
    """
    try:
        return _parse(data)
    except AamvaParseError:
        raise
    except Exception as exc:
        raise AamvaParseError(UNREADABLE) from exc


def _parse(data: object) -> LicenceData:
    text = _decode(data)
    header = read_header(text)
    subfile = read_licence_subfile(text, header)
    elements = subfile.elements
    warnings = header.warnings + subfile.warnings
    version = header.version
    if version > NEWEST_VERSION:
        warnings.append(
            f"AAMVA version {version:02d} is newer than this parser, read as {NEWEST_VERSION}"
        )

    known_issuer = iin.issuer(header.iin)
    if known_issuer is None:
        warnings.append(f"issuer IIN {header.iin} is not on AAMVA's list")
    issuer_jurisdiction, issuer_country = known_issuer if known_issuer else (None, None)
    jurisdiction = _jurisdiction(elements.get("DAJ")) or issuer_jurisdiction
    country = _country(elements.get("DCG"), issuer_country, jurisdiction)
    order = dates.standard_order(version, country == iin.CAN)

    born = _required_date(elements, "DBB", order, warnings)
    expiry = _expiry(elements, order, warnings)
    issued = _date(elements, "DBD", order, warnings)
    if issued is not None and born > issued:
        warnings.append("date of birth is after the issue date")

    name = _name(elements, warnings)
    return LicenceData(
        version=version,
        jurisdiction_version=header.jurisdiction_version,
        iin=header.iin,
        issuer_jurisdiction=issuer_jurisdiction,
        document_type=subfile.type,
        date_of_birth=born,
        expiry_date=expiry,
        issue_date=issued,
        jurisdiction=jurisdiction,
        country=country,
        date_order=order,
        family_name=name.family,
        first_name=name.first,
        middle_names=name.middles,
        name_suffix=name.suffix,
        family_name_truncation=fields.truncation(elements.get("DDE")),
        first_name_truncation=fields.truncation(elements.get("DDF")),
        middle_name_truncation=fields.truncation(elements.get("DDG")),
        sex=_sex(elements.get("DBC"), warnings),
        document_number=fields.clean(elements.get("DAQ") or elements.get("DBJ")),
        document_discriminator=fields.clean(elements.get("DCF")),
        street=fields.clean(elements.get("DAG")),
        street_2=fields.clean(elements.get("DAH")),
        city=fields.clean(elements.get("DAI")),
        postal_code=fields.postal_code(elements.get("DAK")),
        height=_height(elements, version, warnings),
        eye_colour=fields.eye_colour(elements.get("DAY")),
        under_18_until=_date(elements, "DDH", order, warnings),
        under_19_until=_date(elements, "DDI", order, warnings),
        under_21_until=_date(elements, "DDJ", order, warnings),
        warnings=tuple(warnings),
    )


def _decode(data: object) -> str:
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if len(raw) > MAX_PAYLOAD_CHARS * 4:
            raise AamvaParseError(NOT_A_LICENCE)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    elif isinstance(data, str):
        text = data
    else:
        raise AamvaParseError(NOT_A_LICENCE)
    if len(text) > MAX_PAYLOAD_CHARS:
        raise AamvaParseError(NOT_A_LICENCE)
    if not text.strip():
        raise AamvaParseError(NOTHING_SCANNED)
    return text


def _jurisdiction(value: str | None) -> str | None:
    text = (value or "").strip().upper()
    return text if _JURISDICTION.fullmatch(text) else None


def _country(value: str | None, issuer_country: str | None, jurisdiction: str | None) -> str | None:
    """DCG when it names a country; else the issuer's; else the province/state code's."""
    text = (value or "").strip().upper()
    if text in _COUNTRIES:
        return text
    if issuer_country is not None:
        return issuer_country
    if jurisdiction is None:
        return None
    return iin.CAN if jurisdiction in iin.CANADIAN_JURISDICTIONS else iin.USA


def _date(elements: dict[str, str], code: str, order: str, warnings: list[str]) -> date | None:
    """An optional date: an unreadable one is dropped with a warning."""
    raw = elements.get(code, "")
    if not raw:
        return None
    found = _resolve(raw, _DATE_LABELS[code], order, warnings)
    if found is None:
        warnings.append(f"unreadable {_DATE_LABELS[code]} ignored")
    return found


def _required_date(elements: dict[str, str], code: str, order: str, warnings: list[str]) -> date:
    label = _DATE_LABELS[code]
    raw = elements.get(code, "")
    if not raw:
        raise AamvaParseError(f"{label} missing")
    found = _resolve(raw, label, order, warnings)
    if found is None:
        raise AamvaParseError(f"unreadable {label} '{_shown(raw)}'")
    return found


def _resolve(raw: str, label: str, order: str, warnings: list[str]) -> date | None:
    found, swapped = dates.resolve_date(raw, order)
    if swapped:
        used = dates.other_order(order)
        warnings.append(f"{label} is in {used} order, not {order} as its version prescribes")
    return found


def _expiry(elements: dict[str, str], order: str, warnings: list[str]) -> date | None:
    if elements.get("DBA", "") in NO_EXPIRY:
        warnings.append("document has no expiry date")
        return None
    return _required_date(elements, "DBA", order, warnings)


def _shown(raw: str) -> str:
    """A value quoted in an error: printable ASCII only, and short."""
    return _SHOWN.sub("?", raw[:20])


def _name(elements: dict[str, str], warnings: list[str]) -> fields.Name:
    """Family, first and middle names from whichever elements the version used.

    Separate elements win over combined ones: DCS (DAB in version 01) for the family name,
    DAC/DAD for first and middle names, then DCT (versions 02-03 given names), then DAA
    (the version-01 full name).
    """
    full = fields.split_full_name(elements.get("DAA"))
    family = fields.clean(elements.get("DCS")) or fields.clean(elements.get("DAB")) or full.family
    first = fields.clean(elements.get("DAC"))
    middles = fields.split_names(elements.get("DAD"))
    if first is not None and not middles:
        first, middles = fields.split_first_name(first)
    if first is None:
        given_first, given_middles = fields.split_given_names(elements.get("DCT"))
        if given_first is not None:
            first, middles = given_first, middles or given_middles
        else:
            first = full.first
    if not middles and first is not None and first == full.first:
        middles = full.middles
    suffix = fields.clean(elements.get("DCU")) or fields.clean(elements.get("DAE")) or full.suffix
    if full.inferred_order and first == full.first and family == full.family:
        warnings.append("full name has no commas, read as first name first")
    return fields.Name(family=family, first=first, middles=middles, suffix=suffix)


def _sex(value: str | None, warnings: list[str]) -> Sex | None:
    found = fields.sex(value)
    if found is None and value:
        warnings.append("sex code not recognised")
    return found


def _height(elements: dict[str, str], version: int, warnings: list[str]) -> Height | None:
    value = elements.get("DAU")
    if not value and version <= 1 and elements.get("DAV"):
        value = elements["DAV"].strip() + " cm"
    found = fields.height(value, version)
    if found is None and fields.clean(value) is not None:
        warnings.append("height not recognised")
    return found
