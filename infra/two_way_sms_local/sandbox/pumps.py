"""The wiring AWS does between the stack's resources, and only that, on the sandbox clock.

Each pump does one service's part when asked (``run``: True when it did something) and
says when it next has something to do (``next_due``):

- ``SqsMapping``: an SQS event source mapping (the template's batch size and
  ``ReportBatchItemFailures``): receives the visible messages, invokes the function, deletes
  the records that succeeded; a failed record stays in moto, comes back after the queue's
  visibility timeout on the sandbox clock, and moto's redrive moves it to the dead-letter
  queue after ``maxReceiveCount`` receives;
- ``KinesisMapping``: the stream's event source mapping: batches from the last checkpoint,
  partial failures retried from the first failed sequence number, a batch bisected when the
  function fails, and after ``MaximumRetryAttempts`` (or past ``MaximumRecordAgeInSeconds``)
  the batch's coordinates sent to the on-failure destination, as Lambda writes them;
- ``RuleTap``: an EventBridge rule's targets that moto cannot reach (Kinesis, Lambda): moto
  matches the rule's pattern and delivers the event to a queue of the sandbox's (the tap);
  the tap puts it on the stream with the target's partition key path, or invokes the function;
- ``Scheduler``: EventBridge Scheduler schedules (the template's and those the handlers
  create): ``at(...)`` fires once when due (then deleted when ``ActionAfterCompletion`` is
  DELETE), ``rate(...)`` every period; a Lambda target is invoked asynchronously, an SQS
  target gets the input as a message;
- ``AsyncInvocations``: Lambda's asynchronous invocation: on an error, retried after 1 then
  2 minutes (the function's ``EventInvokeConfig``), then the on-failure destination;
- ``DeliveryEvents``: End User Messaging's delivery events for every text the SMS emulator
  accepted, over sandbox time, by what the customer's carrier does (``deliver``, ``fail``,
  ``opted_out``), put on the default bus as the service puts them;
- ``BusCapture``: a rule on each business-event bus to a queue of the sandbox's, so the state
  shows what the handlers put on the bus.
"""

from __future__ import annotations

import heapq
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from two_way_sms_local.emulation import text_delivery_detail
from two_way_sms_local.sandbox.clock import EPSILON, SandboxClock, iso
from two_way_sms_local.sandbox.functions import Activity, Function, FunctionOutput, InvocationRecord
from two_way_sms_local.sandbox.number import EmulatedNumber
from two_way_sms_local.sandbox.template import ACCOUNT, REGION

DELIVERY_SOURCE = "aws.sms-voice"
DELIVERY_DETAIL_TYPE = "Text Message Delivery Status Updated"
TAP_PREFIX = "sandbox-tap-"
CAPTURE_PREFIX = "sandbox-bus-"
ASYNC_RETRY_DELAYS = (60.0, 120.0)  # Lambda retries an asynchronous invocation after 1, then 2 minutes


@dataclass
class Runtime:
    """What every pump shares: the clock, moto's clients, where invocations and output are recorded."""

    clock: SandboxClock
    sqs: Any
    kinesis: Any
    events: Any
    scheduler: Any
    output: FunctionOutput
    activity: Activity
    queue_url: Callable[[str], str]  # queue ARN -> URL

    def invoke(
        self, function: Function, event: dict[str, Any], trigger: str, records: int = 1
    ) -> tuple[Any, str | None]:
        """Invokes ``function``; (its result, None) or (None, the error it raised)."""
        at = self.clock.now()
        try:
            result = function.invoke(event, self.clock, self.output)
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            self.activity.add(InvocationRecord(at, function.label, trigger, records, records, message))
            return None, message
        failed = len(result.get("batchItemFailures", [])) if isinstance(result, dict) else 0
        self.activity.add(InvocationRecord(at, function.label, trigger, records, failed))
        return result, None


def next_visible(sqs_backend: Any, queue_name: str, now: float) -> float | None:
    """When the first message of the queue that is hidden now (delayed, or in flight) shows again."""
    try:
        queue = sqs_backend.get_queue(queue_name)
        messages = list(queue._messages)
    except Exception:  # moto's internals moved: the caller steps to the end of the advance instead
        return None
    times = []
    for message in messages:
        shows = max(getattr(message, "visible_at", 0), getattr(message, "delayed_until", 0)) / 1000
        if shows >= now:
            times.append(shows + EPSILON)
    return min(times) if times else None


