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
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from two_way_sms import metric_names
from two_way_sms.adapters.batch_failures import LoggedBatchProcessor
from two_way_sms.adapters.business_events import BusinessEventBus
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.conversations import ConversationStore
from two_way_sms.adapters.dead_letters import DeadLetterQueue
from two_way_sms.adapters.flow_settings import FlowSettings
from two_way_sms.adapters.inbound_records import InboundRecords
from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.adapters.one_use_codes import OneUseCodes
from two_way_sms.adapters.our_numbers import OurNumbers
from two_way_sms.adapters.reply_log import ReplyLogTable, legacy_replies_until
from two_way_sms.adapters.sms import SmsGateway
from two_way_sms.adapters.spend import hard_stop_from_environment
from two_way_sms.adapters.telemetry import PowertoolsTelemetry
from two_way_sms.conversations import router as routing
from two_way_sms.handlers.wiring import AwsClients, FunctionTracer, LambdaHandler, wired_on_first_call
from two_way_sms.responder import ResponderSettings
from two_way_sms.services.answer_inbound import InboundAnswerer
from two_way_sms.settings import InboundSettings

logger = Logger()
metrics = Metrics()
tracer = FunctionTracer()  # X-Ray only where the function is traced


def make_handler(
    settings: InboundSettings,
    clients: AwsClients,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    router: routing.Router | None = None,
) -> LambdaHandler:
    """Builds the adapters and the use case once; returns the Lambda entry point.

    ``router`` holds the handlers of your own flows; by default the registry that
    ``EXTENSIONS_MODULE``'s decorators register with.
    """
    table = clients.dynamodb.Table
    contacts_table = table(settings.contacts_table)
    # Optional: a processor reused without a message ledger does not record its replies.
    ledger = (
        MessageLedger(table(settings.ledger_table), retention_days=settings.ledger_retention_days)
        if settings.ledger_table
        else None
    )
    gateway = SmsGateway(
        clients.sms,
        configuration_set=settings.configuration_set,
        opt_out_list=settings.opt_out_list,
        message_type=settings.message_type,
        reply_max_price=settings.reply_max_price,
        reply_time_to_live_seconds=settings.reply_time_to_live,
    )
    # Optional: a processor reused without conversations or a bus answers with the responder alone.
    flow_settings = FlowSettings(
        clients.ssm,
        settings.flows_parameter,
        expected_digest=settings.flows_digest,
        on_mismatch=lambda: metrics.add_metric(name=metric_names.FLOWS_NOT_AS_DEPLOYED, unit=MetricUnit.Count, value=1),
    )
    _import_extensions(settings.extensions_module)
    # Optional: flows whose answers carry a one-use code need the key that derives it again.
    codes = OneUseCodes(clients.kms, settings.codes_key_id) if settings.codes_key_id else None
    answerer = InboundAnswerer(
        responder=ResponderSettings.from_json(settings.responder_settings),
        reply_log=ReplyLogTable(
            contacts_table,
            # A reply that went is completed and recorded in the ledger by one transaction.
            ledger_table=table(settings.ledger_table) if settings.ledger_table else None,
            ledger_retention_days=settings.ledger_retention_days,
            legacy_until=legacy_replies_until(contacts_table, clock()),
        ),
        contacts=ContactsTable(contacts_table),
        gateway=gateway,
        telemetry=PowertoolsTelemetry(logger, metrics),
        ledger=ledger,
        conversations=ConversationStore(table(settings.conversations_table)) if settings.conversations_table else None,
        bus=BusinessEventBus(clients.events, settings.event_bus_name, sleep=sleep) if settings.event_bus_name else None,
        # The registry as it is now: the extensions imported above registered their handlers with it.
        router=router if router is not None else routing.router,
        flows=flow_settings.flows,
        message_type=settings.message_type,
        limits=settings.reply_limits,
        code_for=codes.code_for if codes is not None else None,
        hard_stopped=hard_stop_from_environment(settings.to_environment(), ledger.month_to_date if ledger else None),
        clock=clock,
        sleep=sleep,
    )
    records = InboundRecords(
        answerer,
        OurNumbers.from_environment(settings.to_environment(), clients.sms),
        DeadLetterQueue(clients.sqs, settings.dead_letter_queue_url) if settings.dead_letter_queue_url else None,
        settings.max_receive_count,
        logger=logger,
        metrics=metrics,
    )
    record_handler = tracer.capture_method(records.handle)

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> Any:
        # A batch where every record failed is still a partial response: no Lambda error, each record
        # retried, with one log line each (the dead-letter queue's messages are explained by these).
        # One processor per invocation: it holds the batch's state.
        processor = LoggedBatchProcessor(
            EventType.SQS, failure_logger=logger, max_receive_count=settings.max_receive_count
        )
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler


def _import_extensions(module_name: str | None) -> None:
    """Imports the user's module, whose decorators register their handlers with ``routing.router``."""
    if not module_name:
        return
    try:
        importlib.import_module(module_name)
    except ImportError as error:
        raise RuntimeError(
            f"EXTENSIONS_MODULE {module_name!r} cannot be imported ({error}): bundle it with "
            'the function (see the README, "Your own handlers")'
        ) from None


handler = wired_on_first_call(
    lambda: make_handler(InboundSettings.from_environment(os.environ), AwsClients.from_default_session())
)
