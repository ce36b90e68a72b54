"""Record delivery events: each stream record's event into the ledger, its campaign run and the contacts.

Each record is one EventBridge event (``source = aws.sms-voice``) that the rule put on
the stream. The ledger write is idempotent and monotonic (``two_way_sms.adapters.ledger``),
so redelivered and reordered records need no idempotency store.

What fails where:
- a record that is not a delivery event can never succeed: it is parked in the
  dead-letter queue with its reason and the batch goes on (reporting it would make the
  stream retry it, and everything after it on the shard, until it ages out);
- a record that fails for a passing reason (throttling, a timeout) raises: the handler
  reports it by its sequence number, and the event source mapping retries from there,
  bisects, and after its bounded retries sends the batch's coordinates to the same queue.

A message a campaign run sent (its ``context`` holds ``campaign = "<campaign id>/<run id>"``)
adds ``delivered`` or ``failed`` to that run when it reaches its final status: once, because
``Applied.became_final`` is true once. A carrier's report that the destination opted out
is recorded as the contact's opt-out (never over a later opt-in).

Metrics are tallied over the batch and written once per invocation (a 1,000-record
batch makes one EMF line, not a thousand).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from two_way_sms import metric_names
from two_way_sms.adapters.batch_failures import error_code
from two_way_sms.adapters.ledger import Applied
from two_way_sms.delivery import DeliveryEvent, MalformedDeliveryEvent, parse_delivery_event
from two_way_sms.phone import mask
from two_way_sms.responder import ConsentChange
from two_way_sms.services.shared_ports import CampaignCounters, Consent, DeadLetters

SOURCE = "events-handler"  # the dead-letter messages' "source"


class Ledger(Protocol):
    """The message ledger (``adapters.ledger.MessageLedger``): one event applied, monotonic and idempotent."""

    def apply(self, event: DeliveryEvent) -> Applied: ...


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

    def add(self, event: DeliveryEvent, applied: Applied) -> None:
        self.counts[metric_names.DELIVERY_EVENTS] += 1
        self.counts[metric_names.event_type_metric(event.event_type)] += 1
        if not applied.advanced:
            self.counts[metric_names.STALE_OR_DUPLICATE_EVENTS] += 1
        if applied.became_final:
            self.counts[metric_names.MESSAGES_DELIVERED if event.succeeded else metric_names.MESSAGES_FAILED] += 1
        if applied.counted_spend is not None:
            self.spend_usd += applied.counted_spend
            self.counts[metric_names.MESSAGE_PARTS_BILLED] += applied.counted_parts or 0
            if applied.month_to_date_usd is not None:
                self.month_to_date_usd = max(self.month_to_date_usd or Decimal(0), applied.month_to_date_usd)

    def write(self, telemetry: Telemetry) -> None:
        for name, count in self.counts.items():
            telemetry.count(name, count)
        if self.spend_usd:
            telemetry.amount(metric_names.SPEND_USD, float(self.spend_usd))
        if self.month_to_date_usd is not None:
            telemetry.amount(metric_names.MONTH_TO_DATE_SPEND_USD, float(self.month_to_date_usd))


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

    def record(self, record: StreamRecord, tally: BatchTally) -> None:
        """Applies one record, counting it in its invocation's ``tally``; raises only for a passing
        failure (the stream retries the record)."""
        try:
            event = parse_delivery_event(base64.b64decode(record.data))
        except binascii.Error:
            self._park(record, "record data is not base64", tally)
            return
        except MalformedDeliveryEvent as error:
            self._park(record, error.reason, tally)
            return
        try:
            applied = self._ledger.apply(event)
        except Exception as error:
            self._telemetry.warning(
                "ledger write failed; the record will be retried", message_id=event.message_id, code=error_code(error)
            )
            raise
        tally.add(event, applied)
        if applied.became_final:
            self._count_campaign_outcome(event)
        if event.shows_opt_out and event.destination_number:
            self._record_opt_out(event, event.destination_number, tally)

    def write_metrics(self, tally: BatchTally) -> None:
        """The invocation's metrics, once, whatever failed."""
        tally.write(self._telemetry)

    def _count_campaign_outcome(self, event: DeliveryEvent) -> None:
        """Adds the message's fate to its campaign run.

        A failed write is logged, not raised: the retried record would no longer be the one
        that made the message final, so raising could not count it either.
        """
        campaign, _, run_id = event.context.get("campaign", "").partition("/")
        if self._campaign_runs is None or not campaign or not run_id:
            return
        outcome = "delivered" if event.succeeded else "failed"
        try:
            self._campaign_runs.add_counts(campaign, run_id, {outcome: 1})
        except Exception as error:
            self._telemetry.warning(
                "campaign run counter not updated",
                campaign=campaign,
                run_id=run_id,
                outcome=outcome,
                message_id=event.message_id,
                code=error_code(error),
            )

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

    def _record_opt_out(self, event: DeliveryEvent, destination: str, tally: BatchTally) -> None:
        recorded = self._contacts.record_consent(
            number=destination,
            change=ConsentChange.OPTED_OUT,
            at_ms=event.event_timestamp_ms,
            message_id=event.message_id,
            keyword=event.event_type,
            our_number=event.origination_number or "",
            source="DELIVERY_EVENT",
        )
        if recorded:
            tally.counts[metric_names.OPT_OUTS_FROM_DELIVERY_EVENTS] += 1
            self._telemetry.warning(
                "a carrier reported the destination opted out; contact marked opted out",
                customer=mask(destination),
                message_id=event.message_id,
                event_type=event.event_type,
            )
