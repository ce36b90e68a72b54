"""A batch's own promotional sends count on their subject (Fla. Stat. 501.616(6): 3 per 24 h on the same subject)."""

from __future__ import annotations

from datetime import datetime, timezone

from two_way_sms.outbound.limits import OVER_STATE_LIMIT, limit_refusal
from two_way_sms.outbound.policy import ContactState, Outcome, SendPlan
from two_way_sms.outbound.request import SendRequest
from two_way_sms.services.send_planning import with_planned_sends
from two_way_sms.services.slot_booking import PlannedSend

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)
MIAMI = "+13055550100"


def planned(key: str, template_id: str) -> PlannedSend:
    request = SendRequest(MIAMI, "PROMOTIONAL", key, template_id=template_id)
    return PlannedSend(key, request, SendPlan(Outcome.SEND, body="Sale", parts=1, message_type="PROMOTIONAL"))


def test_three_sends_of_one_template_in_a_batch_stop_a_fourth_of_that_template_only():
    batch = [planned(f"flu-{i}", "flu_shot_offer") for i in range(3)]
    contact = with_planned_sends(ContactState(), MIAMI, batch, NOW.timestamp())

    assert set(contact.promotional_subjects.values()) == {"template:flu_shot_offer"}
    same = SendRequest(MIAMI, "PROMOTIONAL", "flu-3", template_id="flu_shot_offer")
    other = SendRequest(MIAMI, "PROMOTIONAL", "spa-0", template_id="spa_offer")
    assert limit_refusal(same, contact, NOW, daily_limit=None, state="US-FL") == OVER_STATE_LIMIT
    assert limit_refusal(other, contact, NOW, daily_limit=None, state="US-FL") is None
