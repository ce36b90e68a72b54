"""Inbound SMS handler: SQS records from the two-way topic in; replies, consent, conversations
and business events out.

Thin by design: parse the record, ask the domain what to do (``responder.decide`` for
consent and HELP, ``conversations.inbound.route`` for everything else), then do it through
the adapters, in an order that makes a retry safe. Each record is processed alone (a bad
one fails alone and reaches the dead-letter queue after its retries) and only once per
``inboundMessageId`` (Powertools idempotency).

A conversation's turn is written first, with what it decided (a conditional write on the
version read, so a racing answer cannot act twice); then its events go on the bus, then its
replies go out. A retry after a failure finds the turn stored and does what it decided
again rather than taking another step: events are delivered at least once (consumers
deduplicate on ``inboundMessageId`` and ``detail-type``), replies are not sent twice unless
a send itself failed halfway.

Your own handlers (``two_way_sms.conversations.router``) come from the module named in
``EXTENSIONS_MODULE``, imported when the function starts.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import time
from collections.abc import Sequence

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from botocore.exceptions import ClientError

from two_way_sms import metric_names
from two_way_sms.adapters.business_events import BusinessEventBus
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.conversations import ConversationMoved, ConversationStore, Stored, TurnRecord
from two_way_sms.adapters.flow_settings import FlowSettings, conversation_settings
from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.adapters.sms import RetryableSendError, SendRejected, SmsGateway
from two_way_sms.conversations.engine import CLOSED, BusinessEvent, Conversation, closed_by_opt_out
from two_way_sms.conversations.inbound import Routed, handler_message, route, with_handler_result
from two_way_sms.conversations.router import router
from two_way_sms.encoding import analyse
from two_way_sms.inbound import InboundMessage, MalformedInboundMessage, parse_inbound
from two_way_sms.phone import mask
from two_way_sms.responder import ConsentChange, Decision, Intent, ResponderSettings, decide

REQUIRED_SETTINGS = (
    "RESPONDER_SETTINGS", "CONTACTS_TABLE", "IDEMPOTENCY_TABLE", "CONFIGURATION_SET", "OPT_OUT_LIST", "MESSAGE_TYPE",
)
# SNS retries for 23 days and SQS keeps a message 4; two weeks covers any redelivery.
IDEMPOTENCY_WINDOW_SECONDS = 14 * 24 * 3600
# Two answers from one number racing each other: the loser reads again and decides again.
CONVERSATION_WRITE_ATTEMPTS = 3


def _settings_from_environment() -> dict[str, str]:
    missing = [name for name in REQUIRED_SETTINGS if not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"inbound handler is missing environment variables {missing}: deploy it with the construct")
    return {**{name: os.environ[name] for name in REQUIRED_SETTINGS}, **conversation_settings(os.environ, "inbound")}


_env = _settings_from_environment()
logger = Logger()
metrics = Metrics()
tracer = Tracer()

responder = ResponderSettings.from_json(_env["RESPONDER_SETTINGS"])
_dynamodb = boto3.resource("dynamodb")
contacts = ContactsTable(_dynamodb.Table(_env["CONTACTS_TABLE"]))
# Optional: a processor reused without a message ledger does not record its replies.
ledger = MessageLedger(
    _dynamodb.Table(os.environ["LEDGER_TABLE"]), retention_days=int(os.environ.get("LEDGER_RETENTION_DAYS") or 400),
) if os.environ.get("LEDGER_TABLE") else None
gateway = SmsGateway(
    boto3.client("pinpoint-sms-voice-v2"),
    configuration_set=_env["CONFIGURATION_SET"],
    opt_out_list=_env["OPT_OUT_LIST"],
    message_type=_env["MESSAGE_TYPE"],
)
idempotency = IdempotencyConfig(
    event_key_jmespath="inbound_message_id",
    expires_after_seconds=IDEMPOTENCY_WINDOW_SECONDS,
    raise_on_no_idempotency_key=True,
)
persistence = DynamoDBPersistenceLayer(table_name=_env["IDEMPOTENCY_TABLE"])
# Optional: a processor reused without conversations or a bus answers with the responder alone.
flow_settings = FlowSettings(boto3.client("ssm"), _env.get("FLOWS_PARAMETER"))
conversations = ConversationStore(_dynamodb.Table(_env["CONVERSATIONS_TABLE"])) if "CONVERSATIONS_TABLE" in _env else None
bus = BusinessEventBus(boto3.client("events"), os.environ["EVENT_BUS_NAME"]) if os.environ.get("EVENT_BUS_NAME") else None


def _import_extensions(module_name: str | None) -> None:
    """Imports the user's module, whose decorators register their handlers with ``router``."""
    if not module_name:
        return
    try:
        importlib.import_module(module_name)
    except ImportError as error:
        raise RuntimeError(f"EXTENSIONS_MODULE {module_name!r} cannot be imported ({error}): bundle it with "
                           "the function (see the README, \"Your own handlers\")") from None


