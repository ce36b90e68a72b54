"""Benchmark figures for the outbound sender (printed by run.py, sections 8-11).

8. pacing through the real sender handler (``two_way_sms.handlers.sender.make_handler``) on a simulated clock: a
   burst of mixed 1-, 2- and 3-part texts per number type; achieved parts per second over
   the configured MPS, the emulator's throttles, the most parts in any trailing second,
   the deferrals;
9. the pacing algorithm alone, no AWS: the sender's ``ThroughputSchedule`` on a table in
   memory for 20,000 messages, beside two references (plain GCRA, the earliest FIFO schedule);
10. sends per second the handler sustains in process with pacing out of the way, the time
   inside the emulated calls apart, and the AWS requests per message;
11. an estimate of the AWS-side (non-SMS) cost per 1,000 one-part messages.

The emulated world is the sender's integration tests' (``two_way_sms_local.sender_world``):
moto for DynamoDB and ``SmsEmulator`` as the ``pinpoint-sms-voice-v2`` client, enforcing the
MPS on the simulated clock the handler is given. Two things differ from that harness:

- The queue. moto's SQS keeps ``DelaySeconds`` on the wall clock, so a request the sender
  puts back with a delay (a deferral) would not come back on simulated time. The outbound
  queue is a ``MemoryQueue`` instead: the handler's own ``OutboundQueue`` adapter still
  builds its ``SendMessageBatch`` requests (checked against the botocore SQS model); only
  the client answering them is replaced, as the tests replace it.
- Concurrency. The event source mapping runs several batches at once (the
  ``OutboundSender`` construct's default ``max_concurrency`` is 2), in separate execution
  environments that share one throughput schedule in DynamoDB. Each poller here is a
  thread with its own handler from ``make_handler`` and its own clients (its own state, as an
  execution environment has), and the threads take turns on a ``CooperativeClock``: exactly one runs
  at a time, and a ``sleep`` hands over to whichever thread wakes first, so simulated time
  moves only when every thread waits. Handler code takes no simulated time (AWS latency
  is not modelled). A poller receives up to 10 visible messages and invokes the handler;
  when none is visible it waits for the next one due (at most a second, as long polling).

moto takes tens of milliseconds a request, and more for the ledger's long update
expression: the bursts count that UpdateItem without sending it (as the sender's burst
test does; on the simulated clock it takes no time), run side by side in processes, and
by default are smaller than the issue's (BENCH_OUTBOUND_FULL=1 runs those: 10,000 messages
at 1 MPS, 2,000 mixed and 10,000 one-part at 3 MPS, 2,000 at 100 MPS, and the throughput run
of 2,000 messages).

Offline: no AWS account and no network. Nothing here asserts; wall-clock figures vary by machine.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import logging
import math
import os
import threading
import time
import warnings
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters
from environment import REGION
from moto import mock_aws

from two_way_sms import metric_names, pacing
from two_way_sms.adapters.throughput import ThroughputSchedule
from two_way_sms.encoding import analyse
from two_way_sms.handlers import sender as sender_function
from two_way_sms.handlers.wiring import LambdaHandler
from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.settings.sender import SenderFunctionSettings
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.emulation import FakeLambdaContext, create_outbound_table, create_tables, sender_environment
from two_way_sms_local.sms_emulator import START, SmsEmulator

OUR_NUMBER = "+18445550100"
CONCURRENCY = 2  # the OutboundSender construct's default max_concurrency
CROWDED = 10  # more batches at once than the default: what the sender does with more requests in flight
# A burst is (number type, messages, batches at once); "throughput" is section 10's messages.
# The issue's sizes (FULL) take many minutes against moto; the default run is smaller (the
# ratios settle within a few hundred messages). BENCH_OUTBOUND_FULL=1 runs FULL.
# A burst's texts: "mixed" (PART_MIX) or "1-part" (every text one part).
FULL = {
    "bursts": (
        ("TEN_DLC", 10_000, CONCURRENCY, "mixed"),
        ("TOLL_FREE", 2_000, CONCURRENCY, "mixed"),
        ("TOLL_FREE", 10_000, CONCURRENCY, "1-part"),
        ("SHORT_CODE", 2_000, CONCURRENCY, "mixed"),
        ("TOLL_FREE", 200, CROWDED, "mixed"),
    ),
    "throughput": 2_000,
}
QUICK = {
    "bursts": (
        ("TEN_DLC", 1_000, CONCURRENCY, "mixed"),
        ("TOLL_FREE", 500, CONCURRENCY, "mixed"),
        ("TOLL_FREE", 500, CONCURRENCY, "1-part"),
        ("SHORT_CODE", 500, CONCURRENCY, "mixed"),
        ("TOLL_FREE", 100, CROWDED, "mixed"),
    ),
    "throughput": 400,
}
RATIO_GOAL = 0.95  # achieved over configured MPS: between this and 1.00, never above (the issue)
PURE_PACING_MESSAGES = 100_000
SCHEDULE_MESSAGES = 20_000  # the sender's schedule in memory: packing makes it tens of us a text
UNPACED_MPS = 1e9  # pacing out of the way
FUNCTION_TIMEOUT_SECONDS = 60.0  # the construct's default timeout
VISIBILITY_TIMEOUT_SECONDS = 6 * FUNCTION_TIMEOUT_SECONDS
MAX_RECEIVE_COUNT = 5
BATCH_SIZE = 10
IDLE_POLL_SECONDS = 1.0  # an idle poller looks again after at most this long
# 70% one part, 20% two, 10% three: message n gets PART_MIX[n % 10] parts.
PART_MIX = (1, 1, 1, 1, 1, 1, 1, 2, 2, 3)
BODY_LENGTHS = {1: 150, 2: 290, 3: 440}  # GSM-7 characters: 160 per single part, 153 per part above
TOLERANCE = 1e-6  # as the emulator's: float noise at epoch magnitudes
QUIET = {"POWERTOOLS_METRICS_DISABLED": "true"}  # and the handler's logger at CRITICAL: see quiet_handler

_SQS_MODEL = botocore.session.get_session().get_service_model("sqs")
_FILLER = (
    "Your order has shipped and will arrive on Thursday between 9 and 12. Track it in the app or reply HELP for help. "
) * 6


# -- the burst's messages ------------------------------------------------------------------------
def message_body(n: int, parts: int) -> str:
    body = f"#{n:06d} {_FILLER}"[: BODY_LENGTHS[parts]]
    if analyse(body).parts != parts:  # the mix is the point of the figure: fail loudly if it drifts
        raise ValueError(f"body of {len(body)} characters is {analyse(body).parts} parts, not {parts}")
    return body


def send_requests(messages: int, prefix: str, mix: tuple[int, ...] = PART_MIX) -> list[str]:
    """``messages`` TRANSACTIONAL requests (no consent or quiet-hours wait), each to its own number."""
    return [
        json.dumps(
            {
                "destination": f"+1206{5_550_000 + n:07d}",
                "messageType": "TRANSACTIONAL",
                "idempotencyKey": f"{prefix}-{n:06d}",
                "body": message_body(n, mix[n % len(mix)]),
            }
        )
        for n in range(messages)
    ]


# -- clocks --------------------------------------------------------------------------------------
class CooperativeClock:
    """Simulated epoch seconds shared by threads of which exactly one runs at a time.

    ``sleep`` (the handler's wait for its slot) and ``wait_until`` (an idle poller) queue the
    caller by wake time and hand the turn to the earliest waiter, moving the clock to its
    wake time. ``slept`` sums the handlers' sleeps: billed Lambda time spent waiting.
    """

    def __init__(self, start: float = START) -> None:
        self._now = float(start)
        self.slept = 0.0
        self._waiting: list[tuple[float, int, threading.Event]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept += seconds
            self.wait_until(self._now + seconds)

    def wait_until(self, at: float) -> None:
        turn = self.enlist(at)
        self.hand_over()
        turn.wait()

    def enlist(self, at: float) -> threading.Event:
        turn = threading.Event()
        heapq.heappush(self._waiting, (at, next(self._order), turn))
        return turn

    def hand_over(self) -> bool:
        """Wakes the earliest waiter; False when nobody waits."""
        if not self._waiting:
            return False
        at, _, turn = heapq.heappop(self._waiting)
        self._now = max(self._now, at)
        turn.set()
        return True


def sizes() -> dict[str, Any]:
    return FULL if os.environ.get("BENCH_OUTBOUND_FULL", "") not in ("", "0") else QUICK


class UnpacedClock:
    """Wall-clock time whose sleep returns at once: the handler never waits for a slot."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        pass


@dataclass(frozen=True)
class SimulatedContext:
    """A Lambda context whose remaining time runs out on the simulated clock."""

    clock: Any
    deadline: float
    function_name: str = "sender"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:sender"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self.clock.now()) * 1000))


# -- the emulated calls, counted and timed ------------------------------------------------------------
@dataclass
class QueuedMessage:
    message_id: str
    body: str
    visible_at: float
    sent_at: float
    receive_count: int = 0


class MemoryQueue:
    """The outbound queue on the simulated clock: SQS's DelaySeconds and visibility, in memory.

    ``send_message_batch`` is the client method the handler's ``OutboundQueue`` calls (its
    parameters are checked against the SQS service model); the producer's messages are
    ``put`` directly. ``delays`` counts the handler's re-enqueued requests by delay.
    """

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, QueuedMessage]] = []
        self._order = itertools.count()
        self.calls: Counter = Counter()
        self.seconds = 0.0
        self.delays: Counter = Counter()
        self.dead_letters: list[QueuedMessage] = []

    def send_message_batch(self, **params: Any) -> dict[str, Any]:
        started = time.perf_counter()
        validate_parameters(params, _SQS_MODEL.operation_model("SendMessageBatch").input_shape)
        self.calls[("sqs", "SendMessageBatch", None)] += 1
        successful = []
        for entry in params["Entries"]:
            delay = entry.get("DelaySeconds", 0)
            message = self.put(entry["MessageBody"], delay)
            self.delays[delay] += 1
            successful.append(
                {
                    "Id": entry["Id"],
                    "MessageId": message.message_id,
                    "MD5OfMessageBody": hashlib.md5(entry["MessageBody"].encode()).hexdigest(),
                }
            )
        self.seconds += time.perf_counter() - started
        return {"Successful": successful, "Failed": []}

    def put(self, body: str, delay_seconds: float = 0) -> QueuedMessage:
        now = self._clock.now()
        message = QueuedMessage(f"sqs-{next(self._order):07d}", body, now + delay_seconds, now)
        self._push(message)
        return message

    def receive(self, limit: int) -> list[QueuedMessage]:
        """Up to ``limit`` visible messages, oldest due first; invisible until deleted or failed."""
        taken = []
        while self._heap and len(taken) < limit and self._heap[0][0] <= self._clock.now() + 1e-9:
            message = heapq.heappop(self._heap)[2]
            message.receive_count += 1
            taken.append(message)
        return taken

    def fail(self, message: QueuedMessage) -> None:
        """A failed record: visible again after the visibility timeout, or parked."""
        if message.receive_count >= MAX_RECEIVE_COUNT:
            self.dead_letters.append(message)
            return
        message.visible_at = self._clock.now() + VISIBILITY_TIMEOUT_SECONDS
        self._push(message)

    def next_visible_at(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def _push(self, message: QueuedMessage) -> None:
        heapq.heappush(self._heap, (message.visible_at, next(self._order), message))


class TimedSms:
    """The SMS emulator as the handler's client, its calls counted and timed."""

    def __init__(self, emulator: SmsEmulator) -> None:
        self.emulator = emulator
        self.calls: Counter = Counter()
        self.seconds = 0.0

    def send_text_message(self, **params: Any) -> dict[str, Any]:
        self.calls[("pinpoint-sms-voice-v2", "SendTextMessage", None)] += 1
        started = time.perf_counter()
        try:
            return self.emulator.send_text_message(**params)
        finally:
            self.seconds += time.perf_counter() - started


class AwsMeter:
    """botocore hooks: each request by (service, operation, table), the time from before-call to
    after-call (inside boto3 + moto), and the write units of every PutItem (from its item's size)."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()
        self.seconds = 0.0
        self.put_units: Counter = Counter()  # (table, write units) -> PutItem requests
        self._started = 0.0

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register_first("before-call.*.*", self._before, unique_id="bench-meter-before")
        events.register_last("after-call.*.*", self._after, unique_id="bench-meter-after")
        events.register_last("after-call-error.*.*", self._after, unique_id="bench-meter-error")

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self._started = time.perf_counter()  # the counting below is the emulator's share, not the handler's
        request = json.loads(params["body"] or b"{}") if model.service_model.protocol == "json" else {}
        table = request.get("TableName")
        self.calls[(model.service_model.service_name, model.name, table)] += 1
        if model.name == "PutItem":  # the serialized request: attribute values, as DynamoDB sizes them
            self.put_units[(table, write_units(item_bytes(request["Item"])))] += 1

    def _after(self, **_: Any) -> None:
        self.seconds += time.perf_counter() - self._started


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it (attribute names plus values), from attribute values."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: dict[str, Any]) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return _number_bytes(content)
    if kind == "B":
        return len(content) * 3 // 4  # base64 on the wire
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in content)
    if kind == "NS":
        return sum(_number_bytes(n) for n in content)
    if kind == "L":
        return 3 + sum(1 + _value_bytes(v) for v in content)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_bytes(v) for k, v in content.items())
    raise ValueError(f"attribute value type {kind} is not one DynamoDB has")


def _number_bytes(number: str) -> int:
    digits = str(Decimal(number).normalize()).lstrip("-").replace(".", "").lstrip("0") or "0"
    digits = digits.split("E")[0]
    return math.ceil(len(digits) / 2) + 1


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


# -- the emulated sender -----------------------------------------------------------------------
@dataclass
class Tally:
    """What the handlers counted (their metrics) and what the pollers saw."""

    metrics: Counter = field(default_factory=Counter)
    invocations: int = 0
    failed_records: int = 0
    timeouts: int = 0  # invocations that ran past the function timeout on the simulated clock
    handler_seconds: float = 0.0  # wall time inside handler()

    def take_metrics(self) -> None:
        # With metrics disabled Powertools keeps the values (shared by every handler): read, then clear.
        for name, metric in sender_function.metrics.metric_set.items():
            self.metrics[name] += sum(metric["Value"])
        sender_function.metrics.clear_metrics()


@dataclass
class EmulatedSender:
    apps: list[LambdaHandler]  # one handler (make_handler, its own clients) per execution environment
    clock: Any
    queue: MemoryQueue
    sms: TimedSms
    meter: AwsMeter
    dynamodb: Any
    tally: Tally = field(default_factory=Tally)

    @property
    def emulator(self) -> SmsEmulator:
        return self.sms.emulator

    def emulated_seconds(self) -> float:
        return self.meter.seconds + self.sms.seconds + self.queue.seconds

    def calls(self) -> Counter:
        return self.meter.calls + self.sms.calls + self.queue.calls

    def invoke(self, app: LambdaHandler, messages: list[QueuedMessage], context: Any) -> None:
        started_at = self.clock.now()
        began = time.perf_counter()
        result = app(_sqs_event(messages, self.clock.now()), context)
        self.tally.handler_seconds += time.perf_counter() - began
        self.tally.invocations += 1
        self.tally.take_metrics()
        if self.clock.now() - started_at > FUNCTION_TIMEOUT_SECONDS:
            self.tally.timeouts += 1
        failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
        self.tally.failed_records += len(failed)
        for message in messages:
            if message.message_id in failed:
                self.queue.fail(message)


@contextmanager
def emulated_sender(
    mps: float, clock: Any, environments: int = 1, *, ledger_writes: bool = True
) -> Iterator[EmulatedSender]:
    """``environments`` handlers of the sender (each with its own clients) against one empty emulated world.

    ``ledger_writes=False`` counts the ledger's UpdateItem without sending it (as the sender's
    burst test does): moto evaluates its long update expression slowly, and on a simulated
    clock the write takes no time, so the pacing figures do not change.
    """
    saved = dict(os.environ)
    settings = SenderSettings(origination_identity=OUR_NUMBER, mps=mps, time_to_live_seconds=3600)
    try:
        with mock_aws(), warnings.catch_warnings(), quiet_handler():
            warnings.simplefilter("ignore")  # Powertools warns of every invocation without metrics
            os.environ.update(QUIET)
            function_settings = SenderFunctionSettings.from_environment(
                sender_environment(
                    "https://sqs.us-east-1.amazonaws.com/123456789012/outbound", settings.to_json(), "{}"
                )
            )
            dynamodb = boto3.resource("dynamodb", region_name=REGION)
            create_tables(dynamodb)
            create_outbound_table(dynamodb)
            queue = MemoryQueue(clock)
            sms = TimedSms(SmsEmulator(clock=clock, mps=mps))
            meter = AwsMeter()
            apps = []
            for _ in range(environments):
                clients = emulated_clients(sms=sms, sqs=queue)
                for client in (clients.dynamodb.meta.client, clients.scheduler):
                    meter.attach(client)
                if not ledger_writes:
                    _count_not_send(clients.dynamodb.meta.client, "UpdateItem", "ledger")
                apps.append(sender_function.make_handler(function_settings, clients, clock=clock))
            sender_function.metrics.clear_metrics()
            yield EmulatedSender(apps, clock, queue, sms, meter, dynamodb)
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def quiet_handler() -> Iterator[None]:
    """The handler's log lines off (the figures are printed, not its logs; formatting them would be timed)."""
    named = logging.getLogger(sender_function.logger.name)
    level = named.level
    named.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        named.setLevel(level)


