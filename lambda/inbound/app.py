"""Inbound SMS handler: SQS records from the two-way topic in, replies and consent out.

Thin by design: parse the record, ask the domain what to do, then do it through the
adapters, in an order that makes a retry safe. Each record is processed alone (a bad
one fails alone and reaches the dead-letter queue after its retries) and only once per
``inboundMessageId`` (Powertools idempotency).
"""

from __future__ import annotations

import dataclasses
import os
import time

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
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.adapters.sms import RetryableSendError, SendRejected, SmsGateway
from two_way_sms.encoding import analyse
from two_way_sms.inbound import InboundMessage, MalformedInboundMessage, parse_inbound
from two_way_sms.phone import mask
from two_way_sms.responder import ConsentChange, Decision, Intent, ResponderSettings, decide

REQUIRED_SETTINGS = (
    "RESPONDER_SETTINGS", "CONTACTS_TABLE", "IDEMPOTENCY_TABLE", "CONFIGURATION_SET", "OPT_OUT_LIST", "MESSAGE_TYPE",
)
# SNS retries for 23 days and SQS keeps a message 4; two weeks covers any redelivery.
IDEMPOTENCY_WINDOW_SECONDS = 14 * 24 * 3600


def _settings_from_environment() -> dict[str, str]:
    missing = [name for name in REQUIRED_SETTINGS if not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"inbound handler is missing environment variables {missing}: deploy it with the construct")
    return {name: os.environ[name] for name in REQUIRED_SETTINGS}


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
        reply_id = _reply(inbound, decision, received_at_ms)
        _record_consent(inbound, decision, received_at_ms)
        if decision.update_opt_out_list:
            gateway.put_opted_out(inbound.customer_number)
    elif decision.consent_change is ConsentChange.OPTED_IN:
        if decision.update_opt_out_list:
            gateway.delete_opted_out(inbound.customer_number)
        _record_consent(inbound, decision, received_at_ms)
        reply_id = _reply(inbound, decision, received_at_ms)
    else:
        reply_id = _reply(inbound, decision, received_at_ms)
    return {"intent": decision.intent.value, "reply_message_id": reply_id}


def _reply(inbound: InboundMessage, decision: Decision, received_at_ms: int) -> str | None:
    if decision.reply is None:
        return None
    context = {"inboundMessageId": inbound.inbound_message_id, "intent": decision.intent.value}
    result = gateway.send_text(
        to=inbound.customer_number, from_number=inbound.our_number, body=decision.reply, context=context,
    )
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
    _record_in_ledger(inbound, decision, result.message_id, context)
    return result.message_id


def _record_in_ledger(inbound: InboundMessage, decision: Decision, message_id: str, context: dict[str, str]) -> None:
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
            estimated_parts=analyse(decision.reply).parts, sent_by="inbound",
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
