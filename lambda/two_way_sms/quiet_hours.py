"""Quiet hours: when a PROMOTIONAL text may reach a recipient, in the recipient's local time.

US rules (FACTS.md): the TCPA allows solicitations 8:00-21:00 local time; some states are
stricter, and an area code is presumed to be in its state. Transactional replies to a
customer's own message are not solicitations: only PROMOTIONAL sends are held.

The recipient's time zones come from ``phonenumbers`` (its time-zone table ships in the
Lambda layer; its geocoding table does not, so the few area codes of the stricter states
are listed here and checked against ``phonenumbers``' geocoder by the unit tests). A
number whose area spans several time zones may only be texted when every one of them is
inside its window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as number_timezones

# Area codes of the states with windows stricter than the TCPA's (phonenumbers' geocoder, 2026).
STRICTER_STATE_AREA_CODES: dict[str, tuple[int, ...]] = {
    "CT": (203, 475, 860, 959),
    "FL": (
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
    "MD": (227, 240, 301, 410, 443, 667),
    "MS": (228, 601, 662, 769),
    "NJ": (201, 551, 609, 640, 732, 848, 856, 862, 908, 973),
    "OK": (405, 539, 572, 580, 918),
    "RI": (401,),
    "TX": (
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
}
_STATE_BY_AREA_CODE = {code: state for state, codes in STRICTER_STATE_AREA_CODES.items() for code in codes}
# Beyond this many candidate zones (toll-free, non-geographic numbers) the zone says nothing.
MAX_CANDIDATE_ZONES = 4
_SEARCH_DAYS = 8  # every weekly rule opens within a week


@dataclass(frozen=True)
class DailyWindow:
    """Sending is allowed from ``start`` (inclusive) to ``end`` (exclusive), local time."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"window {self.start:%H:%M}-{self.end:%H:%M} must start before it ends")


def _every_day(start: int, end: int) -> tuple[DailyWindow, ...]:
    return (DailyWindow(time(start), time(end)),) * 7


TCPA_WINDOW = DailyWindow(time(8), time(21))
# Monday first, as ``date.weekday()`` counts.
US_STATE_WINDOWS: dict[str, tuple[DailyWindow, ...]] = {
    "FL": _every_day(8, 20),
    "OK": _every_day(8, 20),
    "MD": _every_day(8, 20),
    "MS": _every_day(8, 20),
    "NJ": _every_day(8, 20),
    "CT": _every_day(9, 20),
    "TX": (DailyWindow(time(9), time(21)),) * 6 + (DailyWindow(time(12), time(21)),),
    "RI": (DailyWindow(time(9), time(18)),) * 5 + (DailyWindow(time(10), time(17)),) * 2,
}


@dataclass(frozen=True)
class QuietHoursRules:
    """The windows to apply: ``default`` everywhere, ``states`` (per weekday) where stricter."""

    default: DailyWindow = TCPA_WINDOW
    states: Mapping[str, tuple[DailyWindow, ...]] = field(default_factory=lambda: dict(US_STATE_WINDOWS))

    def __post_init__(self) -> None:
        for state, windows in self.states.items():
            if len(windows) != 7:
                raise ValueError(f"state {state!r} has {len(windows)} daily windows, not 7 (Monday to Sunday)")

    def window(self, state: str | None, day: date) -> DailyWindow:
        if state is not None and state in self.states:
            return self.states[state][day.weekday()]
        return self.default


@dataclass(frozen=True)
class Recipient:
    """Where a number is presumed to be: its candidate time zones and (US) stricter state."""

    zones: tuple[str, ...]
    state: str | None


@lru_cache(maxsize=4096)
def locate(number: str) -> Recipient:
    """The recipient's time zones (from the number) and, for the US, the stricter state if any."""
    parsed = phonenumbers.parse(number)
    zones = tuple(z for z in number_timezones.time_zones_for_number(parsed) if z != number_timezones.UNKNOWN_TIMEZONE)
    if len(zones) > MAX_CANDIDATE_ZONES:
        zones = ()
    state = None
    if parsed.country_code == 1:
        state = _STATE_BY_AREA_CODE.get(int(str(parsed.national_number)[:3]))
    return Recipient(zones, state)


def is_quiet(number: str, at: datetime, rules: QuietHoursRules = QuietHoursRules()) -> bool:
    """True when a promotional text must not reach ``number`` at ``at`` (an aware datetime)."""
    return next_allowed(number, at, rules) != at


def next_allowed(number: str, at: datetime, rules: QuietHoursRules = QuietHoursRules()) -> datetime | None:
    """``at`` itself when a promotional text may go now, else the earliest later moment (UTC)
    when it may; None when no moment within a week suits every candidate zone, or the
    number's zone is unknown (send it as transactional or not at all)."""
    if at.tzinfo is None:
        raise ValueError(f"at {at.isoformat()} must be timezone-aware")
    recipient = locate(number)
    if not recipient.zones:
        return None
    zones = [ZoneInfo(name) for name in recipient.zones]
    candidate = at.astimezone(timezone.utc)
    deadline = candidate + timedelta(days=_SEARCH_DAYS)
    while candidate <= deadline:
        later = max(_opening(candidate, zone, recipient.state, rules) for zone in zones)
        if later == candidate:
            return at if candidate == at.astimezone(timezone.utc) else candidate
        candidate = later
    return None


def _opening(moment: datetime, zone: ZoneInfo, state: str | None, rules: QuietHoursRules) -> datetime:
    """``moment`` if it is inside the zone's window, else the start of the next window (UTC)."""
    local = moment.astimezone(zone)
    for offset in range(_SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        window = rules.window(state, day)
        start = datetime.combine(day, window.start, tzinfo=zone)
        end = datetime.combine(day, window.end, tzinfo=zone)
        if offset == 0 and start <= local < end:
            return moment
        if local < start:
            return start.astimezone(timezone.utc)
    raise AssertionError("every rule opens within a week")  # pragma: no cover
