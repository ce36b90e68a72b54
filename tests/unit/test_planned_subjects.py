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


PORTLAND = "+15035550100"


def test_oregon_counts_every_solicitation_whatever_its_subject():
    """Or. HB 3865 (2025): at most 3 solicitations to one party in 24 h, not limited to a subject."""
    batch = [
        PlannedSend(key, SendRequest(PORTLAND, "PROMOTIONAL", key, template_id=key), SendPlan(Outcome.SEND, body="x"))
        for key in ("spa", "flu", "gym")
    ]
    batch = [PlannedSend(p.record_id, p.request, SendPlan(Outcome.SEND, message_type="PROMOTIONAL")) for p in batch]
    contact = with_planned_sends(ContactState(), PORTLAND, batch, NOW.timestamp())
    fourth = SendRequest(PORTLAND, "PROMOTIONAL", "yoga", template_id="yoga")
    assert limit_refusal(fourth, contact, NOW, daily_limit=None, state="US-OR") == OVER_STATE_LIMIT
    miami = with_planned_sends(ContactState(), MIAMI, [planned(f"k{i}", t) for i, t in enumerate(("a", "b", "c"))], 0)
    assert (
        limit_refusal(
            SendRequest(MIAMI, "PROMOTIONAL", "d", template_id="d"), miami, NOW, daily_limit=None, state="US-FL"
        )
        is None
    )
