"""The sender's decision: send, hold (quiet hours, sendAfter) or refuse, in the contracted order."""

import dataclasses
import json
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from two_way_sms.encoding import GSM7, UCS2
from two_way_sms.outbound.policy import (
    MISSING_VARIABLES,
    NO_OPT_IN,
    OPT_OUT_INSTRUCTION,
    OPTED_OUT,
    OVER_CAMPAIGN_LIMIT,
    OVER_DAILY_LIMIT,
    OVER_STATE_LIMIT,
    PRICE_ABOVE_MAX,
    QUIET_HOURS,
    REFUSAL_REASONS,
    REJECTED,
    SEND_AFTER,
    TOO_MANY_PARTS,
    UNKNOWN_FLOW,
    UNKNOWN_TEMPLATE,
    UNKNOWN_TIME_ZONE,
    ContactState,
    Outcome,
    SenderSettings,
    has_opt_out_instruction,
    plan_send,
    with_opt_out_instruction,
)
from two_way_sms.outbound.request import CampaignRef, ConversationRef, SendRequest
from two_way_sms.outbound.templates import parse_template
from two_way_sms.quiet_hours import TCPA_WINDOW, US_STATE_AREA_CODES, DailyWindow, QuietHoursRules
from two_way_sms.rules import load_rules

NEW_YORK = "+12125550100"  # TCPA 8-21, Eastern time
DALLAS = "+12145550100"  # Texas: Mon-Sat 9-21, Sun 12-21, Central time
TULSA = "+19185550100"  # Oklahoma: 8-20 and at most 3 promotional texts per 24 h
TOLL_FREE = "+18005550100"  # no time zone can be told from the number
MIAMI = "+13055550100"  # Florida: 8-20 and at most 3 promotional texts per 24 h on the same subject
TORONTO = "+14165550100"  # Canada: the CRTC's curfew, not the TCPA
SALT_LAKE = "+18015550100"  # Utah: no Sundays, no legal holidays
LONDON = "+442079460000"  # another country: the configured default window

EASTERN = ZoneInfo("America/New_York")
CENTRAL = ZoneInfo("America/Chicago")
# Monday 23 November 2026, 15:00 in New York: inside every window.
AFTERNOON = datetime(2026, 11, 23, 15, 0, tzinfo=EASTERN)

SETTINGS = SenderSettings(origination_identity="+12065550199", mps=1.0)
OPTED_IN = ContactState(opted_in=True)
TEMPLATES = {
    "reminder": parse_template("reminder", "{first_name}, your appointment is {when}.", "TRANSACTIONAL"),
    "sale": parse_template("sale", "{first_name}, 20% off today only!", "PROMOTIONAL"),
}


def request(number=NEW_YORK, message_type="TRANSACTIONAL", body="Your order shipped.", key="k-1", **fields):
    if "template_id" in fields:
        body = None
    return SendRequest(number, message_type, key, body=body, **fields)


def promotional(number=NEW_YORK, body="20% off today only! Reply STOP to opt out", **fields):
    return request(number, "PROMOTIONAL", body, **fields)


def plan(req, contact=OPTED_IN, now=AFTERNOON, settings=SETTINGS):
    return plan_send(req, contact=contact, now=now, settings=settings, templates=TEMPLATES)


# -- encoding and parts -----------------------------------------------------------------------


def test_160_gsm7_characters_go_as_one_part():
    result = plan(request(body="x" * 160))
    assert (result.outcome, result.parts, result.encoding) == (Outcome.SEND, 1, GSM7)
    assert result.body == "x" * 160


def test_161_gsm7_characters_go_as_two_parts():
    assert plan(request(body="x" * 161)).parts == 2


