"""One invocation of the sender: the records it was given, and what it read, planned and counted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from two_way_sms.adapters.request_outcomes import RequestOutcome
from two_way_sms.outbound.budget import BudgetState
from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.outbound.request import CampaignRef
from two_way_sms.services.slot_booking import PlannedSend


@dataclass(frozen=True)
class QueuedRequest:
    """One record of the outbound queue: its SQS message id, its body and how often it was received."""

    record_id: str
    body: str
    receive_count: str = ""


@dataclass
class Batch:
    """One invocation's state: what it read ahead, its budget, its planned sends and its counts."""

    deadline: float  # on the clock: a claim held past it is a send whose outcome was lost
    budget: BudgetState | None = None  # the month's budget against its spend, read once per batch
    outcomes: dict[str, RequestOutcome | None] = field(default_factory=dict)  # every key read: None when none
    contacts: dict[str, ContactState] = field(default_factory=dict)
    planned: list[PlannedSend] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # written once, when the batch is done
    # (campaign id, run id) -> the run's counters this batch moved: one write per run, when the batch is
    # done, not one per text (a campaign's run item is every one of its sends' and would run hot).
    campaign_counts: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    receives: dict[str, int] = field(default_factory=dict)  # record id -> its SQS receive count, when known

    def count_on_run(self, campaign: CampaignRef, counter: str) -> None:
        self.campaign_counts.setdefault((campaign.campaign_id, campaign.run_id), Counter())[counter] += 1
