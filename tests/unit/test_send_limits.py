"""Promotional limits: Oklahoma's 3 per 24 h, the daily cap and the campaign cap, retries excepted."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from two_way_sms.outbound.limits import (
    OKLAHOMA_LIMIT,
    OVER_CAMPAIGN_LIMIT,
    OVER_DAILY_LIMIT,
    OVER_STATE_LIMIT,
    ROLLING_WINDOW_SECONDS,
    limit_refusal,
    prune,
)
from two_way_sms.outbound.policy import ContactState
from two_way_sms.outbound.request import CampaignRef, SendRequest

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)
TULSA = "+19185550100"


def promo(key="new", campaign=None):
    return SendRequest(TULSA, "PROMOTIONAL", key, body="Sale", campaign=campaign)


def history(*seconds_ago):
    return {f"sent-{i}": NOW.timestamp() - s for i, s in enumerate(seconds_ago)}


def test_oklahoma_allows_three_promotional_texts_per_rolling_day():
    assert OKLAHOMA_LIMIT == 3 and ROLLING_WINDOW_SECONDS == 86400
    two = ContactState(recent_promotional=history(60, 120))
    three = ContactState(recent_promotional=history(60, 120, 180))
    assert limit_refusal(promo(), two, NOW, daily_limit=None, state="OK") is None
    assert limit_refusal(promo(), three, NOW, daily_limit=None, state="OK") == OVER_STATE_LIMIT
    assert limit_refusal(promo(), three, NOW, daily_limit=None, state="TX") is None


def test_a_send_exactly_24_hours_old_has_left_the_window():
    contact = ContactState(recent_promotional=history(60, 120, 86400))
    assert limit_refusal(promo(), contact, NOW, daily_limit=None, state="OK") is None
    contact = ContactState(recent_promotional=history(60, 120, 86399))
    assert limit_refusal(promo(), contact, NOW, daily_limit=None, state="OK") == OVER_STATE_LIMIT


def test_the_daily_limit_counts_promotional_sends_in_the_last_24_hours():
    contact = ContactState(recent_promotional=history(60, 3600, 90000))
    assert limit_refusal(promo(), contact, NOW, daily_limit=3, state=None) is None
    assert limit_refusal(promo(), contact, NOW, daily_limit=2, state=None) == OVER_DAILY_LIMIT
    assert limit_refusal(promo(), contact, NOW, daily_limit=None, state=None) is None


def test_the_state_limit_is_reported_before_the_daily_and_campaign_limits():
    ref = CampaignRef("c", "r", max_per_recipient=1)
    contact = ContactState(recent_promotional=history(1, 2, 3), campaign_sends={"c/r": 1})
    assert limit_refusal(promo(campaign=ref), contact, NOW, daily_limit=1, state="OK") == OVER_STATE_LIMIT
    assert limit_refusal(promo(campaign=ref), contact, NOW, daily_limit=1, state=None) == OVER_DAILY_LIMIT
    assert limit_refusal(promo(campaign=ref), contact, NOW, daily_limit=None, state=None) == OVER_CAMPAIGN_LIMIT


def test_the_campaign_limit_is_per_run_and_per_recipient():
    contact = ContactState(campaign_sends={"c/r": 2})
    assert limit_refusal(promo(campaign=CampaignRef("c", "r", 3)), contact, NOW, daily_limit=None, state=None) is None
    assert (
        limit_refusal(promo(campaign=CampaignRef("c", "r", 2)), contact, NOW, daily_limit=None, state=None)
        == OVER_CAMPAIGN_LIMIT
    )
    assert limit_refusal(promo(campaign=CampaignRef("c", "r2", 1)), contact, NOW, daily_limit=None, state=None) is None


def test_a_retry_is_never_refused_by_a_limit():
    ref = CampaignRef("c", "r", max_per_recipient=1)
    recent = {**history(1, 2), "retry": NOW.timestamp() - 5}
    contact = ContactState(recent_promotional=recent, campaign_sends={"c/r": 1})
    assert limit_refusal(promo("retry", ref), contact, NOW, daily_limit=1, state="OK") is None


def test_transactional_requests_have_no_limits():
    request = SendRequest(TULSA, "TRANSACTIONAL", "t", body="Code 1234")
    contact = ContactState(recent_promotional=history(1, 2, 3))
    assert limit_refusal(request, contact, NOW, daily_limit=1, state="OK") is None


def test_numbers_read_from_dynamodb_as_decimals_are_counted():
    contact = ContactState(
        recent_promotional={k: Decimal(str(v)) for k, v in history(1, 2, 3).items()}, campaign_sends={"c/r": Decimal(1)}
    )
    assert limit_refusal(promo(), contact, NOW, daily_limit=None, state="OK") == OVER_STATE_LIMIT
    assert (
        limit_refusal(
            promo(campaign=CampaignRef("c", "r")),
            ContactState(campaign_sends={"c/r": Decimal(1)}),
            NOW,
            daily_limit=None,
            state=None,
        )
        == OVER_CAMPAIGN_LIMIT
    )


def test_prune_drops_sends_older_than_seven_days():
    week = 7 * 86400
    recent = history(60, week - 1, week, week + 1)
    assert prune(recent, NOW) == {"sent-0": recent["sent-0"], "sent-1": recent["sent-1"], "sent-2": recent["sent-2"]}
    assert prune({}, NOW + timedelta(days=1)) == {}