def test_the_opt_out_footer_is_counted_and_can_push_a_promotional_text_to_two_parts():
    footer = len("\n" + OPT_OUT_INSTRUCTION)
    fits = parse_template("fits", "{name}" + "x" * (160 - footer - 2), "PROMOTIONAL")
    spills = parse_template("spills", "{name}" + "x" * (160 - footer - 1), "PROMOTIONAL")
    templates = {"fits": fits, "spills": spills}
    for template_id, parts in (("fits", 1), ("spills", 2)):
        req = promotional(body=None, template_id=template_id, variables={"name": "Al"})
        result = plan_send(req, contact=OPTED_IN, now=AFTERNOON, settings=SETTINGS, templates=templates)
        assert result.outcome is Outcome.SEND and result.parts == parts
        assert result.body.endswith("\nReply STOP to opt out")


def test_a_smart_quote_is_replaced_so_the_text_stays_gsm7():
    result = plan(request(body="We\u2019re open \u2013 come by\u2026"))
    assert result.body == "We're open - come by..."
    assert (result.encoding, result.parts) == (GSM7, 1)


def test_without_lookalike_replacement_a_smart_quote_forces_ucs2():
    settings = dataclasses.replace(SETTINGS, replace_lookalikes=False)
    result = plan(request(body="We\u2019re open" + "x" * 80), settings=settings)
    assert (result.encoding, result.parts) == (UCS2, 2)


def test_lookalikes_are_replaced_before_parts_are_counted():
    # 150 characters plus one smart quote: UCS-2 would need 3 parts, GSM-7 needs 1.
    result = plan(request(body="x" * 150 + "\u2019"), settings=dataclasses.replace(SETTINGS, max_parts=1))
    assert result.outcome is Outcome.SEND and result.parts == 1


def test_a_message_over_max_parts_is_refused():
    result = plan(request(body="x" * (153 * 6 + 1)))
    assert (result.outcome, result.reason) == (Outcome.REFUSE, TOO_MANY_PARTS)
    assert "7 parts" in result.detail


# -- the opt-out instruction ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, present",
    [
        ("Reply STOP to opt out", True),
        ("Text stop to quit.", True),
        ("STOP=end", True),
        ("To opt out, reply", True),
        ("Opt-out anytime", True),
        ("optout: reply", True),
        ("Unsubscribe at example.com", True),
        ("Our non-stop sale!", False),
        ("Stopping by later?", False),
        ("Big sale today", False),
    ],
)
def test_an_opt_out_instruction_is_recognised_case_insensitively(body, present):
    assert has_opt_out_instruction(body) is present


def test_the_instruction_is_appended_only_when_missing():
    assert with_opt_out_instruction("Big sale") == "Big sale\nReply STOP to opt out"
    assert with_opt_out_instruction("Big sale. Text STOP to end") == "Big sale. Text STOP to end"


def test_a_promotional_text_gets_the_footer_and_a_transactional_one_does_not():
    assert plan(promotional(body="Big sale")).body == "Big sale\nReply STOP to opt out"
    assert plan(request(body="Your code is 1234")).body == "Your code is 1234"


# -- consent ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("message_type", ["TRANSACTIONAL", "PROMOTIONAL"])
def test_an_opted_out_recipient_is_refused_whatever_the_type(message_type):
    result = plan(request(message_type=message_type), contact=ContactState(opted_out=True, opted_in=True))
    assert (result.outcome, result.reason) == (Outcome.REFUSE, OPTED_OUT)


def test_opted_out_wins_over_an_unknown_template():
    result = plan(request(template_id="nope"), contact=ContactState(opted_out=True))
    assert result.reason == OPTED_OUT


def test_without_an_opt_in_only_promotional_texts_are_refused():
    nobody = ContactState()
    assert plan(promotional(), contact=nobody).reason == NO_OPT_IN
    assert plan(request(), contact=nobody).outcome is Outcome.SEND


def test_a_promotional_template_is_promotional_even_if_the_request_says_transactional():
    req = request(template_id="sale", variables={"first_name": "Ana"})
    result = plan(req, contact=ContactState())
    assert (result.reason, result.message_type) == (NO_OPT_IN, "PROMOTIONAL")
    sent = plan(req)
    assert sent.message_type == "PROMOTIONAL" and sent.body.endswith(OPT_OUT_INSTRUCTION)


# -- templates -----------------------------------------------------------------------------------------


