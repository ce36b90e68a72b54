"""Shared pieces of the emulated AWS: the handlers' tables in moto, a Lambda context, delivery events
built from the shared fixture and a Kinesis stream that turns them into a Lambda event."""

from __future__ import annotations

import base64
import io
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "inbound"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:inbound"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def create_tables(dynamodb: Any) -> Any:
    """Creates ``contacts`` and ``ledger`` on a boto3 DynamoDB resource; returns contacts."""
    contacts = dynamodb.create_table(
        TableName="contacts",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "phone_number", "KeyType": "HASH"},
            {"AttributeName": "record", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "phone_number", "AttributeType": "S"},
            {"AttributeName": "record", "AttributeType": "S"},
        ],
    )
    create_ledger_table(dynamodb)
    return contacts


def create_ledger_table(dynamodb: Any, name: str = "ledger") -> Any:
    """The message ledger as ``two_way_sms_cdk.constructs.message_ledger`` defines it (key, TTL, index)."""
    table = dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "message_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "message_id", "AttributeType": "S"},
            {"AttributeName": "destination_number", "AttributeType": "S"},
            {"AttributeName": "requested_at", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByDestination",
                "KeySchema": [
                    {"AttributeName": "destination_number", "KeyType": "HASH"},
                    {"AttributeName": "requested_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client = getattr(dynamodb.meta, "client", dynamodb)  # a resource or a client
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
    return table


# -- delivery events ------------------------------------------------------------------------------
SAMPLES = Path(__file__).resolve().parent / "samples"  # sample payloads (their sources: README there)
MESSAGE_ID = "ed23196c-75ce-4727-93ee-7bf72b64998f"
REQUESTED_AT_MS = 1759342840978

# A text's usual life, as End User Messaging reports it: queued, accepted by the carrier, delivered.
LIFECYCLE = (
    ("TEXT_QUEUED", 100, False, "QUEUED", "Message is queued for delivery"),
    ("TEXT_SUCCESSFUL", 400, False, "SUCCESSFUL", "Message has been accepted by phone carrier"),
    ("TEXT_DELIVERED", 2500, True, "DELIVERED", "Message has been delivered to the handset"),
)


def delivery_event(
    event_type: str = "TEXT_SUCCESSFUL",
    *,
    after_ms: int = 399,
    is_final: bool | None = True,
    status: str | None = None,
    description: str | None = None,
    message_id: str = MESSAGE_ID,
    event_id: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """The EventBridge fixture (tests/fixtures) for one event of one message (``after_ms`` after its request).

    ``is_final=None`` leaves ``isFinal`` out; a ``detail`` value of None removes that field.
    """
    event = json.loads((SAMPLES / "delivery-event-eventbridge.json").read_text())
    body = event["detail"]
    body.update(
        {
            "eventType": event_type,
            "messageId": message_id,
            "eventTimestamp": REQUESTED_AT_MS + after_ms,
            "messageRequestTimestamp": REQUESTED_AT_MS,
            "isFinal": is_final,
            "messageStatus": status or event_type.removeprefix("TEXT_"),
            "messageStatusDescription": description or body["messageStatusDescription"],
        }
    )
    body.update(detail)
    event["detail"] = {k: v for k, v in body.items() if v is not None}
    event["id"] = event_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{message_id}/{event_type}/{after_ms}"))
    return event


def text_delivery_detail(
    event_type: str,
    *,
    message_id: str,
    at_ms: int,
    requested_at_ms: int,
    is_final: bool,
    status: str,
    description: str,
    origination: str,
    destination: str,
    body: str,
    message_type: str,
    context: dict[str, str] | None = None,
    price_per_part_usd: str = "0.00581",
    carrier_fee_per_part_usd: str = "0.00266",
) -> dict[str, Any]:
    """The ``detail`` of one "Text Message Delivery Status Updated" event for a text End User Messaging
    accepted: the sample's fields (carrier, country), this text's ids, times, encoding, parts and price."""
    from decimal import Decimal

    from two_way_sms.encoding import analyse

    report = analyse(body)
    detail: dict[str, Any] = json.loads((SAMPLES / "delivery-event-eventbridge.json").read_text())["detail"]
    detail.update(
        {
            "eventType": event_type,
            "eventTimestamp": at_ms,
            "isFinal": is_final,
            "originationPhoneNumber": origination,
            "destinationPhoneNumber": destination,
            "messageId": message_id,
            "messageRequestTimestamp": requested_at_ms,
            "messageEncoding": "GSM" if report.encoding == "GSM-7" else "UCS2",
            "messageType": message_type,
            "messageStatus": status,
            "messageStatusDescription": description,
            "context": dict(context or {}),
            "totalMessageParts": report.parts,
            "totalMessagePrice": float(Decimal(price_per_part_usd) * report.parts),
            "totalCarrierFee": float(Decimal(carrier_fee_per_part_usd) * report.parts),
        }
    )
    return detail


def lifecycle_events(message_id: str = MESSAGE_ID) -> list[dict[str, Any]]:
    return [
        delivery_event(t, after_ms=ms, is_final=final, status=status, description=text, message_id=message_id)
        for t, ms, final, status, text in LIFECYCLE
    ]


class EmulatedStream:
    """A Kinesis stream in moto, and the Lambda event the event source mapping would build from it."""

    def __init__(self, kinesis: Any, name: str = "delivery-events") -> None:
        self.kinesis = kinesis
        kinesis.create_stream(StreamName=name, ShardCount=1)
        description = kinesis.describe_stream(StreamName=name)["StreamDescription"]
        self.name, self.arn = name, description["StreamARN"]
        self.shard_id = description["Shards"][0]["ShardId"]
        self._after: str | None = None  # the last sequence number handed out

    def put(self, *records: dict[str, Any] | bytes) -> None:
        """Puts EventBridge events (or raw bytes) the way the rule does: partitioned by message id."""
        entries = [
            {
                "Data": r if isinstance(r, bytes) else json.dumps(r).encode(),
                "PartitionKey": r["detail"].get("messageId", "none") if isinstance(r, dict) else "raw",
            }
            for r in records
        ]
        for start in range(0, len(entries), 500):  # PutRecords takes 500 at a time
            self.kinesis.put_records(StreamName=self.name, Records=entries[start : start + 500])

    def lambda_event(self, limit: int = 10_000) -> dict[str, Any]:
        """The records not handed out yet, as a Kinesis event for a Lambda function."""
        iterator_args = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": self._after}
            if self._after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = self.kinesis.get_shard_iterator(StreamName=self.name, ShardId=self.shard_id, **iterator_args)[
            "ShardIterator"
        ]
        records = self.kinesis.get_records(ShardIterator=iterator, Limit=limit)["Records"]
        if records:
            self._after = records[-1]["SequenceNumber"]
        return {
            "Records": [
                {
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": r["PartitionKey"],
                        "sequenceNumber": r["SequenceNumber"],
                        "data": base64.b64encode(r["Data"]).decode(),
                        "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp(),
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": f"{self.shard_id}:{r['SequenceNumber']}",
                    "eventName": "aws:kinesis:record",
                    "invokeIdentityArn": "arn:aws:iam::123456789012:role/events",
                    "awsRegion": REGION,
                    "eventSourceARN": self.arn,
                }
                for r in records
            ]
        }


def events_environment(dead_letter_queue_url: str, **overrides: str) -> dict[str, str]:
    """What the events handler reads at import (fake credentials, no tracing)."""
    return {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "LEDGER_TABLE": "ledger",
        "CONTACTS_TABLE": "contacts",
        "DEAD_LETTER_QUEUE_URL": dead_letter_queue_url,
        "LEDGER_RETENTION_DAYS": "400",
        "POWERTOOLS_SERVICE_NAME": "two-way-sms",
        "POWERTOOLS_METRICS_NAMESPACE": "TwoWaySmsTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **overrides,
    }


# -- outbound messaging -----------------------------------------------------------------------
ACCOUNT = "123456789012"


def create_outbound_table(dynamodb: Any, name: str = "outbound") -> Any:
    """The outbound table (throughput schedules, held requests, request outcomes, campaign runs):
    ``pk``/``sk`` strings and the ``expires_at`` TTL."""
    table = dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )
    client = getattr(dynamodb.meta, "client", dynamodb)
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
    return table


def sender_environment(queue_url: str, sender_settings: str, templates: str = "{}", **overrides: str) -> dict[str, str]:
    """What the sender handler reads at import (fake credentials, no tracing)."""
    return {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "OUTBOUND_QUEUE_URL": queue_url,
        "OUTBOUND_TABLE": "outbound",
        "CONTACTS_TABLE": "contacts",
        "LEDGER_TABLE": "ledger",
        "LEDGER_RETENTION_DAYS": "400",
        "CONFIGURATION_SET": "outbound",
        "SENDER_SETTINGS": sender_settings,
        "TEMPLATES": templates,
        "SCHEDULE_GROUP": "two-way-sms",
        "RELEASE_TARGET_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:campaigns",
        "SCHEDULER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/scheduler",
        "SCHEDULE_DEAD_LETTER_QUEUE_ARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:schedule-dead-letters",
        "MAX_RECEIVE_COUNT": "5",  # OutboundSender's default redrive
        "POWERTOOLS_SERVICE_NAME": "two-way-sms",
        "POWERTOOLS_METRICS_NAMESPACE": "TwoWaySmsTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **overrides,
    }


# -- conversations ------------------------------------------------------------------------------
def create_conversations_table(dynamodb: Any, name: str = "conversations") -> Any:
    """The conversations table as ``two_way_sms_cdk.constructs.conversations`` defines it (keys, TTL)."""
    table = dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "customer_number", "KeyType": "HASH"},
            {"AttributeName": "conversation_id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "customer_number", "AttributeType": "S"},
            {"AttributeName": "conversation_id", "AttributeType": "S"},
        ],
    )
    client = getattr(dynamodb.meta, "client", dynamodb)
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "delete_at"})
    return table


