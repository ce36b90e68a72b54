"""The legal holidays of a jurisdiction: the ``holidays`` library's calendar plus the statute's extras.

``holidays.country_holidays(country, subdiv=..., observed=..., categories=...)`` gives the
calendar; with ``observed`` it holds both a holiday's own date and its observed (shifted)
date, and both are forbidden. The entry's ``extra`` adds what the library does not compute:

* ``"MM-DD"``: that date every year (with ``observed``, a Saturday date also forbids the
  Friday before and a Sunday date the Monday after, as the library shifts its own);
* ``good_friday``: two days before Western Easter;
* ``us_general_election_day``: the Tuesday next after the first Monday of November in
  even-numbered years (R.I. Gen. Laws 25-1-1: "in each year in which a general election of
  state officers is held"; state general elections are biennial, in even years);
* ``sat_to_next_mon``: a holiday on a Saturday is also observed the following Monday
  (R.I. Gen. Laws 25-1-1), on top of the library's Friday;
* ``governor_declared``: days a governor declares; no calendar can compute them, so the
  operator lists them as blackout dates (see ``HolidayRule.needs_operator_dates``).

Computed once per (rule, year): the library is imported on first use, so a function whose
numbers never meet a holiday rule does not load it.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import cast

from two_way_sms.rules.table import (
    GOOD_FRIDAY,
    SATURDAY_TO_NEXT_MONDAY,
    US_GENERAL_ELECTION_DAY,
    HolidayRule,
    fixed_date,
)

SATURDAY, SUNDAY = 5, 6


def is_legal_holiday(rule: HolidayRule, day: date) -> bool:
    """True when ``day`` (the recipient's local date) is a forbidden day of ``rule``."""
    return day in legal_holidays(rule, day.year)


@lru_cache(maxsize=256)
def legal_holidays(rule: HolidayRule, year: int) -> frozenset[date]:
    """Every date of ``year`` on which ``rule`` forbids solicitations (own and observed dates)."""
    days = _library_days(rule, year)
    for extra in rule.extra:
        for each_year in (year - 1, year, year + 1):  # an observed shift may cross New Year
            days |= _extra_days(extra, each_year, observed=rule.observed)
    if SATURDAY_TO_NEXT_MONDAY in rule.extra:
        days |= {day + timedelta(days=2) for day in days if day.weekday() == SATURDAY}
    return frozenset(day for day in days if day.year == year)


def _library_days(rule: HolidayRule, year: int) -> set[date]:
    import holidays  # the library is large: loaded only when a holiday rule is consulted

    calendar = holidays.country_holidays(
        rule.country,
        subdiv=rule.subdivision,
        years=range(year - 1, year + 2),
        observed=rule.observed,
        categories=rule.categories,
    )
    return set(calendar.keys())


def _extra_days(extra: str, year: int, *, observed: bool) -> set[date]:
    month_day = fixed_date(extra)
    if month_day is not None:
        day = date(year, *month_day)
        return {day, *(_observed_shift(day) if observed else ())}
    if extra == GOOD_FRIDAY:
        return {easter(year) - timedelta(days=2)}
    if extra == US_GENERAL_ELECTION_DAY:
        return {general_election_day(year)} if year % 2 == 0 else set()
    return set()  # sat_to_next_mon (applied to every date above) and governor_declared (the operator's dates)


def _observed_shift(day: date) -> tuple[date, ...]:
    """The library's US rule: Saturday -> the Friday before, Sunday -> the Monday after."""
    if day.weekday() == SATURDAY:
        return (day - timedelta(days=1),)
    if day.weekday() == SUNDAY:
        return (day + timedelta(days=1),)
    return ()


def general_election_day(year: int) -> date:
    """The Tuesday next after the first Monday of November of ``year`` (2 to 8 November)."""
    first = date(year, 11, 1)
    first_monday = first + timedelta(days=-first.weekday() % 7)
    return first_monday + timedelta(days=1)


def easter(year: int) -> date:
    """Western Easter Sunday of ``year`` (``dateutil``, which ``holidays`` depends on)."""
    from dateutil.easter import easter as western_easter  # type: ignore[import-untyped]

    return cast(date, western_easter(year))