def test_a_template_is_rendered_into_the_body():
    result = plan(request(template_id="reminder", variables={"first_name": "Ana", "when": "Tue 10:00"}))
    assert result.body == "Ana, your appointment is Tue 10:00." and result.message_type == "TRANSACTIONAL"


def test_an_unknown_template_is_refused():
    assert plan(request(template_id="missing")).reason == UNKNOWN_TEMPLATE


def test_missing_variables_are_refused_and_named_in_the_detail():
    result = plan(request(template_id="reminder", variables={"first_name": "Ana"}))
    assert (result.outcome, result.reason) == (Outcome.REFUSE, MISSING_VARIABLES)
    assert "when" in result.detail


def test_a_body_of_only_invisible_characters_is_refused_rather_than_sent_empty():
    result = plan(request(body="\u200b\ufeff"))
    assert (result.outcome, result.reason) == (Outcome.REFUSE, REJECTED)


def test_a_template_rendered_to_nothing_but_whitespace_is_refused():
    templates = {"bare": parse_template("bare", "{text}", "TRANSACTIONAL")}
    req = request(template_id="bare", variables={"text": "  "})
    result = plan_send(req, contact=OPTED_IN, now=AFTERNOON, settings=SETTINGS, templates=templates)
    assert result.reason == MISSING_VARIABLES


# -- send_after -----------------------------------------------------------------------------------------


def test_a_future_send_after_holds_the_text_until_then():
    later = AFTERNOON + timedelta(hours=2)
    result = plan(request(send_after=later))
    assert (result.outcome, result.reason, result.hold_until) == (Outcome.HOLD, SEND_AFTER, later)


def test_a_past_or_present_send_after_sends_now():
    assert plan(request(send_after=AFTERNOON)).outcome is Outcome.SEND
    assert plan(request(send_after=AFTERNOON - timedelta(minutes=1))).outcome is Outcome.SEND


def test_send_after_is_checked_before_quiet_hours():
    late = datetime(2026, 11, 23, 23, 0, tzinfo=EASTERN)
    result = plan(promotional(send_after=late))
    assert (result.reason, result.hold_until) == (SEND_AFTER, late)
    # Released at 23:00, it is then held by quiet hours.
    assert plan(promotional(send_after=late), now=late).reason == QUIET_HOURS


# -- quiet hours -------------------------------------------------------------------------------------------


def test_a_promotional_text_to_new_york_at_2230_local_is_held_until_0800_local_next_day():
    result = plan(promotional(), now=datetime(2026, 11, 23, 22, 30, tzinfo=EASTERN))
    assert (result.outcome, result.reason) == (Outcome.HOLD, QUIET_HOURS)
    assert result.hold_until == datetime(2026, 11, 24, 8, 0, tzinfo=EASTERN)


def test_quiet_hours_are_the_recipients_not_the_senders():
    # 22:30 in Los Angeles is already 01:30 in New York.
    result = plan(promotional(), now=datetime(2026, 11, 23, 22, 30, tzinfo=ZoneInfo("America/Los_Angeles")))
    assert result.hold_until == datetime(2026, 11, 24, 8, 0, tzinfo=EASTERN)
    # 20:30 in New York is 19:30 in Dallas: inside Texas' window.
    at = datetime(2026, 11, 23, 20, 30, tzinfo=EASTERN)
    assert plan(promotional(DALLAS), now=at).outcome is Outcome.SEND
    assert plan(promotional(TULSA), now=at + timedelta(hours=1)).reason == QUIET_HOURS  # 20:30 in Tulsa


def test_a_texas_number_on_sunday_at_1000_is_held_until_noon():
    sunday_morning = datetime(2026, 11, 29, 10, 0, tzinfo=CENTRAL)
    result = plan(promotional(DALLAS), now=sunday_morning)
    assert result.hold_until == datetime(2026, 11, 29, 12, 0, tzinfo=CENTRAL)


