"""What a parsed licence looks like."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

from . import dates

_MAX_AGE_QUERY = 150


class Sex(enum.Enum):
    MALE = "M"
    FEMALE = "F"
    NOT_SPECIFIED = "X"


class Truncation(enum.Enum):
    """DDE/DDF/DDG: whether the issuer had to shorten a name to fit the card."""

    TRUNCATED = "T"
    NOT_TRUNCATED = "N"
    UNKNOWN = "U"


@dataclass(frozen=True)
class Height:
    """A height as the card states it: ``value`` in ``unit`` ("in" or "cm")."""

    value: int
    unit: str

    def to_centimetres(self) -> int:
        return self.value if self.unit == "cm" else round(self.value * 2.54)


# Personal fields are left out of repr() so that logging a record by mistake leaks nothing.
@dataclass(frozen=True)
class LicenceData:
    """One driver licence or ID card, as its PDF417 barcode describes it.

    ``warnings`` lists what had to be repaired or guessed to read the barcode; it never
    contains personal data, so it may be logged or sent to the server.
    """

    version: int
    iin: str
    document_type: str
    date_of_birth: date = field(repr=False)
    expiry_date: date | None = field(repr=False)
    jurisdiction: str | None
    country: str | None
    date_order: str
    jurisdiction_version: int | None = None
    issuer_jurisdiction: str | None = None
    issue_date: date | None = field(default=None, repr=False)
    family_name: str | None = field(default=None, repr=False)
    first_name: str | None = field(default=None, repr=False)
    middle_names: tuple[str, ...] = field(default=(), repr=False)
    name_suffix: str | None = field(default=None, repr=False)
    family_name_truncation: Truncation | None = None
    first_name_truncation: Truncation | None = None
    middle_name_truncation: Truncation | None = None
    sex: Sex | None = field(default=None, repr=False)
    document_number: str | None = field(default=None, repr=False)
    document_discriminator: str | None = field(default=None, repr=False)
    street: str | None = field(default=None, repr=False)
    street_2: str | None = field(default=None, repr=False)
    city: str | None = field(default=None, repr=False)
    postal_code: str | None = field(default=None, repr=False)
    height: Height | None = field(default=None, repr=False)
    eye_colour: str | None = field(default=None, repr=False)
    under_18_until: date | None = field(default=None, repr=False)
    under_19_until: date | None = field(default=None, repr=False)
    under_21_until: date | None = field(default=None, repr=False)
    warnings: tuple[str, ...] = ()

    @property
    def middle_name(self) -> str | None:
        return " ".join(self.middle_names) or None

    def turns(self, years: int) -> date:
        """The day the holder reaches ``years`` of age."""
        if not 0 <= years <= _MAX_AGE_QUERY:
            raise ValueError(f"age must be between 0 and {_MAX_AGE_QUERY}")
        return dates.anniversary(self.date_of_birth, years)

    def age_on(self, on: date) -> int:
        """Completed years of age on ``on`` (29 February birthdays count from 1 March)."""
        return dates.age_on(self.date_of_birth, _day(on))

    def is_under(self, years: int, on: date | None = None) -> bool:
        """Whether the holder is younger than ``years`` on ``on`` (default: today)."""
        return _day(on) < self.turns(years)

    def is_expired(self, on: date | None = None) -> bool:
        """Whether the document has expired by ``on`` (default: today).

        A document is valid through its expiry date. One that never expires
        (``expiry_date`` None, see ``warnings``) is never expired.
        """
        if self.expiry_date is None:
            return False
        return _day(on) > self.expiry_date

    @property
    def expired(self) -> bool:
        return self.is_expired()


def _day(on: date | None) -> date:
    """The calendar day asked about: today by default, and a datetime counts as its date."""
    if on is None:
        return date.today()
    return on.date() if isinstance(on, datetime) else on
