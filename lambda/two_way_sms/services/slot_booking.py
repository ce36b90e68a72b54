"""A batch's planned sends booked on the schedules that pace them: each paced campaign's, then the number's.

One write per schedule for the whole batch (``pacing`` packs the slots). A send whose slot
lies beyond the horizon is not booked: it is handed back to be deferred until its projected
slot is within a later invocation's horizon.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from two_way_sms.conversations.engine import Conversation
from two_way_sms.outbound.policy import SendPlan
from two_way_sms.outbound.request import SendRequest
from two_way_sms.pacing import Wanted
from two_way_sms.services.sender_ports import Schedule


@dataclass(frozen=True)
class PlannedSend:
    """A record planned to SEND, waiting for the batch's booking."""

    record_id: str
    request: SendRequest
    plan: SendPlan
    conversation: Conversation | None = None  # the one this send opens

    @property
    def message_type(self) -> str:
        return self.plan.message_type or self.request.message_type


# A send reaches End User Messaging after its slot by the invocation's own calls before it
# (its claim, half of SendTextMessage's latency). That lag keeps the MPS in every trailing
# second as long as it is the same for every send; two things made it grow:
# - a slot at the booking's ``now`` is sent after the booking's own read and write (and a
#   re-read after a lost race) too: the schedules are booked from this long after ``now``;
BOOKING_LEAD_SECONDS = 0.05
# - one invocation sends its batch one text after another, about 52 ms a text with the
#   benchmark's latencies (bench/sender_throughput.py: DynamoDB 12 ms + SendTextMessage 40 ms;
#   62 ms when a text's records were three writes), so slots booked closer than that (a
#   second's parts a millisecond apart) are sent later and later, into the next second's
#   window: a batch's own slots are at least this far apart (the other invocations' slots fill
#   the gaps).
SEND_SPACING_SECONDS = 0.07

# (the send, the slot it could have, the schedule's key): put it back on the queue
Defer = Callable[[PlannedSend, float, str], None]


def book_slots(
    schedule: Schedule,
    planned: Sequence[PlannedSend],
    *,
    identity: str,
    mps: float,
    now: float,
    horizon: float,
    defer: Defer,
) -> list[tuple[float, PlannedSend]]:
    """The planned sends that got a slot on every schedule they are paced by, by slot; ``defer`` is
    called for each of the others, as soon as its schedule turned it away."""
    not_before: dict[int, float] = {}
    by_campaign: dict[str, list[PlannedSend]] = {}
    for item in planned:
        campaign = item.request.campaign
        if campaign is not None and campaign.mps:
            by_campaign.setdefault(campaign.campaign_id, []).append(item)
    for campaign_id, items in by_campaign.items():
        # The campaign's (stricter) schedule first: the number's slots are then booked at or
        # after them, so no slot of the number's shared throughput is left unused.
        campaign_mps = items[0].request.campaign.mps if items[0].request.campaign is not None else None
        assert campaign_mps  # only items with a paced campaign were grouped
        bookings = schedule.book_all(
            f"campaign#{campaign_id}",
            [Wanted(i.plan.parts) for i in items],
            campaign_mps,
            now=now + BOOKING_LEAD_SECONDS,
            horizon=horizon,
        )
        for item, booking in zip(items, bookings):
            if booking.booked:
                not_before[id(item)] = booking.at
            else:
                defer(item, booking.at, f"campaign#{campaign_id}")
    ready = [
        item
        for item in planned
        if id(item) in not_before or item.request.campaign is None or not item.request.campaign.mps
    ]
    wanted = [Wanted(i.plan.parts, not_before.get(id(i), 0.0), SEND_SPACING_SECONDS) for i in ready]
    bookings = schedule.book_all(identity, wanted, mps, now=now + BOOKING_LEAD_SECONDS, horizon=horizon)
    slots = []
    for item, booking in zip(ready, bookings):
        if booking.booked:
            slots.append((booking.at, item))
        else:
            defer(item, booking.at, identity)
    return sorted(slots, key=lambda slot: slot[0])
