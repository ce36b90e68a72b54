"""Promotional limits: the rules table's caps (same subject), the daily cap and the campaign cap, retries excepted."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from two_way_sms.outbound.limits import (
    OVER_CAMPAIGN_LIMIT,
    OVER_DAILY_LIMIT,
    OVER_STATE_LIMIT,
    ROLLING_WINDOW_SECONDS,
    limit_check,
    limit_refusal,
    promotional_subject,
    prune,
)
from two_way_sms.outbound.policy import ContactState
from two_way_sms.outbound.request import CampaignRef, SendRequest
from two_way_sms.quiet_hours import QuietHoursRules

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)
TULSA = "+19185550100"
MIAMI = "+13055550100"
SPRING = CampaignRef("spring", "r1", max_per_recipient=5)
SUMMER = CampaignRef("summer", "r1", max_per_recipient=5)


def promo(key="new", campaign=None, template_id=None, number=TULSA):
    if template_id is not None:
        return SendRequest(number, "PROMOTIONAL", key, template_id=template_id, campaign=campaign)
    return SendRequest(number, "PROMOTIONAL", key, body="Sale", campaign=campaign)


def history(*seconds_ago):
    return {f"sent-{i}": NOW.timestamp() - s for i, s in enumerate(seconds_ago)}


def sends(*entries):
    """``(seconds ago, subject or None)`` -> a contact with those promotional sends."""
    recent = {f"sent-{i}": NOW.timestamp() - ago for i, (ago, _) in enumerate(entries)}
    subjects = {f"sent-{i}": subject for i, (_, subject) in enumerate(entries) if subject is not None}
    return ContactState(recent_promotional=recent, promotional_subjects=subjects)


CAMPAIGN_SPRING = "campaign:spring"
TEMPLATE_SALE = "template:sale"

CAPS = [
    # id (the rule and the reading), request, the contact's sends (seconds ago, subject), jurisdiction, refused?
    (
        "Fla. Stat. 501.616(6)(b): 2 same-campaign texts, a 3rd goes",
        promo(campaign=SPRING, number=MIAMI),
        sends((60, CAMPAIGN_SPRING), (120, CAMPAIGN_SPRING)),
        "US-FL",
        False,
    ),
    (
        "Fla. Stat. 501.616(6)(b): 3 same-campaign texts in 24 h, the 4th is refused",
        promo(campaign=SPRING, number=MIAMI),
        sends((60, CAMPAIGN_SPRING), (120, CAMPAIGN_SPRING), (3600, CAMPAIGN_SPRING)),
        "US-FL",
        True,
    ),
    (
        "Fla. Stat. 501.616(6)(b): a different campaign is another subject",
        promo(campaign=SUMMER, number=MIAMI),
        sends((60, CAMPAIGN_SPRING), (120, CAMPAIGN_SPRING), (3600, CAMPAIGN_SPRING)),
        "US-FL",
        False,
    ),
    (
        "Fla. Stat. 501.616(6)(b): old-shape sends (no subject) count against every subject",
        promo(campaign=SUMMER, number=MIAMI),
        sends((60, None), (120, None), (3600, None)),
        "US-FL",
        True,
    ),
    (
        "Fla. Stat. 501.616(6)(b): a mix of same-subject and old-shape sends",
        promo(campaign=SUMMER, number=MIAMI),
        sends((60, "campaign:summer"), (120, None), (3600, CAMPAIGN_SPRING), (7200, None)),
        "US-FL",
        True,
    ),
    (
        "Fla. Stat. 501.616(6)(b): a send exactly 24 h old has left the window",
        promo(campaign=SPRING, number=MIAMI),
        sends((60, CAMPAIGN_SPRING), (120, CAMPAIGN_SPRING), (86400, CAMPAIGN_SPRING)),
        "US-FL",
        False,
    ),
    (
        "Fla. Stat. 501.616(6)(b): ... and one 23:59:59 old has not",
        promo(campaign=SPRING, number=MIAMI),
        sends((60, CAMPAIGN_SPRING), (120, CAMPAIGN_SPRING), (86399, CAMPAIGN_SPRING)),
        "US-FL",
        True,
    ),
    (
        "Fla. Stat. 501.616(6)(b): without a campaign, the template is the subject",
        promo(template_id="sale", number=MIAMI),
        sends((60, TEMPLATE_SALE), (120, TEMPLATE_SALE), (180, TEMPLATE_SALE)),
        "US-FL",
        True,
    ),
    (
        "Fla. Stat. 501.616(6)(b): another template is another subject",
        promo(template_id="other", number=MIAMI),
        sends((60, TEMPLATE_SALE), (120, TEMPLATE_SALE), (180, TEMPLATE_SALE)),
        "US-FL",
        False,
    ),
    (
        "Fla. Stat. 501.616(6)(b): a body with neither counts every promotional send",
        promo(number=MIAMI),
        sends((60, TEMPLATE_SALE), (120, CAMPAIGN_SPRING), (180, "template:other")),
        "US-FL",
        True,
    ),
    ("15 O.S. 775C.4: Oklahoma, 3 per 24 h", promo(), sends((60, None), (120, None), (180, None)), "US-OK", True),
    (
        "Md. Code, Com. Law 14-4503: Maryland, 3 per 24 h",
        promo(campaign=SPRING),
        sends((60, CAMPAIGN_SPRING), (120, CAMPAIGN_SPRING), (180, CAMPAIGN_SPRING)),
        "US-MD",
        True,
    ),
    (
        "Tex. Bus. & Com. Code ch. 301: no cap in Texas",
        promo(),
        sends((60, None), (120, None), (180, None)),
        "US-TX",
        False,
    ),
    ("47 CFR 64.1200: the TCPA has no cap", promo(), sends((60, None), (120, None), (180, None)), "US", False),
    ("CRTC Part III: no cap in Canada", promo(), sends((60, None), (120, None), (180, None)), "CA", False),
    ("another country: no cap", promo(), sends((60, None), (120, None), (180, None)), None, False),
]


@pytest.mark.parametrize(
    "request_, contact, jurisdiction, refused", [case[1:] for case in CAPS], ids=[case[0] for case in CAPS]
)
def test_the_rules_tables_caps_count_sends_on_the_same_subject(request_, contact, jurisdiction, refused):
    reason = limit_refusal(request_, contact, NOW, daily_limit=None, state=jurisdiction)
    assert reason == (OVER_STATE_LIMIT if refused else None)


def test_a_refusal_names_the_jurisdiction_and_its_rule():
    contact = sends((60, CAMPAIGN_SPRING), (120, CAMPAIGN_SPRING), (180, CAMPAIGN_SPRING))
    refusal = limit_check(promo(campaign=SPRING, number=MIAMI), contact, NOW, daily_limit=None, state="US-FL")
    assert refusal is not None and refusal.reason == OVER_STATE_LIMIT
    assert "US-FL (Florida) allows 3 promotional texts per 24 h on the same subject" in refusal.detail
    assert "Fla. Stat. 501.616(6)(b)" in refusal.detail


def test_the_subject_is_the_campaign_then_the_template():
    assert promotional_subject(SPRING, "sale") == "campaign:spring"
    assert promotional_subject(None, "sale") == "template:sale"
    assert promotional_subject(None, None) is None


def test_the_state_cap_and_the_daily_limit_are_independent():
    assert ROLLING_WINDOW_SECONDS == 86400
    other_subjects = sends((60, "campaign:a"), (120, "campaign:b"), (180, "campaign:c"))
    request = promo(campaign=SPRING, number=MIAMI)
    assert limit_refusal(request, other_subjects, NOW, daily_limit=None, state="US-FL") is None
    assert limit_refusal(request, other_subjects, NOW, daily_limit=3, state="US-FL") == OVER_DAILY_LIMIT


def test_the_daily_limit_counts_promotional_sends_in_the_last_24_hours():
    contact = ContactState(recent_promotional=history(60, 3600, 90000))
    assert limit_refusal(promo(), contact, NOW, daily_limit=3, state=None) is None
    assert limit_refusal(promo(), contact, NOW, daily_limit=2, state=None) == OVER_DAILY_LIMIT
    assert limit_refusal(promo(), contact, NOW, daily_limit=None, state=None) is None


def test_the_state_limit_is_reported_before_the_daily_and_campaign_limits():
    ref = CampaignRef("c", "r", max_per_recipient=1)
    contact = ContactState(recent_promotional=history(1, 2, 3), campaign_sends={"c/r": 1})
    assert limit_refusal(promo(campaign=ref), contact, NOW, daily_limit=1, state="US-OK") == OVER_STATE_LIMIT
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
    assert limit_refusal(promo("retry", ref), contact, NOW, daily_limit=1, state="US-OK") is None


def test_transactional_requests_have_no_limits():
    request = SendRequest(TULSA, "TRANSACTIONAL", "t", body="Code 1234")
    contact = ContactState(recent_promotional=history(1, 2, 3))
    assert limit_refusal(request, contact, NOW, daily_limit=1, state="US-OK") is None


def test_numbers_read_from_dynamodb_as_decimals_are_counted():
    contact = ContactState(
        recent_promotional={k: Decimal(str(v)) for k, v in history(1, 2, 3).items()}, campaign_sends={"c/r": Decimal(1)}
    )
    assert limit_refusal(promo(), contact, NOW, daily_limit=None, state="US-OK") == OVER_STATE_LIMIT
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


def test_the_operators_lower_cap_and_a_named_cap_waiver():
    two = sends((60, CAMPAIGN_SPRING), (120, CAMPAIGN_SPRING))
    three = sends((60, CAMPAIGN_SPRING), (120, CAMPAIGN_SPRING), (180, CAMPAIGN_SPRING))
    request = promo(campaign=SPRING, number=MIAMI)
    lower = QuietHoursRules(caps={"US-FL": 2})
    refusal = limit_check(request, two, NOW, daily_limit=None, state="US-FL", rules=lower)
    assert refusal is not None and refusal.detail == (
        "US-FL (Florida) is capped at 2 promotional texts per 24 h on the same subject by the operator"
    )
    # A jurisdiction without a legal cap takes the operator's over 24 h.
    assert limit_refusal(promo(), two, NOW, daily_limit=None, state="US-TX", rules=QuietHoursRules(caps={"US": 2}))
    # Fla. Stat. 501.616(6)(b) lifted by name: the 4th goes; the operator's own cap would still count.
    waived = QuietHoursRules(waivers=frozenset({("US-FL", "cap")}))
    assert limit_refusal(request, three, NOW, daily_limit=None, state="US-FL", rules=waived) is None