# -- SQS -> Lambda ----------------------------------------------------------------------------------
@dataclass
class SqsMapping:
    function: Function
    queue_arn: str
    batch_size: int
    report_failures: bool
    runtime: Runtime
    sqs_backend: Any
    enabled: bool = True
    observe: Callable[[str], None] | None = None  # sees each body handed to the function (the state's bookkeeping)

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[-1]

    def run(self) -> bool:
        if not self.enabled or self.function.handler is None:
            return False
        url = self.runtime.queue_url(self.queue_arn)
        messages: list[dict[str, Any]] = []
        while len(messages) < self.batch_size:
            received = self.runtime.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not received:
                break
            messages += received
        if not messages:
            return False
        if self.observe is not None:
            for message in messages:
                self.observe(message["Body"])
        event = {"Records": [self._record(m) for m in messages]}
        result, error = self.runtime.invoke(self.function, event, f"sqs {self.queue_name}", len(messages))
        if error is not None:
            return True  # every record comes back after the visibility timeout
        failed = set()
        if self.report_failures and isinstance(result, dict):
            failed = {f.get("itemIdentifier") for f in result.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.runtime.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        return True

    def next_due(self) -> float | None:
        return next_visible(self.sqs_backend, self.queue_name, self.runtime.clock.now())

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                name: attributes[name]
                for name in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")
                if name in attributes
            },
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value.get("DataType", "String"),
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": REGION,
        }


