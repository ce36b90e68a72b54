"""Emulated AWS for the handler tests: moto for DynamoDB and SQS, Stubber for End User Messaging.

moto does not implement ``pinpoint-sms-voice-v2``; botocore's Stubber checks every
request we make against the real service model instead.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.handlers.inbound import make_handler
from two_way_sms.settings import InboundSettings
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.emulation import REGION, FakeLambdaContext, create_tables
from two_way_sms_local.events_world import EventsWorld, events_world

SETTINGS = {
    "help_reply": "Example Clinic: help at +1 206 555 0100. Reply STOP to cancel.",
    "stop_reply": "Example Clinic: you are unsubscribed and will receive no more messages.",
    "opt_in_reply": "Example Clinic: you are subscribed again. Reply STOP to cancel.",
    "default_reply": "Example Clinic: thanks! Reply HELP for help.",
    "keywords": [{"keyword": "HOURS", "reply": "Open Mon-Fri 8-18.", "action": "AUTOMATIC_RESPONSE"}],
}

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


REPLY_MAX_PRICE = "0.05"
REPLY_TIME_TO_LIVE = 3600
OUR_NUMBER = "+12125550101"

FAKE_CREDENTIALS = {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture
def emulated_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto around the test, with fake credentials in the environment (never a real account)."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def inbound_payload(**overrides: Any) -> dict[str, Any]:
    """The documented payload (tests/fixtures), with fields replaced or removed (None)."""
    payload = json.loads((FIXTURES / "inbound-sns-message.json").read_text())
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


@dataclass(frozen=True)
class InboundApp:
    """The inbound function as a test holds it: its entry point, and the ledger it writes to."""

    handler: Any
    ledger: MessageLedger


class Harness:
    """The inbound handler wired to emulated AWS, with helpers to feed it SQS batches."""

    def __init__(self, app: Any, sqs: Any, queue_url: str, contacts: Any, stubber: Stubber, logs: io.StringIO) -> None:
        self.app, self.sqs, self.queue_url, self.contacts, self.stubber = app, sqs, queue_url, contacts, stubber
        self._logs = logs
        self.dead_letter_queue_url = ""

    def logs(self) -> str:
        """Everything the handler logged so far (Powertools JSON lines)."""
        return self._logs.getvalue()

    def sqs_event(self, *bodies: str) -> dict[str, Any]:
        """Sends bodies through a real (emulated) queue and returns the Lambda event for them."""
        for body in bodies:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
        )["Messages"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m["Attributes"],
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": REGION,
                }
                for m in received
            ]
        }

    def handle(self, *payloads: dict[str, Any] | str) -> dict[str, Any]:
        bodies = [p if isinstance(p, str) else json.dumps(p) for p in payloads]
        return self.app.handler(self.sqs_event(*bodies), FakeLambdaContext())

    def expect_send(
        self,
        to: str,
        body: str,
        from_number: str = "+12125550101",
        *,
        inbound_id: str,
        intent: str,
        message_id: str = "reply-1",
    ) -> None:
        self.stubber.add_response(
            "send_text_message",
            {"MessageId": message_id},
            {
                "DestinationPhoneNumber": to,
                "OriginationIdentity": from_number,
                "MessageBody": body,
                "MessageType": "TRANSACTIONAL",
                "ConfigurationSetName": "replies",
                "Context": {"inboundMessageId": inbound_id, "intent": intent},
                "MaxPrice": REPLY_MAX_PRICE,
                "TimeToLive": REPLY_TIME_TO_LIVE,
            },
        )

    def expect_listed(self, number: str) -> None:
        """The handler puts ``number`` on the opt-out list (it does for every opt-out it decides)."""
        self.stubber.add_response("put_opted_out_number", {}, {"OptOutListName": "opt-outs", "OptedOutNumber": number})

    def parked(self) -> list[dict[str, Any]]:
        """The dead-letter queue's messages: body and reason."""
        messages = self.sqs.receive_message(
            QueueUrl=self.dead_letter_queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        return [
            {"body": m["Body"], **{k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}}
            for m in messages
        ]

    def expect_send_error(self, code: str, *, reason: str | None = None) -> None:
        extra = {"Reason": reason} if reason else {}
        self.stubber.add_client_error(
            "send_text_message",
            service_error_code=code,
            service_message=code,
            response_meta=extra,
            modeled_fields=extra,
        )

    def profile(self, number: str) -> dict[str, Any] | None:
        return self.contacts.get_item(Key={"phone_number": number, "record": "PROFILE"}).get("Item")

    def consent_records(self, number: str) -> list[dict[str, Any]]:
        items = self.contacts.query(
            KeyConditionExpression="phone_number = :n AND begins_with(#r, :p)",
            ExpressionAttributeNames={"#r": "record"},
            ExpressionAttributeValues={":n": number, ":p": "CONSENT#"},
        )["Items"]
        return items


def capture_logs(service: str) -> io.StringIO:
    """Powertools keeps one handler on the service's logger across imports: send its JSON lines
    to a buffer the test can read instead."""
    named_logger = logging.getLogger(service)
    buffer = io.StringIO()
    capture = logging.StreamHandler(buffer)
    capture.setFormatter(named_logger.handlers[0].formatter)
    named_logger.handlers = [capture]
    return buffer


def make_harness(monkeypatch: pytest.MonkeyPatch, **settings_overrides: Any):
    """Context manager body for a fixture: yields a Harness inside mock_aws."""
    from two_way_sms_cdk.config import parse_config  # the same validation the synth runs

    config = parse_config({**SETTINGS, **settings_overrides})
    env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "RESPONDER_SETTINGS": config.responder.to_json(),
        "CONTACTS_TABLE": "contacts",
        "LEDGER_TABLE": "ledger",
        "LEDGER_RETENTION_DAYS": "400",
        "CONFIGURATION_SET": "replies",
        "OPT_OUT_LIST": "opt-outs",
        "MESSAGE_TYPE": "TRANSACTIONAL",
        "POWERTOOLS_SERVICE_NAME": "two-way-sms",
        "POWERTOOLS_METRICS_NAMESPACE": "TwoWaySmsTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "REPLY_MAX_PRICE": REPLY_MAX_PRICE,
        "REPLY_TIME_TO_LIVE": str(REPLY_TIME_TO_LIVE),
        "OUR_NUMBERS": OUR_NUMBER,
        "MAX_RECEIVE_COUNT": "5",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        contacts = create_tables(boto3.resource("dynamodb", region_name=REGION))
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="inbound")["QueueUrl"]
        dead_letter_queue_url = sqs.create_queue(QueueName="inbound-dead-letters")["QueueUrl"]
        monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dead_letter_queue_url)
        sms_client = boto3.client("pinpoint-sms-voice-v2", region_name=REGION)
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        handler = make_handler(
            InboundSettings.from_environment(os.environ), emulated_clients(sms=sms_client, dynamodb=dynamodb, sqs=sqs)
        )
        app = InboundApp(handler, MessageLedger(dynamodb.Table("ledger"), retention_days=400))
        log_buffer = capture_logs(env["POWERTOOLS_SERVICE_NAME"])
        with Stubber(sms_client) as stubber:
            harness = Harness(app, sqs, queue_url, contacts, stubber, log_buffer)
            harness.dead_letter_queue_url = dead_letter_queue_url
            yield harness
            stubber.assert_no_pending_responses()


@pytest.fixture
def harness(monkeypatch):
    yield from make_harness(monkeypatch)


@pytest.fixture
def self_managed_harness(monkeypatch):
    yield from make_harness(monkeypatch, self_managed_opt_outs=True)


# -- the events function: the emulated world lives in two_way_sms_local (the benchmarks use it too) -----
EventsHarness = EventsWorld


@contextmanager
def events_harness_context(*, outbound_table: bool = False) -> Iterator[EventsHarness]:
    """A fresh emulated world (empty tables, an empty stream) and the events function wired to it."""
    with events_world(outbound_table=outbound_table) as harness:
        yield harness


@pytest.fixture
def events_harness():
    with events_harness_context() as harness:
        yield harness