_import_extensions(os.environ.get("EXTENSIONS_MODULE"))
# A batch where every record failed is still a partial response: no Lambda error, each record retried.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord) -> dict:
    try:
        message = parse_inbound(record.body)
    except MalformedInboundMessage as error:
        logger.error("malformed inbound message", reason=error.reason, sqs_message_id=record.message_id)
        metrics.add_metric(name=metric_names.MALFORMED_INBOUND, unit=MetricUnit.Count, value=1)
        raise
    received_at_ms = int(record.attributes.sent_timestamp)
    try:
        return answer(message={**dataclasses.asdict(message), "received_at_ms": received_at_ms})
    except RetryableSendError as error:
        logger.warning("End User Messaging is throttling or failing; the message will be retried", code=str(error))
        metrics.add_metric(name=metric_names.REPLIES_THROTTLED, unit=MetricUnit.Count, value=1)
        raise
    except SendRejected as error:
        logger.error("End User Messaging rejected the request", code=error.code)
        metrics.add_metric(name=metric_names.REPLIES_REJECTED, unit=MetricUnit.Count, value=1)
        raise


@idempotent_function(data_keyword_argument="message", config=idempotency, persistence_store=persistence)
def answer(message: dict) -> dict:
    """Answers one inbound message, at most once per inbound message id."""
    received_at_ms = message["received_at_ms"]
    inbound = InboundMessage(**{key: value for key, value in message.items() if key != "received_at_ms"})
    logger.append_keys(inbound_message_id=inbound.inbound_message_id, customer=mask(inbound.customer_number))

    decision = decide(inbound.body, opted_out=contacts.is_opted_out(inbound.customer_number), settings=responder)
    logger.info("decided", intent=decision.intent.value, matched=decision.matched, replies=decision.reply is not None)
    metrics.add_metric(name=metric_names.INBOUND_BY_INTENT[decision.intent.value], unit=MetricUnit.Count, value=1)

    # The order makes a retry safe: an opt-out's confirmation goes before the number is
    # put on the list (the list would block it), an opt-in's after it is taken off.
    if decision.consent_change is ConsentChange.OPTED_OUT:
        reply_id = _reply(inbound, decision.reply, decision, received_at_ms)
        _record_consent(inbound, decision, received_at_ms)
        if decision.update_opt_out_list:
            gateway.put_opted_out(inbound.customer_number)
    elif decision.consent_change is ConsentChange.OPTED_IN:
        if decision.update_opt_out_list:
            gateway.delete_opted_out(inbound.customer_number)
        _record_consent(inbound, decision, received_at_ms)
        reply_id = _reply(inbound, decision.reply, decision, received_at_ms)
    elif decision.intent is Intent.HELP:
        reply_id = _reply(inbound, decision.reply, decision, received_at_ms)
    else:
        return _converse(inbound, decision, received_at_ms)
    if decision.consent_change is not None:
        stored = _read(inbound.customer_number)
        routed = _routed(inbound, decision, received_at_ms / 1000, stored)
        _close_all(routed.changed, stored)  # an opt-out ends the number's open conversations
        _put_events(routed.events)
    return {"intent": decision.intent.value, "reply_message_id": reply_id, "path": "consent"}


