"""Record delivery events: a batch of stream records into the ledger, campaign runs and the contacts.

Each record is one EventBridge event (``source = aws.sms-voice``) that the rule put on
the stream. A batch is recorded per message, not per record: the events of one message
are folded into one ledger write (``two_way_sms.delivery_batches``), the spend of every
message that reached its final status is counted in one transaction per batch, and the
month's total is read once per month. The ledger writes are idempotent and monotonic
(``two_way_sms.adapters.ledger``), so redelivered and reordered records need no
idempotency store.

What fails where:
- a record that is not a delivery event can never succeed: it is parked in the
  dead-letter queue with its reason and the batch goes on (reporting it would make the
  stream retry it, and everything after it on the shard, until it ages out);
- a message whose ledger write, opt-out or spend count fails for a passing reason
  (throttling, a timeout) has every one of its records in the batch reported by sequence
  number: the event source mapping retries from the first, bisects, and after its bounded
  retries sends the batch's coordinates to the same queue. The retried records find what
  was written already and do only what is missing.

A message a campaign run sent (its ``context`` holds ``campaign = "<campaign id>/<run id>"``)
adds ``delivered`` or ``failed`` to that run when it reaches its final status: once, because
``became_final`` is true once; the batch's outcomes are summed into one write per run. A
carrier's report that the destination opted out is recorded as the contact's opt-out
(never over a later opt-in).

Metrics are tallied over the batch and written once per invocation (a 1,000-record
batch makes one EMF line, not a thousand).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from two_way_sms import metric_names
from two_way_sms.adapters.batch_failures import error_code, failure_reason
from two_way_sms.adapters.ledger import MessageApplied, SpendDue
from two_way_sms.delivery import DeliveryEvent, MalformedDeliveryEvent, parse_delivery_event
from two_way_sms.delivery_batches import MessageEvents, by_message
from two_way_sms.phone import mask
from two_way_sms.responder import ConsentChange
from two_way_sms.services.shared_ports import CampaignCounters, Consent, DeadLetters

SOURCE = "events-handler"  # the dead-letter messages' "source"
RECORD_FAILED = "record failed; the stream retries it, then sends it to the on-failure destination"


class Ledger(Protocol):
    """The message ledger (``adapters.ledger.MessageLedger``): monotonic, idempotent, spend counted once."""

    def apply_message(self, message: MessageEvents) -> MessageApplied: ...

    def count_spend(self, dues: Sequence[SpendDue]) -> list[SpendDue]: ...

    def month_to_date(self, month: str) -> Decimal: ...


class Telemetry(Protocol):
    """Where the service reports (``adapters.telemetry.PowertoolsTelemetry``)."""

    def warning(self, message: str, **fields: Any) -> None: ...

    def error(self, message: str, **fields: Any) -> None: ...

    def count(self, metric: str, value: int = 1) -> None: ...

    def amount(self, metric: str, value: float) -> None: ...


@dataclass(frozen=True)
class StreamRecord:
    """One Kinesis record as the event source mapping hands it over."""

    sequence_number: str
    partition_key: str
    data: str  # base64, as it was on the stream
    event_source_arn: str | None = None
    approximate_arrival_timestamp: float | None = None


class BatchTally:
    """Counts and sums over one invocation, written as metrics at its end."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.spend_usd = Decimal(0)
        self.month_to_date_usd: Decimal | None = None

    def add(self, event: DeliveryEvent, advanced: bool) -> None:
        """One event recorded; ``advanced``: it moved the message's status (else stale or a duplicate)."""
        self.counts[metric_names.DELIVERY_EVENTS] += 1
        self.counts[metric_names.event_type_metric(event.event_type)] += 1
        if not advanced:
            self.counts[metric_names.STALE_OR_DUPLICATE_EVENTS] += 1

    def reached_final(self, event: DeliveryEvent) -> None:
        """A message reached its final status with ``event`` (once per message)."""
        self.counts[metric_names.MESSAGES_DELIVERED if event.succeeded else metric_names.MESSAGES_FAILED] += 1

    def counted(self, dues: Iterable[SpendDue]) -> None:
        """Spend the ledger counted in this invocation."""
        for due in dues:
            self.spend_usd += due.spend_usd
            self.counts[metric_names.MESSAGE_PARTS_BILLED] += due.parts or 0

    def month_total(self, usd: Decimal) -> None:
        self.month_to_date_usd = max(self.month_to_date_usd or Decimal(0), usd)

    def write(self, telemetry: Telemetry) -> None:
        for name, count in self.counts.items():
            telemetry.count(name, count)
        if self.spend_usd:
            telemetry.amount(metric_names.SPEND_USD, float(self.spend_usd))
        if self.month_to_date_usd is not None:
            telemetry.amount(metric_names.MONTH_TO_DATE_SPEND_USD, float(self.month_to_date_usd))


