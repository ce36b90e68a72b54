"""Delivery events handler: Kinesis records of End User Messaging events in; ledger, opt-outs, metrics out.

Wiring only: read the settings, build the adapters, hand the batch's records to the use
case (``two_way_sms.services.record_delivery_events``), which records them per message and
writes the batch's metrics once, and report the records that failed for a passing reason
by their sequence number (``ReportBatchItemFailures``).

The records are read straight from the event: the use case needs each record's sequence
number, partition key and data, and works on the batch as a whole, so Powertools'
per-record ``BatchProcessor`` and data classes would add their cost to every record and
nothing else.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from two_way_sms.adapters.campaign_runs import CampaignRuns
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.dead_letters import DeadLetterQueue
from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.adapters.telemetry import PowertoolsTelemetry
from two_way_sms.handlers.wiring import AwsClients, FunctionTracer, LambdaHandler, wired_on_first_call
from two_way_sms.services.record_delivery_events import DeliveryEventRecorder, StreamRecord
from two_way_sms.settings.events import EventsSettings

logger = Logger()
metrics = Metrics()
tracer = FunctionTracer()  # X-Ray only where the function is traced


def make_handler(settings: EventsSettings, clients: AwsClients) -> LambdaHandler:
    """Builds the adapters and the use case once; returns the Lambda entry point."""
    table = clients.dynamodb.Table
    recorder = DeliveryEventRecorder(
        ledger=MessageLedger(table(settings.ledger_table), retention_days=settings.ledger_retention_days),
        contacts=ContactsTable(table(settings.contacts_table)),
        dead_letters=DeadLetterQueue(clients.sqs, settings.dead_letter_queue_url),
        telemetry=PowertoolsTelemetry(logger, metrics),
        # Optional: without the outbound feature there are no campaign runs to count.
        campaign_runs=CampaignRuns(table(settings.outbound_table)) if settings.outbound_table else None,
    )

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> Any:
        failed = recorder.record_batch([_stream_record(record) for record in event.get("Records", [])])
        return {"batchItemFailures": [{"itemIdentifier": sequence_number} for sequence_number in failed]}

    return handler


def _stream_record(record: dict[str, Any]) -> StreamRecord:
    kinesis = record["kinesis"]
    return StreamRecord(
        sequence_number=kinesis["sequenceNumber"],
        partition_key=kinesis.get("partitionKey", ""),
        data=kinesis["data"],
        event_source_arn=record.get("eventSourceARN"),
        approximate_arrival_timestamp=kinesis.get("approximateArrivalTimestamp"),
    )


handler = wired_on_first_call(
    lambda: make_handler(EventsSettings.from_environment(os.environ), AwsClients.from_default_session())
)
