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
budget release are the environment's); a ``Batch`` lives for one invocation. The steps live
beside it: ``send_planning`` (plan), ``send_holds`` (refuse, hold, defer), ``slot_booking``
(book), ``send_and_record`` (send at most once, record).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from two_way_sms import metric_names
from two_way_sms.adapters.batch_failures import failure_reason, mask_numbers, surely_not_written, what_happens_next
from two_way_sms.adapters.outbound_queue import MAX_DELAY_SECONDS
from two_way_sms.conversations.engine import CodeFor
from two_way_sms.conversations.flows import Flow
from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.outbound.request import InvalidSendRequest, SendRequest, parse_send_request
from two_way_sms.outbound.templates import Template
from two_way_sms.phone import mask
from two_way_sms.services.budget_holds import BudgetHolds
from two_way_sms.services.send_and_record import SendAndRecord
from two_way_sms.services.send_batch import Batch, QueuedRequest
from two_way_sms.services.send_holds import SetAside
from two_way_sms.services.send_planning import ConversationOpener, RequestPlanner
from two_way_sms.services.sender_ports import (
    BatchReads,
    Clock,
    Contacts,
    Conversations,
    Counts,
    Held,
    Log,
    Outcomes,
    Schedule,
    SeparateReads,
)
from two_way_sms.services.sending import OnceOnlySender
from two_way_sms.services.shared_ports import CampaignCounters, DeadLetters, Ledger, OutboundQueue
from two_way_sms.services.slot_booking import PlannedSend, book_slots

# What the handler and tests import from here, some of it defined in the modules beside it.
__all__ = ["Batch", "QueuedRequest", "RequestSender"]

