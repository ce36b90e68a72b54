"""The solicitation rules table: ``solicitation_rules.json``, read once, checked, as frozen objects.

One entry per jurisdiction: ``"US"`` (the TCPA, every US number), ``"US-XX"`` (a state,
applied on top of ``"US"`` to the numbers presumed in it) and ``"CA"`` (Canada, instead of
the TCPA). Each entry has a week of windows (``null``: no solicitation that day), its
legal holidays (a ``holidays`` calendar plus the days the statute names that the library
does not compute), a frequency cap per rolling hours, its sources and the date it was last
reviewed. ``RESEARCH.md`` beside the table says where each entry was read.

A malformed table raises :class:`RulesError` naming the entry and the field: the table
ships with the package, so a mistake fails the unit tests and synth, never a send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from two_way_sms.rules.windows import WEEKDAYS, DailyWindow, Week, intersect_weeks

TABLE_FILE = "solicitation_rules.json"
SCHEMA_VERSION = 1
_CODE = re.compile(r"(?P<country>[A-Z]{2})(?:-(?P<subdivision>[A-Z0-9]{1,3}))?")
_CLOCK = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")
_FIXED_DATE = re.compile(r"(?P<month>[01][0-9])-(?P<day>[0-3][0-9])")
# The named days of ``legal_holidays.extra`` besides fixed "MM-DD" dates (rules/calendar.py computes them).
GOOD_FRIDAY = "good_friday"
US_GENERAL_ELECTION_DAY = "us_general_election_day"
SATURDAY_TO_NEXT_MONDAY = "sat_to_next_mon"
GOVERNOR_DECLARED = "governor_declared"  # not computable: the operator's blackout dates
NAMED_EXTRAS = (GOOD_FRIDAY, US_GENERAL_ELECTION_DAY, SATURDAY_TO_NEXT_MONDAY, GOVERNOR_DECLARED)
HOLIDAY_CATEGORIES = ("public", "government", "unofficial", "optional", "half_day")
FORBIDDEN = "forbidden"


class RulesError(ValueError):
    """The rules table is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class Source:
    """Where a rule comes from: the citation, the official publisher's URL, the words read."""

    citation: str
    url: str
    quote: str


@dataclass(frozen=True)
class HolidayRule:
    """No solicitation on the legal holidays of ``calendar`` (``"US-AL"``: the ``holidays``
    library's US calendar for Alabama), in ``categories``, on their observed days too when
    ``observed``, plus ``extra`` (fixed "MM-DD" dates and the named days of NAMED_EXTRAS)."""

    calendar: str
    observed: bool
    categories: tuple[str, ...]
    which: str
    holidays_library: str  # the call, for people: the code makes it from the fields above
    extra: tuple[str, ...] = ()

    @property
    def country(self) -> str:
        return self.calendar.partition("-")[0]

    @property
    def subdivision(self) -> str | None:
        return self.calendar.partition("-")[2] or None

    @property
    def needs_operator_dates(self) -> bool:
        """True when the law adds days no calendar can compute (a governor's declaration):
        the operator lists them as blackout dates."""
        return GOVERNOR_DECLARED in self.extra


@dataclass(frozen=True)
class FrequencyCap:
    """At most ``count`` solicitations per rolling ``hours`` to one recipient number, counted as ``counts`` says:
    those on the same subject (``same_subject``), or every one of them (Oregon's)."""

    count: int
    hours: int
    counts: str
    same_subject: bool = True


@dataclass(frozen=True)
class Jurisdiction:
    """One entry of the table."""

    code: str  # "US", "US-FL", "CA"
    name: str
    applies_to: str
    windows: Week  # as the rule is written; the windows in force also take the parent's (RulesTable.week)
    legal_holidays: HolidayRule | None
    frequency_cap: FrequencyCap | None
    sources: tuple[Source, ...]
    stricter_reading: str | None
    reviewed: date

    @property
    def country(self) -> str:
        return self.code.partition("-")[0]

    @property
    def parent(self) -> str | None:
        """The country entry a subdivision's rules apply on top of (``"US"`` for ``"US-FL"``)."""
        return self.country if "-" in self.code else None