# -- Kinesis -> Lambda --------------------------------------------------------------------------------
@dataclass
class KinesisMapping:
    function: Function
    stream_name: str
    stream_arn: str
    batch_size: int
    report_failures: bool
    bisect: bool
    max_retries: int  # -1: for ever
    max_record_age: int  # seconds; -1: for ever
    on_failure_arn: str | None
    runtime: Runtime
    checkpoints: dict[str, str | None] = field(default_factory=dict)  # shard -> last sequence number handled
    attempts: dict[str, int] = field(default_factory=dict)  # shard -> failed attempts of its current batch
    limits: dict[str, int] = field(default_factory=dict)  # shard -> batch size after bisecting

    def run(self) -> bool:
        if self.function.handler is None:
            return False
        shards = self.runtime.kinesis.list_shards(StreamName=self.stream_name)["Shards"]
        progressed = False
        for shard in shards:
            progressed |= self._run_shard(shard["ShardId"])
        return progressed

    def next_due(self) -> float | None:
        return None  # records are handled as soon as they are on the stream

    def _run_shard(self, shard_id: str) -> bool:
        after = self.checkpoints.get(shard_id)
        iterator_args: dict[str, Any] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
            if after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = self.runtime.kinesis.get_shard_iterator(
            StreamName=self.stream_name, ShardId=shard_id, **iterator_args
        )
        limit = self.limits.get(shard_id, self.batch_size)
        records = self.runtime.kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=limit)["Records"]
        if not records:
            return False
        now = self.runtime.clock.now()
        if self.max_record_age >= 0:
            expired = [r for r in records if r["ApproximateArrivalTimestamp"].timestamp() < now - self.max_record_age]
            if expired:
                self._give_up(shard_id, expired, "RecordAgeExceeded")
                return True
        event = {"Records": [self._record(shard_id, r) for r in records]}
        result, error = self.runtime.invoke(self.function, event, f"kinesis {self.stream_name}", len(records))
        failed_at: str | None = None
        if error is not None:
            failed_at = records[0]["SequenceNumber"]
        elif self.report_failures and isinstance(result, dict) and result.get("batchItemFailures"):
            failed = [f.get("itemIdentifier") for f in result["batchItemFailures"]]
            numbers = [r["SequenceNumber"] for r in records]
            failed_at = min((n for n in failed if n in numbers), key=int, default=records[0]["SequenceNumber"])
        if failed_at is None:
            self._checkpoint(shard_id, records[-1]["SequenceNumber"])
            return True
        done = [r for r in records if int(r["SequenceNumber"]) < int(failed_at)]
        if done:
            self._checkpoint(shard_id, done[-1]["SequenceNumber"])
        self.attempts[shard_id] = self.attempts.get(shard_id, 0) + 1
        if error is not None and self.bisect and len(records) > 1:
            self.limits[shard_id] = max(1, len(records) // 2)
        if 0 <= self.max_retries < self.attempts[shard_id]:
            rest = [r for r in records if int(r["SequenceNumber"]) >= int(failed_at)]
            self._give_up(shard_id, rest, "RetryAttemptsExhausted")
        return True

    def _checkpoint(self, shard_id: str, sequence_number: str) -> None:
        self.checkpoints[shard_id] = sequence_number
        self.attempts.pop(shard_id, None)
        self.limits.pop(shard_id, None)

    def _give_up(self, shard_id: str, records: list[dict[str, Any]], condition: str) -> None:
        """The records' coordinates to the on-failure destination, as Lambda sends them; moves past them."""
        if self.on_failure_arn and ":sqs:" in self.on_failure_arn:
            first, last = records[0], records[-1]
            body = {
                "requestContext": {
                    "requestId": f"{self.function.label}-{self.function.invocations:06d}",
                    "functionArn": self.function.arn,
                    "condition": condition,
                    "approximateInvokeCount": self.attempts.get(shard_id, 0) + 1,
                },
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "version": "1.0",
                "timestamp": iso(self.runtime.clock.now()),
                "KinesisBatchInfo": {
                    "shardId": shard_id,
                    "startSequenceNumber": first["SequenceNumber"],
                    "endSequenceNumber": last["SequenceNumber"],
                    "approximateArrivalOfFirstRecord": first["ApproximateArrivalTimestamp"].isoformat(),
                    "approximateArrivalOfLastRecord": last["ApproximateArrivalTimestamp"].isoformat(),
                    "batchSize": len(records),
                    "streamArn": self.stream_arn,
                },
            }
            self.runtime.sqs.send_message(
                QueueUrl=self.runtime.queue_url(self.on_failure_arn), MessageBody=json.dumps(body)
            )
        self._checkpoint(shard_id, records[-1]["SequenceNumber"])

    def _record(self, shard_id: str, record: dict[str, Any]) -> dict[str, Any]:
        import base64

        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record["PartitionKey"],
                "sequenceNumber": record["SequenceNumber"],
                "data": base64.b64encode(record["Data"]).decode(),
                "approximateArrivalTimestamp": record["ApproximateArrivalTimestamp"].timestamp(),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{record['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/{self.function.name}",
            "awsRegion": REGION,
            "eventSourceARN": self.stream_arn,
        }


# -- EventBridge targets moto does not reach ------------------------------------------------------------
@dataclass
class RuleTap:
    rule: str
    bus: str
    targets: list[dict[str, Any]]  # the rule's Kinesis and Lambda targets, resolved
    runtime: Runtime
    tap_url: str = ""
    invoke_async: Callable[[str, dict[str, Any], str], bool] | None = None
    delivered: int = 0

    def install(self) -> None:
        name = (TAP_PREFIX + self.rule)[:80]
        self.tap_url = self.runtime.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.runtime.sqs.get_queue_attributes(QueueUrl=self.tap_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.runtime.events.put_targets(
            Rule=self.rule, EventBusName=self.bus, Targets=[{"Id": "sandbox-tap", "Arn": arn}]
        )

    def run(self) -> bool:
        messages = self.runtime.sqs.receive_message(
            QueueUrl=self.tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        for message in messages:
            event = json.loads(message["Body"])
            for target in self.targets:
                self._deliver(target, event)
            self.runtime.sqs.delete_message(QueueUrl=self.tap_url, ReceiptHandle=message["ReceiptHandle"])
            self.delivered += 1
        return bool(messages)

    def next_due(self) -> float | None:
        return None

    def _deliver(self, target: dict[str, Any], event: dict[str, Any]) -> None:
        arn = target["Arn"]
        if ":kinesis:" in arn:
            path = (target.get("KinesisParameters") or {}).get("PartitionKeyPath")
            key = _json_path(event, path) if path else event.get("id")
            self.runtime.kinesis.put_record(
                StreamName=arn.rsplit("/", 1)[-1],
                Data=json.dumps(event).encode(),
                PartitionKey=str(key or event.get("id")),
            )
        elif ":lambda:" in arn and self.invoke_async is not None:
            self.invoke_async(arn, event, f"rule {self.rule}")


def _json_path(event: dict[str, Any], path: str) -> Any:
    """``$.detail.messageId`` (the dotted paths EventBridge's Kinesis targets take)."""
    value: Any = event
    for part in path.removeprefix("$.").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


# -- Lambda's asynchronous invocation ----------------------------------------------------------------
@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    arn: str = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    trigger: str = field(compare=False)
    attempt: int = field(compare=False, default=1)
    first_at: float = field(compare=False, default=0.0)


@dataclass
class AsyncInvocations:
    functions: dict[str, Function]  # by ARN
    configs: dict[str, dict[str, Any]]  # function ARN -> its EventInvokeConfig (resolved)
    runtime: Runtime
    pending: list[_Pending] = field(default_factory=list)
    _seq: Any = field(default_factory=itertools.count)

    def submit(self, arn: str, event: dict[str, Any], trigger: str) -> bool:
        if arn not in self.functions:
            return False
        now = self.runtime.clock.now()
        heapq.heappush(self.pending, _Pending(now, next(self._seq), arn, event, trigger, 1, now))
        return True

    def run(self) -> bool:
        now = self.runtime.clock.now()
        progressed = False
        while self.pending and self.pending[0].due <= now + 1e-9:
            item = heapq.heappop(self.pending)
            progressed = True
            function = self.functions[item.arn]
            label = item.trigger if item.attempt == 1 else f"{item.trigger} (retry {item.attempt - 1})"
            _, error = self.runtime.invoke(function, item.event, label)
            if error is None:
                continue
            config = self.configs.get(item.arn, {})
            retries = int(config.get("MaximumRetryAttempts", 2))
            max_age = float(config.get("MaximumEventAgeInSeconds", 21600))
            if item.attempt <= retries and item.attempt - 1 < len(ASYNC_RETRY_DELAYS):
                due = now + ASYNC_RETRY_DELAYS[item.attempt - 1]
                if due - item.first_at <= max_age:
                    heapq.heappush(
                        self.pending,
                        _Pending(
                            due, next(self._seq), item.arn, item.event, item.trigger, item.attempt + 1, item.first_at
                        ),
                    )
                    continue
            self._on_failure(function, item, error, config)
        return progressed

    def next_due(self) -> float | None:
        return self.pending[0].due if self.pending else None

    def _on_failure(self, function: Function, item: _Pending, error: str, config: dict[str, Any]) -> None:
        destination = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if not destination or ":sqs:" not in destination:
            return
        error_type, _, message = error.partition(": ")
        body = {
            "version": "1.0",
            "timestamp": iso(self.runtime.clock.now()),
            "requestContext": {
                "requestId": f"{function.label}-{function.invocations:06d}",
                "functionArn": f"{function.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": item.attempt,
            },
            "requestPayload": item.event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": message, "errorType": error_type},
        }
        self.runtime.sqs.send_message(
            QueueUrl=self.runtime.queue_url(destination), MessageBody=json.dumps(body, default=str)
        )


# -- EventBridge Scheduler ---------------------------------------------------------------------------
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass
class _Schedule:
    group: str
    name: str
    target: dict[str, Any]
    next_at: float | None  # None: done, or an expression the sandbox does not run (cron)
    period: float | None
    delete_after: bool
    enabled: bool


@dataclass
class Scheduler:
    runtime: Runtime
    invoke_async: Callable[[str, dict[str, Any], str], bool]
    known: dict[tuple[str, str], _Schedule] = field(default_factory=dict)
    fired: int = 0
    unsupported: list[str] = field(default_factory=list)

    def run(self) -> bool:
        self._discover()
        now = self.runtime.clock.now()
        progressed = False
        for key, schedule in sorted(self.known.items(), key=lambda item: item[1].next_at or 0):
            if not schedule.enabled or schedule.next_at is None or schedule.next_at > now + 1e-9:
                continue
            self._fire(schedule)
            progressed = True
            if schedule.period:
                while schedule.next_at is not None and schedule.next_at <= now + 1e-9:
                    schedule.next_at += schedule.period
            else:
                schedule.next_at = None
                if schedule.delete_after:
                    self.runtime.scheduler.delete_schedule(Name=schedule.name, GroupName=schedule.group)
                    del self.known[key]
        return progressed

    def next_due(self) -> float | None:
        self._discover()
        times = [s.next_at for s in self.known.values() if s.enabled and s.next_at is not None]
        return min(times) if times else None

    def pending(self) -> list[dict[str, Any]]:
        """The schedules that will fire, soonest first (for the state)."""
        self._discover()
        return [
            {"group": s.group, "name": s.name, "at": iso(s.next_at), "target": s.target.get("Arn")}
            for s in sorted(self.known.values(), key=lambda s: s.next_at or 0)
            if s.enabled and s.next_at is not None
        ]

    def _discover(self) -> None:
        scheduler = self.runtime.scheduler
        present: set[tuple[str, str]] = set()
        groups = [g["Name"] for g in scheduler.list_schedule_groups().get("ScheduleGroups", [])]
        for group in groups:
            for summary in scheduler.list_schedules(GroupName=group).get("Schedules", []):
                key = (group, summary["Name"])
                present.add(key)
                if key not in self.known:
                    self.known[key] = self._read(group, summary["Name"])
        for key in [k for k in self.known if k not in present]:
            del self.known[key]  # deleted by someone else

    def _read(self, group: str, name: str) -> _Schedule:
        described = self.runtime.scheduler.get_schedule(Name=name, GroupName=group)
        expression = described["ScheduleExpression"]
        zone = ZoneInfo(described.get("ScheduleExpressionTimezone") or "UTC")
        next_at: float | None = None
        period: float | None = None
        at = _AT.fullmatch(expression)
        rate = _RATE.fullmatch(expression)
        if at:
            next_at = datetime.fromisoformat(at.group(1)).replace(tzinfo=zone).timestamp()
        elif rate:
            period = int(rate.group(1)) * _UNITS[rate.group(2).rstrip("s")]
            start = described.get("StartDate")
            next_at = (start.timestamp() if isinstance(start, datetime) else self.runtime.clock.now()) + period
        else:
            self.unsupported.append(f"{group}/{name}: {expression}")
        return _Schedule(
            group=group,
            name=name,
            target=described["Target"],
            next_at=next_at,
            period=period,
            delete_after=described.get("ActionAfterCompletion") == "DELETE",
            enabled=described.get("State", "ENABLED") == "ENABLED",
        )

    def _fire(self, schedule: _Schedule) -> None:
        self.fired += 1
        arn = schedule.target["Arn"]
        payload = schedule.target.get("Input") or "{}"
        if ":sqs:" in arn:
            self.runtime.sqs.send_message(QueueUrl=self.runtime.queue_url(arn), MessageBody=payload)
        elif ":lambda:" in arn:
            try:
                event = json.loads(payload)
            except ValueError:
                event = payload
            self.invoke_async(arn, event, f"schedule {schedule.name}")


# -- delivery events -------------------------------------------------------------------------------------
# Seconds after the send, event type, final, status, description. TEXT_SUCCESSFUL is the carrier's
# acceptance, TEXT_DELIVERED the handset's receipt (FACTS.md "Delivery events"; the service docs'
# event types). A failure or a block is final.
LIFECYCLES: dict[str, tuple[tuple[float, str, bool, str, str], ...]] = {
    "deliver": (
        (1.0, "TEXT_PENDING", False, "PENDING", "Message is in the process of being delivered"),
        (2.0, "TEXT_SUCCESSFUL", False, "SUCCESSFUL", "Message has been accepted by phone carrier"),
        (5.0, "TEXT_DELIVERED", True, "DELIVERED", "Message has been delivered to the handset"),
    ),
    "fail": (
        (1.0, "TEXT_PENDING", False, "PENDING", "Message is in the process of being delivered"),
        (3.0, "TEXT_CARRIER_UNREACHABLE", True, "CARRIER_UNREACHABLE", "Carrier is temporarily unreachable"),
    ),
    "opted_out": ((2.0, "TEXT_BLOCKED", True, "BLOCKED", "Destination phone number opted out"),),
}
# An estimate per message part, by number type (US): what End User Messaging charges and the
# carriers' fee. Not AWS's price list: a figure to show what a text would cost, replaced by the
# event's own price once one reports it.
PRICE_PER_PART_USD = {"SIMULATOR": "0.00581", "TOLL_FREE": "0.00581", "TEN_DLC": "0.00581", "LONG_CODE": "0.00581"}
CARRIER_FEE_PER_PART_USD = {
    "SIMULATOR": "0.00000",
    "TOLL_FREE": "0.00250",
    "TEN_DLC": "0.00302",
    "LONG_CODE": "0.00302",
}


@dataclass(order=True)
class _Event:
    due: float
    seq: int
    detail: dict[str, Any] = field(compare=False)


@dataclass
class DeliveryEvents:
    number: EmulatedNumber
    runtime: Runtime
    pending: list[_Event] = field(default_factory=list)
    emitted: int = 0
    _seen: int = 0
    _seq: Any = field(default_factory=itertools.count)

    def run(self) -> bool:
        self._collect()
        now = self.runtime.clock.now()
        due: list[_Event] = []
        while self.pending and self.pending[0].due <= now + 1e-9:
            due.append(heapq.heappop(self.pending))
        for start in range(0, len(due), 10):
            entries = [
                {
                    "Source": DELIVERY_SOURCE,
                    "DetailType": DELIVERY_DETAIL_TYPE,
                    "Detail": json.dumps(event.detail),
                    "Time": datetime.fromtimestamp(event.due, tz=timezone.utc),
                    "Resources": [self.number.number.arn],
                }
                for event in due[start : start + 10]
            ]
            self.runtime.events.put_events(Entries=entries)
        self.emitted += len(due)
        return bool(due)

    def next_due(self) -> float | None:
        self._collect()
        return self.pending[0].due if self.pending else None

    def _collect(self) -> None:
        """Schedules the events of every text accepted since the last look, by the carrier's outcome then."""
        sent = self.number.sms.sent
        number_type = self.number.number.number_type
        for text in sent[self._seen :]:
            outcome = self.number.carrier_outcome(text.destination)
            for after, event_type, final, status, description in LIFECYCLES[outcome]:
                at = text.at + after
                detail = text_delivery_detail(
                    event_type,
                    message_id=text.message_id,
                    at_ms=int(at * 1000),
                    requested_at_ms=int(text.at * 1000),
                    is_final=final,
                    status=status,
                    description=description,
                    origination=self.number.number.e164,
                    destination=text.destination,
                    body=text.body,
                    message_type=text.message_type,
                    context=text.context,
                    price_per_part_usd=PRICE_PER_PART_USD.get(number_type, "0.00581"),
                    carrier_fee_per_part_usd=CARRIER_FEE_PER_PART_USD.get(number_type, "0.00302"),
                )
                heapq.heappush(self.pending, _Event(at, next(self._seq), detail))
        self._seen = len(sent)


# -- the business-event bus --------------------------------------------------------------------------
@dataclass
class BusCapture:
    buses: list[str]
    runtime: Runtime
    captured: list[dict[str, Any]] = field(default_factory=list)  # EventBridge events, oldest first
    _urls: list[str] = field(default_factory=list)

    def install(self) -> None:
        for bus in self.buses:
            url = self.runtime.sqs.create_queue(QueueName=(CAPTURE_PREFIX + bus)[:80])["QueueUrl"]
            arn = self.runtime.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.runtime.events.put_rule(
                Name="sandbox-capture", EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": ""}]})
            )
            self.runtime.events.put_targets(
                Rule="sandbox-capture", EventBusName=bus, Targets=[{"Id": "capture", "Arn": arn}]
            )
            self._urls.append(url)

    def run(self) -> bool:
        progressed = False
        for url in self._urls:
            while True:
                messages = self.runtime.sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                ).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    self.captured.append(json.loads(message["Body"]))
                    self.runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                progressed = True
        return progressed

    def next_due(self) -> float | None:
        return None