def _converse(inbound: InboundMessage, decision: Decision, received_at_ms: int) -> dict:
    """Everything that is neither consent nor HELP: a conversation's turn, a start word, a
    registered keyword handler, or the responder's answer."""
    now = received_at_ms / 1000
    for attempt in range(1, CONVERSATION_WRITE_ATTEMPTS + 1):
        stored = _read(inbound.customer_number)
        done = _turn_already_taken(stored, inbound.inbound_message_id)
        if done is not None:  # a retry: do what the stored turn decided, do not decide again
            logger.info("turn already taken; repeating what it decided")
            return _deliver(inbound, decision, done.replies, done.events, received_at_ms, path="conversation")
        routed = _routed(inbound, decision, now, stored)
        routed = _with_registered_handler(routed, inbound, now)
        try:
            _apply(routed, stored, inbound.inbound_message_id)
            break
        except ConversationMoved:
            if attempt == CONVERSATION_WRITE_ATTEMPTS:
                raise
            logger.info("conversation moved meanwhile; reading it again", attempt=attempt)
    if routed.path == "responder":
        replies = (decision.reply,) if decision.reply else ()
    else:
        replies = routed.replies
    if routed.conversation is not None:
        logger.info("conversation turn", flow=routed.conversation.flow, step=routed.conversation.step,
                    status=routed.conversation.status, path=routed.path)
        metrics.add_metric(name=metric_names.CONVERSATION_TURNS, unit=MetricUnit.Count, value=1)
    return _deliver(inbound, decision, replies, routed.events, received_at_ms, path=routed.path)


def _routed(inbound: InboundMessage, decision: Decision, now: float, stored: Sequence[Stored]) -> Routed:
    return route(decision, body=inbound.body, customer_number=inbound.customer_number,
                 our_number=inbound.our_number, inbound_message_id=inbound.inbound_message_id,
                 previous_message_id=inbound.previous_published_message_id, now=now,
                 conversations=[item.conversation for item in stored], flows=flow_settings.flows(),
                 new_conversation_id=inbound.inbound_message_id,
                 has_keyword_handler=router.for_keyword(inbound.body) is not None)


def _read(customer_number: str) -> list[Stored]:
    return conversations.for_number(customer_number) if conversations is not None else []


def _turn_already_taken(stored: Sequence[Stored], inbound_message_id: str) -> TurnRecord | None:
    return next((item.last_turn for item in stored
                 if item.last_turn is not None and item.last_turn.inbound_message_id == inbound_message_id), None)


def _with_registered_handler(routed: Routed, inbound: InboundMessage, now: float) -> Routed:
    """Calls the user's handler the routing names (a flow answer's, or a keyword's) and folds in its result."""
    if routed.handler is not None:
        function = router.named(routed.handler)
    elif routed.path == "keyword_handler":
        function = router.for_keyword(inbound.body)
    else:
        return routed
    message = handler_message(routed, body=inbound.body, customer_number=inbound.customer_number,
                              our_number=inbound.our_number, inbound_message_id=inbound.inbound_message_id)
    return with_handler_result(routed, function(message), flows=flow_settings.flows(), message=message, now=now)


def _apply(routed: Routed, stored: Sequence[Stored], inbound_message_id: str) -> None:
    """Writes the conversation this message moved (or opened), with the turn it took. Raises
    ConversationMoved when another write came first."""
    if routed.conversation is None:
        return
    assert conversations is not None  # a conversation was only routed to when the store exists
    conversation = routed.conversation
    turn = TurnRecord(inbound_message_id, routed.replies, routed.events)
    if routed.created is not None:
        conversations.create(conversation, turn=turn)
        metrics.add_metric(name=metric_names.CONVERSATIONS_OPENED, unit=MetricUnit.Count, value=1)
        return
    version = next(item.version for item in stored if item.conversation.conversation_id == conversation.conversation_id)
    conversations.save(conversation, read_at=version, turn=turn)