def test_the_hold_ends_at_0800_local_when_clocks_go_forward_in_march():
    # 2026-03-08 02:00 EST -> 03:00 EDT: 08:00 local is 12:00 UTC, not 13:00.
    saturday_night = datetime(2026, 3, 7, 22, 30, tzinfo=EASTERN)
    result = plan(promotional(), now=saturday_night)
    assert result.hold_until == datetime(2026, 3, 8, 12, 0, tzinfo=timezone.utc)
    assert result.hold_until.astimezone(EASTERN).time() == time(8, 0)


def test_the_hold_ends_at_0800_local_when_clocks_go_back_in_november():
    # 2026-11-01 02:00 EDT -> 01:00 EST: 08:00 local is 13:00 UTC, not 12:00.
    saturday_night = datetime(2026, 10, 31, 22, 30, tzinfo=EASTERN)
    result = plan(promotional(), now=saturday_night)
    assert result.hold_until == datetime(2026, 11, 1, 13, 0, tzinfo=timezone.utc)


def test_a_held_plan_still_reports_the_final_body_and_parts():
    result = plan(promotional(body="Sale"), now=datetime(2026, 11, 23, 22, 30, tzinfo=EASTERN))
    assert result.body == "Sale\nReply STOP to opt out" and result.parts == 1


@pytest.mark.parametrize("number", [NEW_YORK, DALLAS, TULSA, TOLL_FREE])
def test_transactional_texts_are_never_held_by_quiet_hours(number):
    three_am = datetime(2026, 11, 29, 3, 0, tzinfo=CENTRAL)
    assert plan(request(number), now=three_am, contact=ContactState()).outcome is Outcome.SEND


def test_a_promotional_text_to_a_number_without_a_known_zone_is_refused():
    assert plan(promotional(TOLL_FREE)).reason == UNKNOWN_TIME_ZONE


def test_the_operators_tightening_from_the_settings_is_applied():
    tighter = QuietHoursRules(states={"US": (DailyWindow(time(10), time(16)),) * 7})
    settings = dataclasses.replace(SETTINGS, quiet_hours=tighter)
    result = plan(promotional(), now=datetime(2026, 11, 23, 9, 0, tzinfo=EASTERN), settings=settings)
    assert result.hold_until == datetime(2026, 11, 23, 10, 0, tzinfo=EASTERN)


def test_the_configured_default_window_applies_to_numbers_of_other_countries():
    london = ZoneInfo("Europe/London")
    settings = dataclasses.replace(SETTINGS, quiet_hours=QuietHoursRules(DailyWindow(time(10), time(16))))
    result = plan(promotional(LONDON), now=datetime(2026, 11, 23, 9, 0, tzinfo=london), settings=settings)
    assert result.hold_until == datetime(2026, 11, 23, 10, 0, tzinfo=london)
    new_york_nine = datetime(2026, 11, 23, 9, 0, tzinfo=EASTERN)
    assert plan(promotional(), now=new_york_nine, settings=settings).outcome is Outcome.SEND


def test_a_canadian_number_is_held_on_a_weekend_morning_under_the_crtc_curfew():
    # CRTC Unsolicited Telecommunications Rules, Part III: weekends 10:00-18:00.
    toronto = ZoneInfo("America/Toronto")
    result = plan(promotional(TORONTO), now=datetime(2026, 11, 28, 9, 0, tzinfo=toronto))
    assert (result.reason, result.hold_until) == (QUIET_HOURS, datetime(2026, 11, 28, 10, 0, tzinfo=toronto))


def test_a_promotional_text_on_a_state_holiday_waits_for_the_next_open_day():
    # Utah Code 13-25a-103(3): Pioneer Day (Friday 24 July 2026), then Saturday 8:00.
    mountain = ZoneInfo("America/Denver")
    result = plan(promotional(SALT_LAKE), now=datetime(2026, 7, 24, 12, 0, tzinfo=mountain))
    assert result.hold_until == datetime(2026, 7, 25, 8, 0, tzinfo=mountain)


# -- limits -------------------------------------------------------------------------------------------------


def sent(*hours_ago, now=AFTERNOON):
    return {f"earlier-{i}": (now - timedelta(hours=h)).timestamp() for i, h in enumerate(hours_ago)}


