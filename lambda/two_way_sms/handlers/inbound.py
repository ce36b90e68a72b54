"""Inbound SMS handler: SQS records from the two-way topic in; replies, consent, conversations
and business events out.

Wiring only: read the settings, build the adapters, hand each record to the use case
(``two_way_sms.services.answer_inbound``), report partial failures. Each record is
processed alone: one that can never succeed (malformed, or for a number this stack does not
answer) is parked in the dead-letter queue at once with its reason; one that fails is
logged with its reason and retried by SQS, and the reply log makes the retry send nothing
twice. A text from a short code or a sender id is recorded and never answered.

Your own handlers (``two_way_sms.conversations.router``) come from the module named in
``EXTENSIONS_MODULE``, imported when the function starts.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from two_way_sms import metric_names
from two_way_sms.adapters.batch_failures import LoggedBatchProcessor
from two_way_sms.adapters.business_events import BusinessEventBus
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.conversations import ConversationStore
from two_way_sms.adapters.dead_letters import DeadLetterQueue
from two_way_sms.adapters.flow_settings import FlowSettings
from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.adapters.one_use_codes import OneUseCodes
from two_way_sms.adapters.our_numbers import OurNumbers
from two_way_sms.adapters.reply_log import ReplyLogTable
from two_way_sms.adapters.sms import SmsGateway
from two_way_sms.adapters.spend import hard_stop_from_environment
from two_way_sms.adapters.telemetry import PowertoolsTelemetry
from two_way_sms.conversations.router import router
from two_way_sms.inbound import MalformedInboundMessage, parse_inbound
from two_way_sms.phone import mask
from two_way_sms.responder import ResponderSettings
from two_way_sms.services.answer_inbound import Delivery, InboundAnswerer
from two_way_sms.settings import InboundSettings

settings = InboundSettings.from_environment(os.environ)  # the construct's contract, checked at start-up
logger = Logger()
metrics = Metrics()
tracer = Tracer()


_dynamodb = boto3.resource("dynamodb")
contacts_table = _dynamodb.Table(settings.contacts_table)
contacts = ContactsTable(contacts_table)
# Optional: a processor reused without a message ledger does not record its replies.
ledger = (MessageLedger(_dynamodb.Table(settings.ledger_table), retention_days=settings.ledger_retention_days)
          if settings.ledger_table else None)
_sms = boto3.client("pinpoint-sms-voice-v2")
gateway = SmsGateway(
    _sms,
    configuration_set=settings.configuration_set,
    opt_out_list=settings.opt_out_list,
    message_type=settings.message_type,
    reply_max_price=settings.reply_max_price,
    reply_time_to_live_seconds=settings.reply_time_to_live,
)
# Optional: a processor reused without conversations or a bus answers with the responder alone.
flow_settings = FlowSettings(
    boto3.client("ssm"), settings.flows_parameter, expected_digest=settings.flows_digest,
    on_mismatch=lambda: metrics.add_metric(name=metric_names.FLOWS_NOT_AS_DEPLOYED, unit=MetricUnit.Count, value=1),
)
conversations = (ConversationStore(_dynamodb.Table(settings.conversations_table))
                 if settings.conversations_table else None)
bus = BusinessEventBus(boto3.client("events"), settings.event_bus_name) if settings.event_bus_name else None
dead_letters = (DeadLetterQueue(boto3.client("sqs"), settings.dead_letter_queue_url)
                if settings.dead_letter_queue_url else None)
our_numbers = OurNumbers.from_environment(settings.to_environment(), _sms)
max_receive_count = settings.max_receive_count


def _import_extensions(module_name: str | None) -> None:
    """Imports the user's module, whose decorators register their handlers with ``router``."""
    if not module_name:
        return
    try:
        importlib.import_module(module_name)
    except ImportError as error:
        raise RuntimeError(f"EXTENSIONS_MODULE {module_name!r} cannot be imported ({error}): bundle it with "
                           "the function (see the README, \"Your own handlers\")") from None


_import_extensions(settings.extensions_module)

# Optional: flows whose answers carry a one-use code need the key that derives it again.
codes = OneUseCodes(boto3.client("kms"), settings.codes_key_id) if settings.codes_key_id else None
answerer = InboundAnswerer(
    responder=ResponderSettings.from_json(settings.responder_settings), reply_log=ReplyLogTable(contacts_table),
    contacts=contacts, gateway=gateway, telemetry=PowertoolsTelemetry(logger, metrics), ledger=ledger,
    conversations=conversations, bus=bus, flows=flow_settings.flows, router=router, message_type=settings.message_type,
    limits=settings.reply_limits,
    code_for=codes.code_for if codes is not None else None,
    hard_stopped=hard_stop_from_environment(settings.to_environment(), ledger.month_to_date if ledger else None),
)


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> dict:
    receives = int(record.attributes.approximate_receive_count or 1)
    logger.remove_keys(["inbound_message_id", "customer"])  # the batch's previous record's
    try:
        message = parse_inbound(record.body)
    except MalformedInboundMessage as error:
        return _park(record, f"MALFORMED: {error.reason}")
    logger.append_keys(inbound_message_id=message.inbound_message_id, customer=mask(message.customer_number))
    if message.our_number not in our_numbers:
        return _park(record, f"NOT_OUR_NUMBER: the message was sent to {mask(message.our_number)}")
    if not message.answerable:
        logger.info("recorded, not answered: the sender is not a phone number we may text")
        metrics.add_metric(name=metric_names.INBOUND_NOT_ANSWERABLE, unit=MetricUnit.Count, value=1)
        return {"path": "not_answerable"}
    remaining_ms = lambda_context.get_remaining_time_in_millis() if lambda_context is not None else 30_000
    delivery = Delivery(
        sent_at_ms=message.published_at_ms or int(record.attributes.sent_timestamp),
        remaining_seconds=remaining_ms / 1000, last_attempt=receives >= max_receive_count,
    )
    answer = answerer.answer(message, delivery)
    return {"intent": answer.intent, "path": answer.path, "reply_message_id": answer.reply_message_id}


def _park(record: SQSRecord, reason: str) -> dict:
    """A record that can never succeed: to the dead-letter queue now, with its reason."""
    logger.error("inbound message parked in the dead-letter queue", reason=reason, sqs_message_id=record.message_id)
    metrics.add_metric(name=metric_names.MALFORMED_INBOUND if reason.startswith("MALFORMED")
                       else metric_names.INBOUND_PARKED, unit=MetricUnit.Count, value=1)
    if dead_letters is None:  # reused without a queue to park in: fail it, and SQS's redrive parks it
        raise MalformedInboundMessage(reason)
    dead_letters.park(record.body, reason=reason, source="inbound-handler",
                      attributes={"originalMessageId": record.message_id})
    return {"path": "parked", "reason": reason}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> Any:
    # A batch where every record failed is still a partial response: no Lambda error, each record
    # retried, with one log line each (the dead-letter queue's messages are explained by these).
    # One processor per invocation: it holds the batch's state.
    processor = LoggedBatchProcessor(EventType.SQS, failure_logger=logger, max_receive_count=max_receive_count)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
