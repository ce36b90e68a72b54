"""Quiet hours: when a PROMOTIONAL text may reach a recipient, in the recipient's local time.

The rules come from the table shipped in ``two_way_sms.rules`` (``solicitation_rules.json``):

* a US number (US and its territories, where the TCPA applies) gets the ``"US"`` entry
  (8:00-21:00) and, when its area code is in a state with an entry, that state's too: the
  intersection of both windows, closed on the state's closed weekdays and on its legal
  holidays (the recipient's local date). An area code is presumed to be in its state
  (Fla. Stat. 501.059, 15 O.S. 775C, Conn. Gen. Stat. 42-288(c));
* a Canadian number (``region_code_for_number == "CA"``) gets the ``"CA"`` entry, not the TCPA;
* any other number gets the configured default window (``QuietHoursRules.default``) and no
  other rule.

The operator tightens the legal rules here: a stricter week per jurisdiction
(``QuietHoursRules.states``), blackout dates and lower caps. A legal rule is loosened only
by a named waiver (``QuietHoursRules.waivers``: the config's ``overrides``, each with its
reason, printed by synth). Transactional replies to a customer's own message are not
solicitations: only PROMOTIONAL sends are held.

The recipient's time zones come from ``phonenumbers`` (its time-zone table ships in the
Lambda layer; its geocoding table does not, so the area codes of the states with an entry
are listed here and checked against ``phonenumbers``' geocoder by the unit tests). A number
whose area or exchange spans several time zones (Alaska's 907, Nevada's 775) may only be
texted when every one of them is inside its window, each on its own local date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from two_way_sms.rules.calendar import is_legal_holiday
from two_way_sms.rules.in_force import OPERATOR_CAP, RuleInForce, RulesInForce, rules_in_force
from two_way_sms.rules.table import FrequencyCap, RulesTable, load_rules
from two_way_sms.rules.windows import DailyWindow, Week, checked_week, intersect_days, intersect_weeks

if TYPE_CHECKING:
    import phonenumbers

__all__ = [
    "ALL_JURISDICTIONS",
    "CAP",
    "HOLIDAYS",
    "SUNDAYS",
    "WAIVABLE_RULES",
    "WINDOW",
    "MAX_CANDIDATE_ZONES",
    "SEARCH_DAYS",
    "TCPA_WINDOW",
    "US_REGIONS",
    "US_STATE_AREA_CODES",
    "DailyWindow",
    "QuietHoursRules",
    "Recipient",
    "Week",
    "is_quiet",
    "jurisdiction_of",
    "locate",
    "next_allowed",
]

# Area codes of the US states (and Puerto Rico) with an entry in the rules table (phonenumbers' geocoder, 2026).
US_STATE_AREA_CODES: dict[str, tuple[int, ...]] = {
    "US-AL": (205, 251, 256, 334, 659, 938),
    "US-CT": (203, 475, 860, 959),
    "US-FL": (
        239,
        305,
        321,
        324,
        352,
        386,
        407,
        448,
        561,
        645,
        656,
        689,
        727,
        728,
        754,
        772,
        786,
        813,
        850,
        863,
        904,
        941,
        954,
    ),
    "US-KY": (270, 364, 502, 606, 859),
    "US-LA": (225, 318, 337, 504, 985),
    "US-MA": (339, 351, 413, 508, 617, 774, 781, 857, 978),
    "US-MD": (227, 240, 301, 410, 443, 667),
    "US-MS": (228, 601, 662, 769),
    "US-NM": (505, 575),
    "US-OK": (405, 539, 572, 580, 918),
    "US-OR": (458, 503, 541, 971),
    "US-PA": (215, 223, 267, 272, 412, 445, 484, 570, 582, 610, 717, 724, 814, 835, 878),
    "US-PR": (787, 939),
    "US-RI": (401,),
    "US-SD": (605,),
    "US-TX": (
        210,
        214,
        254,
        281,
        325,
        346,
        361,
        409,
        430,
        432,
        469,
        512,
        682,
        713,
        726,
        737,
        806,
        817,
        830,
        832,
        903,
        915,
        936,
        940,
        945,
        956,
        972,
        979,
    ),
    "US-UT": (385, 435, 801),
    "US-WA": (206, 253, 360, 425, 509, 564),
}
_JURISDICTION_BY_AREA_CODE = {code: state for state, codes in US_STATE_AREA_CODES.items() for code in codes}
# The TCPA reaches the territories too (47 U.S.C. 153: "United States" includes them).
US_REGIONS = frozenset({"US", "PR", "VI", "GU", "AS", "MP"})
# Beyond this many candidate zones (toll-free, non-geographic numbers) the zone says nothing.
MAX_CANDIDATE_ZONES = 4
# Far enough for a closed Sunday after a holiday weekend and a blackout week: the next opening is found.
SEARCH_DAYS = 14
ALL_JURISDICTIONS = "*"  # a blackout date for every number

TCPA_WINDOW = DailyWindow(time(8), time(21))
_ALL_DAY = DailyWindow(time.min, time.max)
_SUNDAY = 6
# The legal rules a named waiver (the config's ``overrides``) can lift, per jurisdiction:
WINDOW = "window"  # its own week (hours and closed days) is replaced by the operator's (``states``)
SUNDAYS = "sundays"  # its Sunday closure is lifted (Sunday: the operator's window for it, else its country's)
HOLIDAYS = "holidays"  # its legal holidays are not applied
CAP = "cap"  # its frequency cap is not applied (the operator's own cap, if any, still is)
WAIVABLE_RULES = (WINDOW, SUNDAYS, HOLIDAYS, CAP)


@dataclass(frozen=True)
class QuietHoursRules:
    """The rules to apply: the rules table, ``default`` for numbers of other countries, and the
    operator's tightening and named waivers.

    ``states``: a stricter week per jurisdiction (``"US-FL"``, or ``"FL"`` for a US state;
    ``"US"``, ``"CA"``), Monday first, ``None`` for a closed day; it is intersected with the
    legal week, so it can only tighten, unless a ``WINDOW`` waiver makes it the jurisdiction's
    week. An entry that changes nothing is dropped.
    ``blackout_dates``: local dates on which no promotional text goes, per jurisdiction, or
    for every number under ``ALL_JURISDICTIONS`` (a governor-declared holiday, a day of mourning).
    ``caps``: a lower count per jurisdiction, in its legal cap's hours (24 without one), counted
    by subject like the law's.
    ``waivers``: ``(jurisdiction, rule)`` pairs, rule one of WAIVABLE_RULES: legal rules lifted.
    """

    default: DailyWindow = TCPA_WINDOW
    states: Mapping[str, Week] = field(default_factory=lambda: MappingProxyType({}))
    blackout_dates: Mapping[str, frozenset[date]] = field(default_factory=lambda: MappingProxyType({}))
    caps: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    waivers: frozenset[tuple[str, str]] = frozenset()
    table: RulesTable = field(default_factory=load_rules, compare=False, repr=False)

    def __post_init__(self) -> None:
        waivers = frozenset((self._code(code, "waiver of"), rule) for code, rule in self.waivers)
        for code, rule in waivers:
            if rule not in WAIVABLE_RULES:
                raise ValueError(f"waiver of {code} {rule!r} must be one of {', '.join(WAIVABLE_RULES)}")
        waived = {code for code, _ in waivers}
        tighter: dict[str, Week] = {}
        for name, week in self.states.items():
            code = self._code(name, "quiet hours state")
            week = checked_week(week, f"state {name!r}")
            legal = self.table.week(code)
            if code in waived or intersect_weeks(legal, week) != legal:
                tighter[code] = week
        for code, rule in waivers:
            if rule == WINDOW and code not in tighter:
                raise ValueError(f"waiver of {code}'s window needs the week to use instead")
        blackouts: dict[str, frozenset[date]] = {}
        for name, days in self.blackout_dates.items():
            code = name if name == ALL_JURISDICTIONS else self._code(name, "blackout dates of")
            if days:
                blackouts[code] = frozenset(days)
        caps: dict[str, int] = {}
        for name, count in self.caps.items():
            code = self._code(name, "cap of")
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise ValueError(f"cap of {code} {count!r} must be a whole number >= 1")
            caps[code] = count
        object.__setattr__(self, "states", MappingProxyType(tighter))
        object.__setattr__(self, "blackout_dates", MappingProxyType(blackouts))
        object.__setattr__(self, "caps", MappingProxyType(caps))
        object.__setattr__(self, "waivers", waivers)

    def _code(self, name: str, what: str) -> str:
        code = name if name in self.table.jurisdictions else f"US-{name}"
        if code not in self.table.jurisdictions:
            raise ValueError(f"{what} {name!r}: no such jurisdiction in the rules table")
        return code

    def waived(self, code: str, rule: str) -> bool:
        return (code, rule) in self.waivers

    def week(self, jurisdiction: str | None) -> Week:
        """The weekly windows in force for a number of ``jurisdiction`` (before holidays and blackout dates)."""
        if jurisdiction is None:
            return (self.default,) * 7
        return tuple(self._weekday_window(jurisdiction, weekday) for weekday in range(7))

    def window_on(self, jurisdiction: str | None, day: date) -> DailyWindow | None:
        """When a promotional text may reach a number of ``jurisdiction`` on ``day`` (its local
        date); None when not at all that day (a closed weekday, a legal holiday, a blackout date)."""
        if day in self.blackout_dates.get(ALL_JURISDICTIONS, ()):
            return None
        if jurisdiction is None:
            return self.default
        for entry in self.table.chain(jurisdiction):
            if day in self.blackout_dates.get(entry.code, ()):
                return None
            if (
                entry.legal_holidays is not None
                and not self.waived(entry.code, HOLIDAYS)
                and is_legal_holiday(entry.legal_holidays, day)
            ):
                return None
        return self._weekday_window(jurisdiction, day.weekday())

    def in_force(self, countries: Iterable[str]) -> RulesInForce:
        """The rules in force for numbers of ``countries``, the operator's tightening and waivers applied."""
        table_rules = rules_in_force(countries, self.table)
        return RulesInForce(tuple(map(self._in_force, table_rules.jurisdictions)), table_rules.other_countries)

    def _in_force(self, rule: RuleInForce) -> RuleInForce:
        chain = self.table.chain(rule.code)
        holidays = [e.legal_holidays for e in chain if e.legal_holidays and not self.waived(e.code, HOLIDAYS)]
        caps: list[FrequencyCap] = []
        for entry in chain:
            legal = entry.frequency_cap
            if legal is not None and not self.waived(entry.code, CAP):
                caps.append(legal)
            if entry.code in self.caps:
                caps.append(
                    FrequencyCap(
                        self.caps[entry.code],
                        legal.hours if legal else 24,
                        OPERATOR_CAP,
                        same_subject=legal.same_subject if legal else True,
                    )
                )
        return replace(
            rule,
            week=self.week(rule.code),
            holidays=holidays[-1] if holidays else None,
            caps=tuple(caps),
            blackout_dates=tuple(sorted(day for e in chain for day in self.blackout_dates.get(e.code, ()))),
            waived=tuple(sorted(name for code, name in self.waivers if code == rule.code)),
        )

    def _weekday_window(self, jurisdiction: str, weekday: int) -> DailyWindow | None:
        window: DailyWindow | None = _ALL_DAY
        for entry in self.table.chain(jurisdiction):
            own, mine = entry.windows[weekday], self.states.get(entry.code)
            if self.waived(entry.code, WINDOW) and mine is not None:
                own = mine[weekday]
            else:
                if own is None and weekday == _SUNDAY and self.waived(entry.code, SUNDAYS):
                    own = _ALL_DAY
                if mine is not None:
                    own = intersect_days(own, mine[weekday])
            window = intersect_days(window, own)
        return window


