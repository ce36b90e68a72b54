"""Plan one send request against its contact, the budget and the policy: refuse, hold or send.

The policy decides (``outbound.policy.plan_send``); this reads what it decides on (the
request's earlier outcome and its contact, from the batch's reads), opens the conversation a
request asks for, and hands the plan on: refused and held requests are set aside at once
(``send_holds``), a send joins the batch's planned sends, to be booked on a slot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from two_way_sms.adapters.request_outcomes import HELD, SENT, RequestOutcome
from two_way_sms.conversations.engine import CodeFor, Conversation, ConversationError, open_conversation
from two_way_sms.conversations.flows import Flow
from two_way_sms.instants import utc_moment
from two_way_sms.outbound.budget import BUDGET_HARD_STOP, BUDGET_REACHED
from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.outbound.limits import promotional_subject
from two_way_sms.outbound.policy import MISSING_VARIABLES, REJECTED, Outcome, SenderSettings
from two_way_sms.outbound.policy import plan_send as plan_by_policy
from two_way_sms.outbound.request import PROMOTIONAL, SendRequest
from two_way_sms.outbound.templates import Template
from two_way_sms.services.budget_holds import BudgetHolds, budget_allows
from two_way_sms.services.send_batch import Batch
from two_way_sms.services.send_holds import SetAside
from two_way_sms.services.sender_ports import Clock, Contacts, Log, Outcomes
from two_way_sms.services.slot_booking import PlannedSend


class RequestPlanner:
    """Plans each request of a batch with the collaborators it is given."""

    def __init__(
        self,
        *,
        settings: SenderSettings,
        templates: Mapping[str, Template],
        contacts: Contacts,
        outcomes: Outcomes,
        budget: BudgetHolds,
        set_aside: SetAside,
        opener: ConversationOpener,
        log: Log,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._templates = templates
        self._contacts = contacts
        self._outcomes = outcomes
        self._budget = budget
        self._set_aside = set_aside
        self._opener = opener
        self._log = log
        self._clock = clock

    def plan(self, batch: Batch, record_id: str, request: SendRequest) -> None:
        """Refuses or holds the request now, or adds it to the batch's sends."""
        previous = self._outcome(batch, request.idempotency_key)
        if previous is not None and previous.status == SENT:
            self._log.info("request already sent; duplicate ignored", message_id=previous.message_id)
            return
        now = self._clock.now()
        contact = with_planned_sends(self._contact(batch, request.destination), request.destination, batch.planned, now)
        try:
            conversation, prompt = self._opener.open(request, now) if not contact.opted_out else (None, None)
        except ConversationError as error:  # a variable its prompt needs is missing
            self._set_aside.refuse(batch, request, MISSING_VARIABLES, now, detail=str(error))
            return
        plan = plan_by_policy(
            request,
            contact=contact,
            now=utc_moment(now),
            settings=self._settings,
            templates=self._templates,
            prompt=prompt,
            budget=batch.budget,
        )
        if (
            previous is not None
            and previous.status == HELD
            and previous.reason in (BUDGET_REACHED, BUDGET_HARD_STOP)
            and budget_allows(batch.budget, request, plan)
        ):
            self._budget.release_all(now)
        if plan.outcome is Outcome.REFUSE:
            self._set_aside.refuse(batch, request, plan.reason or REJECTED, now, detail=plan.detail)
        elif plan.outcome is Outcome.HOLD:
            self._set_aside.hold(batch, request, plan, now)
        else:
            batch.planned.append(PlannedSend(record_id, request, plan, conversation))

    def _outcome(self, batch: Batch, key: str) -> RequestOutcome | None:
        return batch.outcomes[key] if key in batch.outcomes else self._outcomes.get(key)

    def _contact(self, batch: Batch, number: str) -> ContactState:
        return batch.contacts[number] if number in batch.contacts else self._contacts.contact_state(number)


class ConversationOpener:
    """Opens the conversation a request asks for, with its prompt, from the flows switched on."""

    def __init__(
        self, *, our_number: str, flows: Callable[[], Mapping[str, Flow]], code_for: CodeFor | None = None
    ) -> None:
        self._our_number = our_number
        self._flows = flows  # read when a request asks for a flow, not before
        self._code_for = code_for

    def open(self, request: SendRequest, now: float) -> tuple[Conversation | None, str | None]:
        """The conversation a request opens and its prompt (the text to send); (None, None) when it
        opens none or its flow is not switched on, which the policy refuses as UNKNOWN_FLOW.

        The conversation's id is the request's idempotency key and its code is derived from that id,
        so a request planned again (held, deferred, retried) texts the same code.
        """
        if request.conversation is None:
            return None, None
        flow = self._flows().get(request.conversation.flow)
        if flow is None or (flow.needs_a_code and self._code_for is None):
            return None, None
        code = self._code_for(request.idempotency_key) if flow.needs_a_code and self._code_for is not None else None
        return open_conversation(
            flow,
            conversation_id=request.idempotency_key,
            customer_number=request.destination,
            our_number=self._our_number,
            now=now,
            reference=request.conversation.reference,
            variables=request.variables,
            slots=request.conversation.slots,
            code=code,
        )


def with_planned_sends(
    contact: ContactState, destination: str, planned: Sequence[PlannedSend], now: float
) -> ContactState:
    """The contact as it will be once this batch's promotional sends to it went out: a second
    request to the same number in one batch counts against its limits like a later one would."""
    same_number = [
        item for item in planned if item.request.destination == destination and item.message_type == PROMOTIONAL
    ]
    if not same_number:
        return contact
    campaign_sends = Counter(contact.campaign_sends)
    campaign_sends.update(item.request.campaign.run_key for item in same_number if item.request.campaign is not None)
    return replace(
        contact,
        recent_promotional={
            **contact.recent_promotional,
            **{item.request.idempotency_key: now for item in same_number},
        },
        promotional_subjects={
            **contact.promotional_subjects,
            **{
                item.request.idempotency_key: subject
                for item in same_number
                if (subject := promotional_subject(item.request.campaign, item.request.template_id)) is not None
            },
        },
        campaign_sends=dict(campaign_sends),
    )
