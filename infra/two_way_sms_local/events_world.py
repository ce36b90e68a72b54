"""The delivery events function in the emulated world: what its tests and the benchmarks run it against.

``events_world()`` starts moto with empty tables (contacts, ledger and, when asked, the
outbound table), a Kinesis stream and the function's dead-letter queue, and wires the
function with ``two_way_sms.handlers.events.make_handler`` on the settings its construct
would give it. The function gets a DynamoDB client of its own, so a ``FaultInjector``
attached to it fails the function's calls and never the world's own reads.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto import mock_aws

from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.dynamodb_tables import DynamoDbTables
from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.handlers.wiring import AwsClients
from two_way_sms.settings.events import EventsSettings
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.emulation import (
    REGION,
    EmulatedStream,
    FakeLambdaContext,
    create_outbound_table,
    create_tables,
    events_environment,
)
from two_way_sms_local.faults import FaultInjector

# What the construct gives every function, for the process that runs it here (unless already set):
# Powertools reads them when the handler module creates its Logger and Metrics.
POWERTOOLS_DEFAULTS = {
    "POWERTOOLS_SERVICE_NAME": "two-way-sms",
    "POWERTOOLS_METRICS_NAMESPACE": "TwoWaySmsLocal",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


class EventsWorld:
    """The events function wired to emulated AWS, with helpers to feed it records and read what it did."""

    def __init__(
        self,
        handler: Any,
        stream: EmulatedStream,
        sqs: Any,
        dead_letter_queue_url: str,
        dynamodb: Any,
        clients: AwsClients,
        logs: io.StringIO,
    ) -> None:
        self.handler, self.stream, self.sqs = handler, stream, sqs
        self.dead_letter_queue_url = dead_letter_queue_url
        self.clients = clients  # the function's own clients (faults go on these)
        self.ledger_table = dynamodb.Table("ledger")  # the world's view, on a client of its own
        self.contacts = dynamodb.Table("contacts")
        self.ledger = MessageLedger(self.ledger_table, retention_days=400)  # for sends the tests record
        self.contacts_adapter = ContactsTable(self.contacts)
        self._logs = logs

    def logs(self) -> str:
        """Everything the function logged so far (Powertools JSON lines)."""
        return self._logs.getvalue()

    def handle(self, *records: dict[str, Any] | bytes) -> dict[str, Any]:
        """Puts the records on the stream and invokes the function with them as one batch."""
        self.stream.put(*records)
        return self.invoke()

    def invoke(self) -> dict[str, Any]:
        """Invokes the function with the records not handed out yet."""
        return self.invoke_with(self.stream.lambda_event())

    def invoke_with(self, event: dict[str, Any]) -> dict[str, Any]:
        return dict(self.handler(event, FakeLambdaContext(function_name="events")))

    def ledger_item(self, message_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.ledger_table.get_item(
            Key={"message_id": message_id}, ConsistentRead=True
        ).get("Item")
        return item

    def ledger_items(self) -> dict[str, dict[str, Any]]:
        """Every ledger item by message id (the month's spend summaries too), from a consistent scan."""
        items, start = [], None
        while True:
            page = self.ledger_table.scan(ConsistentRead=True, **({"ExclusiveStartKey": start} if start else {}))
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                return {item["message_id"]: item for item in items}

    def parked(self) -> list[dict[str, Any]]:
        """Bodies of the messages in the dead-letter queue."""
        messages = self.sqs.receive_message(QueueUrl=self.dead_letter_queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


@contextmanager
def events_world(
    *, outbound_table: bool = False, faults: FaultInjector | None = None, log_level: str | None = None
) -> Iterator[EventsWorld]:
    """A fresh emulated world (empty tables, an empty stream) and the events function wired to it.

    ``outbound_table``: the function counts campaign outcomes in it. ``faults``: attached to the
    function's DynamoDB client. ``log_level``: the function's while the world lasts.
    """
    with _powertools_environment(), mock_aws():
        from two_way_sms.handlers import events  # (after the environment: its Logger and Metrics read it)

        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="events-dead-letters")["QueueUrl"]
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        create_tables(dynamodb)
        if outbound_table:
            create_outbound_table(dynamodb)
        stream = EmulatedStream(boto3.client("kinesis", region_name=REGION))
        function_dynamodb = DynamoDbTables(boto3.client("dynamodb", region_name=REGION))
        if faults is not None:
            faults.attach(function_dynamodb.meta.client)
        clients = emulated_clients(dynamodb=function_dynamodb, sqs=sqs)
        settings = EventsSettings.from_environment(
            events_environment(queue_url, **({"OUTBOUND_TABLE": "outbound"} if outbound_table else {}))
        )
        handler = events.make_handler(settings, clients)
        with _captured_logs(events.logger, log_level) as logs:
            yield EventsWorld(handler, stream, sqs, queue_url, dynamodb, clients, logs)


@contextmanager
def _captured_logs(logger: Any, level: str | None = None) -> Iterator[io.StringIO]:
    """A Powertools logger's JSON lines go to a buffer (not the terminal) while this lasts."""
    named = logging.getLogger(logger.name)
    saved_handlers, saved_level = list(named.handlers), named.level
    buffer = io.StringIO()
    capture = logging.StreamHandler(buffer)
    capture.setFormatter(saved_handlers[0].formatter if saved_handlers else None)
    named.handlers = [capture]
    if level is not None:
        logger.setLevel(level)
    try:
        yield buffer
    finally:
        named.handlers = saved_handlers
        named.setLevel(saved_level)


@contextmanager
def _powertools_environment() -> Iterator[None]:
    missing = {name: value for name, value in POWERTOOLS_DEFAULTS.items() if name not in os.environ}
    os.environ.update(missing)
    try:
        yield
    finally:
        for name in missing:
            os.environ.pop(name, None)