UNLIMITED = dataclasses.replace(SETTINGS, promotional_daily_limit=None)
OK_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=CENTRAL)


def test_oklahoma_refuses_a_fourth_promotional_text_within_24_hours():
    contact = ContactState(opted_in=True, recent_promotional=sent(1, 5, 23, now=OK_NOON))
    result = plan(promotional(TULSA), contact=contact, now=OK_NOON, settings=UNLIMITED)
    assert (result.outcome, result.reason) == (Outcome.REFUSE, OVER_STATE_LIMIT)


def test_oklahoma_allows_a_fourth_promotional_text_once_the_first_is_25_hours_old():
    contact = ContactState(opted_in=True, recent_promotional=sent(1, 5, 25, now=OK_NOON))
    assert plan(promotional(TULSA), contact=contact, now=OK_NOON, settings=UNLIMITED).outcome is Outcome.SEND


def test_florida_refuses_a_fourth_text_of_the_same_campaign_and_says_which_rule():
    # Fla. Stat. 501.616(6)(b): 3 per 24 h on the same subject (the campaign).
    spring = CampaignRef("spring", "run-1", max_per_recipient=5)
    earlier = sent(1, 2, 3)
    subjects = dict.fromkeys(earlier, "campaign:spring")
    contact = ContactState(opted_in=True, recent_promotional=earlier, promotional_subjects=subjects)
    result = plan(promotional(MIAMI, campaign=spring), contact=contact, settings=UNLIMITED)
    assert (result.outcome, result.reason) == (Outcome.REFUSE, OVER_STATE_LIMIT)
    assert result.detail.startswith("US-FL (Florida) allows 3 promotional texts per 24 h on the same subject (Fla.")
    summer = CampaignRef("summer", "run-1", max_per_recipient=5)
    assert plan(promotional(MIAMI, campaign=summer), contact=contact, settings=UNLIMITED).outcome is Outcome.SEND


def test_three_texts_a_day_elsewhere_are_not_a_state_limit():
    contact = ContactState(opted_in=True, recent_promotional=sent(1, 5, 23))
    assert plan(promotional(DALLAS), contact=contact, settings=UNLIMITED).outcome is Outcome.SEND


def test_a_retry_of_a_sent_text_is_not_counted_against_its_own_limit():
    recent = {**sent(1, 5, now=OK_NOON), "k-1": (OK_NOON - timedelta(minutes=1)).timestamp()}
    contact = ContactState(opted_in=True, recent_promotional=recent)
    retry = plan(promotional(TULSA, key="k-1"), contact=contact, now=OK_NOON, settings=UNLIMITED)
    fresh = plan(promotional(TULSA, key="k-2"), contact=contact, now=OK_NOON, settings=UNLIMITED)
    assert retry.outcome is Outcome.SEND and fresh.reason == OVER_STATE_LIMIT


def test_the_default_daily_limit_allows_two_promotional_texts_per_rolling_day():
    assert plan(promotional(), contact=ContactState(opted_in=True, recent_promotional=sent(3))).outcome is Outcome.SEND
    result = plan(promotional(), contact=ContactState(opted_in=True, recent_promotional=sent(3, 20)))
    assert result.reason == OVER_DAILY_LIMIT


def test_limits_do_not_apply_to_transactional_texts():
    contact = ContactState(recent_promotional=sent(1, 2, 3, now=OK_NOON))
    assert plan(request(TULSA), contact=contact, now=OK_NOON).outcome is Outcome.SEND


def test_a_campaign_run_sends_at_most_max_per_recipient():
    ref = CampaignRef("spring", "run-1", max_per_recipient=1)
    contact = ContactState(opted_in=True, campaign_sends={"spring/run-1": 1, "spring/run-0": 1})
    assert plan(promotional(campaign=ref), contact=contact).reason == OVER_CAMPAIGN_LIMIT
    other_run = CampaignRef("spring", "run-2", max_per_recipient=1)
    assert plan(promotional(campaign=other_run), contact=contact).outcome is Outcome.SEND


