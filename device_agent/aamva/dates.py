"""AAMVA dates: which digit order a document uses, reading them, and ages.

Which order
-----------
The standard has changed its mind over the years:

* version 00/01 (DL/ID-2000): ``CCYYMMDD`` everywhere. The standard's own example and every
  public version-01 sample (Connecticut, Florida, Maryland, Missouri, Pennsylvania) agree.
* version 02 (CDS 2003): ``MMDDCCYY`` everywhere, Canada included (New Brunswick's version-02
  cards read ``DBB08081962``).
* version 03 and later: ``MMDDCCYY`` for U.S. issuers, ``CCYYMMDD`` for Canadian ones.

Real cards do not always follow their own version (Wyoming's version-04 cards carry
``CCYYMMDD``), so a date that is not a real calendar date in the prescribed order is read in
the other order, with a warning. That is never a guess between two valid readings. A
plausible year is 1900-2199: read as ``CCYYMMDD`` the first two digits are the century,
19-21; read as ``MMDDCCYY`` they are the month, 01-12. No eight digits satisfy both, so at
most one order yields a plausible date: the fallback rescues a date the prescribed order
cannot read, and never swaps one valid date for another.

Ages
----
Someone born on 29 February reaches a new age on 1 March in common years (the later of the
two candidate days, so an age check never lets a person through a day early).
"""

from __future__ import annotations

import re
from datetime import date

MMDDCCYY = "MMDDCCYY"
CCYYMMDD = "CCYYMMDD"

MIN_YEAR = 1900
MAX_YEAR = 2199

_EIGHT_DIGITS = re.compile(r"[0-9]{8}")


def standard_order(version: int, canadian: bool) -> str:
    """The digit order the standard prescribes for this version and issuer."""
    if version <= 1:
        return CCYYMMDD
    if version == 2:
        return MMDDCCYY
    return CCYYMMDD if canadian else MMDDCCYY


def other_order(order: str) -> str:
    return CCYYMMDD if order == MMDDCCYY else MMDDCCYY


def read_date(value: str, order: str) -> date | None:
    """The date eight digits spell in ``order``, or None if they are not a plausible date."""
    if not _EIGHT_DIGITS.fullmatch(value):
        return None
    if order == MMDDCCYY:
        month, day, year = int(value[0:2]), int(value[2:4]), int(value[4:8])
    else:
        year, month, day = int(value[0:4]), int(value[4:6]), int(value[6:8])
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def resolve_date(value: str, order: str) -> tuple[date | None, bool]:
    """Read ``value`` in ``order``, else in the other order.

    Returns the date (or None when neither order gives one) and whether the other order
    was needed. See the module docstring for why the fallback cannot mask a valid date.
    """
    found = read_date(value, order)
    if found is not None:
        return found, False
    found = read_date(value, other_order(order))
    return found, found is not None


def anniversary(born: date, years: int) -> date:
    """The day someone born on ``born`` turns ``years`` old (29 February -> 1 March)."""
    year = born.year + years
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def age_on(born: date, on: date) -> int:
    """Completed years of age on ``on``."""
    years = on.year - born.year
    if on < anniversary(born, years):
        years -= 1
    return years
