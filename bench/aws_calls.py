"""Counts the AWS API calls the inbound handler makes for one message, path by path.

Same emulation as the integration tests: moto for DynamoDB, botocore's Stubber for
End User Messaging (``pinpoint-sms-voice-v2``, which moto does not implement). A
``before-call`` hook on the handler's DynamoDB client (every table) and its End User
Messaging client counts every request it sends, failed conditional writes included
(DynamoDB bills those too). The handler is wired before counting starts: its start-up reads
(the reply log's layout note) are not a message's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import boto3
from botocore.stub import Stubber
from environment import REGION, handler_environment, inbound_payload
from moto import mock_aws

from two_way_sms import metric_names
from two_way_sms.handlers.inbound import make_handler
from two_way_sms.settings import InboundSettings
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.emulation import FakeLambdaContext, create_tables

OUR_NUMBER = "+12125550101"
READ_OPERATIONS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
# The inbound handler's one transaction: a reply's completion and its ledger record.
TRANSACTION_ITEMS = 2


@dataclass
class PathCalls:
    """The calls counted for one path, by (service, operation)."""

    name: str
    calls: Counter = field(default_factory=Counter)
    replies: int = 0  # SendTextMessage calls: the SMS parts the estimate adds on top

    def of(self, service: str) -> int:
        return sum(n for (svc, _), n in self.calls.items() if svc == service)

    @property
    def dynamodb(self) -> int:
        return self.of("dynamodb")

    @property
    def dynamodb_reads(self) -> int:
        return sum(n for (svc, op), n in self.calls.items() if svc == "dynamodb" and op in READ_OPERATIONS)

    @property
    def dynamodb_writes(self) -> int:
        return sum(n for (svc, op), n in self.calls.items() if svc == "dynamodb" and op in WRITE_OPERATIONS)

    @property
    def dynamodb_write_units(self) -> int:
        """Write request units of items under 1 KB: a transaction's two items cost two units each."""
        transactions = self.calls[("dynamodb", "TransactWriteItems")]
        return self.dynamodb_writes + transactions * (TRANSACTION_ITEMS * 2 - 1)

    @property
    def messaging(self) -> int:
        return self.of("pinpoint-sms-voice-v2")

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def detail(self) -> str:
        return ", ".join(f"{op} x{n}" if n > 1 else op for (_, op), n in self.calls.items())


class CallCounter:
    """A botocore hook that counts the requests of the clients it is attached to."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()

    def attach(self, client: Any) -> None:
        # First in line: the Stubber answers in the same event and stops it there.
        client.meta.events.register_first("before-call.*.*", self._count, unique_id="bench-call-counter")

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[(model.service_model.service_name, model.name)] += 1

    def take(self) -> Counter:
        taken, self.calls = self.calls, Counter()
        return taken


class EmulatedHandler:
    """The inbound handler imported against emulated AWS, one configuration at a time."""

    def __init__(self, app: Any, stubber: Stubber, counter: CallCounter) -> None:
        self.app, self.stubber, self.counter = app, stubber, counter

    def handle(self, body: str, *, message_id: str, customer: str) -> None:
        payload = json.dumps(inbound_payload(body, message_id, customer))
        result = self.app.handler(_sqs_event(payload), FakeLambdaContext())
        if result["batchItemFailures"]:
            raise RuntimeError(f"the handler failed the record for {body!r}: {result}")
        self.stubber.assert_no_pending_responses()  # every expected End User Messaging call was made

    def expect(self, operation: str, response: dict[str, Any] | None = None) -> None:
        self.stubber.add_response(operation, response or {})

    def measure(self, name: str, run: Callable[[], None]) -> PathCalls:
        self.counter.take()
        run()
        calls = self.counter.take()
        return PathCalls(name, calls, replies=calls[("pinpoint-sms-voice-v2", "SendTextMessage")])


@contextmanager
def emulated_handler(**settings_overrides: Any) -> Iterator[EmulatedHandler]:
    """``two_way_sms.handlers.inbound`` wired inside mock_aws, with its clients counted."""
    saved_environment = dict(os.environ)
    environment = handler_environment(**settings_overrides)
    os.environ.update(environment)  # Powertools' switches: no EMF lines on the benchmark's output
    service_logger = logging.getLogger(metric_names.SERVICE)
    saved_level = service_logger.level
    service_logger.setLevel(logging.CRITICAL)  # nor log lines
    try:
        with mock_aws():
            dynamodb = boto3.resource("dynamodb", region_name=REGION)
            create_tables(dynamodb.meta.client)
            sms_client = boto3.client("pinpoint-sms-voice-v2", region_name=REGION)
            counter = CallCounter()
            for client in (dynamodb.meta.client, sms_client):
                counter.attach(client)
            app = SimpleNamespace(
                handler=make_handler(
                    InboundSettings.from_environment(environment), emulated_clients(sms=sms_client, dynamodb=dynamodb)
                )
            )
            with Stubber(sms_client) as stubber:
                yield EmulatedHandler(app, stubber, counter)
    finally:
        service_logger.setLevel(saved_level)
        os.environ.clear()
        os.environ.update(saved_environment)


def count_calls_per_path() -> list[PathCalls]:
    """One inbound message down each path, each from its own customer (no state shared)."""
    sent = {"MessageId": "reply-1"}
    with emulated_handler() as h:  # AWS-managed opt-outs, the default

        def keyword() -> None:
            h.expect("send_text_message", sent)
            h.handle("HOURS", message_id="kw-1", customer="+14255550101")

        def stop() -> None:  # AWS replied and listed the number: the handler records it and lists it again
            h.expect("put_opted_out_number")
            h.handle("STOP", message_id="stop-1", customer="+14255550102")

        def unknown() -> None:
            h.expect("send_text_message", sent)
            h.handle("Is the clinic open on Saturday?", message_id="other-1", customer="+14255550103")

        def duplicate() -> None:  # kw-1 again, as SQS or SNS redelivers it
            h.handle("HOURS", message_id="kw-1", customer="+14255550101")

        aws_managed = [
            h.measure("keyword HOURS (AWS-managed opt-outs)", keyword),
            h.measure("STOP (AWS-managed opt-outs)", stop),
            h.measure("unknown text (default reply)", unknown),
            h.measure("redelivered duplicate of HOURS", duplicate),
        ]

    with emulated_handler(self_managed_opt_outs=True) as h:

        def stop_self_managed() -> None:  # recorded, the confirmation, then the opt-out list
            h.expect("send_text_message", sent)
            h.expect("put_opted_out_number")
            h.handle("STOP", message_id="stop-2", customer="+14255550104")

        def start_self_managed() -> None:  # recorded, off the opt-out list, then the confirmation
            h.expect("delete_opted_out_number")
            h.expect("send_text_message", sent)
            h.handle("START", message_id="start-1", customer="+14255550105")

        self_managed = [
            h.measure("STOP (self-managed opt-outs)", stop_self_managed),
            h.measure("START (self-managed opt-outs)", start_self_managed),
        ]
    return aws_managed[:2] + self_managed + aws_managed[2:]


def _sqs_event(body: str) -> dict[str, Any]:
    """A one-record SQS event as Lambda delivers it (a raw body: the handler takes either form)."""
    sent_ms = "1759342840978"
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "bench-receipt",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent_ms,
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": sent_ms,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:inbound",
                "awsRegion": REGION,
            }
        ]
    }
