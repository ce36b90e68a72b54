"""Send requests in batches: plan each one (refuse, hold or send), book the batch's slots, send, record.

Per request: read the contact, let the domain plan it (``plan_send``: refuse, hold or
send), then carry the plan out through the ports:

- REFUSE: the outcome is stored with its reason (and counted on the campaign run);
- HOLD: a hold of up to 15 minutes goes back to the queue as a delayed message; a longer
  one waits in the outbound table for its minute's release schedule. Either way the
  request is planned again when it comes back (quiet hours are checked again);
- HOLD for the month's budget (``outbound.budget``): the month's counted spend is read once
  per batch (and cached briefly); a request it holds is parked with its reason until the
  budget allows it again. The campaigns function's recurring check puts one back now and
  then; when the budget allows a request it had held (raised, or the month turned), the
  release of all of them is scheduled. A send the account's own spend limit stopped waits
  the same way (ACCOUNT_SPEND_LIMIT), until one of them is sent again;
- a request that opens a conversation is texted its flow's start prompt (with a one-use
  code when the flow takes one); once it is sent, the conversation is stored with the
  prompt's message id, so the customer's reply finds it;
- SEND: once every record of the batch is planned, the batch's sends are booked on the
  number's shared schedule in one write (each paced campaign's own schedule first); then
  each waits for its slot and goes at most once (``services.sending``). A slot beyond the
  horizon, a throttle or a low time budget put the request back on the queue with a delay:
  deferred, never dropped and never a failed record (which would count towards the
  dead-letter queue).

A request that cannot be read can never succeed: it is parked at once in the dead-letter
queue with its reason, and its record succeeds. Only an error other than a throttle fails
a record, to be retried by SQS.

``RequestSender`` lives as long as its execution environment (its back-off and its last
budget release are the environment's); a ``Batch`` lives for one invocation.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from two_way_sms import metric_names
from two_way_sms.adapters.batch_failures import failure_reason, mask_numbers
from two_way_sms.adapters.campaign_runs import refused
from two_way_sms.adapters.conversations import ConversationMoved
from two_way_sms.adapters.outbound_queue import MAX_DELAY_SECONDS
from two_way_sms.adapters.request_outcomes import HELD, REFUSED, SENT, UNKNOWN, RequestOutcome
from two_way_sms.adapters.sms import RetryableSendError
from two_way_sms.conversations.engine import CodeFor, Conversation, ConversationError, open_conversation, sent_at
from two_way_sms.conversations.flows import Flow
from two_way_sms.outbound.budget import (
    ACCOUNT_SPEND_LIMIT,
    BUDGET_HARD_STOP,
    BUDGET_HOLD_REASONS,
    BUDGET_REACHED,
    BudgetState,
)
from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.outbound.policy import MISSING_VARIABLES, OPTED_OUT, REJECTED, Outcome, SenderSettings, SendPlan
from two_way_sms.outbound.policy import plan_send as plan_by_policy
from two_way_sms.outbound.request import PROMOTIONAL, InvalidSendRequest, SendRequest, parse_send_request
from two_way_sms.outbound.templates import Template
from two_way_sms.phone import mask
from two_way_sms.responder import ConsentChange
from two_way_sms.services.budget_holds import BudgetHolds, budget_allows
from two_way_sms.services.sender_ports import (
    CampaignRuns,
    Clock,
    Contacts,
    Conversations,
    Counts,
    DeadLetters,
    Held,
    Ledger,
    Log,
    Outcomes,
    Queue,
    Schedule,
)
from two_way_sms.services.sending import AccountSpendLimitReached, OnceOnlySender, Send, SendInFlight, send_context
from two_way_sms.services.slot_booking import PlannedSend, book_slots

# How far ahead a batch may book its slots: an invocation waits at most this long for its
# last one. Long enough for two batches of ten at 1 MPS, so the default concurrency of 2
# keeps a 10DLC number busy without deferring; an idle wait costs Lambda time only.
MAX_PACING_HORIZON_SECONDS = 30.0
# What an invocation keeps back from its time budget: once, and for each send's bookkeeping.
SEND_MARGIN_SECONDS = 5.0
SECONDS_PER_SEND = 1.0
# A deferred request comes back this long before its projected slot: within the next horizon.
DEFERRAL_LEAD_SECONDS = MAX_PACING_HORIZON_SECONDS / 2
IN_PROGRESS_RETRY_SECONDS = 10  # another invocation is sending this very request
MAX_THROTTLE_BACKOFF_SECONDS = MAX_DELAY_SECONDS
SOURCE = "sender"  # the dead-letter messages' "source"


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


class RequestSender:
    """Plans, books and sends batches of send requests with the collaborators it is given."""

    def __init__(
        self,
        *,
        settings: SenderSettings,
        templates: Mapping[str, Template],
        contacts: Contacts,
        outcomes: Outcomes,
        sender: OnceOnlySender,
        schedule: Schedule,
        held: Held,
        budget: BudgetHolds,
        queue: Queue,
        campaign_runs: CampaignRuns,
        ledger: Ledger,
        log: Log,
        counts: Counts,
        clock: Clock,
        dead_letters: DeadLetters | None = None,
        conversations: Conversations | None = None,
        flows: Callable[[], Mapping[str, Flow]] = dict,
        code_for: CodeFor | None = None,
    ) -> None:
        self._settings = settings
        self._templates = templates
        self._contacts = contacts
        self._outcomes = outcomes
        self._sender = sender
        self._schedule = schedule
        self._held = held
        self._budget = budget
        self._queue = queue
        self._campaign_runs = campaign_runs
        self._ledger = ledger
        self._log = log
        self._counts = counts
        self._clock = clock
        self._dead_letters = dead_letters  # None: a malformed request fails until the redrive policy parks it
        self._conversations = conversations  # None: requests that open a conversation are refused
        self._flows = flows
        self._code_for = code_for
        self._throttle_streak = 0  # consecutive throttles in this execution environment: the back-off exponent

    # -- a batch --------------------------------------------------------------------------------
    def start(self, records: Sequence[QueuedRequest], *, remaining_seconds: float) -> Batch:
        """The batch's budget, outcomes and contacts, in one read each; raises when they cannot be read."""
        now = self._clock.now()
        batch = Batch(deadline=now + remaining_seconds, budget=self._budget.state(now))
        requests = []
        for record in records:
            try:
                requests.append(parse_send_request(record.body))
            except InvalidSendRequest:
                continue  # left to plan(), which parks it
        if requests:
            found = self._outcomes.get_many(request.idempotency_key for request in requests)
            batch.outcomes = {request.idempotency_key: found.get(request.idempotency_key) for request in requests}
            batch.contacts = self._contacts.contact_states(request.destination for request in requests)
        return batch

    def reads_failed(self, records: Sequence[QueuedRequest], error: Exception) -> list[str]:
        """Every record of a batch whose reads failed, each logged with the reason: all are retried."""
        reason = failure_reason(error)
        for record in records:
            self._log.error(
                "record failed: the batch's reads failed; it goes back to its queue and is retried",
                sqs_message_id=record.record_id,
                reason=reason,
            )
        return [record.record_id for record in records]

    def plan(self, batch: Batch, record: QueuedRequest) -> None:
        """Refuses, holds or parks the request now, or adds it to the batch's sends."""
        try:
            request = parse_send_request(record.body)
        except InvalidSendRequest as error:
            batch.counts[metric_names.OUTBOUND_MALFORMED] += 1
            self._park(record, error.reason)
            return
        with self._request_keys(request):
            self._plan(batch, record.record_id, request)

    def send_planned(self, batch: Batch, *, remaining_seconds: float) -> list[str]:
        """Books the batch's planned sends and sends each at its slot; the record ids that failed."""
        planned = batch.planned
        horizon = min(
            MAX_PACING_HORIZON_SECONDS, remaining_seconds - SEND_MARGIN_SECONDS - SECONDS_PER_SEND * len(planned)
        )
        failed: list[str] = []
        if horizon < 0:
            for item in planned:
                self._defer_or_fail(batch, item, 0, "the invocation is running out of time", failed)
            return failed
        try:
            booked = self._book_slots(batch, horizon, failed)
        except Exception as error:  # the schedule could not be booked: every planned record is retried, each logged
            reason = failure_reason(error)
            for item in planned:
                if item.record_id not in failed:
                    self._log.error(
                        "record failed: its slot could not be booked; it goes back to its queue and is retried",
                        sqs_message_id=item.record_id,
                        reason=reason,
                    )
                    failed.append(item.record_id)
            return failed
        for at, item in booked:
            with self._request_keys(item.request):
                try:
                    self._clock.sleep(at - self._clock.now())  # waits for its own slot: no polling
                    self._send(batch, item)
                except Exception as error:
                    self._log.exception(
                        "send failed; SQS retries the record",
                        sqs_message_id=item.record_id,
                        reason=failure_reason(error),
                    )
                    failed.append(item.record_id)
        return failed

    def finish(self, batch: Batch) -> None:
        """Writes the batch's counts, once."""
        for name, value in batch.counts.items():
            self._counts.count(name, value)
        batch.counts.clear()

    # -- planning -------------------------------------------------------------------------------
    def _park(self, record: QueuedRequest, reason: str) -> None:
        """A request that can never be sent: straight to the dead-letter queue with its reason (the record succeeds)."""
        if self._dead_letters is None:
            raise InvalidSendRequest(reason)  # failed (and logged) by the processor; the redrive policy parks it
        parked_as = self._dead_letters.park(
            record.body,
            reason=reason,
            source=SOURCE,
            attributes={"sqsMessageId": record.record_id, "receiveCount": record.receive_count},
        )
        self._log.error(
            "malformed send request parked in the dead-letter queue",
            reason=reason,
            sqs_message_id=record.record_id,
            dead_letter_message_id=parked_as,
        )

    def _plan(self, batch: Batch, record_id: str, request: SendRequest) -> None:
        previous = self._outcome(batch, request.idempotency_key)
        if previous is not None and previous.status == SENT:
            self._log.info("request already sent; duplicate ignored", message_id=previous.message_id)
            return
        now = self._clock.now()
        contact = _with_planned_sends(
            self._contact(batch, request.destination), request.destination, batch.planned, now
        )
        try:
            conversation, prompt = self._opened_conversation(request, now) if not contact.opted_out else (None, None)
        except ConversationError as error:  # a variable its prompt needs is missing
            self._refuse(batch, request, MISSING_VARIABLES, now, detail=str(error))
            return
        plan = plan_by_policy(
            request,
            contact=contact,
            now=_moment(now),
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
            self._refuse(batch, request, plan.reason or REJECTED, now, detail=plan.detail)
        elif plan.outcome is Outcome.HOLD:
            self._hold(batch, request, plan, now)
        else:
            batch.planned.append(PlannedSend(record_id, request, plan, conversation))

    def _outcome(self, batch: Batch, key: str) -> RequestOutcome | None:
        return batch.outcomes[key] if key in batch.outcomes else self._outcomes.get(key)

    def _contact(self, batch: Batch, number: str) -> ContactState:
        return batch.contacts[number] if number in batch.contacts else self._contacts.contact_state(number)

    def _opened_conversation(self, request: SendRequest, now: float) -> tuple[Conversation | None, str | None]:
        """The conversation a request opens and its prompt (the text to send); (None, None) when it
        opens none or its flow is not switched on, which the policy refuses as UNKNOWN_FLOW.

        The conversation's id is the request's idempotency key and its code is derived from that id,
        so a request planned again (held, deferred, retried) texts the same code.
        """
        if request.conversation is None:
            return None, None
        flow = self._flows().get(request.conversation.flow) if self._conversations is not None else None
        if flow is None or (flow.needs_a_code and self._code_for is None):
            return None, None
        code = self._code_for(request.idempotency_key) if flow.needs_a_code and self._code_for is not None else None
        return open_conversation(
            flow,
            conversation_id=request.idempotency_key,
            customer_number=request.destination,
            our_number=self._settings.origination_identity,
            now=now,
            reference=request.conversation.reference,
            variables=request.variables,
            slots=request.conversation.slots,
            code=code,
        )

    # -- refuse and hold ------------------------------------------------------------------------
    def _refuse(
        self,
        batch: Batch,
        request: SendRequest,
        reason: str,
        at: float,
        *,
        detail: str | None = None,
        code: str | None = None,
    ) -> None:
        changed = self._outcomes.record(request.idempotency_key, REFUSED, reason=reason, at=_moment(at), code=code)
        self._log.info("request refused", reason=reason, detail=detail, code=code)
        if not changed:
            return  # a duplicate of a refusal already counted
        batch.counts[metric_names.OUTBOUND_REFUSED_BY_REASON[reason]] += 1
        if request.campaign is not None:
            self._campaign_runs.add_counts(request.campaign.campaign_id, request.campaign.run_id, {refused(reason): 1})

    def _hold(self, batch: Batch, request: SendRequest, plan: SendPlan, now: float) -> None:
        assert plan.hold_until is not None and plan.reason is not None  # a HOLD plan says until when, and why
        if plan.reason in BUDGET_HOLD_REASONS:
            self._hold_for_budget(batch, request, plan.reason, now)
            return
        wait = plan.hold_until.timestamp() - now
        if wait <= MAX_DELAY_SECONDS:
            self._enqueue(request, max(1, math.ceil(wait)))
        else:
            self._held.hold(request, plan.hold_until)  # released at its minute by the campaigns function
        self._outcomes.record(request.idempotency_key, HELD, reason=plan.reason, at=_moment(now))
        batch.counts[metric_names.OUTBOUND_HELD] += 1
        self._log.info(
            "request held", reason=plan.reason, hold_until=plan.hold_until.isoformat(), wait_seconds=round(wait)
        )

    def _hold_for_budget(self, batch: Batch, request: SendRequest, reason: str, now: float) -> None:
        """Parks the request until the budget allows it again (raised, or a new month)."""
        self._held.park(request, reason, _moment(now))
        self._outcomes.record(request.idempotency_key, HELD, reason=reason, at=_moment(now))
        batch.counts[metric_names.OUTBOUND_HELD] += 1
        if reason == ACCOUNT_SPEND_LIMIT:
            self._log.warning(
                "request held: the account's monthly SMS spend limit is reached (End User Messaging)", reason=reason
            )
            return
        assert batch.budget is not None  # a budget hold comes from a budget
        self._log.info(
            "request held: this month's spend reached the budget",
            reason=reason,
            month=batch.budget.month,
            spend_usd=str(batch.budget.spend_usd),
            budget_usd=str(batch.budget.budget.monthly_usd),
        )

    # -- booking --------------------------------------------------------------------------------
    def _book_slots(self, batch: Batch, horizon: float, failed: list[str]) -> list[tuple[float, PlannedSend]]:
        now = self._clock.now()

        def defer(item: PlannedSend, slot: float, schedule_key: str) -> None:
            self._defer_until(batch, item, slot, now, schedule_key, failed)

        return book_slots(
            self._schedule,
            batch.planned,
            identity=self._settings.origination_identity,
            mps=self._settings.mps,
            now=now,
            horizon=horizon,
            defer=defer,
        )

    def _defer_until(
        self, batch: Batch, item: PlannedSend, slot: float, now: float, schedule_key: str, failed: list[str]
    ) -> None:
        delay = min(MAX_DELAY_SECONDS, max(1, math.ceil(slot - now - DEFERRAL_LEAD_SECONDS)))
        self._defer_or_fail(batch, item, delay, f"throughput of {schedule_key} booked ahead", failed)

    def _defer_or_fail(self, batch: Batch, item: PlannedSend, delay_seconds: int, why: str, failed: list[str]) -> None:
        with self._request_keys(item.request):
            try:
                self._defer(batch, item.request, delay_seconds, why=why)
            except Exception as error:
                self._log.exception(
                    "could not defer the request; SQS retries the record",
                    sqs_message_id=item.record_id,
                    reason=failure_reason(error),
                )
                failed.append(item.record_id)

    # -- sending and recording ------------------------------------------------------------------
    def _send(self, batch: Batch, item: PlannedSend) -> None:
        request, plan = item.request, item.plan
        assert plan.body is not None  # a SEND plan carries its final text
        try:
            result = self._sender.deliver(
                Send(request, plan.body, plan.parts, item.message_type), deadline=batch.deadline
            )
        except RetryableSendError as error:
            self._back_off(batch, request, plan.parts, error)
            return
        except SendInFlight:
            self._defer(batch, request, IN_PROGRESS_RETRY_SECONDS, why="another invocation is sending this request")
            return
        except AccountSpendLimitReached:
            self._hold_for_budget(batch, request, ACCOUNT_SPEND_LIMIT, self._clock.now())
            return
        self._throttle_streak = 0
        self._record_result(batch, item, result)

    def _record_result(self, batch: Batch, item: PlannedSend, result: dict[str, Any]) -> None:
        request, at = item.request, float(result["at"])
        if result["status"] == UNKNOWN:
            if self._outcomes.record(request.idempotency_key, UNKNOWN, reason="ANSWER_LOST", at=_moment(at)):
                batch.counts[metric_names.OUTBOUND_OUTCOME_UNKNOWN] += 1
                if request.campaign is not None:  # the run's counts still add up: sent, unknown, refused
                    self._campaign_runs.add_counts(
                        request.campaign.campaign_id, request.campaign.run_id, {"unknown": 1}
                    )
            return
        if result["status"] != SENT:
            if result["reason"] == OPTED_OUT:
                # The number's opt-out list knows better than our table: learn it.
                self._contacts.record_consent(
                    number=request.destination,
                    change=ConsentChange.OPTED_OUT,
                    at_ms=int(at * 1000),
                    message_id=request.idempotency_key,
                    keyword="OPT_OUT_LIST",
                    our_number=self._settings.origination_identity,
                    source="OPT_OUT_LIST",
                )
            self._refuse(batch, request, result["reason"], at, code=result.get("code"))
            return
        message_id = result["message_id"]
        previous = batch.outcomes.get(request.idempotency_key)
        if previous is not None and previous.status == HELD and previous.reason == ACCOUNT_SPEND_LIMIT:
            self._budget.release_all(at)  # the account's limit lets texts through again
        if item.conversation is not None:
            self._store_conversation(item.conversation, message_id, at)
        self._ledger.record_sent(
            message_id=message_id,
            destination=request.destination,
            origination=self._settings.origination_identity,
            context=send_context(request),
            sent_at_ms=int(at * 1000),
            message_type=item.message_type,
            estimated_parts=item.plan.parts,
            sent_by="sender",
        )
        if item.message_type == PROMOTIONAL:
            self._contacts.record_promotional_send(
                request.destination, request.idempotency_key, request.campaign, _moment(at)
            )
        if self._outcomes.record(request.idempotency_key, SENT, message_id=message_id, at=_moment(at)):
            batch.counts[metric_names.OUTBOUND_SENT] += 1
            batch.counts[metric_names.OUTBOUND_PARTS_SENT] += item.plan.parts
            if request.campaign is not None:
                self._campaign_runs.add_counts(request.campaign.campaign_id, request.campaign.run_id, {"sent": 1})
        self._log.info(
            "sent",
            message_id=message_id,
            parts=item.plan.parts,
            encoding=item.plan.encoding,
            message_type=item.message_type,
        )

    def _store_conversation(self, conversation: Conversation, message_id: str, at: float) -> None:
        """Before the outcome is recorded SENT: a failure here fails the record, and its retry (which
        does not text again) stores the conversation then."""
        assert self._conversations is not None  # a conversation is only opened when the store exists
        try:
            self._conversations.create(sent_at(conversation, message_id=message_id, at=at))
        except ConversationMoved:
            self._log.info("conversation already stored", conversation_id=conversation.conversation_id)
            return
        self._log.info("conversation opened", flow=conversation.flow, conversation_id=conversation.conversation_id)

    # -- deferring ------------------------------------------------------------------------------
    def _back_off(self, batch: Batch, request: SendRequest, parts: int, error: RetryableSendError) -> None:
        """End User Messaging throttled us (or failed) after boto3's own retries: pause the number's
        shared schedule for a second and put the request back with an exponential delay."""
        self._throttle_streak += 1
        if error.throttled:
            batch.counts[metric_names.OUTBOUND_THROTTLED] += 1
            # Something else uses the number's throughput (replies, another system): every sender slows down.
            self._schedule.book(
                self._settings.origination_identity,
                max(parts, math.ceil(self._settings.mps)),
                self._settings.mps,
                now=self._clock.now(),
                horizon=math.inf,
            )
        delay = min(MAX_THROTTLE_BACKOFF_SECONDS, 2 ** min(self._throttle_streak, 10) + random.randint(0, 2))
        self._log.warning(
            "End User Messaging throttled or failed; request deferred", code=error.code, delay_seconds=delay
        )
        self._defer(batch, request, delay, why=error.code)

    def _defer(self, batch: Batch, request: SendRequest, delay_seconds: int, *, why: str) -> None:
        self._enqueue(request, delay_seconds)
        batch.counts[metric_names.OUTBOUND_DEFERRED] += 1
        self._log.info("request deferred", why=why, delay_seconds=delay_seconds)

    def _enqueue(self, request: SendRequest, delay_seconds: int) -> None:
        result = self._queue.enqueue([request], delay_seconds=delay_seconds)
        if result.failed:
            # Not back on the queue: fail this record instead, so SQS redelivers the original.
            raise RuntimeError(f"could not put the request back on the queue: {result.failed[0][1]}")

    @contextmanager
    def _request_keys(self, request: SendRequest) -> Iterator[None]:
        """The request's key and masked destination on every log line about it (a campaign request's key
        ends with the number: masked too)."""
        self._log.append_keys(
            idempotency_key=mask_numbers(request.idempotency_key), destination=mask(request.destination)
        )
        try:
            yield
        finally:
            self._log.remove_keys(["idempotency_key", "destination"])


def _with_planned_sends(
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
        campaign_sends=dict(campaign_sends),
    )


def _moment(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)
