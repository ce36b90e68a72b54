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
            f"campaign#{campaign_id}", [Wanted(i.plan.parts) for i in items], campaign_mps, now=now, horizon=horizon
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
    bookings = schedule.book_all(
        identity, [Wanted(i.plan.parts, not_before.get(id(i), 0.0)) for i in ready], mps, now=now, horizon=horizon
    )
    slots = []
    for item, booking in zip(ready, bookings):
        if booking.booked:
            slots.append((booking.at, item))
        else:
            defer(item, booking.at, identity)
    return sorted(slots, key=lambda slot: slot[0])
