"""Delivery events handler: Kinesis records of End User Messaging events in; ledger, opt-outs, metrics out.

Wiring only: read the settings, build the adapters, hand each record to the use case
(``two_way_sms.services.record_delivery_events``), report the records that failed for a
passing reason by their sequence number, and write the batch's metrics once.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from two_way_sms.adapters.batch_failures import LoggedBatchProcessor
from two_way_sms.adapters.campaign_runs import CampaignRuns
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.dead_letters import DeadLetterQueue
from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.adapters.telemetry import PowertoolsTelemetry
from two_way_sms.handlers.wiring import AwsClients, LambdaHandler, wired_on_first_call
from two_way_sms.services.record_delivery_events import BatchTally, DeliveryEventRecorder, StreamRecord
from two_way_sms.settings.events import EventsSettings

logger = Logger()
metrics = Metrics()
tracer = Tracer()


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
        # One processor and one tally per invocation: they hold the batch's state. The processor logs
        # one line per failed record (its sequence number and the reason), which explains the
        # on-failure destination's entries.
        processor = LoggedBatchProcessor(EventType.KinesisDataStreams, failure_logger=logger)
        tally = BatchTally()
        try:
            return process_partial_response(
                event=event,
                record_handler=lambda record: recorder.record(_stream_record(record), tally),
                processor=processor,
                context=context,
            )
        finally:
            recorder.write_metrics(tally)

    return handler


def _stream_record(record: KinesisStreamRecord) -> StreamRecord:
    kinesis = record.kinesis
    return StreamRecord(
        sequence_number=kinesis.sequence_number,
        partition_key=kinesis.partition_key,
        data=kinesis.data,
        event_source_arn=record.event_source_arn,
        approximate_arrival_timestamp=kinesis.approximate_arrival_timestamp,
    )


handler = wired_on_first_call(
    lambda: make_handler(EventsSettings.from_environment(os.environ), AwsClients.from_default_session())
)
