"""Delivery events handler: Kinesis records of End User Messaging events in; ledger, opt-outs, metrics out.

Each record is one EventBridge event (``source = aws.sms-voice``) that the rule put on
the stream. The ledger write is idempotent and monotonic (``two_way_sms.adapters.ledger``),
so redelivered and reordered records need no idempotency store.

What fails where:
- a record that is not a delivery event can never succeed: it is parked in the
  dead-letter queue with its reason and the batch goes on (reporting it would make the
  stream retry it, and everything after it on the shard, until it ages out);
- a record that fails for a passing reason (throttling, a timeout) is reported by its
  sequence number; the event source mapping retries from there, bisects, and after its
  bounded retries sends the batch's coordinates to the same dead-letter queue.

With ``OUTBOUND_TABLE`` set, a message a campaign run sent (its ``context`` holds
``campaign = "<campaign id>/<run id>"``) adds ``delivered`` or ``failed`` to that run when
it reaches its final status: once, because ``Applied.became_final`` is true once.

Metrics are tallied over the batch and written once per invocation (a 1,000-record
batch makes one EMF line, not a thousand).
"""

from __future__ import annotations

import binascii
import json
import os
from collections import Counter
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from two_way_sms import metric_names
from two_way_sms.adapters.batch_failures import LoggedBatchProcessor
from two_way_sms.adapters.campaign_runs import CampaignRuns
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.ledger import Applied, MessageLedger
from two_way_sms.delivery import DeliveryEvent, MalformedDeliveryEvent, parse_delivery_event
from two_way_sms.phone import mask
from two_way_sms.responder import ConsentChange

REQUIRED_SETTINGS = ("LEDGER_TABLE", "CONTACTS_TABLE", "DEAD_LETTER_QUEUE_URL", "LEDGER_RETENTION_DAYS")


def _settings_from_environment() -> dict[str, str]:
    missing = [name for name in REQUIRED_SETTINGS if not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"events handler is missing environment variables {missing}: deploy it with the construct")
    settings = {name: os.environ[name] for name in REQUIRED_SETTINGS}
    if not settings["LEDGER_RETENTION_DAYS"].isdigit() or int(settings["LEDGER_RETENTION_DAYS"]) < 1:
        raise RuntimeError(
            f"LEDGER_RETENTION_DAYS {settings['LEDGER_RETENTION_DAYS']!r} must be a whole number of days")
    return settings


_env = _settings_from_environment()
logger = Logger()
metrics = Metrics()
tracer = Tracer()

_dynamodb = boto3.resource("dynamodb")
ledger = MessageLedger(_dynamodb.Table(_env["LEDGER_TABLE"]), retention_days=int(_env["LEDGER_RETENTION_DAYS"]))
contacts = ContactsTable(_dynamodb.Table(_env["CONTACTS_TABLE"]))
# Optional: without the outbound feature there are no campaign runs to count.
campaign_runs = (
    CampaignRuns(_dynamodb.Table(os.environ["OUTBOUND_TABLE"])) if os.environ.get("OUTBOUND_TABLE") else None
)
sqs = boto3.client("sqs")
# One line per failed record (its sequence number and the reason): the on-failure destination's
# entries are explained by these.
processor = LoggedBatchProcessor(EventType.KinesisDataStreams, failure_logger=logger)


class BatchTally:
    """Counts and sums over one invocation, written as metrics at its end."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
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

    def write(self) -> None:
        for name, count in self.counts.items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
        if self.spend_usd:
            metrics.add_metric(name=metric_names.SPEND_USD, unit=MetricUnit.NoUnit, value=float(self.spend_usd))
        if self.month_to_date_usd is not None:
            metrics.add_metric(name=metric_names.MONTH_TO_DATE_SPEND_USD, unit=MetricUnit.NoUnit,
                               value=float(self.month_to_date_usd))


tally = BatchTally()


def record_handler(record: KinesisStreamRecord) -> None:
    try:
        event = parse_delivery_event(record.kinesis.data_as_bytes())
    except binascii.Error:
        _park(record, "record data is not base64")
        return
    except MalformedDeliveryEvent as error:
        _park(record, error.reason)
        return
    try:
        applied = ledger.apply(event)
    except ClientError as error:
        logger.warning("ledger write failed; the record will be retried", message_id=event.message_id,
                       code=error.response.get("Error", {}).get("Code"))
        raise
    tally.add(event, applied)
    if applied.became_final:
        _count_campaign_outcome(event)
    if event.shows_opt_out and event.destination_number:
        _record_opt_out(event, event.destination_number)


def _count_campaign_outcome(event: DeliveryEvent) -> None:
    """Adds the message's fate to its campaign run.

    A failed write is logged, not raised: the retried record would no longer be the one
    that made the message final, so raising could not count it either.
    """
    campaign, _, run_id = event.context.get("campaign", "").partition("/")
    if campaign_runs is None or not campaign or not run_id:
        return
    outcome = "delivered" if event.succeeded else "failed"
    try:
        campaign_runs.add_counts(campaign, run_id, {outcome: 1})
    except ClientError as error:
        logger.warning("campaign run counter not updated", campaign=campaign, run_id=run_id, outcome=outcome,
                       message_id=event.message_id, code=error.response.get("Error", {}).get("Code"))


def _park(record: KinesisStreamRecord, reason: str) -> None:
    """Keeps a record that can never be processed, with its reason, in the dead-letter queue."""
    sqs.send_message(QueueUrl=_env["DEAD_LETTER_QUEUE_URL"], MessageBody=json.dumps({
        "reason": reason,
        "source": "events-handler",
        "eventSourceARN": record.event_source_arn,
        "partitionKey": record.kinesis.partition_key,
        "sequenceNumber": record.kinesis.sequence_number,
        "approximateArrivalTimestamp": record.kinesis.approximate_arrival_timestamp,
        "data": record.kinesis.data,  # base64, as it was on the stream
    }))
    tally.counts[metric_names.MALFORMED_DELIVERY_EVENTS] += 1
    logger.error("malformed delivery event parked in the dead-letter queue", reason=reason,
                 sequence_number=record.kinesis.sequence_number)


def _record_opt_out(event: DeliveryEvent, destination: str) -> None:
    recorded = contacts.record_consent(
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
        logger.warning("a carrier reported the destination opted out; contact marked opted out",
                       customer=mask(destination), message_id=event.message_id,
                       event_type=event.event_type)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> Any:
    tally.reset()
    try:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    finally:
        tally.write()
