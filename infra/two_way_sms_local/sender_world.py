"""The sender function on the emulated world: moto (DynamoDB, SQS, EventBridge Scheduler, SSM, KMS),
the SMS emulator (End User Messaging) and a simulated clock, so hours of pacing and holds run in seconds.

``sender_world`` wires the real handler (``two_way_sms.handlers.sender.make_handler``) with
its own clients, and yields a ``SenderHarness`` that plays the outbound queue and its event
source mapping on the simulated clock: ``submit`` requests, ``invoke_once`` or ``drain``.
The sender's integration tests and ``bench/sender_faults.py`` run on it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import boto3
import botocore.session
from botocore.validate import validate_parameters
from moto import mock_aws

from two_way_sms.adapters.campaign_runs import CampaignRuns
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.held_requests import HeldRequests
from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.adapters.one_use_codes import OneUseCodes
from two_way_sms.adapters.outbound_queue import OutboundQueue
from two_way_sms.adapters.request_outcomes import RequestOutcome, RequestOutcomes
from two_way_sms.conversations.flows import flows_to_json, parse_flows
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms.handlers import sender as sender_function
from two_way_sms.handlers.wiring import AwsClients, LambdaHandler
from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.responder import ConsentChange
from two_way_sms.settings.sender import SenderFunctionSettings
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.emulation import (
    REGION,
    FakeLambdaContext,
    capture_logs,
    create_conversation_settings,
    create_outbound_table,
    create_tables,
    sender_environment,
)
from two_way_sms_local.sms_emulator import SimulatedClock, SmsEmulator

SEATTLE = "+12065550123"  # America/Los_Angeles; PST (UTC-8) on the dates below
OKLAHOMA_CITY = "+14055550123"
OUR_NUMBER = "+18445550100"  # toll-free: 3 MPS
MPS = 3.0
NOON_IN_SEATTLE = datetime(2026, 3, 4, 20, 0, tzinfo=timezone.utc).timestamp()  # Wednesday 12:00 PST
ELEVEN_PM_IN_SEATTLE = datetime(2026, 3, 5, 7, 0, tzinfo=timezone.utc).timestamp()  # Wednesday 23:00 PST
EIGHT_AM_IN_SEATTLE = datetime(2026, 3, 5, 16, 0, tzinfo=timezone.utc).timestamp()  # Thursday 08:00 PST
TEMPLATES = {
    "appointment": {"body": "Hi {first_name}, your appointment is {when}.", "messageType": "TRANSACTIONAL"},
    "sale": {"body": "Spring sale: 20% off this week.", "messageType": "PROMOTIONAL"},
}
_SQS_MODEL = botocore.session.get_session().get_service_model("sqs")


def send_request(
    key: str, destination: str = SEATTLE, message_type: str = "TRANSACTIONAL", **fields: Any
) -> dict[str, Any]:
    if "templateId" not in fields:
        fields.setdefault("body", "Your code is 123456.")
    return {"destination": destination, "messageType": message_type, "idempotencyKey": key, **fields}


# -- the queue on the simulated clock ---------------------------------------------------------
@dataclass
class QueuedMessage:
    message_id: str
    receipt: str
    body: str
    visible_at: float
    sent_at: float
    receive_count: int = 0


class RecordingSqs:
    """The function's SQS client. Each SendMessageBatch to the outbound queue is checked and accepted
    (by moto, or against the SQS service model when ``through_moto`` is off: moto rescans every message
    it ever held on each send) and the harness takes the messages from here. DelaySeconds becomes a
    visibility time on the simulated clock (moto would wait real seconds). Every other call (the
    dead-letter queue's) goes to moto."""

    def __init__(self, sqs: Any, queue_url: str, clock: SimulatedClock, *, through_moto: bool = True) -> None:
        self._sqs, self._queue_url, self._clock, self._through_moto = sqs, queue_url, clock, through_moto
        self._ids = itertools.count(1)
        self.arrived: list[QueuedMessage] = []  # accepted, not yet taken into the harness's pool
        self.delays: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        if QueueUrl != self._queue_url:
            return dict(self._sqs.send_message_batch(QueueUrl=QueueUrl, Entries=Entries))
        by_id = {entry["Id"]: entry for entry in Entries}
        if self._through_moto:
            response = dict(
                self._sqs.send_message_batch(
                    QueueUrl=QueueUrl, Entries=[{**entry, "DelaySeconds": 0} for entry in Entries]
                )
            )
        else:
            validate_parameters(
                {"QueueUrl": QueueUrl, "Entries": Entries}, _SQS_MODEL.operation_model("SendMessageBatch").input_shape
            )
            response = {
                "Successful": [{"Id": entry["Id"], "MessageId": f"sqs-{next(self._ids):07d}"} for entry in Entries],
                "Failed": [],
            }
        for success in response.get("Successful", []):
            entry = by_id[success["Id"]]
            delay = entry.get("DelaySeconds", 0)
            self.delays.append(delay)
            now = self._clock.now()
            self.arrived.append(
                QueuedMessage(
                    success["MessageId"], f"receipt-{success['MessageId']}", entry["MessageBody"], now + delay, now
                )
            )
        return response


# -- the function and the world ---------------------------------------------------------------
@dataclass(frozen=True)
class SenderApp:
    """The sender's entry point, and adapters on the same tables and queue for the harness to read and write."""

    handler: LambdaHandler
    outcomes: RequestOutcomes
    contacts: ContactsTable
    ledger: MessageLedger
    campaign_runs: CampaignRuns
    held: HeldRequests
    queue: OutboundQueue  # the outbound queue, through the harness
    codes: OneUseCodes | None


@dataclass
class SenderHarness:
    app: SenderApp
    sqs: Any
    queue_url: str
    clock: SimulatedClock
    sms: SmsEmulator
    recording: RecordingSqs
    dynamodb: Any  # the harness's own resource
    scheduler: Any
    logs: Any
    environment: dict[str, str]  # the function's, as the construct would set it
    clients: AwsClients  # the function's: ``clients.dynamodb`` is where faults and counters attach
    dead_letter_queue_url: str | None = None
    visibility_timeout: float = 180.0
    max_receive_count: int = 5
    pool: list[QueuedMessage] = field(default_factory=list)
    dead_letters: list[QueuedMessage] = field(default_factory=list)
    batch_failures: int = 0
    invocations: int = 0

    # -- deploying -------------------------------------------------------------------------
    def redeploy(self, **environment: str) -> None:
        """A deploy with these variables changed: a new execution environment, nothing cached."""
        self.environment = {**self.environment, **environment}
        handler = sender_function.make_handler(
            SenderFunctionSettings.from_environment(self.environment), self.clients, clock=self.clock
        )
        self.app = replace(self.app, handler=handler)

    # -- producing ---------------------------------------------------------------------------
    def submit(self, *requests: dict[str, Any] | str) -> None:
        for start in range(0, len(requests), 10):
            entries = [
                {"Id": str(i), "MessageBody": r if isinstance(r, str) else json.dumps(r)}
                for i, r in enumerate(requests[start : start + 10])
            ]
            self.recording.send_message_batch(QueueUrl=self.queue_url, Entries=entries)

    # -- the event source mapping -----------------------------------------------------------
    def _pull(self) -> None:
        self.pool.extend(self.recording.arrived)
        self.recording.arrived.clear()

    def pending(self) -> list[QueuedMessage]:
        self._pull()
        return sorted(self.pool, key=lambda m: m.visible_at)

    def invoke_once(self, batch_size: int = 10, context: Any = None) -> dict[str, Any] | None:
        """One invocation with the messages visible now (None when none is)."""
        due = [m for m in self.pending() if m.visible_at <= self.clock.now() + 1e-9][:batch_size]
        if not due:
            return None
        context = context or FakeLambdaContext(function_name="sender")
        result: dict[str, Any] = self.app.handler(self._event(due), context)
        self.invocations += 1
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        self.batch_failures += len(failed)
        for message in due:
            if message.message_id in failed:
                message.visible_at = self.clock.now() + self.visibility_timeout
                if message.receive_count >= self.max_receive_count:
                    self.pool.remove(message)
                    self.dead_letters.append(message)
            else:
                self.pool.remove(message)
        return result

    def drain(self, *, until: float | None = None, batch_size: int = 10, max_invocations: int = 1000) -> None:
        """Invokes the handler until the queue is empty (or only holds messages due after ``until``),
        moving the clock to the next visible message whenever none is visible."""
        for _ in range(max_invocations):
            if self.invoke_once(batch_size) is not None:
                continue
            waiting = self.pending()
            if not waiting or (until is not None and waiting[0].visible_at > until):
                return
            self.clock.set(max(self.clock.now(), waiting[0].visible_at))
        raise AssertionError(f"the queue did not drain in {max_invocations} invocations")

    def _event(self, messages: list[QueuedMessage]) -> dict[str, Any]:
        records = []
        for m in messages:
            m.receive_count += 1
            records.append(
                {
                    "messageId": m.message_id,
                    "receiptHandle": m.receipt,
                    "body": m.body,
                    "attributes": {
                        "ApproximateReceiveCount": str(m.receive_count),
                        "SentTimestamp": str(int(m.sent_at * 1000)),
                        "SenderId": "AIDAEXAMPLE",
                        "ApproximateFirstReceiveTimestamp": str(int(self.clock.now() * 1000)),
                    },
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:outbound",
                    "awsRegion": REGION,
                }
            )
        return {"Records": records}

    # -- reading and changing the world ----------------------------------------------------------
    def outcome(self, key: str) -> RequestOutcome | None:
        return self.app.outcomes.get(key)

    def opt_in(self, number: str, at: float | None = None) -> None:
        self.app.contacts.record_consent(
            number=number,
            change=ConsentChange.OPTED_IN,
            at_ms=int((at or self.clock.now() - 86400) * 1000),
            message_id=f"start-{number}",
            keyword="START",
            our_number=OUR_NUMBER,
        )

    def opt_out(self, number: str) -> None:
        self.app.contacts.record_consent(
            number=number,
            change=ConsentChange.OPTED_OUT,
            at_ms=int(self.clock.now() * 1000),
            message_id=f"stop-{number}",
            keyword="STOP",
            our_number=OUR_NUMBER,
        )

    def outbound_items(self, prefix: str) -> list[dict[str, Any]]:
        items = self.dynamodb.Table("outbound").scan(ConsistentRead=True)["Items"]
        return [item for item in items if item["pk"].startswith(prefix)]

    def on_call(self, operation: str, callback: Callable[[dict[str, Any]], None]) -> None:
        """Calls ``callback`` with the parameters of each of the function's DynamoDB ``operation`` calls
        (wire format), before the call: it may count them, or raise to fail the call."""

        def before(params: dict[str, Any], **_: Any) -> None:
            callback(json.loads(params["body"]))  # the request as sent: DynamoDB's JSON protocol

        self.clients.dynamodb.meta.client.meta.events.register(f"before-call.dynamodb.{operation}", before)


@contextmanager
def sender_world(
    *,
    start: float = NOON_IN_SEATTLE,
    conversations: bool = True,
    dead_letter_queue: bool = False,
    environment: Mapping[str, str] | None = None,
    wrap_sms: Callable[[SmsEmulator], Any] | None = None,
    sqs_through_moto: bool = True,
    **settings_overrides: Any,
) -> Iterator[SenderHarness]:
    """The sender wired to a fresh emulated world inside ``mock_aws``.

    ``environment`` changes the function's variables (the budget, say); ``wrap_sms`` wraps the
    emulator as the function's SMS client (a fault injector); ``settings_overrides`` change its
    ``SenderSettings``; ``dead_letter_queue`` gives it one for malformed requests.
    """
    settings = SenderSettings(
        **{
            "origination_identity": OUR_NUMBER,
            "mps": MPS,
            "max_price_usd": "0.05",
            "time_to_live_seconds": 3600,
            **settings_overrides,
        }
    )
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="outbound")["QueueUrl"]
        function_environment = sender_environment(queue_url, settings.to_json(), json.dumps(TEMPLATES))
        dead_letter_queue_url = None
        if dead_letter_queue:
            dead_letter_queue_url = sqs.create_queue(QueueName="outbound-dead-letters")["QueueUrl"]
            function_environment["DEAD_LETTER_QUEUE_URL"] = dead_letter_queue_url
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        create_tables(dynamodb)
        create_outbound_table(dynamodb)
        if conversations:
            function_environment.update(create_conversation_settings(dynamodb, flows_to_json(parse_flows(READY_FLOWS))))
        function_environment.update(environment or {})
        scheduler = boto3.client("scheduler", region_name=REGION)
        scheduler.create_schedule_group(Name="two-way-sms")
        clock = SimulatedClock(start)
        sms = SmsEmulator(clock=clock, mps=settings.mps)
        recording = RecordingSqs(sqs, queue_url, clock, through_moto=sqs_through_moto)
        clients = emulated_clients(sms=wrap_sms(sms) if wrap_sms is not None else sms, sqs=recording)
        function_settings = SenderFunctionSettings.from_environment(function_environment)
        outbound = dynamodb.Table("outbound")
        app = SenderApp(
            handler=sender_function.make_handler(function_settings, clients, clock=clock),
            outcomes=RequestOutcomes(outbound),
            contacts=ContactsTable(dynamodb.Table("contacts")),
            ledger=MessageLedger(dynamodb.Table("ledger"), retention_days=function_settings.ledger_retention_days),
            campaign_runs=CampaignRuns(outbound),
            held=HeldRequests(outbound),
            queue=OutboundQueue(recording, queue_url),
            codes=OneUseCodes(boto3.client("kms", region_name=REGION), function_settings.codes_key_id)
            if function_settings.codes_key_id
            else None,
        )
        logs = capture_logs(sender_function.logger.name)
        yield SenderHarness(
            app,
            sqs,
            queue_url,
            clock,
            sms,
            recording,
            dynamodb,
            scheduler,
            logs,
            function_environment,
            clients,
            dead_letter_queue_url,
        )