@dataclass(frozen=True)
class Recipient:
    """Where a number is presumed to be: its candidate time zones and its jurisdiction."""

    zones: tuple[str, ...]
    jurisdiction: str | None  # "US-FL", "US", "CA"; None: a country without rules (the default window)

    @property
    def state(self) -> str | None:
        """The jurisdiction, under the name the limits' callers pass it (``limit_refusal(state=...)``)."""
        return self.jurisdiction


@lru_cache(maxsize=4096)
def locate(number: str) -> Recipient:
    """The recipient's time zones (from the number) and jurisdiction (from its country and area code)."""
    # Imported here: only promotional sends and audiences locate a number, and phonenumbers'
    # import is a noticeable share of a cold start for the functions that never do.
    import phonenumbers
    from phonenumbers import timezone as number_timezones

    parsed = phonenumbers.parse(number)
    zones = tuple(z for z in number_timezones.time_zones_for_number(parsed) if z != number_timezones.UNKNOWN_TIMEZONE)
    if len(zones) > MAX_CANDIDATE_ZONES:
        zones = ()
    return Recipient(zones, jurisdiction_of(parsed))


def jurisdiction_of(parsed: phonenumbers.PhoneNumber) -> str | None:
    """``"US-XX"`` for a US number in a state with an entry, ``"US"`` for another US number,
    ``"CA"`` for a Canadian one, None for any other country."""
    import phonenumbers

    region = phonenumbers.region_code_for_number(parsed)
    if region in US_REGIONS:
        return _JURISDICTION_BY_AREA_CODE.get(int(str(parsed.national_number)[:3]), "US")
    if region == "CA":
        return "CA"
    return None


