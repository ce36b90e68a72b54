"""``outbound.quiet_hours`` checked against the rules table: the operator tightens, and loosens only by name.

The rules table (``two_way_sms.rules``) is the law for US and Canadian numbers. A window given
for a jurisdiction must lie within the law's on every day it is given for; a cap may not be
above the law's. A looser setting is refused in one line naming the jurisdiction, the day and
the rule, unless an override names that rule (``window``, ``sundays``, ``holidays``, ``cap``)
with a reason; synth prints each override as a warning. Synth also reports the rules in force
for the configured countries (``protect.allowed_countries``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time

from two_way_sms.quiet_hours import ALL_JURISDICTIONS, CAP, HOLIDAYS, SUNDAYS, WINDOW
from two_way_sms.rules import DailyWindow, Jurisdiction, Week, load_rules, report_lines
from two_way_sms.rules.windows import WEEKDAYS
from two_way_sms_cdk.config.messaging import JurisdictionRules, QuietHours
from two_way_sms_cdk.config.model import ConfigError, ConfigWarning, QuietHoursConfig, RuleOverride

WHERE = "outbound.quiet_hours"
_DAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
_SUNDAY = 6


def quiet_hours_config(section: QuietHours) -> QuietHoursConfig:
    """The typed quiet hours of ``section``; ConfigError when a setting is looser than the law without an override."""
    overrides = _overrides(section)
    waived = {(override.jurisdiction, override.rule) for override in overrides}
    weeks = {
        code: _week(code, rules, waived)
        for code, rules in section.jurisdictions.items()
        if rules.window is not None or rules.windows is not None
    }
    caps = {code: _cap(code, rules.cap, waived) for code, rules in section.jurisdictions.items() if rules.cap}
    blackouts = {code: _dates(rules.blackout_dates) for code, rules in section.jurisdictions.items()}
    blackouts[ALL_JURISDICTIONS] = _dates(section.blackout_dates)
    return QuietHoursConfig(
        start=time.fromisoformat(section.start),
        end=time.fromisoformat(section.end),
        state_rules=section.state_rules,
        jurisdictions=weeks,
        blackout_dates={code: days for code, days in blackouts.items() if days},
        caps=caps,
        overrides=overrides,
    )


def override_warnings(quiet: QuietHoursConfig) -> list[ConfigWarning]:
    """One synth warning per override: the rule lifted, where it comes from, and the operator's reason."""
    table = load_rules()
    warnings = []
    for override in quiet.overrides:
        entry = table.jurisdictions[override.jurisdiction]
        warnings.append(
            ConfigWarning(
                f"two-way-sms:override-{override.jurisdiction}-{override.rule}",
                f"{WHERE}.overrides lift the {override.rule} rule of {entry.code} ({entry.name}, "
                f"{entry.sources[0].citation}) for promotional texts: {override.reason}",
            )
        )
    return warnings


def rules_report(quiet: QuietHoursConfig, countries: Iterable[str]) -> tuple[str, ...]:
    """The rules in force for numbers of ``countries``, one line per jurisdiction (synth prints them)."""
    rules = quiet.rules()
    default = DailyWindow(quiet.start, quiet.end).text()
    return tuple(report_lines(rules.in_force(countries), default, rules.blackout_dates.get(ALL_JURISDICTIONS, ())))


def _overrides(section: QuietHours) -> tuple[RuleOverride, ...]:
    table = load_rules()
    seen: set[tuple[str, str]] = set()
    overrides = []
    for index, given in enumerate(section.overrides):
        where = f"{WHERE}.overrides[{index}]"
        entry = table.jurisdictions[given.jurisdiction]
        if (given.jurisdiction, given.rule) in seen:
            raise ConfigError(f"{where} lifts {given.jurisdiction}'s {given.rule} rule a second time")
        seen.add((given.jurisdiction, given.rule))
        missing = {
            SUNDAYS: entry.windows[_SUNDAY] is not None and "no Sunday ban",
            HOLIDAYS: entry.legal_holidays is None and "no legal holidays",
            CAP: entry.frequency_cap is None and "no frequency cap",
        }.get(given.rule)
        if missing:
            raise ConfigError(f"{where} lifts {given.jurisdiction}'s {given.rule} rule, but {entry.name} has {missing}")
        mine = section.jurisdictions.get(given.jurisdiction)
        if given.rule == WINDOW and (mine is None or (mine.window is None and mine.windows is None)):
            raise ConfigError(
                f"{where} lifts {given.jurisdiction}'s window: set {WHERE}.jurisdictions.{given.jurisdiction}"
                ".window (or .windows) to the window you keep instead"
            )
        overrides.append(RuleOverride(given.jurisdiction, given.rule, given.reason))
    return tuple(overrides)