@dataclass(frozen=True)
class RulesTable:
    """Every jurisdiction's rules, by code."""

    schema_version: int
    reviewed: date
    notes: str
    jurisdictions: Mapping[str, Jurisdiction]

    def chain(self, code: str) -> tuple[Jurisdiction, ...]:
        """The entries whose rules apply to a number of jurisdiction ``code``, country first:
        ``("US", "US-FL")`` for a Florida number. A KeyError for a code not in the table."""
        entry = self.jurisdictions[code]
        if entry.parent is None:
            return (entry,)
        return (self.jurisdictions[entry.parent], entry)

    def week(self, code: str) -> Week:
        """The legal windows in force for ``code``: its own, intersected with its country's."""
        chain = self.chain(code)
        return intersect_weeks(chain[0].windows, *(entry.windows for entry in chain[1:]))

    def countries(self) -> tuple[str, ...]:
        """The countries with an entry (``"US"``, ``"CA"``), in table order."""
        return tuple(dict.fromkeys(entry.country for entry in self.jurisdictions.values()))


@lru_cache(maxsize=1)
def load_rules() -> RulesTable:
    """The table shipped with the package, read and checked once per process."""
    text = resources.files("two_way_sms.rules").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    return parse_rules(json.loads(text))


def parse_rules(data: Any) -> RulesTable:
    """The table from its JSON document; RulesError naming the entry and field when malformed."""
    document = _object(data, "the rules table", required={"schema_version", "reviewed", "notes", "jurisdictions"})
    if document["schema_version"] != SCHEMA_VERSION:
        raise RulesError(f"the rules table's schema_version {document['schema_version']!r} is not {SCHEMA_VERSION}")
    entries = _object(document["jurisdictions"], "jurisdictions")
    jurisdictions = {code: _jurisdiction(code, entry) for code, entry in entries.items()}
    for code, entry in jurisdictions.items():
        if entry.parent is not None and entry.parent not in jurisdictions:
            raise RulesError(f"jurisdiction {code!r} has no entry for its country {entry.parent!r}")
    return RulesTable(
        schema_version=SCHEMA_VERSION,
        reviewed=_date(document["reviewed"], "the rules table's reviewed"),
        notes=_text(document["notes"], "the rules table's notes"),
        jurisdictions=MappingProxyType(jurisdictions),
    )


def _jurisdiction(code: str, data: Any) -> Jurisdiction:
    if not _CODE.fullmatch(code):
        raise RulesError(f"jurisdiction code {code!r} must be a country (US) or country-subdivision (US-FL)")
    where = f"jurisdiction {code}"
    entry = _object(
        data,
        where,
        required={"name", "windows", "legal_holidays", "frequency_cap", "sources", "reviewed"},
        optional=frozenset({"applies_to", "stricter_reading"}),
    )
    sources = entry["sources"]
    if not isinstance(sources, list) or not sources:
        raise RulesError(f"{where} must have at least one source")
    return Jurisdiction(
        code=code,
        name=_text(entry["name"], f"{where} name"),
        applies_to=_text(entry.get("applies_to", ""), f"{where} applies_to", empty=True),
        windows=_week(entry["windows"], where),
        legal_holidays=None if entry["legal_holidays"] is None else _holidays(entry["legal_holidays"], where),
        frequency_cap=None if entry["frequency_cap"] is None else _cap(entry["frequency_cap"], where),
        sources=tuple(_source(source, f"{where} source {n}") for n, source in enumerate(sources, 1)),
        stricter_reading=_optional_text(entry.get("stricter_reading"), f"{where} stricter_reading"),
        reviewed=_date(entry["reviewed"], f"{where} reviewed"),
    )


def _week(data: Any, where: str) -> Week:
    days = _object(data, f"{where} windows", required=set(WEEKDAYS))
    return tuple(_window(days[day], f"{where} windows.{day}") for day in WEEKDAYS)


def _window(data: Any, where: str) -> DailyWindow | None:
    if data is None:
        return None
    if not (
        isinstance(data, list) and len(data) == 2 and all(isinstance(t, str) and _CLOCK.fullmatch(t) for t in data)
    ):
        raise RulesError(f'{where} {data!r} must be null or ["HH:MM", "HH:MM"]')
    try:
        return DailyWindow(time.fromisoformat(data[0]), time.fromisoformat(data[1]))
    except ValueError as error:
        raise RulesError(f"{where}: {error}") from None


