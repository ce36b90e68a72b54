"""The sender and the inbound function on one emulated AWS, one clock, one SMS service: conversations end to end.

A reminder goes out through the real sender, the customer's answers come back through the real
inbound handler, and business events land on an agent desk's queue. Used by the conversation
tests and ``bench/conversation_turns.py``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3

from two_way_sms.adapters.conversations import ConversationStore
from two_way_sms.conversations import router as routing
from two_way_sms.handlers.inbound import make_handler
from two_way_sms.settings import InboundSettings
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.emulation import REGION, FakeLambdaContext, capture_logs
from two_way_sms_local.inbound_world import SETTINGS
from two_way_sms_local.sender_world import OUR_NUMBER, SEATTLE, sender_world

VISIT = {"first_name": "Ana", "when": "Mon 2 Mar at 11:00"}
SLOTS = ["Tue 3 Mar 10:00", "Wed 4 Mar 14:30", "Fri 6 Mar 09:00"]
CHARGE = {"merchant": "Example Bank", "amount": "$412.00", "card_last4": "0042"}
EXTENSIONS_MODULE = "two_way_sms_local.extensions_example"  # a user's own handlers, as the README shows them
_INBOUND_SAMPLE = Path(__file__).resolve().parent / "samples" / "inbound-sns-message.json"


def inbound_payload(**overrides: Any) -> dict[str, Any]:
    """The documented inbound payload, with fields replaced or removed (None)."""
    payload = {**json.loads(_INBOUND_SAMPLE.read_text()), **overrides}
    return {k: v for k, v in payload.items() if v is not None}


@dataclass
class World:
    sender: Any
    inbound: Any
    events: Any
    sqs: Any
    desk_url: str
    _ids: Any

    @property
    def sms(self):
        return self.sender.sms

    @property
    def clock(self):
        return self.sender.clock

    def remind(self, key: str, flow: str, variables: dict[str, str], **conversation: Any):
        self.sender.submit(
            {
                "destination": SEATTLE,
                "messageType": "TRANSACTIONAL",
                "idempotencyKey": key,
                "variables": variables,
                "conversation": {"flow": flow, **conversation},
            }
        )
        self.sender.drain()
        return self.sms.sent_to(SEATTLE)[-1]

    def text(
        self, body: str, *, quoting: str | None = None, inbound_id: str | None = None, after: float = 60
    ) -> dict[str, Any]:
        """The customer texts ``body`` (quoting a message id, as a reply to it does)."""
        self.clock.advance(after)
        payload = inbound_payload(
            originationNumber=SEATTLE,
            destinationNumber=OUR_NUMBER,
            messageBody=body,
            inboundMessageId=inbound_id or f"in-{next(self._ids)}",
            previousPublishedMessageId=quoting,
        )
        return self.deliver(json.dumps(payload))

    def deliver(self, body: str) -> dict[str, Any]:
        record = {
            "messageId": f"sqs-{next(self._ids)}",
            "receiptHandle": "r",
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
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
        self.last_record = body
        return self.inbound.handler({"Records": [record]}, FakeLambdaContext())

    def replies(self) -> list[str]:
        return [text.body for text in self.sms.sent_to(SEATTLE)]

    def desk(self) -> list[dict[str, Any]]:
        """Every business event the agent desk's queue received so far, in order."""
        received = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.desk_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.desk_url, ReceiptHandle=message["ReceiptHandle"])

    def conversation(self, conversation_id: str):
        stored = ConversationStore(self.sender.dynamodb.Table("conversations")).get(SEATTLE, conversation_id)
        return stored.conversation if stored else None


@contextmanager
def conversation_world() -> Iterator[World]:
    """Both functions on one fresh emulated AWS, the user's extensions registered with a router of their own."""
    from two_way_sms_cdk.config import parse_config  # the same validation the synth runs

    shared_router = routing.router
    routing.router = routing.Router()  # the extensions module registers with this world's router
    sys.modules.pop(EXTENSIONS_MODULE, None)
    try:
        with sender_world() as sender:
            events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
            events.create_event_bus(Name="business")
            desk_url = sqs.create_queue(QueueName="desk")["QueueUrl"]
            desk_arn = sqs.get_queue_attributes(QueueUrl=desk_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_rule(Name="desk", EventBusName="business", EventPattern=json.dumps({"source": ["two-way-sms"]}))
            events.put_targets(Rule="desk", EventBusName="business", Targets=[{"Id": "desk", "Arn": desk_arn}])
            environment = {
                **sender.environment,
                "EVENT_BUS_NAME": "business",
                "EXTENSIONS_MODULE": EXTENSIONS_MODULE,
                "RESPONDER_SETTINGS": parse_config(SETTINGS).responder.to_json(),
                "CONFIGURATION_SET": "replies",
                "OPT_OUT_LIST": "opt-outs",
                "MESSAGE_TYPE": "TRANSACTIONAL",
            }
            inbound = SimpleNamespace(
                handler=make_handler(  # one clock and one SMS service for both functions
                    _inbound_settings(environment),
                    emulated_clients(sms=sender.sms, dynamodb=sender.dynamodb, sqs=sqs, events=events),
                    clock=sender.clock.now,
                    sleep=sender.clock.sleep,
                )
            )
            capture_logs("two-way-sms")
            yield World(sender, inbound, events, sqs, desk_url, count(1))
    finally:
        routing.router = shared_router
        sys.modules.pop(EXTENSIONS_MODULE, None)


def _inbound_settings(environment: dict[str, str]) -> InboundSettings:
    """The inbound function's settings from the variables of both functions (it reads only its own)."""
    from two_way_sms.settings.inbound import OPTIONAL, REQUIRED

    return InboundSettings.from_environment({k: v for k, v in environment.items() if k in (*REQUIRED, *OPTIONAL)})
