"""Turning raw element values into typed fields: names, sex, postal code, height, eyes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .record import Height, Sex, Truncation

# Fillers issuers write instead of leaving an optional element empty.
_ABSENT = frozenset({"", "NONE", "UNAVL", "UNAVAILABLE"})
_WHITESPACE = re.compile(r"\s+")
_NAME_SPLIT = re.compile(r"[,\s]+")
_SUFFIXES = frozenset(
    {"JR", "JR.", "SR", "SR.", "II", "III", "IV", "1ST", "2ND", "3RD", "4TH", "5TH", "6TH", "7TH",
     "8TH", "9TH"}
)

_SEX = {
    "1": Sex.MALE,
    "M": Sex.MALE,
    "MALE": Sex.MALE,
    "2": Sex.FEMALE,
    "F": Sex.FEMALE,
    "FEMALE": Sex.FEMALE,
    "9": Sex.NOT_SPECIFIED,
    "X": Sex.NOT_SPECIFIED,
}
_TRUNCATION = {t.value: t for t in Truncation}

_CANADIAN_POSTAL = re.compile(r"([A-Z][0-9][A-Z])([0-9][A-Z][0-9])")
_DIGITS = re.compile(r"[0-9]+")

_HEIGHT_WITH_UNIT = re.compile(r"([0-9]{1,3})\s*(IN|CM)\.?")
_HEIGHT_FEET_INCHES = re.compile(r"([0-9])\s*(?:'|FT\.?|-)\s*([0-9]{1,2})\s*(?:\"|''|IN\.?)?")
_HEIGHT_BARE = re.compile(r"[0-9]{1,3}")
_INCHES_RANGE = range(24, 109)
_CENTIMETRES_RANGE = range(60, 276)

_EYE_WORDS = {
    "BLACK": "BLK",
    "BLUE": "BLU",
    "BROWN": "BRO",
    "BRN": "BRO",
    "GRAY": "GRY",
    "GREY": "GRY",
    "GREEN": "GRN",
    "HAZEL": "HAZ",
    "MAROON": "MAR",
    "PINK": "PNK",
    "DICHROMATIC": "DIC",
}
_EYE_UNKNOWN = frozenset({"UNK", "UNKNOWN"})


@dataclass
class Name:
    family: str | None = None
    first: str | None = None
    middles: tuple[str, ...] = ()
    suffix: str | None = None
    inferred_order: bool = False


def clean(value: str | None) -> str | None:
    """Collapse padding, drop the trailing commas some issuers add, and map fillers to None."""
    if value is None:
        return None
    text = _WHITESPACE.sub(" ", value).strip().rstrip(",").rstrip()
    return None if text.upper() in _ABSENT else text


def split_names(value: str | None) -> tuple[str, ...]:
    """Middle names: issuers separate several with commas or spaces."""
    text = clean(value)
    if text is None:
        return ()
    return tuple(part for part in _NAME_SPLIT.split(text) if part and part.upper() not in _ABSENT)


def split_given_names(value: str | None) -> tuple[str | None, tuple[str, ...]]:
    """DCT (versions 02-03): first name, then middle names, separated by a comma or space."""
    names = split_names(value)
    if not names:
        return None, ()
    return names[0], names[1:]


def split_full_name(value: str | None) -> Name:
    """DAA, the version-01 full name.

    The standard writes ``LAST,FIRST,MIDDLE,SUFFIX`` (middle and suffix may be empty:
    ``JOHNSON,JACK,,3RD``); some issuers put a comma after the family name only
    (``PUBLIC,JOHN QUINCY``). Without any comma, issuers write the name as on the card
    front, first name first (Pennsylvania: ``JOHN ROBERT LEE SMITH``); that reading is
    flagged as inferred.
    """
    text = clean(value)
    if text is None:
        return Name()
    if "," in text:
        parts = [part.strip() for part in text.split(",")]
        family = parts[0] or None
        if len(parts) == 2:
            first, middles = split_given_names(parts[1])
            suffix = None
        else:
            first = parts[1] or None
            middles = split_names(parts[2])
            suffix = clean(parts[3]) if len(parts) > 3 else None
        if suffix is None and middles and middles[-1].upper() in _SUFFIXES:
            middles, suffix = middles[:-1], middles[-1]
        return Name(family=family, first=first, middles=middles, suffix=suffix)
    words = text.split(" ")
    if len(words) == 1:
        return Name(family=words[0])
    suffix = None
    if len(words) > 2 and words[-1].upper() in _SUFFIXES:
        words, suffix = words[:-1], words[-1]
    return Name(
        family=words[-1], first=words[0], middles=tuple(words[1:-1]), suffix=suffix,
        inferred_order=True,
    )


def split_first_name(first: str | None) -> tuple[str | None, tuple[str, ...]]:
    """A first name carrying a middle initial ("MOTORIST E", as Wyoming writes it)."""
    if first is None or " " not in first:
        return first, ()
    head, _, tail = first.rpartition(" ")
    if len(tail) == 1 and tail.isalpha():
        return head, (tail,)
    return first, ()


def sex(value: str | None) -> Sex | None:
    if value is None:
        return None
    return _SEX.get(value.strip().upper())


def truncation(value: str | None) -> Truncation | None:
    if value is None:
        return None
    return _TRUNCATION.get(value.strip().upper())


def postal_code(value: str | None) -> str | None:
    """US ZIP as ``12345`` or ``12345-6789`` (a ``0000`` extension is dropped); Canadian
    codes as ``A1A 1A1``; anything else cleaned but unchanged."""
    text = clean(value)
    if text is None:
        return None
    compact = text.upper().replace(" ", "").replace("-", "")
    if _CANADIAN_POSTAL.fullmatch(compact):
        return f"{compact[:3]} {compact[3:]}"
    if _DIGITS.fullmatch(compact):
        if len(compact) >= 9 and compact[5:9] != "0000":
            return f"{compact[:5]}-{compact[5:9]}"
        return compact[:5]
    return text


def height(value: str | None, version: int) -> Height | None:
    """DAU: ``070 in``, ``175 cm``, ``5'10"``, or bare digits.

    Version 01 wrote bare feet-and-inches (``509`` is 5 ft 9 in); later versions append a
    unit, and bare digits are read as feet-and-inches when they can only be that, inches up
    to 99, centimetres above.
    """
    text = clean(value)
    if text is None:
        return None
    text = text.upper()
    match = _HEIGHT_WITH_UNIT.fullmatch(text)
    if match is not None:
        unit = match.group(2).lower()
        return _checked_height(int(match.group(1)), unit)
    match = _HEIGHT_FEET_INCHES.fullmatch(text)
    if match is not None:
        return _feet_and_inches(int(match.group(1)), int(match.group(2)))
    if _HEIGHT_BARE.fullmatch(text) is None:
        return None
    number = int(text)
    if len(text) == 3 and text[0] in "345678" and (version <= 1 or number > 99):
        return _feet_and_inches(int(text[0]), int(text[1:]))
    if number <= 99:
        return _checked_height(number, "in")
    return _checked_height(number, "cm")


def _feet_and_inches(feet: int, inches: int) -> Height | None:
    if inches >= 12:
        return None
    return _checked_height(feet * 12 + inches, "in")


def _checked_height(number: int, unit: str) -> Height | None:
    allowed = _INCHES_RANGE if unit == "in" else _CENTIMETRES_RANGE
    return Height(number, unit) if number in allowed else None


def eye_colour(value: str | None) -> str | None:
    """ANSI D20 three-letter code (``BRO``); spelled-out colours are mapped to it."""
    text = clean(value)
    if text is None:
        return None
    text = text.upper()
    if text in _EYE_UNKNOWN:
        return None
    return _EYE_WORDS.get(text, text)
