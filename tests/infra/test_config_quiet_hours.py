"""``outbound.quiet_hours``: the operator tightens the rules table, loosens it only by a named override, and
synth reports the rules in force for the configured countries."""

from __future__ import annotations

import copy
import json
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.quiet_hours import DailyWindow, QuietHoursRules
from two_way_sms_cdk.config import ConfigError, RuleOverride, parse_config

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = json.loads((REPO / "cdk.json").read_text())["context"]["two-way-sms"]
ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def with_quiet_hours(countries: list[str] | None = None, **quiet_hours: Any) -> dict[str, Any]:
    raw = copy.deepcopy(DEFAULT_CONFIG)
    raw["outbound"]["quiet_hours"] = {**raw["outbound"]["quiet_hours"], **quiet_hours}
    if countries is not None:
        raw["protect"] = {"allowed_countries": countries}
    return raw


def fails(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    assert str(error.value) == message


W = "outbound.quiet_hours"
ERRORS = [
    (
        "a window before the TCPA's 8:00 (47 CFR 64.1200(c)(1))",
        {"jurisdictions": {"US-FL": {"window": "07:30-19:00"}}},
        f"{W}.jurisdictions.US-FL.window '07:30-19:00' is outside the law's 08:00-21:00 on Mondays "
        '(US: 47 CFR 64.1200(c)(1)): only a stricter window, or an override {"jurisdiction": "US", "rule": "window", '
        '"reason": "..."}',
    ),
    (
        "a window past Florida's 20:00 (Fla. Stat. 501.616(6)(a))",
        {"jurisdictions": {"US-FL": {"windows": {"fri": "09:00-20:30"}}}},
        f"{W}.jurisdictions.US-FL.windows.fri '09:00-20:30' is outside the law's 08:00-20:00 on Fridays "
        '(US-FL: Fla. Stat. 501.616(6)(a)): only a stricter window, or an override {"jurisdiction": "US-FL", '
        '"rule": "window", "reason": "..."}',
    ),
    (
        "a Sunday window in Rhode Island (R.I. Gen. Laws 5-61-2)",
        {"jurisdictions": {"US-RI": {"windows": {"sun": "10:00-17:00"}}}},
        f"{W}.jurisdictions.US-RI.windows.sun '10:00-17:00' opens Sundays, which the law closes (US-RI: R.I. Gen. "
        'Laws 5-61-3.6(a)): only a stricter window, or an override {"jurisdiction": "US-RI", "rule": "sundays", '
        '"reason": "..."}',
    ),
    (
        "a window before noon on a Texas Sunday (Tex. Bus. & Com. Code 301.051)",
        {"jurisdictions": {"US-TX": {"window": "10:00-20:00"}}},
        f"{W}.jurisdictions.US-TX.window '10:00-20:00' is outside the law's 12:00-21:00 on Sundays (US-TX: Tex. Bus. "
        '& Com. Code 301.051): only a stricter window, or an override {"jurisdiction": "US-TX", "rule": "window", '
        '"reason": "..."}',
    ),
    (
        "a Canadian weekday past 21:30 (CRTC Part III)",
        {"jurisdictions": {"CA": {"windows": {"wed": "09:00-22:00"}}}},
        f"{W}.jurisdictions.CA.windows.wed '09:00-22:00' is outside the law's 09:00-21:30 on Wednesdays (CA: CRTC "
        "Unsolicited Telecommunications Rules, Part III (Telemarketing Rules) - calling curfews): only a stricter "
        'window, or an override {"jurisdiction": "CA", "rule": "window", "reason": "..."}',
    ),
    (
        "a cap above Florida's 3 (Fla. Stat. 501.616(6)(b))",
        {"jurisdictions": {"US-FL": {"cap": 4}}},
        f"{W}.jurisdictions.US-FL.cap 4 is above the law's 3 per 24 h (Fla. Stat. 501.616(6)(a); Fla. Stat. "
        "501.616(6)(b); ch. 2021-185 (CS/SB 1120)): only a lower cap, or an override "
        '{"jurisdiction": "US-FL", "rule": "cap", "reason": "..."}',
    ),
    (
        "state_rules false would drop the table",
        {"state_rules": False},
        f"{W}.state_rules False would drop the states' legal rules: the rules table always applies; lift a rule by "
        'name under overrides ({"jurisdiction": "US-RI", "rule": "sundays", "reason": "..."})',
    ),
    (
        "a jurisdiction the table does not have",
        {"jurisdictions": {"US-NJ": {"window": "09:00-20:00"}}},
        f"{W}.jurisdictions 'US-NJ' is not a jurisdiction of the rules table (US, US-AL, US-CT, US-FL, US-KY, US-LA, "
        "US-MA, US-MD, US-MS, US-NM, US-OK, US-OR, US-PA, US-PR, US-RI, US-SD, US-TX, US-UT, US-WA, CA)",
    ),
    (
        "window and windows together",
        {"jurisdictions": {"US-FL": {"window": "09:00-19:00", "windows": {"mon": "09:00-18:00"}}}},
        f"{W}.jurisdictions.US-FL: give window (every day) or windows (by day), not both",
    ),
    (
        "a window that ends before it starts",
        {"jurisdictions": {"US-FL": {"window": "19:00-09:00"}}},
        f"{W}.jurisdictions.US-FL.window '19:00-09:00' must be a window like \"09:00-19:00\" (24-hour times, the "
        "start before the end)",
    ),
    (
        "a day name that is not one",
        {"jurisdictions": {"US-FL": {"windows": {"monday": "09:00-18:00"}}}},
        f"{W}.jurisdictions.US-FL.windows has unknown settings ['monday']: allowed are {sorted(ALL_DAYS)}",
    ),
    (
        "a blackout date that is not in the calendar",
        {"blackout_dates": ["2026-02-30"]},
        f"{W}.blackout_dates entry '2026-02-30' is not a date of the calendar",
    ),
    (
        "a cap of zero",
        {"jurisdictions": {"US-OK": {"cap": 0}}},
        f"{W}.jurisdictions.US-OK.cap 0 must be an integer of at least 1 or null",
    ),
    (
        "an override without a reason",
        {"overrides": [{"jurisdiction": "US-RI", "rule": "sundays", "reason": " "}]},
        f"{W}.overrides[0].reason ' ' must be non-empty text",
    ),
    (
        "an override of a rule the jurisdiction does not have",
        {"overrides": [{"jurisdiction": "US-FL", "rule": "holidays", "reason": "counsel"}]},
        f"{W}.overrides[0] lifts US-FL's holidays rule, but Florida has no legal holidays",
    ),
    (
        "an override of Sundays where Sundays are open",
        {"overrides": [{"jurisdiction": "US-TX", "rule": "sundays", "reason": "counsel"}]},
        f"{W}.overrides[0] lifts US-TX's sundays rule, but Texas has no Sunday ban",
    ),
    (
        "an override of a window without the window kept instead",
        {"overrides": [{"jurisdiction": "US-FL", "rule": "window", "reason": "counsel"}]},
        f"{W}.overrides[0] lifts US-FL's window: set {W}.jurisdictions.US-FL.window (or .windows) to the window you "
        "keep instead",
    ),
    (
        "the same override twice",
        {
            "overrides": [
                {"jurisdiction": "US-OK", "rule": "cap", "reason": "a"},
                {"jurisdiction": "US-OK", "rule": "cap", "reason": "b"},
            ]
        },
        f"{W}.overrides[1] lifts US-OK's cap rule a second time",
    ),
    (
        "an override of an unknown rule",
        {"overrides": [{"jurisdiction": "US-OK", "rule": "hours", "reason": "a"}]},
        f"{W}.overrides[0].rule 'hours' must be one of window, sundays, holidays, cap",
    ),
]


@pytest.mark.parametrize("quiet_hours, message", [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS])
def test_a_setting_looser_than_the_law_or_malformed_fails_in_one_line(quiet_hours, message):
    fails(with_quiet_hours(**quiet_hours), message)


def test_stricter_settings_travel_to_the_sender_in_its_environment():
    raw = with_quiet_hours(
        jurisdictions={
            "US-FL": {"window": "09:00-19:00", "cap": 2},
            "US-RI": {"windows": {"sat": None}},
            "US-LA": {"blackout_dates": ["2026-07-03"]},
        },
        blackout_dates=["2026-12-24"],
    )
    quiet = parse_config(raw).outbound.quiet_hours
    assert quiet.overrides == ()
    settings = SenderSettings.from_json(parse_config(raw).outbound.sender_settings("+12065550100").to_json())
    rules = settings.quiet_hours
    assert rules.states["US-FL"] == (DailyWindow(time(9), time(19)),) * 7
    assert rules.states["US-RI"][5] is None  # Saturday closed by the operator
    assert rules.caps == {"US-FL": 2}
    assert rules.blackout_dates == {"US-LA": frozenset({date(2026, 7, 3)}), "*": frozenset({date(2026, 12, 24)})}
    assert rules == quiet.rules()


def test_the_default_config_carries_no_rule_in_the_environment():
    settings = parse_config(copy.deepcopy(DEFAULT_CONFIG)).outbound.sender_settings("+12065550100")
    assert json.loads(settings.to_json())["quiet_hours"] == {"default": "08:00-21:00"}
    assert settings.quiet_hours == QuietHoursRules()


def test_each_override_is_a_synth_warning_with_its_rule_source_and_reason():
    raw = with_quiet_hours(
        jurisdictions={"US-RI": {"windows": {"sun": "10:00-17:00"}}},
        overrides=[
            {"jurisdiction": "US-RI", "rule": "sundays", "reason": "counsel: texts to consenting members"},
            {"jurisdiction": "US-FL", "rule": "cap", "reason": "exempt under 501.604"},
        ],
    )
    parsed = parse_config(raw)
    assert parsed.outbound.quiet_hours.overrides == (
        RuleOverride("US-RI", "sundays", "counsel: texts to consenting members"),
        RuleOverride("US-FL", "cap", "exempt under 501.604"),
    )
    assert [(w.id, w.message) for w in parsed.warnings] == [
        (
            "two-way-sms:override-US-RI-sundays",
            f"{W}.overrides lift the sundays rule of US-RI (Rhode Island, R.I. Gen. Laws 5-61-3.6(a)) for "
            "promotional texts: counsel: texts to consenting members",
        ),
        (
            "two-way-sms:override-US-FL-cap",
            f"{W}.overrides lift the cap rule of US-FL (Florida, Fla. Stat. 501.616(6)(a)) for promotional texts: "
            "exempt under 501.604",
        ),
    ]
    rules = parsed.outbound.sender_settings("+12065550100").quiet_hours
    assert rules.waivers == {("US-RI", "sundays"), ("US-FL", "cap")}
    assert rules.week("US-RI")[6] == DailyWindow(time(10), time(17))


def test_an_override_of_a_states_window_lets_the_operators_window_replace_it_within_the_tcpa():
    raw = with_quiet_hours(
        jurisdictions={"US-FL": {"window": "08:00-21:00"}},
        overrides=[{"jurisdiction": "US-FL", "rule": "window", "reason": "counsel"}],
    )
    rules = parse_config(raw).outbound.sender_settings("+12065550100").quiet_hours
    assert rules.week("US-FL") == (DailyWindow(time(8), time(21)),) * 7
    fails(
        with_quiet_hours(
            jurisdictions={"US-FL": {"window": "07:00-21:00"}},
            overrides=[{"jurisdiction": "US-FL", "rule": "window", "reason": "counsel"}],
        ),
        f"{W}.jurisdictions.US-FL.window '07:00-21:00' is outside the law's 08:00-21:00 on Mondays (US: 47 CFR "
        '64.1200(c)(1)): only a stricter window, or an override {"jurisdiction": "US", "rule": "window", '
        '"reason": "..."}',
    )


def test_synth_reports_the_rules_in_force_for_the_configured_countries():
    raw = with_quiet_hours(
        countries=["US", "CA", "GB"],
        start="09:00",
        end="20:00",
        jurisdictions={"US-FL": {"window": "09:00-19:00", "cap": 2}},
        blackout_dates=["2026-12-24"],
    )
    reports = parse_config(raw).rules_reports
    by_code = {line.split(" ", 1)[0]: line for line in reports}
    assert set(by_code) >= {"US", "US-FL", "US-RI", "CA", "GB:", "every"}
    assert by_code["US-FL"].startswith(
        "US-FL (Florida): every day 09:00-19:00; cap 3 per 24 h, same subject; 2 per 24 h, same subject (operator); "
        "Fla. Stat. 501.616(6)(a); reviewed "
    )
    assert by_code["CA"].startswith("CA (Canada (CRTC Unsolicited Telecommunications Rules)): Mon-Fri 09:00-21:30")
    assert by_code["GB:"] == "GB: the default window, every day 09:00-20:00"
    assert by_code["every"] == "every number: blackout 2026-12-24"


def test_the_report_of_a_us_only_deployment_has_no_canadian_line():
    reports = parse_config(copy.deepcopy(DEFAULT_CONFIG)).rules_reports
    assert reports[0].startswith("US (United States (TCPA)): every day 08:00-21:00")
    assert not any(line.startswith("CA") for line in reports)
    assert len(reports) == 19  # the TCPA, 17 states and Puerto Rico