def _count_not_send(client: Any, operation: str, table: str) -> None:
    """``operation`` on ``table`` answered at once with an empty success: the meter (registered
    first) still counts it, moto never sees it."""

    def answer(model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if json.loads(params["body"] or b"{}").get("TableName") != table:
            return None
        return AWSResponse(params.get("url", ""), 200, {}, None), {"ResponseMetadata": {"HTTPStatusCode": 200}}

    client.meta.events.register(f"before-call.dynamodb.{operation}", answer)


def _sqs_event(messages: list[QueuedMessage], now: float) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m.message_id,
                "receiptHandle": f"receipt-{m.message_id}",
                "body": m.body,
                "attributes": {
                    "ApproximateReceiveCount": str(m.receive_count),
                    "SentTimestamp": str(int(m.sent_at * 1000)),
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": str(int(now * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m.body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:outbound",
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


# -- driving the queue on simulated time ----------------------------------------------------------------
class Pollers:
    """The event source mapping: one thread per execution environment, taking turns on the clock."""

    def __init__(self, sender: EmulatedSender) -> None:
        self.sender = sender
        self.busy = 0  # pollers inside an invocation (they may put requests back)
        self.errors: list[BaseException] = []
        self._finished = threading.Event()

    def drain(self) -> None:
        clock: CooperativeClock = self.sender.clock
        turns = [clock.enlist(clock.now()) for _ in self.sender.apps]
        threads = [
            threading.Thread(target=self._poll, args=(app, turn), daemon=True)
            for app, turn in zip(self.sender.apps, turns)
        ]
        for thread in threads:
            thread.start()
        clock.hand_over()
        self._finished.wait()
        for thread in threads:
            thread.join()
        if self.errors:
            raise self.errors[0]

    def _poll(self, app: LambdaHandler, turn: threading.Event) -> None:
        turn.wait()
        clock, queue = self.sender.clock, self.sender.queue
        try:
            while True:
                messages = queue.receive(BATCH_SIZE)
                if messages:
                    self.busy += 1
                    try:
                        context = SimulatedContext(clock, clock.now() + FUNCTION_TIMEOUT_SECONDS)
                        self.sender.invoke(app, messages, context)
                    finally:
                        self.busy -= 1
                    continue
                due = queue.next_visible_at()
                if due is None and self.busy == 0:
                    return  # nothing queued and nobody can queue more
                clock.wait_until(min(due if due is not None else math.inf, clock.now() + IDLE_POLL_SECONDS))
        except BaseException as error:  # noqa: BLE001 - reported by drain(); the turn must move on
            self.errors.append(error)
        finally:
            if not clock.hand_over():
                self._finished.set()


# -- 8. the burst through the handler ------------------------------------------------------------------
@dataclass(frozen=True)
class BurstResult:
    number_type: str
    mps: float
    concurrency: int  # batches at once, each in its own execution environment
    mix: str  # "mixed" or "1-part"
    messages: int
    sent: int
    parts: int
    span: float  # first send to the moment the last send's parts are drained, simulated seconds
    max_window_parts: int
    over_rule: int  # sends the emulator's rule would throttle, checked again here
    throttles: int
    deferred: int  # OutboundDeferred
    delays: Counter  # requests the handler put back on the queue, by delay seconds
    invocations: int
    failed_records: int
    timeouts: int
    slept: float  # the handlers' simulated waiting, summed over concurrent invocations
    wall: float
    calls: Counter
    schedule_item_bytes: int  # the number's schedule item at the end (its booking window)
    update_units: dict[str, float]  # table -> write units of an UpdateItem (from the items left)
    put_units: Counter

    @property
    def achieved(self) -> float:
        return self.parts / self.span

    @property
    def label(self) -> str:
        return (
            f"{self.mps:.0f} MPS"
            + (" 1-part" if self.mix == "1-part" else "")
            + (f" x{self.concurrency}" if self.concurrency != CONCURRENCY else "")
        )

    @property
    def ratio(self) -> float:
        return self.achieved / self.mps


def run_burst(number_type: str, messages: int, concurrency: int = CONCURRENCY, mix: str = "mixed") -> BurstResult:
    mps = pacing.DEFAULT_MPS[number_type]
    clock = CooperativeClock()
    began = time.perf_counter()
    with emulated_sender(mps, clock, environments=concurrency, ledger_writes=False) as sender:
        for body in send_requests(messages, number_type.lower(), PART_MIX if mix == "mixed" else (1,)):
            sender.queue.put(body)
        Pollers(sender).drain()
        wall = time.perf_counter() - began
        sent = sender.emulator.sent
        span = (max(t.at + t.parts / mps for t in sent) - sent[0].at) if sent else math.nan
        window, over = trailing_windows([(t.at, t.parts) for t in sent], mps)
        schedule = (
            sender.dynamodb.Table("outbound")
            .get_item(Key={"pk": f"THROUGHPUT#{OUR_NUMBER}", "sk": "SCHEDULE"})
            .get("Item")
        )
        schedule_bytes = item_bytes(_attribute_values(schedule)) if schedule else 0
        return BurstResult(
            number_type=number_type,
            mps=mps,
            concurrency=concurrency,
            mix=mix,
            messages=messages,
            sent=len(sent),
            parts=sum(t.parts for t in sent),
            span=span,
            max_window_parts=window,
            over_rule=over,
            throttles=sender.emulator.throttles,
            deferred=int(sender.tally.metrics[metric_names.OUTBOUND_DEFERRED]),
            delays=Counter(sender.queue.delays),
            invocations=sender.tally.invocations,
            failed_records=sender.tally.failed_records,
            timeouts=sender.tally.timeouts,
            slept=clock.slept,
            wall=wall,
            calls=sender.calls(),
            schedule_item_bytes=schedule_bytes,
            update_units=_update_units(sender),
            put_units=sender.meter.put_units,
        )


def trailing_windows(sends: list[tuple[float, int]], mps: float) -> tuple[int, int]:
    """The most parts sent in any trailing second (``(t - 1, t]``), and how many sends break the
    emulator's rule (the trailing second's parts plus their own above ``max(mps, parts)``)."""
    most, over, start, in_window = 0, 0, 0, 0
    for at, parts in sends:
        while start < len(sends) and sends[start][0] <= at - 1 + TOLERANCE:
            in_window -= sends[start][1]
            start += 1
        if in_window + parts > max(mps, parts) + TOLERANCE:
            over += 1
        in_window += parts
        most = max(most, in_window)
    return most, over


def _attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {name: serializer.serialize(value) for name, value in item.items()}


def _update_units(sender: EmulatedSender) -> dict[str, float]:
    """Write units of an UpdateItem per table: billed on the item's size, estimated from the
    items the burst left in each table it updated (a scan at the end)."""
    units: dict[str, float] = {}
    client = boto3.client("dynamodb", region_name=REGION)  # attribute values, not Python values
    tables = {table for (service, op, table) in sender.meter.calls if service == "dynamodb" and op == "UpdateItem"}
    for table in sorted(t for t in tables if t):
        sizes, start = [], {}
        while True:
            page = client.scan(TableName=table, **start)
            sizes += [write_units(item_bytes(item)) for item in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        units[table] = sum(sizes) / len(sizes) if sizes else 1.0
    return units


def print_burst_figures(results: list[BurstResult], wall: float) -> None:
    print(
        "8. Pacing a burst through the sender handler on a simulated clock: moto DynamoDB, an in-memory SQS queue\n"
        "   on simulated time, SmsEmulator enforcing the MPS; batches of 10 taken by concurrent pollers, each with\n"
        "   its own execution environment, sharing the schedule in DynamoDB; TRANSACTIONAL GSM-7 bodies, mixed:\n"
        "   70% 1-part, 20% 2-part, 10% 3-part (or every one 1-part)"
    )
    print(
        f"   {'number type':<11} {'MPS':>4} {'texts':>6} {'batches':>7} {'messages':>8} {'parts':>6} "
        f"{'simulated':>9} "
        f"{'parts/s':>8} {'ratio':>7} {'throttles':>9} {'max parts':>9} {'deferred':>8} {'invocations':>11}"
    )
    for r in results:
        print(
            f"   {r.number_type:<11} {r.mps:>4.0f} {r.mix:>6} {r.concurrency:>7} {r.messages:>8,} {r.parts:>6,} "
            f"{r.span:>8,.0f}s "
            f"{r.achieved:>8.3f} {r.ratio:>7.4f} {r.throttles:>9} {r.max_window_parts:>9} {r.deferred:>8,} "
            f"{r.invocations:>11,}"
        )
    print(
        "   ratio = achieved parts/s over the configured MPS (goal: 0.95 to 1.00, never above); achieved = parts\n"
        "   the emulator accepted / (the moment the last parts' share of a second is used, max(send + parts/MPS),\n"
        "   - first send). batches: taken at once (the\n"
        f"   construct's default max_concurrency is {CONCURRENCY}). "
        "throttles: ThrottlingException from the emulator.\n"
        "   max parts: the most parts in any trailing second (a text with more parts than the MPS goes whole, as\n"
        "   the service allows). deferred: requests put back on the queue, the schedule being booked beyond the\n"
        "   handler's horizon of up to 30 s (or the invocation's time running low).\n"
        "   At 3 MPS a 3-part text needs a second to itself, so the 1-part texts paced evenly around it leave part\n"
        "   of the seconds it touches unused: mixed texts reach about 0.93 there (1-part texts reach 1.00)."
    )
    for r in results:
        verdict = (
            "RATIO ABOVE 1.00"
            if r.ratio > 1.0 + 1e-9
            else f"ratio below the {RATIO_GOAL:.2f} goal"
            if r.ratio < RATIO_GOAL
            else "ratio within the goal"
        )
        note = (
            f"{verdict}; sent {r.sent:,} of {r.messages:,}, {r.over_rule} over the rule, {r.failed_records} "
            f"failed records, {r.timeouts} past the {FUNCTION_TIMEOUT_SECONDS:.0f} s timeout"
        )
        churn = ""
        if r.deferred:
            delays = ", ".join(f"{delay} s x{n:,}" for delay, n in sorted(r.delays.items())[:4])
            churn = f"; {r.deferred / r.sent:.1f} deferrals per text sent, back after {delays}"
        print(
            f"   {r.label:<12} {note};\n"
            f"   {'':<12} the handlers slept {r.slept:,.0f} simulated s in all{churn} ({r.wall:.0f} s wall)"
        )
    full = ", ".join(f"{n:,}" for _, n, _, _ in FULL["bursts"])
    print(
        f"   Burst sizes: {', '.join(f'{r.messages:,}' for r in results)} messages; "
        f"BENCH_OUTBOUND_FULL=1 runs {full}\n"
        f"   (moto takes tens of ms a request). The bursts ran side by side, one process each, in {wall:.0f} s.\n"
        "   The ledger's UpdateItem is counted, not sent, in the bursts (moto is slow to evaluate it; it takes no\n"
        "   simulated time); section 10 sends it. With more batches at once than the horizon holds, the rest come\n"
        "   back about when their projected slot is within the next horizon.\n"
    )


# -- 9. the pacing algorithm alone ------------------------------------------------------------------
class MemoryTable:
    """Just enough of a boto3 DynamoDB Table for ``ThroughputSchedule``: one writer, so its
    conditional write always holds."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], dict[str, Any]] = {}

    def get_item(self, *, Key: dict[str, str], **_: Any) -> dict[str, Any]:
        item = self._items.get((Key["pk"], Key["sk"]))
        return {"Item": item} if item is not None else {}

    def put_item(self, *, Item: dict[str, Any], **_: Any) -> dict[str, Any]:
        self._items[(Item["pk"], Item["sk"])] = Item
        return {}


def gcra_alone(messages: int, mps: float) -> list[tuple[float, int]]:
    """Plain GCRA (a reference): each text ``parts / mps`` after the one before, one sender."""
    at, sends = START, []
    for n in range(messages):
        parts = PART_MIX[n % len(PART_MIX)]
        sends.append((at, parts))
        at += parts / mps
    return sends


def sender_schedule(messages: int, mps: float) -> list[tuple[float, int]]:
    """The sender's ``ThroughputSchedule`` on a table in memory: batches of 10 booked at once by
    two invocations taking turns, each back for its next batch after its last slot."""
    schedule = ThroughputSchedule(MemoryTable())
    free_at = [START] * CONCURRENCY
    sends: list[tuple[float, int]] = []
    for first in range(0, messages, BATCH_SIZE):
        turn = min(range(CONCURRENCY), key=lambda i: free_at[i])
        parts = [PART_MIX[n % len(PART_MIX)] for n in range(first, min(first + BATCH_SIZE, messages))]
        bookings = schedule.book_all(
            OUR_NUMBER, [pacing.Wanted(p) for p in parts], mps, now=free_at[turn], horizon=math.inf
        )  # an infinite horizon always books
        sends += [(booking.at, p) for booking, p in zip(bookings, parts)]
        free_at[turn] = max(booking.at for booking in bookings)
    return sorted(sends)


def rule_only(messages: int, mps: float) -> list[tuple[float, int]]:
    """The earliest FIFO schedule the emulator's rule allows (the trailing second's parts plus a
    text's own within max(MPS, its parts)), with no average limit: a reference, not a pacer."""
    window: deque[tuple[float, int]] = deque()
    at, in_window, sends = START, 0, []
    for n in range(messages):
        parts = PART_MIX[n % len(PART_MIX)]
        while True:
            while window and window[0][0] <= at - 1 + TOLERANCE:
                in_window -= window.popleft()[1]
            if in_window + parts <= max(mps, parts) + TOLERANCE:
                break
            at = window[0][0] + 1
        window.append((at, parts))
        in_window += parts
        sends.append((at, parts))
    return sends


def print_pure_pacing() -> None:
    print("9. The pacing algorithm alone (same part mix; one sender sending each text at its slot; no AWS)")
    print(
        f"   {'algorithm':<44} {'messages':>8} {'MPS':>4} {'parts/s':>9} {'ratio':>8} {'max parts':>9} "
        f"{'over the rule':>13} {'per text':>9}"
    )
    algorithms = (
        ("reference: plain GCRA (parts/MPS apart)", gcra_alone, PURE_PACING_MESSAGES),
        ("the sender's schedule (pacing.book)", sender_schedule, SCHEDULE_MESSAGES),
        ("reference: earliest FIFO send the rule allows", rule_only, PURE_PACING_MESSAGES),
    )
    for name, algorithm, messages in algorithms:
        shown = f"{messages:,}"
        for number_type in ("TEN_DLC", "TOLL_FREE", "SHORT_CODE"):
            mps = pacing.DEFAULT_MPS[number_type]
            began = time.perf_counter()
            sends = algorithm(messages, mps)
            per_text = (time.perf_counter() - began) / messages * 1e6
            parts = sum(p for _, p in sends)
            span = max(at + p / mps for at, p in sends) - sends[0][0]
            most, over = trailing_windows(sends, mps)
            print(
                f"   {name:<44} {shown:>8} {mps:>4.0f} {parts / span:>9.3f} {parts / span / mps:>8.5f} {most:>9} "
                f"{over:>13,} {per_text:>6.1f} us"
            )
            name = shown = ""  # once per algorithm
    print(
        "   over the rule: sends the emulator would throttle (the trailing second's parts plus their own above\n"
        "   max(MPS, parts)). Plain GCRA runs at exactly the MPS but lets a second hold the MPS plus the text in\n"
        "   progress. The sender's schedule (adapters/throughput.py on a table in memory: batches of 10 packed\n"
        "   by two invocations) keeps the rule in every second; at 3 MPS the seconds around each 3-part text are\n"
        "   what separates its ratio from 1.0 (compare section 8). The FIFO reference ignores the MPS as an\n"
        "   average (at 1 MPS it lets 2- and 3-part texts through whole, above 1.0) and sends in bursts; at 3 and\n"
        "   100 MPS it bounds what a first-come-first-served sender that obeys the rule can reach.\n"
        "   (per text: wall time)\n"
    )


# -- 10. in-process throughput ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ThroughputResult:
    messages: int
    sent: int
    wall: float  # inside handler(), summed
    emulated: float  # inside boto3 + moto, the SMS emulator and the memory queue
    invocations: int
    calls: Counter
    put_units: Counter
    update_units: dict[str, float]

    @property
    def own(self) -> float:
        return self.wall - self.emulated


def run_throughput(messages: int) -> ThroughputResult:
    clock = UnpacedClock()
    with emulated_sender(UNPACED_MPS, clock) as sender:
        for body in send_requests(messages, "throughput"):
            sender.queue.put(body)
        [app] = sender.apps
        sender.meter.seconds = sender.sms.seconds = sender.queue.seconds = 0.0
        while batch := sender.queue.receive(BATCH_SIZE):
            sender.invoke(app, batch, FakeLambdaContext(function_name="sender"))
        return ThroughputResult(
            messages,
            len(sender.emulator.sent),
            sender.tally.handler_seconds,
            sender.emulated_seconds(),
            sender.tally.invocations,
            sender.calls(),
            sender.meter.put_units,
            _update_units(sender),
        )


def print_throughput(result: ThroughputResult, bursts: list[BurstResult]) -> None:
    print(
        f"10. Sends per second the sender handler sustains in process: {result.messages:,} messages in "
        f"{result.invocations} batches of {BATCH_SIZE},\n    one environment, pacing out of the way "
        f"(MPS {UNPACED_MPS:.0e}, a clock whose sleep returns at once)"
    )
    rate = result.sent / result.wall
    print(f"    {'wall time inside the handler':<48} {result.wall:>7.2f} s   {rate:>8,.0f} sends/s")
    print(f"    {'  inside boto3 + moto, SMS emulator, queue':<48} {result.emulated:>7.2f} s")
    print(
        f"    {'  the handler itself (parse, plan, book, record)':<48} {result.own:>7.2f} s   "
        f"{result.sent / result.own:>8,.0f} sends/s   {result.own / result.sent * 1000:.2f} ms per send"
    )
    print(
        "    (the emulated share is timed from botocore's before-call to after-call; against AWS each\n"
        "    DynamoDB request takes single-digit milliseconds, which the handler waits for one after another)\n"
    )

    columns = [("unpaced", result.calls, result.messages)] + [(b.label, b.calls, b.messages) for b in bursts]
    operations = sorted({key for _, calls, _ in columns for key in calls}, key=lambda k: (k[0], k[2] or "", k[1]))
    print(
        "    AWS requests per message by service / operation (botocore hook on the handler's clients; the SMS\n"
        "    emulator and the in-memory queue count their own); unpaced = the run above, then the bursts of 8"
    )
    header = "".join(f"{name:>13}" for name, _, _ in columns)
    print(f"    {'service':<22} {'operation':<18} {'table':<12}{header}")
    for key in operations:
        service, operation, table = key
        cells = "".join(f"{calls[key] / n:>13.3f}" for _, calls, n in columns)
        print(f"    {service:<22} {operation:<18} {table or '':<12}{cells}")
    totals = "".join(f"{sum(calls.values()) / n:>13.3f}" for _, calls, n in columns)
    print(f"    {'total':<54}{totals}")
    print(
        "    Per send: the outcome (GetItem), the contact (Query), the schedule (GetItem + conditional PutItem,\n"
        "    once per batch), the send's claim (PutItem before, UpdateItem after), SendTextMessage, the\n"
        "    ledger (UpdateItem) and the outcome (PutItem). sqs SendMessageBatch: requests the handler put back\n"
        "    (deferrals). Not counted here: the producer's SendMessageBatch and the event source's ReceiveMessage\n"
        "    and DeleteMessageBatch.\n"
    )


# -- 11. cost ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ListPrices:
    """run.py's list prices (US East), passed in so both estimates use the same ones."""

    dynamodb_per_write_unit: float
    dynamodb_per_read_unit: float
    lambda_per_gb_second: float
    lambda_per_request: float
    lambda_memory_gb: float
    sqs_per_request: float
    sms_per_part: float
    sms_source: str


READ_OPERATIONS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})


def _dynamodb_units(calls: Counter, put_units: Counter, update_units: dict[str, float]) -> tuple[float, float]:
    """Read and write request units: reads 1 each (every item read is under 4 KB); PutItem from
    its item's size; UpdateItem from the table's items' sizes (1 when unknown)."""
    reads = writes = 0.0
    for (service, operation, table), n in calls.items():
        if service != "dynamodb":
            continue
        if operation in READ_OPERATIONS:
            reads += n
        elif operation == "PutItem":
            writes += sum(units * k for (t, units), k in put_units.items() if t == table)
        elif operation == "UpdateItem":
            writes += n * update_units.get(table, 1.0)
        else:
            writes += n
    return reads, writes


def print_cost(prices: ListPrices, throughput: ThroughputResult, bursts: list[BurstResult]) -> None:
    per = 1000
    own_seconds = throughput.own / throughput.sent
    print(
        "11. ESTIMATED AWS-side cost per 1,000 one-part messages sent (not SMS): computed from the requests counted\n"
        "    in the bursts of 8 and list prices (US East), not measured and not a quote"
    )
    print(
        f"    prices: DynamoDB on-demand ${prices.dynamodb_per_write_unit * 1e6:.3f} per million write units, "
        f"${prices.dynamodb_per_read_unit * 1e6:.3f} per million read\n"
        f"    units; SQS ${prices.sqs_per_request * 1e6:.2f} per million requests; Lambda arm64 "
        f"${prices.lambda_per_gb_second:.10f} per GB-second at {prices.lambda_memory_gb * 1024:.0f} MB,\n"
        f"    ${prices.lambda_per_request * 1e6:.2f} per million requests. Lambda duration = the handler's own "
        f"{own_seconds * 1000:.2f} ms per send (section 10;\n"
        "    a deferral counted as a send) + the waiting for slots the burst's handlers did (billed: the handler\n"
        "    sleeps in its invocation), per part. Per message: requests / messages of the burst."
    )
    print(
        f"    {'number type':<11} {'burst':>12} {'DDB R/W units':>14} {'DynamoDB':>9} {'SQS req':>8} {'SQS':>8} "
        f"{'invocations':>11} {'wait/part':>9} {'Lambda':>8} {'AWS total':>10}"
    )
    for r in bursts:
        # The ledger write is counted in the bursts, not sent: its size comes from section 10's run.
        update_units = {**r.update_units, **{t: u for t, u in throughput.update_units.items() if t == "ledger"}}
        reads, writes = _dynamodb_units(r.calls, r.put_units, update_units)
        reads, writes = reads / r.messages, writes / r.messages
        dynamodb = (reads * prices.dynamodb_per_read_unit + writes * prices.dynamodb_per_write_unit) * per
        # Producer SendMessageBatch (10 a request) + per invocation one ReceiveMessage and one
        # DeleteMessageBatch + the handler's own re-enqueues.
        requeue_requests = r.calls[("sqs", "SendMessageBatch", None)]
        sqs_requests = (r.messages / BATCH_SIZE + 2 * r.invocations + requeue_requests) / r.messages
        sqs = sqs_requests * prices.sqs_per_request * per
        invocations = r.invocations / r.messages
        wait_per_part = r.slept / r.parts
        duration = own_seconds * (1 + r.deferred / r.messages) + wait_per_part  # one one-part message
        lambda_cost = (
            duration * prices.lambda_memory_gb * prices.lambda_per_gb_second + invocations * prices.lambda_per_request
        ) * per
        total = dynamodb + sqs + lambda_cost
        print(
            f"    {r.number_type:<11} {r.label:>12} {reads:>6.2f}/{writes:<7.2f} {'$' + format(dynamodb, '.5f'):>9} "
            f"{sqs_requests:>8.3f} {'$' + format(sqs, '.5f'):>8} {invocations:>11.3f} {wait_per_part:>8.3f}s "
            f"{'$' + format(lambda_cost, '.5f'):>8} {'$' + format(total, '.4f'):>10}"
        )
    schedule = ", ".join(f"{r.label} {r.schedule_item_bytes:,} B" for r in bursts)
    print(
        "    The schedule item carries the bookings of the last second and ahead; its size at the end\n"
        f"    ({schedule})\n"
        "    sets the write units of each booking's PutItem. UpdateItem units: from the size of the items "
        "each table\n"
        "    held at the end. Reads: 1 unit each (every item read is under 4 KB)."
    )
    print(
        f"    SMS, for scale: ${prices.sms_per_part:.5f} per part ({prices.sms_source}) = "
        f"${prices.sms_per_part * per:.2f} per 1,000 one-part messages."
    )
    print(
        "    SQS requests: the producer's SendMessageBatch (10 per request), one ReceiveMessage and one\n"
        "    DeleteMessageBatch per invocation, the handler's re-enqueues. Not included: idle polling, CloudWatch\n"
        "    Logs and metrics, the AWS request latency inside the Lambda duration, free tiers.\n"
    )


# -- entry point -----------------------------------------------------------------------------------
def print_outbound_figures(prices: ListPrices) -> None:
    chosen = sizes()
    began = time.perf_counter()
    # Independent worlds: the bursts run side by side, one process each (their wall times are
    # not figures); the throughput run then runs alone, so nothing competes with its timing.
    with ProcessPoolExecutor(max_workers=min(len(chosen["bursts"]), os.cpu_count() or 1)) as pool:
        bursts = list(pool.map(run_burst, *zip(*chosen["bursts"])))
    bursts_wall = time.perf_counter() - began
    print_burst_figures(bursts, bursts_wall)
    print_pure_pacing()
    throughput = run_throughput(chosen["throughput"])
    print_throughput(throughput, bursts)
    print_cost(prices, throughput, bursts)
    print(f"    (sections 8-11 took {time.perf_counter() - began:.0f} s of wall time)\n")
