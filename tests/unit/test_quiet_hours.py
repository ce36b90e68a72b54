"""Quiet hours for promotional texts, in the recipient's local time (TCPA and stricter states)."""

from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from phonenumbers import geocoder

from two_way_sms.quiet_hours import (
    STRICTER_STATE_AREA_CODES,
    DailyWindow,
    QuietHoursRules,
    is_quiet,
    locate,
    next_allowed,
)

SEATTLE = "+12065550100"  # Washington: TCPA 8-21, Pacific time
DALLAS = "+12145550100"  # Texas: Mon-Sat 9-21, Sun 12-21, Central time
TULSA = "+19185550100"  # Oklahoma: 8-20, Central time
PROVIDENCE = "+14015550100"  # Rhode Island: weekdays 9-18, weekends 10-17, Eastern time
HARTFORD = "+18605550100"  # Connecticut: 9-20


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


def test_the_stricter_states_area_codes_match_phonenumbers_geocoder():
    names = {
        "Florida": "FL",
        "Oklahoma": "OK",
        "Maryland": "MD",
        "Mississippi": "MS",
        "New Jersey": "NJ",
        "Connecticut": "CT",
        "Texas": "TX",
        "Rhode Island": "RI",
    }
    derived: dict[str, list[int]] = {}
    for area_code in range(200, 1000):
        description = geocoder.description_for_number(phonenumbers.parse(f"+1{area_code}2345678"), "en")
        state = names.get(description) or (description.rsplit(", ", 1)[-1] if ", " in description else None)
        if state in names.values():
            derived.setdefault(state, []).append(area_code)
    assert {state: tuple(codes) for state, codes in derived.items()} == STRICTER_STATE_AREA_CODES


def test_a_number_is_located_in_its_time_zone_and_stricter_state():
    assert locate(DALLAS).zones == ("America/Chicago",) and locate(DALLAS).state == "TX"
    assert locate(SEATTLE).state is None


@pytest.mark.parametrize(
    "number, moment, quiet",
    [
        (SEATTLE, local("America/Los_Angeles", 2026, 11, 23, 7, 59), True),
        (SEATTLE, local("America/Los_Angeles", 2026, 11, 23, 8, 0), False),
        (SEATTLE, local("America/Los_Angeles", 2026, 11, 23, 20, 59), False),
        (SEATTLE, local("America/Los_Angeles", 2026, 11, 23, 21, 0), True),
        (TULSA, local("America/Chicago", 2026, 11, 23, 20, 30), True),  # Oklahoma ends at 20:00
        (HARTFORD, local("America/New_York", 2026, 11, 23, 8, 30), True),  # Connecticut starts at 9:00
        (DALLAS, local("America/Chicago", 2026, 11, 28, 9, 30), False),  # a Saturday
        (DALLAS, local("America/Chicago", 2026, 11, 29, 9, 30), True),  # a Sunday: from noon
        (PROVIDENCE, local("America/New_York", 2026, 11, 27, 17, 30), False),  # a Friday: until 18:00
        (PROVIDENCE, local("America/New_York", 2026, 11, 28, 17, 30), True),  # a Saturday: until 17:00
    ],
)
def test_promotional_windows_follow_the_tcpa_and_the_stricter_states(number, moment, quiet):
    assert is_quiet(number, moment) is quiet


def test_a_held_message_is_released_when_the_recipients_window_opens():
    sent_at = datetime(2026, 11, 29, 13, 0, tzinfo=timezone.utc)  # Sunday 7:00 in Dallas
    assert next_allowed(DALLAS, sent_at) == local("America/Chicago", 2026, 11, 29, 12, 0)
    evening = datetime(2026, 11, 24, 5, 0, tzinfo=timezone.utc)  # Monday 21:00 in Seattle
    assert next_allowed(SEATTLE, evening) == local("America/Los_Angeles", 2026, 11, 24, 8, 0)


def test_an_allowed_moment_is_returned_unchanged():
    moment = local("America/Los_Angeles", 2026, 11, 23, 12, 0)
    assert next_allowed(SEATTLE, moment) is moment


def test_windows_keep_local_time_across_daylight_saving_changes():
    # 2026-03-08: clocks go forward in the US. 8:00 local is 16:00 UTC before, 15:00 UTC after.
    before = next_allowed(SEATTLE, datetime(2026, 3, 7, 10, 0, tzinfo=timezone.utc))
    after = next_allowed(SEATTLE, datetime(2026, 3, 9, 10, 0, tzinfo=timezone.utc))
    assert before.astimezone(timezone.utc).hour == 16 and after.astimezone(timezone.utc).hour == 15
    # 2026-11-01: clocks go back; 8:00 local is 16:00 UTC again.
    assert next_allowed(SEATTLE, datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)).astimezone(timezone.utc).hour == 16


def test_a_number_spanning_two_zones_is_texted_only_when_both_are_inside_their_window():
    # Area code 775 (Nevada) spans Pacific and Mountain time in phonenumbers' table.
    reno = "+17755550100"
    assert set(locate(reno).zones) == {"America/Los_Angeles", "America/Boise"}
    opening = next_allowed(reno, datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc))
    assert opening == local("America/Los_Angeles", 2026, 11, 23, 8, 0)  # 9:00 in the Mountain part
    assert is_quiet(reno, local("America/Los_Angeles", 2026, 11, 23, 20, 30))  # 21:30 in the Mountain part


def test_a_number_with_no_usable_time_zone_gets_no_promotional_window():
    assert next_allowed("+18005550100", datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)) is None


def test_rules_are_configurable_and_checked():
    rules = QuietHoursRules(default=DailyWindow(time(10), time(19)), states={})
    assert is_quiet(DALLAS, local("America/Chicago", 2026, 11, 29, 9, 30), rules)
    assert not is_quiet(DALLAS, local("America/Chicago", 2026, 11, 29, 10, 30), rules)
    with pytest.raises(ValueError, match="must start before it ends"):
        DailyWindow(time(21), time(8))
    with pytest.raises(ValueError, match="not 7"):
        QuietHoursRules(states={"TX": (DailyWindow(time(9), time(21)),)})
    with pytest.raises(ValueError, match="timezone-aware"):
        next_allowed(SEATTLE, datetime(2026, 11, 23, 12, 0))
