"""Sender: SQS batches of send requests in; paced, consented texts out through End User Messaging.

Wiring only: the settings (``settings.sender``) give the adapters, the adapters the use
case (``services.send_requests``), which plans every record of a batch, books the batch's
slots and sends each text at most once. What one invocation holds lives in its ``Batch``.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from two_way_sms import metric_names
from two_way_sms.adapters.batch_failures import LoggedBatchProcessor
from two_way_sms.adapters.campaign_runs import CampaignRuns
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.conversations import ConversationStore
from two_way_sms.adapters.dead_letters import DeadLetterQueue
from two_way_sms.adapters.flow_settings import FlowSettings
from two_way_sms.adapters.held_requests import HeldRequests
from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.adapters.one_use_codes import OneUseCodes
from two_way_sms.adapters.outbound_queue import OutboundQueue
from two_way_sms.adapters.request_outcomes import RequestOutcomes
from two_way_sms.adapters.send_batch_reads import SendBatchReads
from two_way_sms.adapters.send_claims import SendClaims
from two_way_sms.adapters.sent_records import SentRecords
from two_way_sms.adapters.sms import SmsGateway
from two_way_sms.adapters.spend import MonthSpend
from two_way_sms.adapters.telemetry import PowertoolsTelemetry
from two_way_sms.adapters.throughput import ThroughputSchedule
from two_way_sms.handlers.wiring import AwsClients, FunctionTracer, LambdaHandler, wired_on_first_call
from two_way_sms.services.budget_holds import BudgetHolds
from two_way_sms.services.send_requests import QueuedRequest, RequestSender
from two_way_sms.services.sender_ports import Clock, SystemClock
from two_way_sms.services.sending import OnceOnlySender
from two_way_sms.settings.sender import SenderFunctionSettings

SPEND_CACHE_SECONDS = 30.0  # how long one read of the month's spend serves the batches after it
RECEIVES = "ApproximateReceiveCount"  # an SQS record attribute: how often the record was received

logger = Logger()
metrics = Metrics()
tracer = FunctionTracer()  # X-Ray only where the function is traced


def make_handler(settings: SenderFunctionSettings, clients: AwsClients, *, clock: Clock | None = None) -> LambdaHandler:
    """Builds the adapters and the use case once; returns the Lambda entry point (``clock``: wall time)."""
    clock = clock or SystemClock()
    outbound, telemetry = clients.dynamodb.Table(settings.outbound_table), PowertoolsTelemetry(logger, metrics)
    contacts_table = clients.dynamodb.Table(settings.contacts_table)
    contacts = ContactsTable(contacts_table)
    ledger_table = clients.dynamodb.Table(settings.ledger_table)
    ledger = MessageLedger(ledger_table, retention_days=settings.ledger_retention_days)
    conversations_table = clients.dynamodb.Table(settings.conversations_table) if settings.conversations_table else None
    held = HeldRequests(
        outbound,
        clients.scheduler,
        settings.schedule_group,
        settings.release_target_arn,
        settings.scheduler_role_arn,
        dead_letter_arn=settings.schedule_dead_letter_queue_arn,
    )
    gateway = SmsGateway(clients.sms, configuration_set=settings.configuration_set)
    flows = FlowSettings(
        clients.ssm,
        settings.flows_parameter,
        expected_digest=settings.flows_digest,
        on_mismatch=lambda: telemetry.count(metric_names.FLOWS_NOT_AS_DEPLOYED),
    )
    requests = RequestSender(
        settings=settings.sender,
        templates=settings.templates,
        contacts=contacts,
        outcomes=RequestOutcomes(outbound),
        sender=OnceOnlySender(
            claims=SendClaims(outbound),
            gateway=gateway,
            settings=settings.sender,
            clock=clock,
            log=logger,
            records=SentRecords(
                outbound,
                ledger_table,
                contacts_table,
                conversations_table,
                ledger_retention_days=settings.ledger_retention_days,
            ),
        ),
        schedule=ThroughputSchedule(outbound),
        held=held,
        queue=OutboundQueue(clients.sqs, settings.outbound_queue_url),
        budget=BudgetHolds(
            held=held,
            log=logger,
            budget=settings.budget,
            spend=MonthSpend(ledger.month_to_date, ttl_seconds=SPEND_CACHE_SECONDS),
        ),
        campaign_runs=CampaignRuns(outbound),
        ledger=ledger,
        log=logger,
        counts=telemetry,
        clock=clock,
        dead_letters=DeadLetterQueue(clients.sqs, settings.dead_letter_queue_url)
        if settings.dead_letter_queue_url
        else None,
        conversations=ConversationStore(conversations_table) if conversations_table is not None else None,
        flows=flows.flows,
        code_for=OneUseCodes(clients.kms, settings.codes_key_id).code_for if settings.codes_key_id else None,
        batch_reads=SendBatchReads(outbound, contacts_table),
        max_receive_count=settings.max_receive_count,
    )

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> Any:
        records = [
            QueuedRequest(
                r.get("messageId", ""),
                r.get("body", ""),
                str(r.get("attributes", {}).get(RECEIVES, "")),
            )
            for r in event.get("Records", [])
        ]
        try:
            batch = requests.start(records, remaining_seconds=context.get_remaining_time_in_millis() / 1000)
        except Exception as error:  # the batch's reads failed: every record is retried, each logged
            return {"batchItemFailures": [{"itemIdentifier": i} for i in requests.reads_failed(records, error)]}

        @tracer.capture_method
        def record_handler(record: SQSRecord) -> None:
            receives = record.attributes.approximate_receive_count or ""
            requests.plan(batch, QueuedRequest(record.message_id, record.body, str(receives)))

        try:
            response = process_partial_response(
                event=event,
                record_handler=record_handler,
                context=context,
                processor=LoggedBatchProcessor(EventType.SQS, failure_logger=logger),
            )
            failed = requests.send_planned(batch, remaining_seconds=context.get_remaining_time_in_millis() / 1000)
            response.setdefault("batchItemFailures", []).extend({"itemIdentifier": i} for i in failed)
            return response
        finally:
            requests.finish(batch)

    return handler


# Few, quick retries of SendTextMessage: a throttle that survives them is deferred through the queue instead.
SMS_RETRIES = Config(retries={"mode": "standard", "max_attempts": 3})


def _wire() -> LambdaHandler:
    settings = SenderFunctionSettings.from_environment(os.environ)
    return make_handler(settings, AwsClients.from_default_session(configs={"sms": SMS_RETRIES}))


handler = wired_on_first_call(_wire)