@dataclass
class _Message:
    """One message's events in the batch, where they were, and how far recording them got."""

    positions: list[int]  # of its records in the batch
    events: MessageEvents
    applied: MessageApplied | None = None
    error: Exception | None = None  # its records are reported as failed

    def fail(self, error: Exception) -> None:
        self.error = self.error or error


@dataclass
class _Failures:
    by_position: dict[int, Exception] = field(default_factory=dict)

    def add(self, positions: Iterable[int], error: Exception) -> None:
        for position in positions:
            self.by_position.setdefault(position, error)


class DeliveryEventRecorder:
    """Records delivery events with the collaborators it is given (adapters in Lambda, fakes in tests)."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        contacts: Consent,
        dead_letters: DeadLetters,
        telemetry: Telemetry,
        campaign_runs: CampaignCounters | None = None,
    ) -> None:
        self._ledger = ledger
        self._contacts = contacts
        self._dead_letters = dead_letters
        self._telemetry = telemetry
        self._campaign_runs = campaign_runs  # None: deployed without the outbound feature

    def record_batch(self, records: Sequence[StreamRecord]) -> list[str]:
        """Records one invocation's records and writes its metrics once, whatever failed; returns the
        sequence numbers of the records that failed for a passing reason (the stream retries them)."""
        tally = BatchTally()
        failures = _Failures()
        try:
            received = self._read(records, tally, failures)
            messages = [
                _Message([position for position, _ in group], MessageEvents(tuple(event for _, event in group)))
                for group in by_message(received).values()
            ]
            written = [message for message in messages if self._apply(message)]
            for message in written:
                self._record_opt_out(message, tally)
            self._count_spend(written, tally)
            self._count_campaign_outcomes(written)
            for message in written:
                if message.applied is not None and message.applied.became_final:
                    tally.reached_final(message.events.winner)
            for message in messages:
                if message.error is not None:
                    failures.add(message.positions, message.error)
                elif message.applied is not None:
                    for event, advanced in zip(message.events.events, message.applied.advanced, strict=True):
                        tally.add(event, advanced)
        finally:
            tally.write(self._telemetry)
        return self._report(records, failures)

    # -- reading ------------------------------------------------------------------------------------
    def _read(
        self, records: Sequence[StreamRecord], tally: BatchTally, failures: _Failures
    ) -> list[tuple[int, DeliveryEvent]]:
        """The batch's delivery events by position; what can never be one is parked."""
        received = []
        for position, record in enumerate(records):
            try:
                received.append((position, parse_delivery_event(base64.b64decode(record.data))))
                continue
            except binascii.Error:
                reason = "record data is not base64"
            except MalformedDeliveryEvent as error:
                reason = error.reason
            try:
                self._park(record, reason, tally)
            except Exception as error:  # the queue is unreachable: the stream retries the record
                failures.add([position], error)
        return received

    def _park(self, record: StreamRecord, reason: str, tally: BatchTally) -> None:
        """Keeps a record that can never be processed, with its reason, in the dead-letter queue."""
        self._dead_letters.park(
            json.dumps(
                {
                    "reason": reason,
                    "source": SOURCE,
                    "eventSourceARN": record.event_source_arn,
                    "partitionKey": record.partition_key,
                    "sequenceNumber": record.sequence_number,
                    "approximateArrivalTimestamp": record.approximate_arrival_timestamp,
                    "data": record.data,
                }
            ),
            reason=reason,
            source=SOURCE,
        )
        tally.counts[metric_names.MALFORMED_DELIVERY_EVENTS] += 1
        self._telemetry.error(
            "malformed delivery event parked in the dead-letter queue",
            reason=reason,
            sequence_number=record.sequence_number,
        )

    # -- the ledger ---------------------------------------------------------------------------------
    def _apply(self, message: _Message) -> bool:
        """Writes the message's events to the ledger; False (and the message failed) when that fails."""
        try:
            message.applied = self._ledger.apply_message(message.events)
        except Exception as error:
            self._telemetry.warning(
                "ledger write failed; the record will be retried",
                message_id=message.events.message_id,
                code=error_code(error),
            )
            message.fail(error)
            return False
        return True

    def _count_spend(self, written: list[_Message], tally: BatchTally) -> None:
        """Counts the spend of the messages that reached a final status, in one transaction per batch,
        then reads each month's total once. A failed count fails those messages' records: retried,
        they find the final status without its mark and count it then."""
        due = [(message, spend) for message in written if message.applied and (spend := message.applied.spend_due)]
        if not due:
            return
        try:
            counted = self._ledger.count_spend([spend for _, spend in due])
        except Exception as error:
            self._telemetry.warning(
                "spend not counted; the records will be retried",
                messages=len(due),
                code=error_code(error),
            )
            for message, _ in due:
                message.fail(error)
            return
        tally.counted(counted)
        for month in sorted({spend.month for spend in counted}):
            try:
                tally.month_total(self._ledger.month_to_date(month))
            except Exception as error:  # counted already: only the gauge misses this batch
                self._telemetry.warning("month-to-date spend not read", month=month, code=error_code(error))

    # -- campaign runs and contacts -----------------------------------------------------------------------
    def _count_campaign_outcomes(self, written: list[_Message]) -> None:
        """Adds the batch's final outcomes to their campaign runs, one write per run.

        A failed write is logged, not raised: the retried records would no longer be the
        ones that made their messages final, so raising could not count them either.
        """
        if self._campaign_runs is None:
            return
        outcomes: dict[tuple[str, str], Counter[str]] = {}
        for message in written:
            if message.applied is None or not message.applied.became_final:
                continue
            context = message.events.first("context")
            tag = context.get("campaign", "") if isinstance(context, dict) else ""
            campaign, _, run_id = str(tag).partition("/")
            if campaign and run_id:
                outcome = "delivered" if message.events.winner.succeeded else "failed"
                outcomes.setdefault((campaign, run_id), Counter())[outcome] += 1
        for (campaign, run_id), counts in outcomes.items():
            try:
                self._campaign_runs.add_counts(campaign, run_id, dict(counts))
            except Exception as error:
                self._telemetry.warning(
                    "campaign run counter not updated",
                    campaign=campaign,
                    run_id=run_id,
                    delivered=counts["delivered"],
                    failed=counts["failed"],
                    code=error_code(error),
                )

    def _record_opt_out(self, message: _Message, tally: BatchTally) -> None:
        """The first of the message's events that shows the destination opted out, as the contact's opt-out."""
        event = next((e for e in message.events.events if e.shows_opt_out and e.destination_number), None)
        if event is None or event.destination_number is None:
            return
        try:
            recorded = self._contacts.record_consent(
                number=event.destination_number,
                change=ConsentChange.OPTED_OUT,
                at_ms=event.event_timestamp_ms,
                message_id=event.message_id,
                keyword=event.event_type,
                our_number=event.origination_number or "",
                source="DELIVERY_EVENT",
            )
        except Exception as error:
            message.fail(error)
            return
        if recorded:
            tally.counts[metric_names.OPT_OUTS_FROM_DELIVERY_EVENTS] += 1
            self._telemetry.warning(
                "a carrier reported the destination opted out; contact marked opted out",
                customer=mask(event.destination_number),
                message_id=event.message_id,
                event_type=event.event_type,
            )

    # -- failures -------------------------------------------------------------------------------------
    def _report(self, records: Sequence[StreamRecord], failures: _Failures) -> list[str]:
        """One log line per failed record (its sequence number and the reason); their sequence numbers."""
        failed = []
        for position in sorted(failures.by_position):
            error = failures.by_position[position]
            sequence_number = records[position].sequence_number
            self._telemetry.error(
                RECORD_FAILED,
                sequence_number=sequence_number,
                reason=failure_reason(error),
                error_type=type(error).__name__,
            )
            failed.append(sequence_number)
        return failed
