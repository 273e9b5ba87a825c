"""AAMVA (version 08) barcode text for invented people, for the fleet simulator.

Simulated scanners feed this text through the real parser and the real reduction, so a
demo exercises the same path as a till; nobody real is ever involved.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

ISSUERS = (("636014", "CA"), ("636001", "NY"), ("636015", "TX"), ("636010", "FL"),
           ("636035", "IL"), ("636045", "WA"))
_FAMILY_NAMES = ("MORGAN", "RIVERA", "CHEN", "OKAFOR", "NOVAK", "SILVA", "HARRIS", "PATEL")
_FIRST_NAMES = ("ALEX", "JORDAN", "SAM", "TAYLOR", "RILEY", "CASEY", "JAMIE", "DREW")


@dataclass(frozen=True)
class SyntheticLicence:
    family_name: str
    first_name: str
    date_of_birth: date
    expiry_date: date
    document_number: str
    iin: str = "636014"
    jurisdiction: str = "CA"

    def barcode_text(self) -> str:
        """The decoded PDF417 text a scanner would deliver for this card."""
        elements = [
            ("DAQ", self.document_number),
            ("DCS", self.family_name),
            ("DAC", self.first_name),
            ("DBB", self.date_of_birth.strftime("%m%d%Y")),
            ("DBA", self.expiry_date.strftime("%m%d%Y")),
            ("DBD", (self.expiry_date - timedelta(days=5 * 365)).strftime("%m%d%Y")),
            ("DBC", "1"),
            ("DAJ", self.jurisdiction),
            ("DCG", "USA"),
        ]
        subfile = "DL" + "\n".join(code + value for code, value in elements) + "\r"
        header_length = len("@\n\x1e\rANSI ") + 6 + 2 + 2 + 2 + 10
        header = (f"@\n\x1e\rANSI {self.iin}080001"
                  f"DL{header_length:04d}{len(subfile):04d}")
        return header + subfile


def random_licence(
    rng: random.Random, today: date, *, underage: bool = False, expired: bool = False,
    underage_age: int = 21,
) -> SyntheticLicence:
    """An invented card; ``underage`` and ``expired`` pick which side of each line it falls."""
    if underage:
        age_days = rng.randint(16 * 365, underage_age * 365 - 30)
    else:
        age_days = rng.randint((underage_age + 1) * 365, 70 * 365)
    expiry = today + timedelta(days=rng.randint(30, 5 * 365))
    if expired:
        expiry = today - timedelta(days=rng.randint(1, 400))
    iin, jurisdiction = rng.choice(ISSUERS)
    return SyntheticLicence(
        family_name=rng.choice(_FAMILY_NAMES),
        first_name=rng.choice(_FIRST_NAMES),
        date_of_birth=today - timedelta(days=age_days),
        expiry_date=expiry,
        document_number=f"{jurisdiction[0]}{rng.randint(1000000, 9999999)}",
        iin=iin,
        jurisdiction=jurisdiction,
    )
