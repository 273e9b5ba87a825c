"""Date order by version and country, unreadable dates, ages around birthdays and leap days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from device_agent.aamva import CCYYMMDD, MMDDCCYY, AamvaParseError, LicenceData, dates, parse
from tests.device_agent.aamva.samples import SAMPLES_BY_NAME, licence


@pytest.mark.parametrize(
    ("version", "canadian", "order"),
    [
        (0, False, CCYYMMDD), (1, False, CCYYMMDD), (1, True, CCYYMMDD),
        (2, False, MMDDCCYY), (2, True, MMDDCCYY),
        (3, False, MMDDCCYY), (3, True, CCYYMMDD),
        (10, False, MMDDCCYY), (10, True, CCYYMMDD), (11, True, CCYYMMDD),
    ],
)
def test_standard_date_order(version, canadian, order):
    assert dates.standard_order(version, canadian) == order


@pytest.mark.parametrize(
    ("value", "order", "expected"),
    [
        ("02292000", MMDDCCYY, date(2000, 2, 29)),
        ("20000229", CCYYMMDD, date(2000, 2, 29)),
        ("02291900", MMDDCCYY, None),  # 1900 was not a leap year
        ("02302000", MMDDCCYY, None),
        ("13012000", MMDDCCYY, None),
        ("00012000", MMDDCCYY, None),
        ("20001301", CCYYMMDD, None),
        ("18991231", CCYYMMDD, None),
        ("12311899", MMDDCCYY, None),
        ("1231200", MMDDCCYY, None),
        ("123120000", MMDDCCYY, None),
        ("12/31/00", MMDDCCYY, None),
        ("\u0661\u0662\u0663\u0661\u0662\u0660\u0660\u0660", MMDDCCYY, None),
    ],
)
def test_reading_a_date(value, order, expected):
    assert dates.read_date(value, order) == expected


def test_both_orders_never_give_a_plausible_date():
    """The premise of the fallback (see dates.py): no eight digits read both ways."""
    for first_two in range(100):
        for rest in ("010101", "011231", "120229", "990101"):
            value = f"{first_two:02d}{rest}"
            readings = [dates.read_date(value, order) for order in (MMDDCCYY, CCYYMMDD)]
            assert None in readings, value


@pytest.mark.parametrize(
    ("version", "iin", "country", "dbb", "born", "swapped"),
    [
        (10, "636000", "USA", "01021990", date(1990, 1, 2), False),
        (10, "636000", "USA", "19900102", date(1990, 1, 2), True),
        (10, "636028", "CAN", "19900102", date(1990, 1, 2), False),
        (10, "636028", "CAN", "01021990", date(1990, 1, 2), True),
        (3, "636012", "CAN", "19900102", date(1990, 1, 2), False),
        (2, "636017", "CAN", "01021990", date(1990, 1, 2), False),
        (1, "636010", None, "19900102", date(1990, 1, 2), False),
        (1, "636010", None, "01021990", date(1990, 1, 2), True),
    ],
    ids=["us-v10", "us-v10-iso", "ca-v10", "ca-v10-us-order", "ca-v03", "ca-v02", "us-v01",
         "us-v01-us-order"],
)
def test_date_order_across_us_and_canada(version, iin, country, dbb, born, swapped):
    payload = licence(version=version, iin=iin, DCG=country, DAJ=None, DBB=dbb, DBA=None,
                      DBD=None, DCT="JANE")
    payload = payload.replace("DCS", "DBA00000000\nDCS", 1)

    result = parse(payload)

    assert result.date_of_birth == born
    assert any(warning.startswith("date of birth is in") for warning in result.warnings) == swapped


def test_the_same_person_is_the_same_age_on_us_and_canadian_cards():
    us = parse(licence(version=10, iin="636000", DBB="02292004", DBA="02282030"))
    canadian = parse(
        licence(version=10, iin="636028", DAJ="BC", DCG="CAN", DBB="20040229", DBA="20300228")
    )

    assert us.date_of_birth == canadian.date_of_birth == date(2004, 2, 29)
    for day in (date(2022, 2, 28), date(2022, 3, 1), date(2025, 2, 28), date(2025, 3, 1)):
        assert us.age_on(day) == canadian.age_on(day)
        assert us.is_under(21, on=day) == canadian.is_under(21, on=day)


@pytest.mark.parametrize(
    ("dbb", "message"),
    [
        ("13452001", "unreadable date of birth '13452001'"),
        ("02302001", "unreadable date of birth '02302001'"),
        ("0606198", "unreadable date of birth '0606198'"),
        ("06-06-1986", "unreadable date of birth '06-06-1986'"),
        ("\u00e9" + "9" * 40, "unreadable date of birth '?9999999999999999999'"),
        ("", "date of birth missing"),
        (None, "date of birth missing"),
    ],
)
def test_unusable_date_of_birth_is_refused(dbb, message):
    with pytest.raises(AamvaParseError) as caught:
        parse(licence(DBB=dbb))

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("dba", "message"),
    [("12322030", "unreadable expiry date '12322030'"), (None, "expiry date missing")],
)
def test_unusable_expiry_is_refused(dba, message):
    with pytest.raises(AamvaParseError, match=f"^{message}$"):
        parse(licence(DBA=dba))


@pytest.mark.parametrize("dba", ["00000000", "99999999"])
def test_non_expiring_document(dba):
    result = parse(licence(DBA=dba))

    assert result.expiry_date is None
    assert not result.expired
    assert not result.is_expired(on=date(2999, 1, 1))
    assert "document has no expiry date" in result.warnings


def test_unreadable_optional_dates_are_dropped_with_a_warning():
    result = parse(licence(DBD="99999999", DDJ="12345678"))

    assert (result.issue_date, result.under_21_until) == (None, None)
    assert "unreadable issue date ignored" in result.warnings
    assert "unreadable under-21 date ignored" in result.warnings


def test_birth_after_issue_is_flagged():
    result = parse(licence(DBD="01012000", DBB="01012001"))

    assert "date of birth is after the issue date" in result.warnings


def _born(day: date, expires: date = date(2040, 1, 1)) -> LicenceData:
    return parse(licence(DBB=day.strftime("%m%d%Y"), DBA=expires.strftime("%m%d%Y"), DBD=None))


@pytest.mark.parametrize(
    ("on", "age", "under_21"),
    [
        (date(2021, 6, 14), 20, True),
        (date(2021, 6, 15), 21, False),
        (date(2021, 6, 16), 21, False),
        (date(2021, 1, 1), 20, True),
        (date(2020, 12, 31), 20, True),
        (date(2020, 6, 14), 19, True),
        (date(2000, 6, 15), 0, True),
    ],
)
def test_age_around_a_birthday(on, age, under_21):
    holder = _born(date(2000, 6, 15))

    assert holder.age_on(on) == age
    assert holder.is_under(21, on=on) is under_21


@pytest.mark.parametrize(
    ("on", "age"),
    [
        (date(2021, 2, 28), 20),
        (date(2021, 3, 1), 21),
        (date(2024, 2, 28), 23),
        (date(2024, 2, 29), 24),
        (date(2024, 3, 1), 24),
        (date(2100, 2, 28), 99),
        (date(2100, 3, 1), 100),
    ],
)
def test_leap_day_birthday_counts_from_1_march_in_common_years(on, age):
    assert _born(date(2000, 2, 29)).age_on(on) == age


def test_leap_day_birthday_and_age_limits():
    holder = _born(date(2004, 2, 29))

    assert holder.turns(18) == date(2022, 3, 1)
    assert holder.turns(20) == date(2024, 2, 29)
    assert holder.turns(21) == date(2025, 3, 1)
    assert holder.is_under(21, on=date(2025, 2, 28))
    assert not holder.is_under(21, on=date(2025, 3, 1))
    assert holder.is_under(18, on=date(2022, 2, 28))
    assert not holder.is_under(18, on=date(2022, 3, 1))


def test_leap_day_rule_agrees_with_the_issuers_own_under_21_date():
    holder = parse(SAMPLES_BY_NAME["v10-BC-leap-day-birth"].payload)

    assert holder.turns(21) == holder.under_21_until
    assert holder.turns(18) == date(2018, 3, 1)


def test_under_age_dates_agree_with_the_date_of_birth():
    holder = parse(SAMPLES_BY_NAME["v10-WA-minor-with-under-age-dates"].payload)

    assert holder.under_18_until == holder.turns(18)
    assert holder.under_19_until == holder.turns(19)
    assert holder.under_21_until == holder.turns(21)


def test_a_datetime_counts_as_its_day():
    holder = _born(date(2000, 6, 15), expires=date(2030, 5, 31))

    assert not holder.is_under(21, on=datetime(2021, 6, 15, 0, 0, 1))
    assert holder.age_on(datetime(2021, 6, 14, 23, 59)) == 20
    assert not holder.is_expired(on=datetime(2030, 5, 31, 23, 59))


def test_is_under_defaults_to_today():
    today = date.today()
    assert _born(today - timedelta(days=366 * 30)).is_under(21) is False
    assert _born(today - timedelta(days=365 * 10)).is_under(21) is True


@pytest.mark.parametrize("years", [-1, 151])
def test_absurd_age_question_is_a_programming_error(years):
    with pytest.raises(ValueError):
        _born(date(2000, 1, 1)).is_under(years, on=date(2020, 1, 1))


def test_expiry_is_inclusive():
    holder = _born(date(1990, 1, 1), expires=date(2030, 5, 31))

    assert not holder.is_expired(on=date(2030, 5, 31))
    assert holder.is_expired(on=date(2030, 6, 1))


def test_expired_property_uses_today():
    assert parse(licence(DBA="12102024")).expired is True
    assert parse(licence(DBA="12102199")).expired is False
