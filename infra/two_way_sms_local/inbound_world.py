"""The inbound handler on emulated AWS, delivered to the way SQS delivers: again and again.

moto (DynamoDB, SQS, SSM, EventBridge) and the SMS emulator, one simulated clock, and a
fault injector on every client (``two_way_sms_local.faults``). ``process`` plays the SQS
event source mapping for one message: each failed receive makes it visible again after
the visibility timeout, and after ``MAX_RECEIVES`` it goes to the dead-letter queue. Used by the
fault tests and ``bench/inbound_faults.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import count
from types import SimpleNamespace
from typing import Any

import boto3
from moto import mock_aws

from two_way_sms import metric_names
from two_way_sms.adapters.dynamodb_tables import DynamoDbTables
from two_way_sms.conversations.flows import flows_to_json, parse_flows
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms.conversations.router import Router
from two_way_sms.handlers.inbound import make_handler
from two_way_sms.settings import InboundSettings
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.emulation import (
    REGION,
    FakeLambdaContext,
    capture_logs,
    create_conversation_settings,
    create_tables,
)
from two_way_sms_local.faults import FaultInjector
from two_way_sms_local.sms_emulator import SimulatedClock, SmsEmulator

OUR_NUMBER = "+12125550101"
VISIBILITY_SECONDS = 180  # six times the function's 30 s timeout, as the construct sets it
MAX_RECEIVES = 5
START = 1_796_378_400.0  # 2026-12-04T10:00:00Z
# A clinic's replies, as the integration tests configure them.
SETTINGS: dict[str, Any] = {
    "help_reply": "Example Clinic: help at +1 206 555 0100. Reply STOP to cancel.",
    "stop_reply": "Example Clinic: you are unsubscribed and will receive no more messages.",
    "opt_in_reply": "Example Clinic: you are subscribed again. Reply STOP to cancel.",
    "default_reply": "Example Clinic: thanks! Reply HELP for help.",
    "keywords": [{"keyword": "HOURS", "reply": "Open Mon-Fri 8-18.", "action": "AUTOMATIC_RESPONSE"}],
}


@dataclass
class Processed:
    receives: int
    dead_lettered: bool
    parked: bool = False


@dataclass
class InboundWorld:
    app: Any
    sms: SmsEmulator
    clock: SimulatedClock
    faults: FaultInjector
    dynamodb: Any
    sqs: Any
    dead_letter_queue_url: str
    dead_lettered: list[str] = field(default_factory=list)  # SQS message ids the redrive parked
    _ids: Any = field(default_factory=lambda: count(1))

    def publish(self, customer: str, body: str, *, inbound_id: str | None = None, quoting: str | None = None) -> str:
        """What End User Messaging publishes and SNS wraps: the SQS body of one inbound text."""
        message = {
            "originationNumber": customer,
            "destinationNumber": OUR_NUMBER,
            "messageBody": body,
            "inboundMessageId": inbound_id or f"in-{next(self._ids)}",
            "messageKeyword": "KEYWORD_1",
        }
        if quoting:
            message["previousPublishedMessageId"] = quoting
        published = datetime.fromtimestamp(self.clock.now(), tz=timezone.utc).isoformat(timespec="milliseconds")
        return json.dumps(
            {
                "Type": "Notification",
                "MessageId": f"sns-{next(self._ids)}",
                "Timestamp": published.replace("+00:00", "Z"),
                "Message": json.dumps(message),
            }
        )

    def receive(self, body: str, *, receive_count: int = 1, sqs_message_id: str | None = None) -> bool:
        """One receive of the message by the function; True when its record succeeded."""
        record = {
            "messageId": sqs_message_id or f"sqs-{next(self._ids)}",
            "receiptHandle": "r",
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": str(receive_count),
                "SentTimestamp": str(int(self.clock.now() * 1000)),
                "SenderId": "AIDAEXAMPLE",
                "ApproximateFirstReceiveTimestamp": str(int(self.clock.now() * 1000)),
            },
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:inbound",
            "awsRegion": REGION,
        }
        result = self.app.handler({"Records": [record]}, FakeLambdaContext())
        return not result["batchItemFailures"]

    def process(self, body: str) -> Processed:
        """Delivers the message until its record succeeds or the redrive parks it."""
        sqs_message_id = f"sqs-{next(self._ids)}"
        for receives in range(1, MAX_RECEIVES + 1):
            if self.receive(body, receive_count=receives, sqs_message_id=sqs_message_id):
                return Processed(receives, dead_lettered=False)
            self.clock.advance(VISIBILITY_SECONDS)
        self.dead_lettered.append(sqs_message_id)
        return Processed(MAX_RECEIVES, dead_lettered=True)

    # -- what the world holds ------------------------------------------------------------------
    def replies_to(self, number: str) -> list[str]:
        return [text.body for text in self.sms.sent_to(number)]

    def profile(self, number: str) -> dict[str, Any]:
        item = (
            self.dynamodb.Table("contacts")
            .get_item(Key={"phone_number": number, "record": "PROFILE"}, ConsistentRead=True)
            .get("Item")
        )
        return item or {}

    def proofs(self, number: str) -> list[dict[str, Any]]:
        return self.dynamodb.Table("contacts").query(
            KeyConditionExpression="phone_number = :n AND begins_with(#r, :p)",
            ExpressionAttributeNames={"#r": "record"},
            ExpressionAttributeValues={":n": number, ":p": "CONSENT#"},
            ConsistentRead=True,
        )["Items"]

    def on_opt_out_list(self, number: str) -> bool:
        return number in self.sms.opted_out

    def parked(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.dead_letter_queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        return [
            {"body": m["Body"], **{k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}}
            for m in messages
        ]


@contextmanager
def inbound_world(
    *,
    faults: FaultInjector | None = None,
    conversations: bool = True,
    environment: dict[str, str] | None = None,
    **settings_overrides: Any,
) -> Iterator[InboundWorld]:
    """A fresh emulated world and the inbound handler wired to it, with the settings the construct
    would give it for ``SETTINGS`` and ``settings_overrides`` (a config's keys), plus ``environment``."""
    from two_way_sms_cdk.config import parse_config  # the same validation the synth runs

    faults = faults or FaultInjector()
    config = parse_config({**SETTINGS, **settings_overrides})
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        create_tables(dynamodb)
        sqs = boto3.client("sqs", region_name=REGION)
        settings = {
            "RESPONDER_SETTINGS": config.responder.to_json(),
            "CONTACTS_TABLE": "contacts",
            "LEDGER_TABLE": "ledger",
            "CONFIGURATION_SET": "replies",
            "OPT_OUT_LIST": "opt-outs",
            "MESSAGE_TYPE": "TRANSACTIONAL",
            "REPLY_MAX_PRICE": "0.05",
            "REPLY_TIME_TO_LIVE": "3600",
            "OUR_NUMBERS": OUR_NUMBER,
            "MAX_RECEIVE_COUNT": str(MAX_RECEIVES),
            "DEAD_LETTER_QUEUE_URL": sqs.create_queue(QueueName="inbound-dead-letters")["QueueUrl"],
        }
        if conversations:
            flows = flows_to_json(parse_flows(READY_FLOWS))
            settings.update(create_conversation_settings(dynamodb, flows, with_codes=False, bus_name="business"))
            settings["EVENT_BUS_NAME"] = "business"
        settings.update(environment or {})
        capture_logs(metric_names.SERVICE)
        clock = SimulatedClock(START)
        sms = SmsEmulator(clock=clock, mps=1000)
        events = boto3.client("events", region_name=REGION)
        # The function's own, as on Lambda (no resource layer): faults hit it alone.
        function_dynamodb = DynamoDbTables(boto3.client("dynamodb", region_name=REGION))
        faults.attach(function_dynamodb.meta.client)
        faults.attach(events)
        handler = make_handler(
            InboundSettings.from_environment(settings),
            emulated_clients(sms=faults.wrap_sms(sms), dynamodb=function_dynamodb, sqs=sqs, events=events),
            clock=clock.now,
            sleep=clock.sleep,
            router=Router(),
        )  # no registrations from elsewhere
        app = SimpleNamespace(handler=handler)
        yield InboundWorld(app, sms, clock, faults, dynamodb, sqs, settings["DEAD_LETTER_QUEUE_URL"])