def test_a_promotional_template_sent_as_transactional_still_counts_against_the_limits():
    contact = ContactState(opted_in=True, recent_promotional=sent(1, 2, 3, now=OK_NOON))
    req = request(TULSA, template_id="sale", variables={"first_name": "Ana"})
    assert plan(req, contact=contact, now=OK_NOON, settings=UNLIMITED).reason == OVER_STATE_LIMIT


def test_quiet_hours_hold_before_limits_refuse():
    contact = ContactState(opted_in=True, recent_promotional=sent(1, 2, 3))
    result = plan(promotional(), contact=contact, now=datetime(2026, 11, 23, 22, 30, tzinfo=EASTERN))
    assert result.reason == QUIET_HOURS


# -- settings ---------------------------------------------------------------------------------------------


def test_the_default_quiet_hours_are_the_rules_table_with_the_tcpa_window_elsewhere():
    assert SETTINGS.quiet_hours == QuietHoursRules(default=TCPA_WINDOW)
    # The legal windows given as the operator's: a tightening that tightens nothing.
    legal = {code: load_rules().week(code) for code in US_STATE_AREA_CODES}
    assert QuietHoursRules(default=TCPA_WINDOW, states=legal) == SETTINGS.quiet_hours


def test_sender_settings_round_trip_through_json_with_the_operators_tightening():
    rules = QuietHoursRules(
        default=DailyWindow(time(9), time(20, 30)),
        states={"RI": (DailyWindow(time(10), time(17, 15, 30)),) * 6 + (None,)},
        blackout_dates={"US-LA": frozenset({date(2026, 7, 3)}), "*": frozenset({date(2026, 12, 24)})},
        caps={"US-FL": 2},
        waivers=frozenset({("US-UT", "holidays")}),
    )
    settings = SenderSettings(
        "arn:aws:sms-voice:us-east-1:111122223333:pool/pool-1",
        3.0,
        rules,
        max_price_usd="0.05",
        time_to_live_seconds=3600,
        replace_lookalikes=False,
        max_parts=3,
        promotional_daily_limit=None,
    )
    assert SenderSettings.from_json(settings.to_json()) == settings
    assert SenderSettings.from_json(SETTINGS.to_json()) == SETTINGS
    assert json.loads(settings.to_json())["quiet_hours"] == {
        "default": "09:00-20:30",
        "jurisdictions": {"US-RI": ["10:00-17:15:30"] * 6 + [None]},
        "blackout_dates": {"*": ["2026-12-24"], "US-LA": ["2026-07-03"]},
        "caps": {"US-FL": 2},
        "waivers": ["US-UT:holidays"],
    }


def test_the_rules_table_is_not_in_the_environment():
    assert json.loads(SETTINGS.to_json())["quiet_hours"] == {"default": "08:00-21:00"}
    assert len(SETTINGS.to_json()) < 300


def test_settings_of_the_previous_release_are_read_and_their_state_copy_ignored():
    # Functions deployed before the rules table carried the state windows in their environment.
    states = {"NJ": "08:00-20:00", "TX": ["09:00-21:00"] * 6 + ["12:00-21:00"]}
    previous = {
        "origination_identity": "+12065550199",
        "mps": 1,
        "quiet_hours": {"default": "08:00-21:00", "states": states},
    }
    assert SenderSettings.from_json(json.dumps(previous)).quiet_hours == QuietHoursRules()


