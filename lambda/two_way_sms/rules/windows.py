"""Daily sending windows and weeks of them, in the recipient's local time.

A window is ``[start, end)``: start inclusive, end exclusive. A week is seven windows,
Monday first (as ``date.weekday()`` counts); ``None`` is a day on which nothing may be sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class DailyWindow:
    """Sending is allowed from ``start`` (inclusive) to ``end`` (exclusive), local time."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"window {self.start:%H:%M}-{self.end:%H:%M} must start before it ends")

    def intersect(self, other: DailyWindow) -> DailyWindow | None:
        """The part of the day both windows allow; None when they do not overlap."""
        start, end = max(self.start, other.start), min(self.end, other.end)
        return DailyWindow(start, end) if start < end else None

    def within(self, other: DailyWindow) -> bool:
        """True when every moment of this window is inside ``other``."""
        return other.start <= self.start and self.end <= other.end

    def text(self) -> str:
        """``"08:00-21:00"`` (seconds only when a bound has them)."""
        return f"{_clock(self.start)}-{_clock(self.end)}"


Week = tuple[DailyWindow | None, ...]


def every_day(window: DailyWindow) -> Week:
    """The week with ``window`` on each of its seven days."""
    return (window,) * 7


def checked_week(days: Sequence[DailyWindow | None], what: str) -> Week:
    """``days`` as a Week; a ValueError naming ``what`` unless there are exactly seven."""
    if len(days) != 7:
        raise ValueError(f"{what} has {len(days)} daily windows, not 7 (Monday to Sunday)")
    return tuple(days)


def intersect_days(first: DailyWindow | None, second: DailyWindow | None) -> DailyWindow | None:
    """What both days allow: None when either is closed or they do not overlap."""
    if first is None or second is None:
        return None
    return first.intersect(second)


def intersect_weeks(first: Week, *others: Week) -> Week:
    """Day by day, what every week allows."""
    week = first
    for other in others:
        week = tuple(intersect_days(mine, theirs) for mine, theirs in zip(week, other, strict=True))
    return week


def week_text(week: Week) -> str:
    """A week for people: ``"every day 08:00-21:00"``, ``"Mon-Sat 09:00-21:00; Sun 12:00-21:00"``,
    ``"Mon-Fri 09:00-18:00; Sat 10:00-17:00; Sun closed"``."""
    texts = [window.text() if window is not None else "closed" for window in week]
    if len(set(texts)) == 1:
        return f"every day {texts[0]}"
    runs: list[tuple[int, int, str]] = []
    for day, text in enumerate(texts):
        if runs and runs[-1][2] == text:
            runs[-1] = (runs[-1][0], day, text)
        else:
            runs.append((day, day, text))
    return "; ".join(
        f"{_DAY_NAMES[first]}{'' if first == last else '-' + _DAY_NAMES[last]} {text}" for first, last, text in runs
    )


def _clock(moment: time) -> str:
    return moment.isoformat(timespec="minutes" if not moment.second and not moment.microsecond else "auto")