def _close_all(closing: Sequence[Conversation], stored: Sequence[Stored]) -> None:
    """Closes each conversation at the version just read; one another write moved meanwhile is
    read again and closed if it is still open (closing twice is harmless)."""
    assert conversations is not None or not closing
    read = {item.conversation.conversation_id: item for item in stored}
    for conversation in closing:
        current: Stored | None = read[conversation.conversation_id]  # as read, still open
        for _ in range(CONVERSATION_WRITE_ATTEMPTS):
            if current is None or current.conversation.status == CLOSED:
                break
            try:
                conversations.save(closed_by_opt_out(current.conversation), read_at=current.version)
                break
            except ConversationMoved:
                current = conversations.get(conversation.customer_number, conversation.conversation_id)


def _deliver(inbound: InboundMessage, decision: Decision, replies: Sequence[str], events: Sequence[BusinessEvent],
             received_at_ms: int, *, path: str) -> dict:
    """Events first, then replies: a reply that cannot go (throttled) fails the record, and its
    retry must not text the customer the replies that did go a second time."""
    _put_events(events)
    reply_ids = [_reply(inbound, text, decision, received_at_ms) for text in replies]
    return {"intent": decision.intent.value, "reply_message_id": next((i for i in reply_ids if i), None),
            "path": path}


def _put_events(events: Sequence[BusinessEvent]) -> None:
    if bus is None or not events:
        return
    bus.put(events)
    metrics.add_metric(name=metric_names.BUSINESS_EVENTS_PUT, unit=MetricUnit.Count, value=len(events))


def _reply(inbound: InboundMessage, text: str | None, decision: Decision, received_at_ms: int) -> str | None:
    if text is None:
        return None
    context = {"inboundMessageId": inbound.inbound_message_id, "intent": decision.intent.value}
    result = gateway.send_text(to=inbound.customer_number, from_number=inbound.our_number, body=text, context=context)
    if result.blocked_by_opt_out:
        # The number's opt-out list knows better than our table: learn it, don't retry.
        logger.warning("reply not sent: destination is on the opt-out list")
        metrics.add_metric(name=metric_names.REPLIES_BLOCKED_BY_OPT_OUT, unit=MetricUnit.Count, value=1)
        if decision.intent is not Intent.OPT_OUT:
            contacts.record_consent(
                number=inbound.customer_number, change=ConsentChange.OPTED_OUT, at_ms=received_at_ms,
                message_id=inbound.inbound_message_id, keyword="OPT_OUT_LIST", our_number=inbound.our_number,
            )
        return None
    metrics.add_metric(name=metric_names.REPLIES_SENT, unit=MetricUnit.Count, value=1)
    _record_in_ledger(inbound, text, result.message_id, context)
    return result.message_id


def _record_in_ledger(inbound: InboundMessage, text: str, message_id: str, context: dict[str, str]) -> None:
    """The reply is in the ledger (SENT) from now until its delivery events arrive.

    A failed write is logged, not raised: raising would send the reply again on the retry,
    and the reply's delivery events create its ledger item anyway.
    """
    if ledger is None:
        return
    try:
        ledger.record_sent(
            message_id=message_id, destination=inbound.customer_number, origination=inbound.our_number,
            context=context, sent_at_ms=int(time.time() * 1000), message_type=_env["MESSAGE_TYPE"],
            estimated_parts=analyse(text).parts, sent_by="inbound",
        )
    except ClientError as error:
        logger.warning("reply sent but not recorded in the ledger; its delivery events will record it",
                       code=error.response.get("Error", {}).get("Code"), message_id=message_id)
        metrics.add_metric(name=metric_names.LEDGER_WRITES_FAILED, unit=MetricUnit.Count, value=1)


def _record_consent(inbound: InboundMessage, decision: Decision, received_at_ms: int) -> None:
    recorded = contacts.record_consent(
        number=inbound.customer_number,
        change=decision.consent_change,
        at_ms=received_at_ms,
        message_id=inbound.inbound_message_id,
        keyword=decision.matched or "",
        our_number=inbound.our_number,
    )
    if recorded:
        opted_out = decision.consent_change is ConsentChange.OPTED_OUT
        name = metric_names.OPT_OUTS_RECORDED if opted_out else metric_names.OPT_INS_RECORDED
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