# How far ahead a batch may book its slots: an invocation waits at most this long for its
# last one. Long enough for two batches of ten at 1 MPS, so the default concurrency of 2
# keeps a 10DLC number busy without deferring; an idle wait costs Lambda time only.
MAX_PACING_HORIZON_SECONDS = 30.0
# What an invocation keeps back from its time budget: once, and for each send's bookkeeping.
SEND_MARGIN_SECONDS = 5.0
SECONDS_PER_SEND = 1.0
# A deferred request comes back this long before its projected slot: within the next horizon.
DEFERRAL_LEAD_SECONDS = MAX_PACING_HORIZON_SECONDS / 2
SOURCE = "sender"  # the dead-letter messages' "source"
RUN_COUNT_ATTEMPTS = 3  # a campaign run's counters, after botocore's own retries


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
        queue: OutboundQueue,
        campaign_runs: CampaignCounters,
        ledger: Ledger,
        log: Log,
        counts: Counts,
        clock: Clock,
        dead_letters: DeadLetters | None = None,
        conversations: Conversations | None = None,
        flows: Callable[[], Mapping[str, Flow]] = dict,
        code_for: CodeFor | None = None,
        batch_reads: BatchReads | None = None,
        max_receive_count: int | None = None,
    ) -> None:
        self._settings = settings
        self._max_receive_count = max_receive_count  # the queue's: its last receive goes to the dead-letter queue
        self._contacts = contacts
        self._outcomes = outcomes
        self._batch_reads = batch_reads or SeparateReads(outcomes, contacts)
        self._schedule = schedule
        self._budget = budget
        self._log = log
        self._counts = counts
        self._clock = clock
        self._campaign_runs = campaign_runs
        self._dead_letters = dead_letters  # None: a malformed request fails until the redrive policy parks it
        self._set_aside = SetAside(
            settings=settings,
            outcomes=outcomes,
            held=held,
            queue=queue,
            schedule=schedule,
            log=log,
            clock=clock,
        )
        self._planner = RequestPlanner(
            settings=settings,
            templates=templates,
            contacts=contacts,
            outcomes=outcomes,
            budget=budget,
            set_aside=self._set_aside,
            opener=ConversationOpener(
                our_number=settings.origination_identity,
                # No conversation store: no flow is switched on, so requests that open one are refused.
                flows=flows if conversations is not None else dict,
                code_for=code_for,
            ),
            log=log,
            clock=clock,
        )
        self._sends = SendAndRecord(
            settings=settings,
            sender=sender,
            set_aside=self._set_aside,
            contacts=contacts,
            outcomes=outcomes,
            budget=budget,
            ledger=ledger,
            log=log,
            clock=clock,
            conversations=conversations,
        )

    # -- a batch --------------------------------------------------------------------------------
    def start(self, records: Sequence[QueuedRequest], *, remaining_seconds: float) -> Batch:
        """The batch's budget, then its outcomes and contacts (read together); raises when they cannot be read."""
        now = self._clock.now()
        batch = Batch(deadline=now + remaining_seconds, budget=self._budget.state(now))
        batch.receives = {record.record_id: n for record in records if (n := _receives(record)) is not None}
        requests = []
        for record in records:
            try:
                requests.append(parse_send_request(record.body))
            except InvalidSendRequest:
                continue  # left to plan(), which parks it
        if requests:
            found, batch.contacts = self._batch_reads.read(
                (request.idempotency_key for request in requests), (request.destination for request in requests)
            )
            batch.outcomes = {request.idempotency_key: found.get(request.idempotency_key) for request in requests}
        return batch

    def reads_failed(self, records: Sequence[QueuedRequest], error: Exception) -> list[str]:
        """Every record of a batch whose reads failed, each logged with the reason: all are retried."""
        reason = failure_reason(error)
        for record in records:
            self._log.error(
                f"record failed: the batch's reads failed; {self._what_happens_next(_receives(record))}",
                sqs_message_id=record.record_id,
                receive_count=_receives(record),
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
            self._planner.plan(batch, record.record_id, request)

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
                    receives = batch.receives.get(item.record_id)
                    self._log.error(
                        f"record failed: its slot could not be booked; {self._what_happens_next(receives)}",
                        sqs_message_id=item.record_id,
                        receive_count=receives,
                        reason=reason,
                    )
                    failed.append(item.record_id)
            return failed
        for at, item in booked:
            with self._request_keys(item.request):
                try:
                    self._clock.sleep(at - self._clock.now())  # waits for its own slot: no polling
                    self._sends.send(batch, item)
                except Exception as error:
                    self._record_failed(batch, failed, item, "send failed", error)
        return failed

    def finish(self, batch: Batch) -> None:
        """Writes the batch's counts once: its metrics, and each campaign run's counters in one write a run."""
        for (campaign_id, run_id), counters in batch.campaign_counts.items():
            self._add_run_counts(campaign_id, run_id, counters)
        batch.campaign_counts.clear()
        for name, value in batch.counts.items():
            self._counts.count(name, value)
        batch.counts.clear()

    def _add_run_counts(self, campaign_id: str, run_id: str, counters: Mapping[str, int]) -> None:
        """Adds the batch's counters to the run, trying a few times. A write that still fails loses them
        from the run's report only (each request's outcome is recorded): logged, never raised, as the
        batch's sends are done and its records must not be retried for a report."""
        for attempt in range(1, RUN_COUNT_ATTEMPTS + 1):
            try:
                self._campaign_runs.add_counts(campaign_id, run_id, dict(counters))
                return
            except Exception as error:
                # Tried again only when it surely did not write: counts are added, not set, so a write
                # whose answer was lost would be counted twice.
                if attempt == RUN_COUNT_ATTEMPTS or not surely_not_written(error):
                    self._log.warning(
                        "campaign run counts not added (or their answer lost); the requests' outcomes are recorded",
                        campaign_id=campaign_id,
                        run_id=run_id,
                        counts=dict(counters),
                        reason=failure_reason(error),
                    )
                    return

    # -- malformed requests ---------------------------------------------------------------------
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
                self._set_aside.defer(batch, item.request, delay_seconds, why=why)
            except Exception as error:
                self._record_failed(batch, failed, item, "could not defer the request", error)

    def _record_failed(self, batch: Batch, failed: list[str], item: PlannedSend, what: str, error: Exception) -> None:
        """Fails the item's record (SQS retries it), with one log line that says why and what comes next;
        called in its ``except``."""
        receives = batch.receives.get(item.record_id)
        self._log.exception(
            f"{what}; {self._what_happens_next(receives)}",
            sqs_message_id=item.record_id,
            receive_count=receives,
            reason=failure_reason(error),
        )
        failed.append(item.record_id)

    def _what_happens_next(self, receives: int | None) -> str:
        return what_happens_next(receives, self._max_receive_count)

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


def _receives(record: QueuedRequest) -> int | None:
    """The record's SQS receive count, when the event carried it."""
    return int(record.receive_count) if record.receive_count.isdigit() else None
