"""AAMVA driver-licence / ID-card barcode (PDF417) parsing, standard library only.

    from device_agent.aamva import AamvaParseError, parse

    licence = parse(scanned_text)          # str or bytes, straight from the scanner
    licence.is_under(21), licence.expired  # ages and expiry relative to today

``parse`` raises ``AamvaParseError`` (and nothing else) with a message fit for the person at
the till. The result's personal fields stay on the device: see docs/architecture.md,
"Rules of the house".
"""

from __future__ import annotations

from .dates import CCYYMMDD, MMDDCCYY
from .errors import AamvaParseError
from .parser import parse
from .record import Height, LicenceData, Sex, Truncation

__all__ = [
    "CCYYMMDD",
    "MMDDCCYY",
    "AamvaParseError",
    "Height",
    "LicenceData",
    "Sex",
    "Truncation",
    "parse",
]