def _holidays(data: Any, where: str) -> HolidayRule:
    where = f"{where} legal_holidays"
    entry = _object(
        data,
        where,
        required={"calendar", "rule", "observed", "categories", "which"},
        optional=frozenset({"holidays_library", "extra"}),
    )
    calendar = _text(entry["calendar"], f"{where}.calendar")
    if not _CODE.fullmatch(calendar):
        raise RulesError(f"{where}.calendar {calendar!r} must look like US or US-AL")
    if entry["rule"] != FORBIDDEN:
        raise RulesError(f"{where}.rule {entry['rule']!r} must be {FORBIDDEN!r}")
    if not isinstance(entry["observed"], bool):
        raise RulesError(f"{where}.observed {entry['observed']!r} must be true or false")
    categories = entry["categories"]
    if not (isinstance(categories, list) and categories and all(c in HOLIDAY_CATEGORIES for c in categories)):
        raise RulesError(f"{where}.categories {categories!r} must be a list of {', '.join(HOLIDAY_CATEGORIES)}")
    extra = entry.get("extra", [])
    if not isinstance(extra, list):
        raise RulesError(f"{where}.extra {extra!r} must be a list")
    for item in extra:
        _check_extra(item, f"{where}.extra")
    return HolidayRule(
        calendar=calendar,
        observed=entry["observed"],
        categories=tuple(categories),
        which=_text(entry["which"], f"{where}.which"),
        holidays_library=_text(entry.get("holidays_library", ""), f"{where}.holidays_library", empty=True),
        extra=tuple(extra),
    )


def _check_extra(item: Any, where: str) -> None:
    if item in NAMED_EXTRAS:
        return
    match = _FIXED_DATE.fullmatch(item) if isinstance(item, str) else None
    if match is None:
        raise RulesError(f'{where} {item!r} must be "MM-DD" or one of {", ".join(NAMED_EXTRAS)}')
    try:
        date(2025, int(match["month"]), int(match["day"]))  # a year without 29 February: every year has the day
    except ValueError:
        raise RulesError(f"{where} {item!r} is not a date every year has") from None


def fixed_date(item: str) -> tuple[int, int] | None:
    """(month, day) of a fixed "MM-DD" extra; None for a named one."""
    match = _FIXED_DATE.fullmatch(item)
    return (int(match["month"]), int(match["day"])) if match else None


def _cap(data: Any, where: str) -> FrequencyCap:
    where = f"{where} frequency_cap"
    entry = _object(data, where, required={"count", "hours", "subject", "counts"})
    for name in ("count", "hours"):
        value = entry[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise RulesError(f"{where}.{name} {value!r} must be a whole number >= 1")
    if entry["subject"] not in ("same", "any"):
        raise RulesError(
            f'{where}.subject {entry["subject"]!r} must be "same" (per subject) or "any" (every solicitation)'
        )
    return FrequencyCap(
        count=entry["count"],
        hours=entry["hours"],
        counts=_text(entry["counts"], f"{where}.counts"),
        same_subject=entry["subject"] == "same",
    )


def _source(data: Any, where: str) -> Source:
    entry = _object(data, where, required={"citation", "url"}, optional=frozenset({"quote"}))
    url = _text(entry["url"], f"{where} url")
    if not url.startswith(("https://", "http://")):
        raise RulesError(f"{where} url {url!r} must be an http(s) address")
    return Source(
        citation=_text(entry["citation"], f"{where} citation"),
        url=url,
        quote=_text(entry.get("quote", ""), f"{where} quote", empty=True),
    )


def _object(
    data: Any, where: str, *, required: set[str] | None = None, optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RulesError(f"{where} must be an object, not {type(data).__name__}")
    if required is not None:
        missing = sorted(required - set(data))
        if missing:
            raise RulesError(f"{where} has no {', '.join(missing)}")
        unknown = sorted(set(data) - required - optional)
        if unknown:
            raise RulesError(f"{where} has unknown fields: {', '.join(unknown)}")
    return data


def _text(value: Any, where: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise RulesError(f"{where} {value!r} must be {'text' if empty else 'non-empty text'}")
    return value


def _optional_text(value: Any, where: str) -> str | None:
    return None if value is None else _text(value, where)


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else date.fromisoformat("")
    except ValueError:
        raise RulesError(f"{where} {value!r} must be a date YYYY-MM-DD") from None