def _week(code: str, rules: JurisdictionRules, waived: set[tuple[str, str]]) -> Week:
    """The operator's week for ``code``: a day left out keeps the law's window; each day given must lie
    within what the law (less the rules the overrides lift) allows."""
    table = load_rules()
    own = table.jurisdictions[code].windows
    windows = rules.windows
    given: dict[int, str | None]
    if windows is None:
        given = dict.fromkeys(range(7), rules.window)
    else:
        given = {day: getattr(windows, WEEKDAYS[day]) for day in range(7) if WEEKDAYS[day] in windows.model_fields_set}
    week: list[DailyWindow | None] = []
    for day in range(7):
        if day not in given:
            week.append(own[day])
            continue
        text = given[day]
        window = None if text is None else _window(text)
        if window is not None:
            _check_within_the_law(code, day, window, text or "", waived, by_day=windows is not None)
        week.append(window)
    return tuple(week)


def _check_within_the_law(
    code: str, day: int, window: DailyWindow, text: str, waived: set[tuple[str, str]], *, by_day: bool
) -> None:
    table = load_rules()
    for entry in table.chain(code):
        lifted, law = _law(entry, day, waived)
        if lifted:
            continue
        where = f"{WHERE}.jurisdictions.{code}.{'windows.' + WEEKDAYS[day] if by_day else 'window'} {text!r}"
        cite = f"({entry.code}: {entry.sources[0].citation})"
        if law is None:
            lift = "sundays" if day == _SUNDAY else "window"
            raise ConfigError(
                f"{where} opens {_DAY_NAMES[day]}, which the law closes {cite}: only a stricter window, "
                f'or an override {{"jurisdiction": "{entry.code}", "rule": "{lift}", "reason": "..."}}'
            )
        if not window.within(law):
            raise ConfigError(
                f"{where} is outside the law's {law.text()} on {_DAY_NAMES[day]} {cite}: only a stricter window, "
                f'or an override {{"jurisdiction": "{entry.code}", "rule": "window", "reason": "..."}}'
            )


def _law(entry: Jurisdiction, day: int, waived: set[tuple[str, str]]) -> tuple[bool, DailyWindow | None]:
    """Whether an override lifts ``entry``'s rule on ``day``, and what it allows (None: closed)."""
    lifted = (entry.code, WINDOW) in waived or (
        day == _SUNDAY and entry.windows[day] is None and (entry.code, SUNDAYS) in waived
    )
    return lifted, entry.windows[day]


def _cap(code: str, cap: int, waived: set[tuple[str, str]]) -> int:
    entry = load_rules().jurisdictions[code]
    legal = entry.frequency_cap
    if legal is not None and (code, CAP) not in waived and cap > legal.count:
        citations = "; ".join(source.citation for source in entry.sources)
        raise ConfigError(
            f"{WHERE}.jurisdictions.{code}.cap {cap} is above the law's {legal.count} per {legal.hours} h "
            f'({citations}): only a lower cap, or an override {{"jurisdiction": "{code}", "rule": "cap", '
            '"reason": "..."}'
        )
    return cap


def _window(text: str) -> DailyWindow:
    start, _, end = text.partition("-")
    return DailyWindow(time.fromisoformat(start), time.fromisoformat(end))


def _dates(texts: Iterable[str]) -> frozenset[date]:
    return frozenset(date.fromisoformat(text) for text in texts)
