"""Reading the AAMVA file: its header, subfile directory and the licence subfile's elements.

The standard's layout (DL/ID-2000 through the 2020 Card Design Standard, Annex D)::

    @ LF RS CR  "ANSI "  IIN(6)  version(2)  [jurisdiction version(2)]  entries(2)
    entries x ( type(2) offset(4) length(4) )
    "DL" element LF element LF ... CR   "Z?" element LF ... CR

The jurisdiction version is absent before version 02; offsets count from the ``@``.

What real scanners deliver is rougher: keyboard-wedge noise before the ``@``, separators
turned into CRLF, ``|`` or nothing at all, the older ``AAMVA`` file type, headers whose
layout does not match their version, and directories whose offsets point nowhere (Ontario
writes 0000). So every step has a fallback, and every fallback leaves a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import AamvaParseError

NOT_A_LICENCE = "not a driver-licence barcode"
NO_LICENCE_DATA = "no licence data in barcode"
DUPLICATE_BIRTH_DATES = "barcode has two different dates of birth"
CODES_WARNING = "data separators missing, elements recovered by their codes"

_FILE_TYPE = re.compile(r"(?:ANSI ?|A?AMVA ?)([0-9]{6})([0-9]{2})")
_TWO_DIGITS = re.compile(r"[0-9]{2}")
_DESIGNATOR = re.compile(r"([A-Z][A-Z0-9])([0-9]{4})([0-9]{4})")
_STANDARD_SEPARATORS = "\n\x1e\r"
# Printable characters that scanners are commonly configured to send instead of LF/RS/CR.
_PRINTABLE_SEPARATORS = "|^~`"
_AT_LOOKBACK = 6
_SEPARATOR_RUN = "[\\x00-\\x1f\\x7f{extra}]*"
_ELEMENT_LINE = re.compile(r"\s*(D[A-D][A-Z])(.*)", re.DOTALL)
_ELEMENT_START = re.compile(r"[\x00-\x1f\x7f|^~`\s]*D[A-D][A-Z]")
_CODE_AHEAD = re.compile(r"(?=(D[A-D][A-Z]))")

LICENCE_TYPES = ("DL", "ID")

_V1_CODES = frozenset(
    ["DA" + c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"] + ["DB" + c for c in "ABCDEFGHIJKLMNOPQRS"]
)
_CODES = _V1_CODES | frozenset(
    ["DC" + c for c in "ABCDEFGHIJKLMNOPQRSTU"] + ["DD" + c for c in "ABCDEFGHIJKL"]
)
DATE_CODES = frozenset({"DBA", "DBB", "DBD", "DDB", "DDC", "DDH", "DDI", "DDJ"})

# When separators are lost, a code is only believed where its value has the right shape,
# so that "3RD" + "DAG" is not read as element DDA. Dates must be eight digits.
_EIGHT_DIGITS = re.compile(r"[0-9]{8}")
_VALUE_SHAPE = {
    "DAJ": re.compile(r"[A-Z]{2}"),
    "DAK": re.compile(r"[0-9]|[A-Z][0-9]"),
    "DAU": re.compile(r"[0-9 ]"),
    "DAW": re.compile(r"[0-9]"),
    "DAY": re.compile(r"[A-Z]{2}"),
    "DAZ": re.compile(r"[A-Z]{2}"),
    "DBC": re.compile(r"[129MFX]"),
    "DCG": re.compile(r"[A-Z]{3}"),
    "DDA": re.compile(r"[FMN]"),
    "DDD": re.compile(r"[01]"),
    "DDE": re.compile(r"[TNU]"),
    "DDF": re.compile(r"[TNU]"),
    "DDG": re.compile(r"[TNU]"),
    "DDK": re.compile(r"[01]"),
    "DDL": re.compile(r"[01]"),
}
_VALUE_SHAPE.update({code: _EIGHT_DIGITS for code in DATE_CODES})

_split_patterns: dict[str, re.Pattern[str]] = {}
_search_patterns: dict[tuple[str, str], re.Pattern[str]] = {}


@dataclass(frozen=True)
class Designator:
    type: str
    offset: int
    length: int


@dataclass
class Header:
    base: int
    end: int
    iin: str
    version: int
    jurisdiction_version: int | None
    designators: list[Designator]
    delta: int
    extra_separators: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class LicenceSubfile:
    type: str
    elements: dict[str, str]
    warnings: list[str]


def read_header(text: str) -> Header:
    """Find the file header (skipping scanner noise) and read its subfile directory."""
    match, at = _find_file_type(text)
    warnings: list[str] = []
    if at < 0:
        warnings.append("compliance indicator '@' missing")
        base = match.start() - 4
        separators = ""
    else:
        base = at
        separators = text[at + 1 : match.start()]
        if separators != _STANDARD_SEPARATORS:
            warnings.append("header separators are non-standard")
    version = int(match.group(2))
    standard_has_jv = version >= 2
    directory = None
    for has_jv in (standard_has_jv, not standard_has_jv):
        candidate = _read_directory(text, match.end(), has_jv)
        if candidate is not None and (directory is None or len(candidate[2]) > len(directory[2])):
            directory = candidate
    if directory is None:
        warnings.append("subfile directory unreadable")
        jurisdiction_version, entries, designators, end = None, 0, [], match.end()
    else:
        jurisdiction_version, entries, designators, end = directory
        if (jurisdiction_version is not None) != standard_has_jv:
            warnings.append("header layout does not match its AAMVA version")
        if len(designators) < entries:
            readable = len(designators)
            warnings.append(f"header lists {entries} subfiles but only {readable} are readable")
    standard_length = 19 + (2 if jurisdiction_version is not None else 0) + 10 * len(designators)
    extra = "".join(sorted({c for c in separators if c in _PRINTABLE_SEPARATORS}))
    return Header(
        base=base,
        end=end,
        iin=match.group(1),
        version=version,
        jurisdiction_version=jurisdiction_version,
        designators=designators,
        delta=(end - base) - standard_length,
        extra_separators=extra,
        warnings=warnings,
    )


def read_licence_subfile(text: str, header: Header) -> LicenceSubfile:
    """Locate the DL or ID subfile and read its data elements."""
    warnings: list[str] = []
    found: list[tuple[str, int]] = []
    for designator in header.designators:
        position = _at_declared_offset(text, header, designator)
        if position is None:
            position = _search(text, header, designator.type)
            if position is not None:
                warnings.append(f"subfile {designator.type} offset wrong, recovered by search")
        if position is not None:
            found.append((designator.type, position))

    licence = next(((kind, pos) for kind, pos in found if kind in LICENCE_TYPES), None)
    if licence is None:
        licence = _search_unlisted_licence(text, header)
        if licence is not None:
            warnings.append(f"subfile {licence[0]} not in the header directory, found by search")
    if licence is not None:
        kind, marker = licence
        body_start = marker + 2
    else:
        start = _ELEMENT_START.match(text, header.end)
        if start is None:
            raise AamvaParseError(NO_LICENCE_DATA)
        listed = [d.type for d in header.designators if d.type in LICENCE_TYPES]
        kind = listed[0] if listed else "DL"
        marker = body_start = header.end
        warnings.append(f"subfile {kind} has no type marker, read from the end of the header")
    body_end = min((pos for _, pos in found if pos > marker), default=len(text))
    elements, element_warnings = _read_elements(text[body_start:body_end], header)
    return LicenceSubfile(type=kind, elements=elements, warnings=warnings + element_warnings)


def _find_file_type(text: str) -> tuple[re.Match[str], int]:
    """The first file-type match preceded by an ``@``, else the first match at all."""
    first: re.Match[str] | None = None
    for match in _FILE_TYPE.finditer(text):
        at = text.rfind("@", max(0, match.start() - _AT_LOOKBACK), match.start())
        if at >= 0:
            return match, at
        if first is None:
            first = match
    if first is None:
        raise AamvaParseError(NOT_A_LICENCE)
    return first, -1


def _read_directory(
    text: str, position: int, has_jv: bool
) -> tuple[int | None, int, list[Designator], int] | None:
    jurisdiction_version = None
    if has_jv:
        if _TWO_DIGITS.match(text, position) is None:
            return None
        jurisdiction_version = int(text[position : position + 2])
        position += 2
    if _TWO_DIGITS.match(text, position) is None:
        return None
    entries = int(text[position : position + 2])
    position += 2
    designators: list[Designator] = []
    for _ in range(entries):
        match = _DESIGNATOR.match(text, position)
        if match is None:
            break
        designators.append(Designator(match.group(1), int(match.group(2)), int(match.group(3))))
        position = match.end()
    return jurisdiction_version, entries, designators, position


def _at_declared_offset(text: str, header: Header, designator: Designator) -> int | None:
    """Where the directory says the subfile starts, allowing for a header whose own
    separators were changed by the scanner (which shifts every offset equally)."""
    candidates = [header.base + designator.offset]
    if header.delta:
        candidates.append(candidates[0] + header.delta)
    for position in candidates:
        if position >= header.end and text.startswith(designator.type, position):
            return position
    return None


def _search(text: str, header: Header, kind: str) -> int | None:
    """First place after the header where subfile ``kind`` starts: its type followed by
    one of its own element codes (``DL`` + ``DAQ``..., ``ZV`` + ``ZVA``...)."""
    key = (kind, header.extra_separators)
    pattern = _search_patterns.get(key)
    if pattern is None:
        run = _SEPARATOR_RUN.format(extra=re.escape(header.extra_separators))
        element = "D[A-D][A-Z]" if kind in LICENCE_TYPES else re.escape(kind) + "[A-Z0-9]"
        pattern = re.compile(re.escape(kind) + "(?=" + run + element + ")")
        _search_patterns[key] = pattern
    match = pattern.search(text, header.end)
    return match.start() if match else None


def _search_unlisted_licence(text: str, header: Header) -> tuple[str, int] | None:
    for kind in LICENCE_TYPES:
        position = _search(text, header, kind)
        if position is not None:
            return kind, position
    return None


def _read_elements(body: str, header: Header) -> tuple[dict[str, str], list[str]]:
    """Elements split at the separators; where those were lost, split at the element codes.

    A body with hardly any separators is re-read whole by code. A body that has them but
    where the date of birth ran into a neighbour ("DBC1DBB19860606") keeps its elements and
    only takes its dates from the re-reading.
    """
    elements, warnings = _collect(_elements_by_separator(body, header.extra_separators))
    if len(elements) >= 3 and _is_date(elements.get("DBB")):
        return elements, warnings
    recovered, recovered_warnings = _collect(_elements_by_code(body, header.version))
    if len(elements) < 3 and len(recovered) > len(elements):
        return recovered, [CODES_WARNING, *recovered_warnings]
    patched = {
        code: value
        for code, value in recovered.items()
        if code in DATE_CODES and _is_date(value) and not _is_date(elements.get(code))
    }
    if patched:
        elements.update(patched)
        warnings.append("elements run together, dates recovered by their codes")
    return elements, warnings


def _is_date(value: str | None) -> bool:
    return value is not None and _EIGHT_DIGITS.fullmatch(value) is not None


def _collect(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """First non-empty value per code; two different dates of birth are refused."""
    elements: dict[str, str] = {}
    repeated: set[str] = set()
    for code, value in pairs:
        kept = elements.get(code)
        if not kept:
            elements[code] = value
        elif value and value != kept:
            if code == "DBB":
                raise AamvaParseError(DUPLICATE_BIRTH_DATES)
            repeated.add(code)
    return elements, [f"element {code} repeated, first value kept" for code in sorted(repeated)]


def _elements_by_separator(body: str, extra_separators: str) -> list[tuple[str, str]]:
    pattern = _split_patterns.get(extra_separators)
    if pattern is None:
        pattern = re.compile("[\\x00-\\x1f\\x7f" + re.escape(extra_separators) + "]+")
        _split_patterns[extra_separators] = pattern
    pairs = []
    for line in pattern.split(body):
        match = _ELEMENT_LINE.match(line)
        if match is not None:
            pairs.append((match.group(1), match.group(2).strip()))
    return pairs


def _elements_by_code(body: str, version: int) -> list[tuple[str, str]]:
    """Split a body whose separators were lost, at the element codes valid for its version."""
    known = _V1_CODES if version <= 1 else _CODES
    starts: list[tuple[int, str]] = []
    after = -1
    for match in _CODE_AHEAD.finditer(body):
        position, code = match.start(), match.group(1)
        if position < after or code not in known:
            continue
        shape = _VALUE_SHAPE.get(code)
        if shape is not None and shape.match(body, position + 3) is None:
            continue
        starts.append((position, code))
        after = position + 3
    pairs = []
    for index, (position, code) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(body)
        pairs.append((code, body[position + 3 : end].strip()))
    return pairs
