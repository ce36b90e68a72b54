"""The solicitation rules table: its sources and review dates, its checks, its holidays and the README's table."""

from __future__ import annotations

import copy
import json
from datetime import date, time
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from two_way_sms.quiet_hours import TCPA_WINDOW
from two_way_sms.rules import (
    RulesError,
    legal_holidays,
    load_rules,
    parse_rules,
    report_lines,
    rules_in_force,
)
from two_way_sms.rules.calendar import general_election_day
from two_way_sms.rules.readme import markdown_table, readme_block, with_table
from two_way_sms.rules.windows import DailyWindow, every_day, intersect_weeks, week_text

README = Path(__file__).resolve().parents[2] / "README.md"
TABLE = load_rules()
RAW = json.loads(resources.files("two_way_sms.rules").joinpath("solicitation_rules.json").read_text())
MAX_REVIEW_AGE_DAYS = 365
# Official publishers whose address is not under .gov, .us or .gc.ca.
OFFICIAL_PUBLISHERS = {"nmonesource.com"}  # the New Mexico Compilation Commission's official NMSA


def is_official(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return urlsplit(url).scheme in ("http", "https") and (
        host.endswith((".gov", ".us", ".gc.ca")) or host in OFFICIAL_PUBLISHERS
    )


# -- every entry has a source and a recent review ---------------------------------------------------


@pytest.mark.parametrize("code", list(TABLE.jurisdictions))
def test_every_entry_cites_an_official_source_and_was_reviewed_within_a_year(code):
    entry = TABLE.jurisdictions[code]
    assert entry.sources, f"{code} has no source"
    assert all(source.citation.strip() and source.url for source in entry.sources), f"{code}: a source without citation"
    assert any(is_official(source.url) for source in entry.sources), f"{code} has no source at an official address"
    age = (date.today() - entry.reviewed).days
    assert 0 <= age <= MAX_REVIEW_AGE_DAYS, f"{code} was reviewed on {entry.reviewed} ({age} days ago): review it"


def test_the_table_covers_the_states_the_research_found_stricter_and_no_others():
    # RESEARCH.md: the states (and Puerto Rico) whose rules are stricter than the TCPA and reach texts.
    states = {"AL", "CT", "FL", "KY", "LA", "MA", "MD", "MS", "NM", "OK", "OR", "PA", "PR", "RI", "SD", "TX", "UT"}
    states |= {"WA"}
    assert set(TABLE.jurisdictions) == {"US", "CA"} | {f"US-{state}" for state in states}


def test_the_us_entry_is_the_tcpa_window_and_canada_is_not_under_it():
    assert TABLE.week("US") == every_day(TCPA_WINDOW)
    assert TABLE.chain("CA") == (TABLE.jurisdictions["CA"],)
    assert TABLE.week("CA")[0] == DailyWindow(time(9), time(21, 30))  # not cut at the TCPA's 21:00
    assert [entry.code for entry in TABLE.chain("US-FL")] == ["US", "US-FL"]


def test_the_table_is_read_once():
    assert load_rules() is TABLE


def test_the_holidays_library_call_in_each_entry_is_the_one_the_code_makes():
    for code, entry in TABLE.jurisdictions.items():
        rule = entry.legal_holidays
        if rule is None:
            continue
        expected = (
            f"holidays.country_holidays('{rule.country}', subdiv='{rule.subdivision}', observed={rule.observed}, "
            f"categories={rule.categories!r})"
        )
        assert rule.holidays_library == expected, code


# -- a malformed table is refused, naming the entry --------------------------------------------------


def broken(path: str, value: object) -> dict:
    data = copy.deepcopy(RAW)
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return data


DELETE = object()
BAD_TABLES = [
    ("jurisdictions.US-FL.sources", [], "jurisdiction US-FL must have at least one source"),
    ("jurisdictions.US-FL.sources", [{"citation": "x"}], "jurisdiction US-FL source 1 has no url"),
    ("jurisdictions.US-FL.sources", [{"citation": " ", "url": "https://x.gov"}], "US-FL source 1 citation"),
    ("jurisdictions.US-FL.sources", [{"citation": "x", "url": "ftp://x"}], "must be an http"),
    ("jurisdictions.US-FL.reviewed", DELETE, "jurisdiction US-FL has no reviewed"),
    ("jurisdictions.US-FL.reviewed", "5 Dec 2026", "US-FL reviewed '5 Dec 2026' must be a date"),
    ("jurisdictions.US-TX.windows.sun", DELETE, "jurisdiction US-TX windows has no sun"),
    ("jurisdictions.US-TX.windows.sun", ["12:00"], 'US-TX windows.sun .* must be null or \\["HH:MM"'),
    ("jurisdictions.US-TX.windows.sun", ["21:00", "12:00"], "must start before it ends"),
    ("jurisdictions.US-TX.windows.sun", ["12:00", "24:00"], "must be null or"),
    (
        "jurisdictions.US-OK.frequency_cap",
        {"count": 0, "hours": 24, "subject": "same", "counts": "x"},
        "US-OK frequency_cap.count 0",
    ),
    (
        "jurisdictions.US-OK.frequency_cap",
        {"count": 3, "hours": "24", "subject": "same", "counts": "x"},
        "frequency_cap.hours '24'",
    ),
    ("jurisdictions.US-OK.frequency_cap", {"count": 3, "hours": 24, "subject": "same"}, "frequency_cap has no counts"),
    (
        "jurisdictions.US-OK.frequency_cap",
        {"count": 3, "hours": 24, "subject": "topic", "counts": "x"},
        "frequency_cap.subject 'topic' must be \"same\"",
    ),
    ("jurisdictions.US-RI.legal_holidays.extra", ["02-30"], "'02-30' is not a date every year has"),
    ("jurisdictions.US-RI.legal_holidays.extra", ["easter_monday"], "'easter_monday' must be \"MM-DD\" or one of"),
    ("jurisdictions.US-RI.legal_holidays.rule", "allowed", "rule 'allowed' must be 'forbidden'"),
    ("jurisdictions.US-RI.legal_holidays.categories", ["bank"], "categories \\['bank'\\]"),
    ("jurisdictions.US-RI.legal_holidays.observed", "yes", "observed 'yes' must be true or false"),
    ("jurisdictions.US-RI.hours", "9-6", "jurisdiction US-RI has unknown fields: hours"),
    ("jurisdictions.US-NJ", {}, "jurisdiction US-NJ has no"),
    ("jurisdictions.US", DELETE, "jurisdiction 'US-AL' has no entry for its country 'US'"),
    ("schema_version", 2, "schema_version 2 is not 1"),
]


@pytest.mark.parametrize("path, value, message", BAD_TABLES, ids=[f"{case[0]}={case[1]!r}" for case in BAD_TABLES])
def test_a_malformed_table_is_refused_naming_the_entry_and_field(path, value, message):
    with pytest.raises(RulesError, match=message):
        parse_rules(broken(path, value))


def test_the_shipped_table_parses_as_shipped():
    assert parse_rules(RAW) == TABLE


# -- legal holidays ------------------------------------------------------------------------------------

HOLIDAYS = [
    # id (the rule), jurisdiction, date, forbidden?
    ("Ala. Code 1-3-8: Confederate Memorial Day", "US-AL", date(2026, 4, 27), True),
    ("Ala. Code 1-3-8: Jefferson Davis' Birthday", "US-AL", date(2026, 6, 1), True),
    ("Ala. Code 1-3-8: July 4 on a Saturday is observed the Friday before", "US-AL", date(2026, 7, 3), True),
    ("Ala. Code 1-3-8: Christmas 2022 on a Sunday is observed the Monday after", "US-AL", date(2022, 12, 26), True),
    ("La. R.S. 1:55: Mardi Gras", "US-LA", date(2026, 2, 17), True),
    ("La. R.S. 1:55: Good Friday", "US-LA", date(2026, 4, 3), True),
    ("73 P.S. 2245(a)(10) / 44 P.S. 11: Flag Day", "US-PA", date(2026, 6, 14), True),
    ("44 P.S. 11: Flag Day on a Sunday, observed Monday", "US-PA", date(2026, 6, 15), True),
    ("44 P.S. 11: Good Friday", "US-PA", date(2027, 3, 26), True),
    ("44 P.S. 11: general election day 2026", "US-PA", date(2026, 11, 3), True),
    ("44 P.S. 11: no general election in 2027", "US-PA", date(2027, 11, 2), False),
    ("R.I. Gen. Laws 25-1-1: Rhode Island Independence Day", "US-RI", date(2027, 5, 4), True),
    ("R.I. Gen. Laws 25-1-1: a Saturday July 4 moves to Monday", "US-RI", date(2026, 7, 6), True),
    ("R.I. Gen. Laws 25-1-1: a Saturday New Year 2028 moves to Monday 3 January", "US-RI", date(2028, 1, 3), True),
    ("holidays library: ... and to Friday 31 December 2027", "US-RI", date(2027, 12, 31), True),
    ("R.I. Gen. Laws 25-1-1: Victory Day", "US-RI", date(2026, 8, 10), True),
    ("Utah Code 63G-1-301: Pioneer Day", "US-UT", date(2026, 7, 24), True),
    ("Utah Code 63G-1-301: July 4 2027 on a Sunday, observed Monday", "US-UT", date(2027, 7, 5), True),
    ("Miss. Code 3-3-7: Confederate Memorial Day", "US-MS", date(2026, 4, 27), True),
    ("an ordinary Tuesday", "US-UT", date(2026, 11, 24), False),
]


@pytest.mark.parametrize("code, day, forbidden", [case[1:] for case in HOLIDAYS], ids=[case[0] for case in HOLIDAYS])
def test_legal_holidays_come_from_the_library_and_the_statutes_extras(code, day, forbidden):
    rule = TABLE.jurisdictions[code].legal_holidays
    assert (day in legal_holidays(rule, day.year)) is forbidden


@pytest.mark.parametrize(
    "year, expected",
    [(2026, date(2026, 11, 3)), (2022, date(2022, 11, 8)), (2028, date(2028, 11, 7)), (2032, date(2032, 11, 2))],
)
def test_general_election_day_is_the_tuesday_next_after_the_first_monday_of_november(year, expected):
    assert general_election_day(year) == expected


def test_governor_declared_days_need_the_operators_blackout_dates():
    assert TABLE.jurisdictions["US-LA"].legal_holidays.needs_operator_dates
    assert not TABLE.jurisdictions["US-RI"].legal_holidays.needs_operator_dates


# -- windows -----------------------------------------------------------------------------------------


def test_weeks_intersect_day_by_day_and_read_for_people():
    texas = TABLE.week("US-TX")
    assert week_text(texas) == "Mon-Sat 09:00-21:00; Sun 12:00-21:00"
    assert week_text(TABLE.week("US-RI")) == "Mon-Fri 09:00-18:00; Sat 10:00-17:00; Sun closed"
    evening = every_day(DailyWindow(time(19), time(23)))
    assert week_text(intersect_weeks(texas, evening)) == "every day 19:00-21:00"
    late = every_day(DailyWindow(time(22), time(23)))
    assert week_text(intersect_weeks(texas, late)) == "every day closed"


def test_pennsylvania_follows_act_47_of_2026_and_keeps_its_legal_holidays():
    # 73 P.S. 2245(a)(1) as amended by Act 47 of 2026 (eff. 2026-10-18): no Sunday, 9:00-19:00; (a)(10) holidays.
    pennsylvania = TABLE.week("US-PA")
    assert week_text(pennsylvania) == "Mon-Sat 09:00-19:00; Sun closed"
    assert intersect_weeks(TABLE.week("US"), pennsylvania) == pennsylvania  # inside the TCPA's window every day
    rule = next(rule for rule in rules_in_force(["US"]).jurisdictions if rule.code == "US-PA")
    assert rule.closed_text().startswith("Sundays closed; legal holidays closed (US-PA calendar")


# -- the rules in force, synth's report and the README ---------------------------------------------------


def test_the_rules_in_force_are_those_of_the_configured_countries():
    in_force = rules_in_force(["CA", "DE"])
    assert [rule.code for rule in in_force.jurisdictions] == ["CA"] and in_force.other_countries == ("DE",)
    us = rules_in_force(["US"])
    florida = next(rule for rule in us.jurisdictions if rule.code == "US-FL")
    assert (florida.windows_text(), florida.cap_text()) == ("every day 08:00-20:00", "3 per 24 h, same subject")
    utah = next(rule for rule in us.jurisdictions if rule.code == "US-UT")
    assert utah.closed_text() == "Sundays closed; legal holidays closed (US-UT calendar, observed days too)"
    lines = report_lines(rules_in_force(["US", "GB"]), "08:00-21:00")
    reviewed = TABLE.jurisdictions["US"].reviewed.isoformat()
    assert lines[0] == f"US (United States (TCPA)): every day 08:00-21:00; 47 CFR 64.1200(c)(1); reviewed {reviewed}"
    assert lines[-1] == "GB: the default window, every day 08:00-21:00"


def test_the_readme_table_is_the_generated_one():
    readme = README.read_text(encoding="utf-8")
    assert readme_block(readme) == markdown_table(), "run: python -m two_way_sms.rules.readme README.md"
    assert with_table(readme) == readme


def test_every_jurisdiction_has_a_readme_row_with_linked_sources():
    rows = markdown_table().splitlines()[2:]
    assert len(rows) == len(TABLE.jurisdictions)
    for row, entry in zip(rows, TABLE.jurisdictions.values(), strict=True):
        assert row.startswith(f"| {entry.code} {entry.name} |")
        assert all(f"]({source.url})" in row for source in entry.sources)
        assert row.endswith(f"| {entry.reviewed.isoformat()} |")