def is_quiet(number: str, at: datetime, rules: QuietHoursRules | None = None) -> bool:
    """True when a promotional text must not reach ``number`` at ``at`` (an aware datetime)."""
    return next_allowed(number, at, rules) != at


def next_allowed(number: str, at: datetime, rules: QuietHoursRules | None = None) -> datetime | None:
    """``at`` itself when a promotional text may go now, else the earliest later moment (UTC)
    when it may; None when no moment within ``SEARCH_DAYS`` suits every candidate zone, or
    the number's zone is unknown (send it as transactional or not at all)."""
    if at.tzinfo is None:
        raise ValueError(f"at {at.isoformat()} must be timezone-aware")
    rules = rules or _default_rules()
    recipient = locate(number)
    if not recipient.zones:
        return None
    zones = [ZoneInfo(name) for name in recipient.zones]
    candidate = at.astimezone(timezone.utc)
    deadline = candidate + timedelta(days=SEARCH_DAYS)
    while candidate <= deadline:
        openings = [_opening(candidate, zone, recipient.jurisdiction, rules) for zone in zones]
        if any(opening is None for opening in openings):
            return None
        later = max(opening for opening in openings if opening is not None)
        if later == candidate:
            return at if candidate == at.astimezone(timezone.utc) else candidate
        candidate = later
    return None


def _opening(moment: datetime, zone: ZoneInfo, jurisdiction: str | None, rules: QuietHoursRules) -> datetime | None:
    """``moment`` if it is inside the zone's window, else the start of the next window (UTC);
    None when no window opens within ``SEARCH_DAYS``."""
    local = moment.astimezone(zone)
    for offset in range(SEARCH_DAYS + 1):
        day = local.date() + timedelta(days=offset)
        window = rules.window_on(jurisdiction, day)
        if window is None:
            continue
        start = datetime.combine(day, window.start, tzinfo=zone)
        end = datetime.combine(day, window.end, tzinfo=zone)
        if offset == 0 and start <= local < end:
            return moment
        if local < start:
            return start.astimezone(timezone.utc)
    return None


@lru_cache(maxsize=1)
def _default_rules() -> QuietHoursRules:
    """The rules table as shipped, read when a number is first checked (not at import)."""
    return QuietHoursRules()
