"""Quiet hours for promotional texts, in the recipient's local time, from the rules table.

Every case names the rule it checks (the citation of the table's entry, or the judgement
call of RESEARCH.md it follows).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from phonenumbers import geocoder

from two_way_sms.quiet_hours import (
    ALL_JURISDICTIONS,
    SEARCH_DAYS,
    US_REGIONS,
    US_STATE_AREA_CODES,
    DailyWindow,
    QuietHoursRules,
    is_quiet,
    locate,
    next_allowed,
)
from two_way_sms.rules import load_rules

SEATTLE = "+12065550100"  # Washington: RCW 19.158.040(2) 8-20, Pacific
SPOKANE = "+15095550100"  # Washington, Pacific
DALLAS = "+12145550100"  # Texas: Mon-Sat 9-21, Sun 12-21, Central
TULSA = "+19185550100"  # Oklahoma: 8-20, Central
PROVIDENCE = "+14015550100"  # Rhode Island: weekdays 9-18, Saturday 10-17, no Sunday, holidays
HARTFORD = "+18605550100"  # Connecticut: 9-20
MIAMI = "+13055550100"  # Florida: 8-20, Eastern
PENSACOLA = "+18504330100"  # Florida, an 850 exchange in Central time
TALLAHASSEE = "+18505550100"  # Florida, an 850 exchange in Eastern time
BIRMINGHAM = "+12055550100"  # Alabama: Mon-Sat 8-20, no Sunday, holidays
NEW_ORLEANS = "+15045550100"  # Louisiana: Mon-Sat 8-20, no Sunday, holidays
JACKSON = "+16015550100"  # Mississippi: Mon-Sat 9-20, no Sunday, holidays
SALT_LAKE = "+18015550100"  # Utah: Mon-Sat 8-21, no Sunday, holidays
PHILADELPHIA = "+12155550100"  # Pennsylvania: Act 47 of 2026 Mon-Sat 9-19, no Sunday, holidays
LOUISVILLE = "+15025550100"  # Kentucky: KRS 367.46955(16) 10-21, Eastern
BALTIMORE = "+14105550100"  # Maryland: Com. Law 14-4502(c) 8-20
ANCHORAGE = "+19075550100"  # Alaska 907: Anchorage and Adak time (one hour apart)
RENO = "+17755550100"  # Nevada 775: Pacific and Mountain (Boise)
NEW_YORK = "+12125550100"  # New York: the TCPA only
SAN_JUAN = "+17875550100"  # Puerto Rico: the TCPA reaches the territories; Law 210-2003 9-21
PORTLAND = "+15035550100"  # Oregon: HB 3865 (2025) 8-20, Pacific
SIOUX_FALLS = "+16055550100"  # South Dakota: SDCL 37-30-28 weekdays 9-21 (automated), no weekend
TORONTO = "+14165550100"  # Canada: CRTC weekdays 9-21:30, weekends 10-18
LONDON = "+442079460000"  # another country: the configured default window
TOLL_FREE = "+18005550100"  # no time zone can be told from the number


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


EASTERN, CENTRAL, MOUNTAIN, PACIFIC = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"


def test_the_states_area_codes_match_phonenumbers_geocoder():
    table = load_rules()
    names = {entry.name: code for code, entry in table.jurisdictions.items() if code.startswith("US-")}
    names["Washington State"] = names.pop("Washington")  # the geocoder's name for the state
    abbreviations = {code.removeprefix("US-"): code for code in names.values()}
    derived: dict[str, list[int]] = {}
    for area_code in range(200, 1000):
        number = phonenumbers.parse(f"+1{area_code}5550100")
        if phonenumbers.region_code_for_number(number) not in US_REGIONS:  # the states and the territories (PR)
            continue
        description = geocoder.description_for_number(number, "en")
        code = names.get(description) or abbreviations.get(description.rsplit(", ", 1)[-1])
        if code is not None:
            derived.setdefault(code, []).append(area_code)
    assert {code: tuple(codes) for code, codes in sorted(derived.items())} == dict(sorted(US_STATE_AREA_CODES.items()))
    assert set(US_STATE_AREA_CODES) == {code for code in table.jurisdictions if code.startswith("US-")}
    assert "US-NJ" not in US_STATE_AREA_CODES  # RESEARCH.md judgement call 3: N.J.S.A. 56:8-128(d) = the TCPA


@pytest.mark.parametrize(
    "number, zones, jurisdiction",
    [
        (DALLAS, ("America/Chicago",), "US-TX"),
        (SEATTLE, ("America/Los_Angeles",), "US-WA"),
        (NEW_YORK, ("America/New_York",), "US"),
        (SAN_JUAN, ("America/Puerto_Rico",), "US-PR"),
        (TORONTO, ("America/Toronto",), "CA"),
        (LONDON, ("Europe/London",), None),
        (PENSACOLA, ("America/Chicago",), "US-FL"),
    ],
)
def test_a_number_is_located_in_its_time_zones_and_jurisdiction(number, zones, jurisdiction):
    assert locate(number).zones == zones and locate(number).jurisdiction == jurisdiction


MONDAY, SATURDAY, SUNDAY = (2026, 11, 23), (2026, 11, 28), (2026, 11, 29)

CASES = [
    # id (the rule it checks), number, local moment, quiet?
    ("47 CFR 64.1200(c)(1): 7:59 is before 8", NEW_YORK, local(EASTERN, *MONDAY, 7, 59), True),
    ("47 CFR 64.1200(c)(1): 8:00 opens", NEW_YORK, local(EASTERN, *MONDAY, 8, 0), False),
    ("47 CFR 64.1200(c)(1): 20:59 is inside", NEW_YORK, local(EASTERN, *MONDAY, 20, 59), False),
    ("47 CFR 64.1200(c)(1): 21:00 closes", NEW_YORK, local(EASTERN, *MONDAY, 21, 0), True),
    ("47 CFR 64.1200(c)(1): no Sunday rule", NEW_YORK, local(EASTERN, *SUNDAY, 10, 0), False),
    ("47 U.S.C. 153: the TCPA in Puerto Rico", SAN_JUAN, local("America/Puerto_Rico", *MONDAY, 21, 30), True),
    ("Law 210-2003: Puerto Rico from 9:00", SAN_JUAN, local("America/Puerto_Rico", *MONDAY, 8, 30), True),
    ("RCW 19.158.040(2): Washington closes at 20:00", SEATTLE, local(PACIFIC, *MONDAY, 20, 30), True),
    ("Or. HB 3865 (2025): Oregon closes at 20:00", PORTLAND, local(PACIFIC, *MONDAY, 20, 30), True),
    ("Or. HB 3865 (2025): Oregon opens at 8:00", PORTLAND, local(PACIFIC, *MONDAY, 8, 0), False),
    ("SDCL 37-30-28: South Dakota weekdays from 9:00", SIOUX_FALLS, local(CENTRAL, *MONDAY, 8, 30), True),
    ("SDCL 37-30-28: no Saturday in South Dakota", SIOUX_FALLS, local(CENTRAL, *SATURDAY, 12, 0), True),
    ("15 O.S. 775C.4: Oklahoma closes at 20:00", TULSA, local(CENTRAL, *MONDAY, 20, 30), True),
    ("Conn. Gen. Stat. 42-288a: Connecticut opens at 9:00", HARTFORD, local(EASTERN, *MONDAY, 8, 30), True),
    ("Tex. Bus. & Com. Code 301.051: Saturday from 9:00", DALLAS, local(CENTRAL, *SATURDAY, 9, 30), False),
    ("Tex. Bus. & Com. Code 301.051: Sunday from noon", DALLAS, local(CENTRAL, *SUNDAY, 9, 30), True),
    ("R.I. Gen. Laws 5-61-2: Friday until 18:00", PROVIDENCE, local(EASTERN, 2026, 11, 27, 17, 30), False),
    ("R.I. Gen. Laws 5-61-2: Saturday until 17:00", PROVIDENCE, local(EASTERN, *SATURDAY, 17, 30), True),
    ("Fla. Stat. 501.616(6)(a): an 850 exchange in Central time", PENSACOLA, local(CENTRAL, *MONDAY, 19, 30), False),
    ("Fla. Stat. 501.616(6)(a): an 850 exchange in Eastern time", TALLAHASSEE, local(EASTERN, *MONDAY, 20, 0), True),
    # Sundays (each state's own citation).
    ("Ala. Admin. Code r. 770-X-5-.17(1)(b): no Sunday", BIRMINGHAM, local(CENTRAL, *SUNDAY, 12, 0), True),
    ("La. R.S. 45:811(3): no Sunday", NEW_ORLEANS, local(CENTRAL, *SUNDAY, 12, 0), True),
    ("Miss. Code Ann. 77-3-723(1): no Sunday", JACKSON, local(CENTRAL, *SUNDAY, 12, 0), True),
    ("R.I. Gen. Laws 5-61-2: no Sunday hours", PROVIDENCE, local(EASTERN, *SUNDAY, 12, 0), True),
    ("Utah Code 13-25a-103(3)(b): no Sunday", SALT_LAKE, local(MOUNTAIN, *SUNDAY, 12, 0), True),
    ("Ala. Admin. Code r. 770-X-5-.17(1)(b): Saturday is open", BIRMINGHAM, local(CENTRAL, *SATURDAY, 12, 0), False),
    # Pennsylvania since Act 47 of 2026 (RESEARCH.md judgement call 7): Mon-Sat 9-19, no Sunday.
    ("73 P.S. 2245(a)(1) (Act 47 of 2026): 8:59 is before 9", PHILADELPHIA, local(EASTERN, *MONDAY, 8, 59), True),
    ("73 P.S. 2245(a)(1) (Act 47 of 2026): 9:00 opens", PHILADELPHIA, local(EASTERN, *MONDAY, 9, 0), False),
    ("73 P.S. 2245(a)(1) (Act 47 of 2026): 18:59 is inside", PHILADELPHIA, local(EASTERN, *MONDAY, 18, 59), False),
    ("73 P.S. 2245(a)(1) (Act 47 of 2026): 19:00 closes", PHILADELPHIA, local(EASTERN, *MONDAY, 19, 0), True),
    ("73 P.S. 2245(a)(1) (Act 47 of 2026): Saturday is open", PHILADELPHIA, local(EASTERN, *SATURDAY, 12, 0), False),
    ("73 P.S. 2245(a)(1) (Act 47 of 2026): no Sunday", PHILADELPHIA, local(EASTERN, *SUNDAY, 12, 0), True),
    ("KRS 367.46955(16): Kentucky opens at 10:00", LOUISVILLE, local(EASTERN, *MONDAY, 9, 59), True),
    ("KRS 367.46955(16): Kentucky 10:00 opens", LOUISVILLE, local(EASTERN, *MONDAY, 10, 0), False),
    ("Md. Code, Com. Law 14-4502(c): Maryland closes at 20:00", BALTIMORE, local(EASTERN, *MONDAY, 20, 0), True),
    # Mississippi's "Central Standard Time": 9-20 all year (RESEARCH.md judgement call 4).
    ("Miss. Code Ann. 77-3-723(1): 8:30 CDT in July", JACKSON, local(CENTRAL, 2026, 7, 14, 8, 30), True),
    ("Miss. Code Ann. 77-3-723(1): 8:30 CST in January", JACKSON, local(CENTRAL, 2027, 1, 12, 8, 30), True),
    ("Miss. Code Ann. 77-3-723(1): 19:59 CDT in July", JACKSON, local(CENTRAL, 2026, 7, 14, 19, 59), False),
    # Holidays, and holidays that fall on a weekend.
    ("Ala. Admin. Code r. 770-X-5-.17(1)(b): Thanksgiving", BIRMINGHAM, local(CENTRAL, 2026, 11, 26, 12, 0), True),
    ("Ala. Code 1-3-8: July 4 2026, a Saturday", BIRMINGHAM, local(CENTRAL, 2026, 7, 4, 12, 0), True),
    ("Ala. Code 1-3-8: observed the Friday before", BIRMINGHAM, local(CENTRAL, 2026, 7, 3, 12, 0), True),
    (
        "Ala. Code 1-3-8: a Saturday holiday does not close the Monday",
        BIRMINGHAM,
        local(CENTRAL, 2026, 7, 6, 12, 0),
        False,
    ),
    (
        "R.I. Gen. Laws 25-1-1: a Saturday holiday observed the Monday after",
        PROVIDENCE,
        local(EASTERN, 2026, 7, 6, 12, 0),
        True,
    ),
    ("R.I. Gen. Laws 5-61-2 + library: ... and the Friday before", PROVIDENCE, local(EASTERN, 2026, 7, 3, 12, 0), True),
    ("R.I. Gen. Laws 25-1-1: May 4", PROVIDENCE, local(EASTERN, 2026, 5, 4, 12, 0), True),
    ("R.I. Gen. Laws 25-1-1: Victory Day", PROVIDENCE, local(EASTERN, 2026, 8, 10, 12, 0), True),
    ("R.I. Gen. Laws 25-1-1: general election day 2026", PROVIDENCE, local(EASTERN, 2026, 11, 3, 12, 0), True),
    (
        "Utah Code 63G-1-301: July 4 2027, a Sunday, observed Monday",
        SALT_LAKE,
        local(MOUNTAIN, 2027, 7, 5, 12, 0),
        True,
    ),
    ("Utah Code 63G-1-301: Pioneer Day", SALT_LAKE, local(MOUNTAIN, 2026, 7, 24, 12, 0), True),
    (
        "Utah Code 63G-1-301: New Year 2028 (Sat) observed 2027-12-31",
        SALT_LAKE,
        local(MOUNTAIN, 2027, 12, 31, 12, 0),
        True,
    ),
    ("73 P.S. 2245(a)(10): Flag Day 2026, a Sunday", PHILADELPHIA, local(EASTERN, 2026, 6, 14, 12, 0), True),
    ("73 P.S. 2245(a)(10): Flag Day observed Monday", PHILADELPHIA, local(EASTERN, 2026, 6, 15, 12, 0), True),
    ("73 P.S. 2245(a)(10): Good Friday 2026", PHILADELPHIA, local(EASTERN, 2026, 4, 3, 12, 0), True),
    ("73 P.S. 2245(a)(10): election day, even years only", PHILADELPHIA, local(EASTERN, 2027, 11, 2, 12, 0), False),
    ("La. R.S. 45:811(3): Mardi Gras", NEW_ORLEANS, local(CENTRAL, 2026, 2, 17, 12, 0), True),
    (
        "Miss. Code 3-3-7 (kept, judgement call 4): Confederate Memorial Day",
        JACKSON,
        local(CENTRAL, 2026, 4, 27, 12, 0),
        True,
    ),
    ("47 CFR 64.1200(c)(1): no holiday rule in New York", NEW_YORK, local(EASTERN, 2026, 7, 3, 12, 0), False),
    # Canada: CRTC Unsolicited Telecommunications Rules, Part III, not the TCPA.
    (
        "CRTC Part III: weekdays until 21:30, past the TCPA's 21:00",
        TORONTO,
        local("America/Toronto", *MONDAY, 21, 15),
        False,
    ),
    ("CRTC Part III: weekdays from 9:00", TORONTO, local("America/Toronto", *MONDAY, 8, 30), True),
    ("CRTC Part III: Saturday from 10:00", TORONTO, local("America/Toronto", *SATURDAY, 9, 30), True),
    ("CRTC Part III: Saturday 10:00 opens", TORONTO, local("America/Toronto", *SATURDAY, 10, 0), False),
    ("CRTC Part III: Sunday until 18:00", TORONTO, local("America/Toronto", *SUNDAY, 18, 0), True),
    ("CRTC Part III: Sunday 17:59 is inside", TORONTO, local("America/Toronto", *SUNDAY, 17, 59), False),
    # Another country: the default window only (8:00-21:00 unless configured), no state or Sunday rule.
    ("default window: London at 7:30", LONDON, local("Europe/London", *MONDAY, 7, 30), True),
    ("default window: London on a Sunday at noon", LONDON, local("Europe/London", *SUNDAY, 12, 0), False),
]


@pytest.mark.parametrize("number, moment, quiet", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_promotional_windows_follow_the_rules_table(number, moment, quiet):
    assert is_quiet(number, moment) is quiet


HELD = [
    # id (the rule), number, the moment asked, the next opening
    (
        "Tex. Bus. & Com. Code 301.051: Sunday 7:00 waits for noon",
        DALLAS,
        utc(2026, 11, 29, 13, 0),
        local(CENTRAL, *SUNDAY, 12, 0),
    ),
    (
        "RCW 19.158.040(2): 23:59 local waits for 8:00 the next morning (midnight in the recipient's zone)",
        SEATTLE,
        local(PACIFIC, *MONDAY, 23, 59),
        local(PACIFIC, 2026, 11, 24, 8, 0),
    ),
    (
        "Utah Code 13-25a-103(3): 00:00 on the observed July 4 (Fri), July 4 (Sat), Sunday -> Monday 8:00",
        SALT_LAKE,
        local(MOUNTAIN, 2026, 7, 3, 0, 0),
        local(MOUNTAIN, 2026, 7, 6, 8, 0),
    ),
    (
        "R.I. Gen. Laws 5-61-2, 25-1-1: Friday observed, Saturday holiday, Sunday, Monday observed -> Tuesday 9:00",
        PROVIDENCE,
        local(EASTERN, 2026, 7, 2, 18, 0),
        local(EASTERN, 2026, 7, 7, 9, 0),
    ),
    (
        "R.I. Gen. Laws 25-1-1: Christmas 2027 (Sat): Fri 24, Sat 25, Sun, Mon 27 -> Tuesday 9:00",
        PROVIDENCE,
        local(EASTERN, 2027, 12, 23, 18, 30),
        local(EASTERN, 2027, 12, 28, 9, 0),
    ),
    (
        "Ala. Admin. Code r. 770-X-5-.17(1)(b): Saturday 20:00 -> Monday 8:00 (no Sunday)",
        BIRMINGHAM,
        local(CENTRAL, *SATURDAY, 20, 0),
        local(CENTRAL, 2026, 11, 30, 8, 0),
    ),
    (
        "73 P.S. 2245(a)(1) (Act 47 of 2026): Saturday 19:00 -> Monday 9:00 (no Sunday)",
        PHILADELPHIA,
        local(EASTERN, *SATURDAY, 19, 0),
        local(EASTERN, 2026, 11, 30, 9, 0),
    ),
    (
        "73 P.S. 2245(a)(1) (Act 47 of 2026): 00:00 Sunday in the recipient's zone -> Monday 9:00",
        PHILADELPHIA,
        utc(2026, 11, 29, 5, 0),  # midnight in Philadelphia, still Saturday in the Pacific
        local(EASTERN, 2026, 11, 30, 9, 0),
    ),
    (
        "73 P.S. 2245(a)(10), 44 P.S. 11: Flag Day 2026 on a Sunday, observed Monday -> Tuesday 9:00",
        PHILADELPHIA,
        local(EASTERN, 2026, 6, 13, 19, 0),
        local(EASTERN, 2026, 6, 16, 9, 0),
    ),
    (
        "73 P.S. 2245(a)(10): July 4 2026 (Sat) observed Friday, then Sunday -> Monday 9:00",
        PHILADELPHIA,
        local(EASTERN, 2026, 7, 2, 19, 0),
        local(EASTERN, 2026, 7, 6, 9, 0),
    ),
    (
        "73 P.S. 2245(a)(10): Christmas 2027 (Sat) observed Friday 24, then Sunday -> Monday 27 9:00",
        PHILADELPHIA,
        local(EASTERN, 2027, 12, 23, 19, 30),
        local(EASTERN, 2027, 12, 27, 9, 0),
    ),
    (
        "CRTC Part III: Friday 21:30 -> Saturday 10:00",
        TORONTO,
        local("America/Toronto", 2026, 11, 27, 21, 30),
        local("America/Toronto", *SATURDAY, 10, 0),
    ),
    # DST in a state with its own window: the window keeps its local hours.
    (
        "Fla. Stat. 501.616(6)(a): the night before spring forward -> 8:00 EDT (12:00 UTC)",
        MIAMI,
        utc(2026, 3, 8, 3, 0),  # Saturday 22:00 EST
        utc(2026, 3, 8, 12, 0),
    ),
    (
        "Fla. Stat. 501.616(6)(a): the night before fall back -> 8:00 EST (13:00 UTC)",
        MIAMI,
        utc(2026, 11, 1, 1, 0),  # Saturday 21:00 EDT
        utc(2026, 11, 1, 13, 0),
    ),
    (
        "73 P.S. 2245(a)(1) (Act 47 of 2026): Saturday before spring forward, Sunday closed -> 9:00 EDT (13:00 UTC)",
        PHILADELPHIA,
        utc(2026, 3, 8, 0, 30),  # Saturday 19:30 EST
        utc(2026, 3, 9, 13, 0),
    ),
    (
        "73 P.S. 2245(a)(1) (Act 47 of 2026): Saturday before fall back, Sunday closed -> 9:00 EST (14:00 UTC)",
        PHILADELPHIA,
        utc(2026, 11, 1, 0, 0),  # Saturday 20:00 EDT
        utc(2026, 11, 2, 14, 0),
    ),
    (
        "KRS 367.46955(16): 23:59 local waits for 10:00 the next morning",
        LOUISVILLE,
        local(EASTERN, *MONDAY, 23, 59),
        local(EASTERN, 2026, 11, 24, 10, 0),
    ),
    (
        "RCW 19.158.040(2): spring forward: 8:00 PDT is 15:00 UTC",
        SPOKANE,
        utc(2026, 3, 9, 10, 0),
        utc(2026, 3, 9, 15, 0),
    ),
    # Several candidate zones: every one must be inside its window.
    (
        "47 CFR 64.1200(c)(1): 907 opens at 8:00 in Adak, 9:00 in Anchorage",
        ANCHORAGE,
        local("America/Anchorage", *MONDAY, 7, 0),
        local("America/Anchorage", *MONDAY, 9, 0),
    ),
    (
        "47 CFR 64.1200(c)(1): 775 opens at 8:00 Pacific, 9:00 in the Mountain part",
        RENO,
        utc(2026, 11, 23, 12, 0),
        local(PACIFIC, *MONDAY, 8, 0),
    ),
]


@pytest.mark.parametrize("number, asked, opening", [case[1:] for case in HELD], ids=[case[0] for case in HELD])
def test_a_held_message_is_released_at_the_next_opening(number, asked, opening):
    assert next_allowed(number, asked) == opening


@pytest.mark.parametrize(
    "moment, quiet",
    [
        (local("America/Anchorage", *MONDAY, 8, 59), True),  # 7:59 in Adak
        (local("America/Anchorage", *MONDAY, 9, 0), False),
        (local("America/Anchorage", *MONDAY, 20, 59), False),
        (local("America/Anchorage", *MONDAY, 21, 0), True),  # the Anchorage side closes first
    ],
    ids=["8:59 Anchorage", "9:00 Anchorage", "20:59 Anchorage", "21:00 Anchorage"],
)
def test_an_alaska_907_number_at_the_border_hour_needs_both_zones_open(moment, quiet):
    assert set(locate(ANCHORAGE).zones) == {"America/Adak", "America/Anchorage"}
    assert is_quiet(ANCHORAGE, moment) is quiet


def test_an_allowed_moment_is_returned_unchanged():
    moment = local(PACIFIC, *MONDAY, 12, 0)
    assert next_allowed(SEATTLE, moment) is moment


def test_a_number_with_no_usable_time_zone_gets_no_promotional_window():
    assert next_allowed(TOLL_FREE, utc(2026, 11, 23, 18, 0)) is None


def test_the_default_window_is_configurable_and_applies_to_other_countries_only():
    rules = QuietHoursRules(default=DailyWindow(time(10), time(19)))
    assert is_quiet(LONDON, local("Europe/London", *MONDAY, 9, 30), rules)
    assert not is_quiet(LONDON, local("Europe/London", *MONDAY, 10, 30), rules)
    assert not is_quiet(NEW_YORK, local(EASTERN, *MONDAY, 9, 30), rules)  # the US has its rules: the TCPA's


def test_the_operator_can_tighten_a_jurisdiction_but_not_loosen_it():
    tighter = QuietHoursRules(states={"US-FL": (DailyWindow(time(10), time(18)),) * 7})
    assert is_quiet(MIAMI, local(EASTERN, *MONDAY, 9, 30), tighter)
    assert not is_quiet(MIAMI, local(EASTERN, *MONDAY, 10, 30), tighter)
    looser = QuietHoursRules(states={"US-FL": (DailyWindow(time(6), time(23)),) * 7})
    assert looser.states == {}  # it tightens nothing: dropped
    assert is_quiet(MIAMI, local(EASTERN, *MONDAY, 20, 30), looser)
    sunday_open = QuietHoursRules(states={"RI": (DailyWindow(time(10), time(17)),) * 7})
    assert is_quiet(PROVIDENCE, local(EASTERN, *SUNDAY, 12, 0), sunday_open)


def test_the_legal_state_windows_given_as_tightening_change_nothing():
    legal = {code: load_rules().week(code) for code in US_STATE_AREA_CODES}
    assert QuietHoursRules(states=legal) == QuietHoursRules()
    assert QuietHoursRules(states=legal).states == {}


def test_blackout_dates_close_a_jurisdiction_or_every_number():
    governor = QuietHoursRules(blackout_dates={"US-LA": frozenset({date(2026, 11, 23)})})
    assert is_quiet(NEW_ORLEANS, local(CENTRAL, *MONDAY, 12, 0), governor)  # La. R.S. 45:811(3): declared holiday
    assert not is_quiet(DALLAS, local(CENTRAL, *MONDAY, 12, 0), governor)
    everywhere = QuietHoursRules(blackout_dates={ALL_JURISDICTIONS: frozenset({date(2026, 11, 23)})})
    assert is_quiet(LONDON, local("Europe/London", *MONDAY, 12, 0), everywhere)
    assert next_allowed(DALLAS, local(CENTRAL, *MONDAY, 12, 0), everywhere) == local(CENTRAL, 2026, 11, 24, 9, 0)


def test_nothing_opening_within_the_search_horizon_is_none():
    days = frozenset(date(2026, 11, 23) + timedelta(days=offset) for offset in range(SEARCH_DAYS + 1))
    rules = QuietHoursRules(blackout_dates={ALL_JURISDICTIONS: days})
    assert next_allowed(NEW_YORK, local(EASTERN, *MONDAY, 12, 0), rules) is None


def test_rules_are_checked():
    with pytest.raises(ValueError, match="must start before it ends"):
        DailyWindow(time(21), time(8))
    with pytest.raises(ValueError, match="not 7"):
        QuietHoursRules(states={"TX": (DailyWindow(time(9), time(21)),)})
    with pytest.raises(ValueError, match="'NJ': no such jurisdiction"):
        QuietHoursRules(states={"NJ": (DailyWindow(time(9), time(20)),) * 7})
    with pytest.raises(ValueError, match="timezone-aware"):
        next_allowed(SEATTLE, datetime(2026, 11, 23, 12, 0))


# -- named waivers (the config's overrides) ------------------------------------------------------------------


def test_a_sunday_waiver_opens_sunday_under_the_operators_window_or_the_countrys():
    # R.I. Gen. Laws 5-61-2 lifted by name: Sunday gets the operator's window, else the TCPA's.
    with_window = QuietHoursRules(
        states={"US-RI": (None,) * 6 + (DailyWindow(time(10), time(17)),)}, waivers=frozenset({("US-RI", "sundays")})
    )
    assert not is_quiet(PROVIDENCE, local(EASTERN, *SUNDAY, 12, 0), with_window)
    assert is_quiet(PROVIDENCE, local(EASTERN, *SUNDAY, 17, 30), with_window)
    assert is_quiet(PROVIDENCE, local(EASTERN, *MONDAY, 12, 0), with_window)  # the operator closed weekdays
    bare = QuietHoursRules(waivers=frozenset({("US-RI", "sundays")}))
    assert not is_quiet(PROVIDENCE, local(EASTERN, *SUNDAY, 20, 30), bare)  # 47 CFR 64.1200(c)(1): until 21:00


def test_a_holiday_waiver_lifts_the_states_holidays_only():
    # Utah Code 13-25a-103(3)(c) lifted by name: Pioneer Day opens; the Sunday ban stays.
    rules = QuietHoursRules(waivers=frozenset({("US-UT", "holidays")}))
    assert not is_quiet(SALT_LAKE, local(MOUNTAIN, 2026, 7, 24, 12, 0), rules)
    assert is_quiet(SALT_LAKE, local(MOUNTAIN, 2026, 7, 26, 12, 0), rules)


def test_a_window_waiver_replaces_the_states_week_but_not_the_tcpa():
    late = QuietHoursRules(
        states={"US-FL": (DailyWindow(time(7), time(22)),) * 7}, waivers=frozenset({("US-FL", "window")})
    )
    assert not is_quiet(MIAMI, local(EASTERN, *MONDAY, 20, 30), late)  # Florida's 20:00 lifted
    assert is_quiet(MIAMI, local(EASTERN, *MONDAY, 21, 30), late)  # the TCPA's 21:00 stays
    with pytest.raises(ValueError, match="needs the week to use instead"):
        QuietHoursRules(waivers=frozenset({("US-FL", "window")}))
    with pytest.raises(ValueError, match="must be one of"):
        QuietHoursRules(waivers=frozenset({("US-FL", "hours")}))


def test_the_rules_in_force_show_the_operators_tightening_and_waivers():
    rules = QuietHoursRules(
        states={"US-FL": (DailyWindow(time(9), time(19)),) * 7},
        caps={"US-FL": 2},
        blackout_dates={"US-LA": frozenset({date(2026, 7, 3)})},
        waivers=frozenset({("US-UT", "holidays")}),
    )
    by_code = {rule.code: rule for rule in rules.in_force(["US"]).jurisdictions}
    assert by_code["US-FL"].windows_text() == "every day 09:00-19:00"
    assert by_code["US-FL"].cap_text() == "3 per 24 h, same subject; 2 per 24 h, same subject (operator)"
    assert "blackout 2026-07-03" in by_code["US-LA"].closed_text()
    assert by_code["US-UT"].closed_text() == "Sundays closed" and by_code["US-UT"].waived == ("holidays",)
