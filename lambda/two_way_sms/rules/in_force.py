"""The rules in force for the countries a deployment texts: for synth's report and the README's table.

For each jurisdiction of the configured countries in the table, the windows that apply to
its numbers (a state's intersected with its country's), the closed days, the legal
holidays, the frequency cap and the sources. Countries without an entry are listed apart:
their numbers get the configured default window and no other rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from two_way_sms.rules.table import (
    GOOD_FRIDAY,
    GOVERNOR_DECLARED,
    SATURDAY_TO_NEXT_MONDAY,
    US_GENERAL_ELECTION_DAY,
    FrequencyCap,
    HolidayRule,
    RulesTable,
    Source,
    fixed_date,
    load_rules,
)
from two_way_sms.rules.windows import Week, week_text

OPERATOR_CAP = "the operator's cap"  # FrequencyCap.counts of a cap the config sets
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
_EXTRA_NAMES = {
    GOOD_FRIDAY: "Good Friday",
    US_GENERAL_ELECTION_DAY: "general election day (even years)",
    SATURDAY_TO_NEXT_MONDAY: "a Saturday holiday also the Monday after",
    GOVERNOR_DECLARED: "days the governor declares (the operator's blackout dates)",
}


@dataclass(frozen=True)
class RuleInForce:
    """What applies to the numbers of one jurisdiction."""

    code: str
    name: str
    week: Week  # the legal windows in force, Monday first; None: closed all day
    holidays: HolidayRule | None  # its own or its country's
    caps: tuple[FrequencyCap, ...]  # its own and its country's
    sources: tuple[Source, ...]
    reviewed: date
    blackout_dates: tuple[date, ...] = ()  # the operator's, for this jurisdiction
    waived: tuple[str, ...] = ()  # its legal rules lifted by a named override

    def windows_text(self) -> str:
        """The open days' windows (``"Mon-Sat 08:00-20:00"``); closed days are in ``closed_text``."""
        text = week_text(self.week)
        return "; ".join(part for part in text.split("; ") if not part.endswith("closed")) or "never"

    def closed_text(self) -> str:
        """Closed weekdays and legal holidays, for people; ``"-"`` when none."""
        parts = [f"{_DAY_NAMES[day]} closed" for day, window in enumerate(self.week) if window is None]
        if self.holidays is not None:
            parts.append(holidays_text(self.holidays))
        if self.blackout_dates:
            parts.append(f"blackout {', '.join(day.isoformat() for day in self.blackout_dates)}")
        return "; ".join(parts) or "-"

    def cap_text(self) -> str:
        return (
            "; ".join(
                f"{cap.count} per {cap.hours} h, {'same subject' if cap.same_subject else 'any subject'}"
                f"{' (operator)' if cap.counts == OPERATOR_CAP else ''}"
                for cap in self.caps
            )
            or "-"
        )


@dataclass(frozen=True)
class RulesInForce:
    """The table's jurisdictions of the configured countries, and the countries without an entry."""

    jurisdictions: tuple[RuleInForce, ...]
    other_countries: tuple[str, ...]  # texted under the configured default window only


def rules_in_force(countries: Iterable[str], table: RulesTable | None = None) -> RulesInForce:
    """The rules in force for numbers of ``countries`` (ISO codes such as ``"US"``, ``"CA"``), in table order."""
    table = table or load_rules()
    wanted = list(dict.fromkeys(countries))
    rules = []
    for code, entry in table.jurisdictions.items():
        if entry.country not in wanted:
            continue
        chain = table.chain(code)
        holiday_rules = [link.legal_holidays for link in chain if link.legal_holidays is not None]
        rules.append(
            RuleInForce(
                code=code,
                name=entry.name,
                week=table.week(code),
                holidays=holiday_rules[-1] if holiday_rules else None,
                caps=tuple(link.frequency_cap for link in chain if link.frequency_cap is not None),
                sources=entry.sources,
                reviewed=entry.reviewed,
            )
        )
    others = tuple(country for country in wanted if country not in table.countries())
    return RulesInForce(tuple(rules), others)


def report_lines(in_force: RulesInForce, default_window: str, blackout_everywhere: Iterable[date] = ()) -> list[str]:
    """One line per jurisdiction (synth prints them), then the countries under the default window
    and the blackout dates of every number."""
    lines = []
    for rule in in_force.jurisdictions:
        parts = [rule.windows_text(), rule.closed_text(), f"cap {rule.cap_text()}"]
        if rule.waived:
            parts.append(f"lifted by override: {', '.join(rule.waived)}")
        parts += [rule.sources[0].citation, f"reviewed {rule.reviewed.isoformat()}"]
        lines.append(f"{rule.code} ({rule.name}): " + "; ".join(part for part in parts if part not in ("-", "cap -")))
    if in_force.other_countries:
        lines.append(f"{', '.join(in_force.other_countries)}: the default window, every day {default_window}")
    everywhere = sorted(blackout_everywhere)
    if everywhere:
        lines.append(f"every number: blackout {', '.join(day.isoformat() for day in everywhere)}")
    return lines


def holidays_text(rule: HolidayRule) -> str:
    """``"legal holidays closed (US-PA calendar, observed days too; plus Jun 14, Good Friday)"``."""
    extras = [_extra_text(extra) for extra in rule.extra]
    details = f"{rule.calendar} calendar{', observed days too' if rule.observed else ''}"
    if extras:
        details += f"; plus {', '.join(extras)}"
    return f"legal holidays closed ({details})"


def _extra_text(extra: str) -> str:
    month_day = fixed_date(extra)
    if month_day is not None:
        return f"{_MONTHS[month_day[0] - 1]} {month_day[1]}"
    return _EXTRA_NAMES.get(extra, extra)