def create_conversation_settings(
    dynamodb: Any, flows_json: str, *, with_codes: bool = True, bus_name: str | None = None
) -> dict[str, str]:
    """The conversations table, the flows parameter, an HMAC key for codes and (when named) a
    business events bus in moto; returns the environment the handlers read them from."""
    create_conversations_table(dynamodb)
    boto3.client("ssm", region_name=REGION).put_parameter(Name="/two-way-sms/flows", Value=flows_json, Type="String")
    environment = {"FLOWS_PARAMETER": "/two-way-sms/flows", "CONVERSATIONS_TABLE": "conversations"}
    if with_codes:
        kms = boto3.client("kms", region_name=REGION)
        environment["CODES_KEY_ID"] = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"][
            "KeyId"
        ]
    if bus_name is not None:
        boto3.client("events", region_name=REGION).create_event_bus(Name=bus_name)
        environment["EVENT_BUS_NAME"] = bus_name
    return environment


def capture_logs(service: str) -> io.StringIO:
    """The handlers' JSON log lines into a buffer that can be read back: Powertools keeps one
    handler on the service's logger, whose stream this replaces."""
    named_logger = logging.getLogger(service)
    buffer = io.StringIO()
    capture = logging.StreamHandler(buffer)
    if named_logger.handlers:
        capture.setFormatter(named_logger.handlers[0].formatter)
    named_logger.handlers = [capture]
    return buffer