@pytest.mark.parametrize(
    "quiet_hours, fragment",
    [
        ({"default": "8-21"}, "window '8-21'"),
        ({"default": "21:00-08:00"}, "must start before it ends"),
        ({"jurisdictions": {"US-TX": ["09:00-21:00"] * 6}}, "6 daily windows"),
        ({"jurisdictions": {"US-TX": 9}}, "jurisdiction 'US-TX'"),
        ({"jurisdictions": {"US-NJ": "09:00-20:00"}}, "'US-NJ': no such jurisdiction"),
        ({"blackout_dates": {"*": ["24/12/2026"]}}, "blackout_dates '[*]'"),
        ({"states": 3}, "states must be an object"),
        ({"caps": {"US-FL": 0}}, "cap of US-FL 0 must be a whole number"),
        ({"waivers": ["US-FL"]}, "must be a list of"),
        ({"waivers": ["US-FL:hours"]}, "must be one of window, sundays, holidays, cap"),
        ({"default": "08:00-21:00", "weekends": {}}, "unknown fields: weekends"),
    ],
)
def test_malformed_quiet_hours_in_settings_json_are_refused(quiet_hours, fragment):
    data = {"origination_identity": "+12065550199", "mps": 1, "quiet_hours": quiet_hours}
    with pytest.raises(ValueError, match=fragment):
        SenderSettings.from_json(json.dumps(data))


def test_sender_settings_json_with_an_unknown_field_is_refused():
    data = json.loads(SETTINGS.to_json())
    data["max_part"] = 2
    with pytest.raises(ValueError, match="unknown fields: max_part"):
        SenderSettings.from_json(json.dumps(data))


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"origination_identity": ""}, "origination_identity ''"),
        ({"mps": 0}, "mps 0"),
        ({"mps": -1.5}, "mps -1.5"),
        ({"max_price_usd": "5"}, "max_price_usd '5'"),
        ({"max_price_usd": "100.0"}, "max_price_usd '100.0'"),
        ({"max_price_usd": "0.123456"}, "max_price_usd '0.123456'"),
        ({"time_to_live_seconds": 4}, "time_to_live_seconds 4"),
        ({"time_to_live_seconds": 259201}, "time_to_live_seconds 259201"),
        ({"max_parts": 0}, "max_parts 0"),
        ({"max_parts": 11}, "max_parts 11"),
        ({"promotional_daily_limit": 0}, "promotional_daily_limit 0"),
    ],
)
def test_invalid_sender_settings_are_refused_naming_the_field_and_value(changes, fragment):
    with pytest.raises(ValueError) as raised:
        dataclasses.replace(SETTINGS, **changes)
    assert fragment in str(raised.value)


@pytest.mark.parametrize("price", ["0.05", ".5", "12.34567", "0.1"])
def test_max_prices_in_the_send_text_message_format_are_accepted(price):
    assert dataclasses.replace(SETTINGS, max_price_usd=price).max_price_usd == price


def test_every_refusal_reason_is_listed_once():
    assert len(set(REFUSAL_REASONS)) == len(REFUSAL_REASONS) == 12
    assert {PRICE_ABOVE_MAX, REJECTED, OVER_STATE_LIMIT, UNKNOWN_TIME_ZONE} <= set(REFUSAL_REASONS)


def test_a_naive_now_is_a_programming_error():
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(request(), now=datetime(2026, 11, 23, 15, 0))


# -- conversations ------------------------------------------------------------------------------
def conversation_request(message_type="TRANSACTIONAL"):
    return SendRequest(NEW_YORK, message_type, "appt-77", conversation=ConversationRef("appointment"))


def test_a_conversation_request_sends_the_prompt_it_is_given():
    result = plan_send(
        conversation_request(),
        contact=OPTED_IN,
        now=AFTERNOON,
        settings=SETTINGS,
        templates=TEMPLATES,
        prompt="Reply 1 to confirm or 2 to cancel.",
    )

    assert result.outcome is Outcome.SEND and result.body == "Reply 1 to confirm or 2 to cancel."


def test_a_conversation_request_without_a_prompt_is_refused_as_an_unknown_flow():
    result = plan(conversation_request())

    assert result.outcome is Outcome.REFUSE and result.reason == UNKNOWN_FLOW


def test_a_promotional_conversation_prompt_still_gets_the_opt_out_instruction():
    result = plan_send(
        conversation_request("PROMOTIONAL"),
        contact=OPTED_IN,
        now=AFTERNOON,
        settings=SETTINGS,
        templates=TEMPLATES,
        prompt="New times are open: reply A or B.",
    )

    assert result.body == f"New times are open: reply A or B.\n{OPT_OUT_INSTRUCTION}"
