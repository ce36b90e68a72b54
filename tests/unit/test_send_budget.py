"""The monthly budget that stops sends: which texts wait once the month's counted spend reaches it."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from two_way_sms.outbound.budget import (
    BUDGET_HARD_STOP,
    BUDGET_REACHED,
    BudgetState,
    SpendBudget,
    budget_from_environment,
    budget_text,
    month_of,
    next_month_start,
)
from two_way_sms.outbound.policy import HOLD_REASONS, ContactState, Outcome, SenderSettings, plan_send
from two_way_sms.outbound.request import CampaignRef, SendRequest
from two_way_sms.outbound.templates import parse_template

NEW_YORK = "+12125550100"
# Monday 23 November 2026, 15:00 in New York (20:00 UTC): inside every quiet-hours window.
AFTERNOON = datetime(2026, 11, 23, 20, 0, tzinfo=timezone.utc)
DECEMBER_FIRST = datetime(2026, 12, 1, tzinfo=timezone.utc)
SETTINGS = SenderSettings(origination_identity="+12065550199", mps=1.0)
OPTED_IN = ContactState(opted_in=True)
TEMPLATES = {"sale": parse_template("sale", "20% off today only!", "PROMOTIONAL")}
BUDGET = SpendBudget(Decimal("100"))
HARD_STOP = SpendBudget(Decimal("100"), hard_stop=True)


def reached(budget: SpendBudget = BUDGET, spend: str = "100.00") -> BudgetState:
    return budget.state(month="2026-11", spend_usd=Decimal(spend))


def request(message_type: str = "TRANSACTIONAL", key: str = "k-1", **fields) -> SendRequest:
    if "template_id" not in fields:
        fields.setdefault("body", "Your order shipped.")
    return SendRequest(NEW_YORK, message_type, key, **fields)


def plan(req: SendRequest, budget: BudgetState | None, contact: ContactState = OPTED_IN, now: datetime = AFTERNOON):
    return plan_send(req, contact=contact, now=now, settings=SETTINGS, templates=TEMPLATES, budget=budget)


# -- the month ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("moment", "month", "next_start"),
    [
        (AFTERNOON, "2026-11", DECEMBER_FIRST),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone.utc), "2026-12", datetime(2027, 1, 1, tzinfo=timezone.utc)),
        # 19:30 on 31 January in New York is already February in UTC: the ledger counts UTC months.
        (
            datetime(2027, 1, 31, 19, 30, tzinfo=timezone(timedelta(hours=-5))),
            "2027-02",
            datetime(2027, 3, 1, tzinfo=timezone.utc),
        ),
    ],
)
def test_the_budget_month_is_the_utc_month_and_ends_at_the_next_months_first_midnight(moment, month, next_start):
    assert month_of(moment) == month and next_month_start(moment) == next_start


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        month_of(datetime(2026, 11, 23))


# -- who waits ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("budget", "promotional", "campaign", "expected"),
    [
        (BUDGET, True, False, BUDGET_REACHED),
        (BUDGET, False, True, BUDGET_REACHED),  # a transactional campaign is still a campaign
        (BUDGET, False, False, None),  # transactional texts go on...
        (HARD_STOP, False, False, BUDGET_HARD_STOP),  # ...unless the budget is a hard stop
        (HARD_STOP, True, False, BUDGET_REACHED),
    ],
)
def test_once_the_budget_is_reached_promotional_and_campaign_texts_wait(budget, promotional, campaign, expected):
    assert reached(budget).hold_reason(promotional=promotional, campaign=campaign) == expected


def test_below_the_budget_nothing_waits_and_at_it_the_budget_is_reached():
    assert reached(HARD_STOP, "99.99").hold_reason(promotional=True, campaign=True) is None
    assert reached(BUDGET, "100").reached and not reached(BUDGET, "99.99").reached


def test_a_consent_confirmation_goes_out_even_through_a_hard_stop():
    assert reached(HARD_STOP).hold_reason(promotional=False, campaign=False, consent_confirmation=True) is None


# -- the plan -------------------------------------------------------------------------------
def test_a_promotional_text_over_the_budget_is_held_until_the_month_turns():
    result = plan(request("PROMOTIONAL", body="20% off"), reached())
    assert (result.outcome, result.reason, result.hold_until) == (Outcome.HOLD, BUDGET_REACHED, DECEMBER_FIRST)
    assert result.body.endswith("Reply STOP to opt out") and result.parts == 1  # planned in full, ready to send
    assert BUDGET_REACHED in HOLD_REASONS and BUDGET_HARD_STOP in HOLD_REASONS


def test_a_template_that_is_promotional_is_held_even_when_the_request_says_transactional():
    result = plan(request(template_id="sale"), reached())
    assert (result.outcome, result.reason, result.message_type) == (Outcome.HOLD, BUDGET_REACHED, "PROMOTIONAL")


def test_a_transactional_text_over_the_budget_is_sent_and_held_with_a_hard_stop():
    assert plan(request(), reached()).outcome is Outcome.SEND
    result = plan(request(), reached(HARD_STOP))
    assert (result.outcome, result.reason) == (Outcome.HOLD, BUDGET_HARD_STOP)


def test_a_transactional_campaign_text_over_the_budget_is_held():
    result = plan(request(campaign=CampaignRef("closure", "r1")), reached())
    assert (result.outcome, result.reason) == (Outcome.HOLD, BUDGET_REACHED)


def test_a_refusal_is_not_turned_into_a_hold_by_the_budget():
    assert plan(request("PROMOTIONAL"), reached(), contact=ContactState(opted_out=True)).reason == "OPTED_OUT"
    assert plan(request("PROMOTIONAL"), reached(), contact=ContactState()).reason == "NO_OPT_IN"


def test_a_send_after_time_ahead_is_held_for_that_time_first():
    later = AFTERNOON + timedelta(hours=1)
    result = plan(request("PROMOTIONAL", send_after=later), reached())
    assert (result.reason, result.hold_until) == ("SEND_AFTER", later)  # planned again then, budget and all


def test_below_the_budget_or_without_one_the_plan_is_unchanged():
    for budget in (None, reached(spend="12.34")):
        assert plan(request("PROMOTIONAL"), budget).outcome is Outcome.SEND


# -- the settings -----------------------------------------------------------------------------
def test_the_budget_comes_from_the_environment_the_construct_sets():
    assert budget_from_environment("100", "false") == SpendBudget(Decimal("100"))
    assert budget_from_environment("12.5", "true") == SpendBudget(Decimal("12.5"), hard_stop=True)
    assert budget_from_environment(None, None) is None and budget_from_environment("", "") is None
    assert budget_text(100.0) == "100" and budget_text(12.5) == "12.5" and budget_text(7) == "7"


@pytest.mark.parametrize(
    ("monthly", "hard_stop", "message"),
    [
        ("lots", "false", "MONTHLY_BUDGET_USD 'lots' must be a number"),
        ("0", "false", "MONTHLY_BUDGET_USD '0' must be a positive"),
        ("NaN", "false", "MONTHLY_BUDGET_USD 'NaN' must be a positive"),
        ("100", "maybe", "BUDGET_HARD_STOP 'maybe' must be true or false"),
        (None, "true", "a hard stop needs a budget"),
    ],
)
def test_a_bad_budget_setting_fails_naming_the_value(monthly, hard_stop, message):
    with pytest.raises(ValueError, match=message):
        budget_from_environment(monthly, hard_stop)


@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan"), True, "100"])
def test_a_budget_that_is_not_a_positive_number_is_refused_at_synth(value):
    with pytest.raises(ValueError, match="monthly_budget_usd"):
        budget_text(value)
