"""Issue 15: can the sender keep up with the number? Sustained texts per second with AWS latency modelled.

The real sender handler (``two_way_sms.handlers.sender.make_handler``) on the emulated world of
``bench/outbound.py`` (moto DynamoDB, ``SmsEmulator`` enforcing the MPS, the outbound queue in
memory on simulated time), with every AWS call taking its latency on a virtual clock:

- The clock is ``outbound.CooperativeClock``: the event source mapping's concurrent invocations
  are threads of which exactly one runs at a time; a thread that waits (for an AWS answer, or for
  its booked slot) hands the turn to whichever waiter is due first, and simulated time moves only
  when every thread waits. The handler's own code takes no simulated time.
- Each DynamoDB and Scheduler request waits half its latency before moto answers and half after
  (botocore ``before-call`` / ``after-call`` hooks on the function's clients); ``SendTextMessage``
  and the queue's ``SendMessageBatch`` likewise, around the emulator. The emulator checks the MPS
  at the instant the request arrives. The event source's ``ReceiveMessage`` (SQS latency) comes
  before each invocation; its delete is left off the path.
- Concurrency and batching are the synthesized default stack's: the OutboundSender event source's
  ``MaximumConcurrency`` and ``BatchSize`` and the function's timeout (``latency.StackShape``). The
  construct sizes ``MaximumConcurrency`` from the number's MPS (``sized_max_concurrency``): each
  number type runs at what it gives that type's MPS (``BENCH_SENDER_CONCURRENCY`` to fix one figure).

The result is exact for the model and the same on every machine and run: no wall-clock reading
enters a figure, and the one random draw (the jitter of the throttle backoff) is seeded. Per
number type: a burst of one-part TRANSACTIONAL texts, all queued at once (and on the short
code, a burst of PROMOTIONAL texts to contacts who opted in); texts per second from
the first send to the last send's share of a second; the MPS ratio; AWS calls per text; the
critical path per text (the latency one invocation waits per text it sends).

``python bench/sender_throughput.py`` prints the section alone; each burst is 2,000 texts
(``BENCH_SENDER_TEXTS`` to change it); the bursts run side by side, one process each.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import random
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import environment  # noqa: F401  (the import path and Powertools' environment)
from latency import LatencyModel, StackShape, default_shape
from moto import mock_aws
from outbound import (
    IDLE_POLL_SECONDS,
    OUR_NUMBER,
    QUIET,
    AwsMeter,
    CooperativeClock,
    EmulatedSender,
    MemoryQueue,
    SimulatedContext,
    _count_not_send,
    quiet_handler,
    send_requests,
    trailing_windows,
)

from two_way_sms import metric_names, pacing
from two_way_sms.handlers import sender as sender_function
from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.settings.sender import SenderFunctionSettings
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.emulation import create_outbound_table, create_tables, sender_environment
from two_way_sms_local.sms_emulator import SmsEmulator

REGION = "us-east-1"
RATIO_GOAL = 0.95  # the issue: a 100 MPS short code held at >= 0.95 of its MPS, a pool of 10 at >= 0.95 of the sum
TEXTS = 2_000  # a burst (the example)
SERVICE_NAMES = {"pinpoint-sms-voice-v2": "End User Messaging", "dynamodb": "DynamoDB", "sqs": "SQS"}


@dataclass(frozen=True)
class NumberCase:
    label: str  # the number types this row stands for
    mps: float
    note: str = ""
    message_type: str = "TRANSACTIONAL"  # PROMOTIONAL: to contacts who opted in, each counted on its recipient


def number_cases() -> list[NumberCase]:
    """The issue's number types, with the MPS the config gives each by default (``default_mps``)."""
    from two_way_sms_cdk.config.model import NewNumber
    from two_way_sms_cdk.config.parsing import default_mps

    one = default_mps(NewNumber("US", "SIMULATOR"))
    assert one == default_mps(NewNumber("US", "LONG_CODE")) == default_mps(NewNumber("US", "TEN_DLC"))
    return [
        NumberCase("SIMULATOR / LONG_CODE / TEN_DLC", one, "the three US defaults are 1 MPS: one run"),
        NumberCase("TOLL_FREE", default_mps(NewNumber("US", "TOLL_FREE"))),
        NumberCase(
            "pool of 10 US long codes",
            10 * default_mps(NewNumber("US", "LONG_CODE")),
            "one identity at the summed MPS (the config's mps for a pool); the emulator does not spread it",
        ),
        NumberCase("SHORT_CODE", pacing.DEFAULT_MPS["SHORT_CODE"], "an existing short code (config mps: 100)"),
        NumberCase(
            "PROMOTIONAL on the SHORT_CODE",
            pacing.DEFAULT_MPS["SHORT_CODE"],
            "to contacts who opted in (read with the batch): each text also counted on its recipient's recent sends",
            message_type="PROMOTIONAL",
        ),
    ]


def burst_texts() -> int:
    return int(os.environ.get("BENCH_SENDER_TEXTS") or TEXTS)


# -- latency on the cooperative clock -------------------------------------------------------------------------
class Latency:
    """Makes the calling thread wait each call's latency on the cooperative clock (half before the service
    applies the call, half after), and sums what was waited: inside invocations, and by the event source."""

    def __init__(self, clock: CooperativeClock, model: LatencyModel) -> None:
        self.clock, self.model = clock, model
        self.in_handler = 0.0
        self.event_source = 0.0
        self.by_service: Counter = Counter()
        self.conditional_check_failures = 0  # DynamoDB writes refused by their condition (the schedule's races)

    def wait(self, service: str, share: float = 1.0) -> None:
        seconds = self.model.seconds(service) * share
        if seconds <= 0:
            return
        self.in_handler += seconds
        self.by_service[service] += seconds
        self.clock.wait_until(self.clock.now() + seconds)

    def receive(self) -> None:
        """The event source's ReceiveMessage before an invocation (not the handler's)."""
        seconds = self.model.seconds("sqs")
        self.event_source += seconds
        self.clock.wait_until(self.clock.now() + seconds)

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register_first("before-call.*.*", self._before, unique_id=f"latency-before-{id(self)}")
        events.register_last("after-call.*.*", self._after, unique_id=f"latency-after-{id(self)}")

    def _before(self, model: Any, **_: Any) -> None:
        self.wait(model.service_model.service_name, 0.5)

    def _after(self, model: Any, parsed: Any = None, **_: Any) -> None:
        if isinstance(parsed, dict) and parsed.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            self.conditional_check_failures += 1
        self.wait(model.service_model.service_name, 0.5)


class LatentSms:
    """The SMS emulator as the function's client: each call counted and taking its latency."""

    def __init__(self, emulator: SmsEmulator, latency: Latency) -> None:
        self.emulator, self.latency = emulator, latency
        self.calls: Counter = Counter()
        self.seconds = 0.0

    def send_text_message(self, **params: Any) -> dict[str, Any]:
        self.calls[("pinpoint-sms-voice-v2", "SendTextMessage", None)] += 1
        self.latency.wait("pinpoint-sms-voice-v2", 0.5)
        try:
            return self.emulator.send_text_message(**params)
        finally:
            self.latency.wait("pinpoint-sms-voice-v2", 0.5)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.emulator, name)


class LatentQueue(MemoryQueue):
    """The outbound queue on simulated time; the handler's SendMessageBatch (deferrals) takes SQS's latency."""

    latency: Latency

    def send_message_batch(self, **params: Any) -> dict[str, Any]:
        self.latency.wait("sqs", 0.5)
        try:
            return super().send_message_batch(**params)
        finally:
            self.latency.wait("sqs", 0.5)


@contextmanager
def latent_sender(
    mps: float, clock: CooperativeClock, model: LatencyModel, environments: int
) -> Iterator[tuple[EmulatedSender, Latency]]:
    """``environments`` sender handlers (each its own clients, as execution environments have) on one world."""
    saved = dict(os.environ)
    settings = SenderSettings(origination_identity=OUR_NUMBER, mps=mps, time_to_live_seconds=3600)
    try:
        with mock_aws(), warnings.catch_warnings(), quiet_handler():
            warnings.simplefilter("ignore")
            os.environ.update(QUIET)
            function_settings = SenderFunctionSettings.from_environment(
                sender_environment(
                    f"https://sqs.{REGION}.amazonaws.com/123456789012/outbound", settings.to_json(), "{}"
                )
            )
            dynamodb = boto3.resource("dynamodb", region_name=REGION)
            create_tables(dynamodb)
            create_outbound_table(dynamodb)
            latency = Latency(clock, model)
            queue = LatentQueue(clock)
            queue.latency = latency
            sms = LatentSms(SmsEmulator(clock=clock, mps=mps), latency)
            meter = AwsMeter()
            apps = []
            for _ in range(environments):
                clients = emulated_clients(sms=sms, sqs=queue)
                for client in (clients.dynamodb.meta.client, clients.scheduler):
                    meter.attach(client)
                    latency.attach(client)
                # moto evaluates the ledger's update slowly: counted, waited for, not sent (no figure reads it)
                _count_not_send(clients.dynamodb.meta.client, "UpdateItem", "ledger")
                apps.append(sender_function.make_handler(function_settings, clients, clock=clock))
            sender_function.metrics.clear_metrics()
            yield EmulatedSender(apps, clock, queue, sms, meter, dynamodb), latency  # type: ignore[arg-type]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def drain(sender: EmulatedSender, latency: Latency, batch_size: int, timeout: float) -> None:
    """The event source mapping: one poller thread per environment, taking turns on the cooperative clock."""
    clock: CooperativeClock = sender.clock
    queue = sender.queue
    busy = [0]
    errors: list[BaseException] = []
    finished = threading.Event()

    def poll(app: Any, turn: threading.Event) -> None:
        turn.wait()
        try:
            while True:
                messages = queue.receive(batch_size)
                if messages:
                    busy[0] += 1
                    try:
                        latency.receive()
                        sender.invoke(app, messages, SimulatedContext(clock, clock.now() + timeout))
                    finally:
                        busy[0] -= 1
                    continue
                due = queue.next_visible_at()
                if due is None and busy[0] == 0:
                    return
                clock.wait_until(min(due if due is not None else math.inf, clock.now() + IDLE_POLL_SECONDS))
        except BaseException as error:  # noqa: BLE001 - raised by drain(); the turn must move on
            errors.append(error)
        finally:
            if not clock.hand_over():
                finished.set()

    turns = [clock.enlist(clock.now()) for _ in sender.apps]
    threads = [threading.Thread(target=poll, args=(app, turn), daemon=True) for app, turn in zip(sender.apps, turns)]
    for thread in threads:
        thread.start()
    clock.hand_over()
    finished.wait()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


# -- one burst --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Burst:
    case: NumberCase
    concurrency: int
    batch_size: int
    texts: int
    sent: int
    parts: int
    span: float  # simulated: first send to the last send's share of a second
    handler_latency: float  # simulated seconds waited for AWS inside invocations, summed over them
    event_source_latency: float
    slept: float  # the handlers' waits for their slots
    calls: Counter
    by_service: Counter
    invocations: int
    deferred: int
    throttles: int
    over_rule: int
    timeouts: int
    failed_records: int
    conditional_check_failures: int
    wall: float

    @property
    def texts_per_second(self) -> float:
        return self.sent / self.span

    @property
    def ratio(self) -> float:
        return self.parts / self.span / self.case.mps

    @property
    def calls_per_text(self) -> float:
        return sum(self.calls.values()) / self.sent

    @property
    def path_ms(self) -> float:
        """Latency one invocation waits per text it sends (its AWS calls, one after another)."""
        return self.handler_latency / self.sent * 1000

    @property
    def ceiling(self) -> float:
        """Texts per second the concurrency allows at this critical path, the event source's receive included."""
        return self.concurrency / ((self.handler_latency + self.event_source_latency) / self.sent)

    @property
    def concurrency_needed(self) -> int:
        """Concurrent batches that would hold the MPS at this critical path (one-part texts)."""
        return math.ceil(self.case.mps * RATIO_GOAL / (self.ceiling / self.concurrency))


def run_burst(case: NumberCase, texts: int, concurrency: int, batch_size: int, timeout: float) -> Burst:
    model = LatencyModel.from_environment()
    clock = CooperativeClock()
    random.seed(0)  # the sender's throttle backoff has jitter (services.send_holds): the same on every run
    began = time.perf_counter()
    with latent_sender(case.mps, clock, model, concurrency) as (sender, latency):
        for body in send_requests(texts, "burst", (1,)):
            if case.message_type != "TRANSACTIONAL":
                body = _opted_in(sender, body, case.message_type)
            sender.queue.put(body)
        drain(sender, latency, batch_size, timeout)
        sent = sender.emulator.sent
        span = (max(t.at + t.parts / case.mps for t in sent) - sent[0].at) if sent else math.nan
        _, over = trailing_windows([(t.at, t.parts) for t in sent], case.mps)
        return Burst(
            case=case,
            concurrency=concurrency,
            batch_size=batch_size,
            texts=texts,
            sent=len(sent),
            parts=sum(t.parts for t in sent),
            span=span,
            handler_latency=latency.in_handler,
            event_source_latency=latency.event_source,
            slept=clock.slept,
            calls=sender.calls(),
            by_service=latency.by_service,
            invocations=sender.tally.invocations,
            deferred=int(sender.tally.metrics[metric_names.OUTBOUND_DEFERRED]),
            throttles=sender.emulator.throttles,
            over_rule=over,
            timeouts=sender.tally.timeouts,
            failed_records=sender.tally.failed_records,
            conditional_check_failures=latency.conditional_check_failures,
            wall=time.perf_counter() - began,
        )


def _opted_in(sender: EmulatedSender, body: str, message_type: str) -> str:
    """``body`` as a ``message_type`` request, its destination opted in beforehand (off the meter)."""
    request = {**json.loads(body), "messageType": message_type}
    sender.dynamodb.Table("contacts").put_item(
        Item={"phone_number": request["destination"], "record": "PROFILE", "opt_in_at": "2026-01-05T12:00:00+00:00"}
    )
    return json.dumps(request)


def run_bursts(shape: StackShape | None = None) -> list[Burst]:
    from two_way_sms_cdk.constructs.outbound_sender import sized_max_concurrency

    shape = shape or default_shape()
    source = shape.sender
    cases = number_cases()
    # The default stack (1 MPS) synthesizes the concurrency the construct sizes from its MPS;
    # each number type runs at what the same sizing gives its own MPS (BENCH_SENDER_CONCURRENCY
    # sets one figure for all).
    assert source.max_concurrency == sized_max_concurrency(cases[0].mps), source.max_concurrency
    fixed = os.environ.get("BENCH_SENDER_CONCURRENCY")
    timeout = float(shape.timeout(source))
    args = [
        (case, burst_texts(), int(fixed) if fixed else sized_max_concurrency(case.mps), source.batch_size, timeout)
        for case in cases
    ]
    # spawn, not fork: this process may hold jsii's Node kernel (the synth) and its threads
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(len(args), os.cpu_count() or 1), mp_context=spawn) as pool:
        return list(pool.map(run_burst, *zip(*args)))


# -- printing -------------------------------------------------------------------------------------------------
def print_sender_throughput(bursts: list[Burst] | None = None) -> list[Burst]:
    model = LatencyModel.from_environment()
    began = time.perf_counter()
    bursts = bursts or run_bursts()
    first = bursts[0]
    sizes = ", ".join(f"{b.concurrency} at {b.case.mps:.0f} MPS" for b in bursts)
    print(
        "17. Can the sender keep up with the number? Sustained texts per second with AWS latency modelled (issue 15)\n"
        "    The real sender handler on moto + the SMS emulator; every AWS call takes its latency on a virtual clock\n"
        "    (half before the service applies it, half after).\n"
        f"    Latency model: {model.describe()}.\n"
        f"    From the synthesized default stack: {first.concurrency} batches at once (OutboundSender "
        f"MaximumConcurrency, sized from the MPS: {sizes}), {first.batch_size} texts a batch (BatchSize).\n"
        "    One-part TRANSACTIONAL texts (the last row PROMOTIONAL), all queued at once; one SQS ReceiveMessage\n"
        "    before each invocation."
    )
    print(
        f"    {'number type':<31} {'MPS':>4} {'texts':>6} {'texts/s':>8} {'ratio':>6} {'calls/text':>10} "
        f"{'path/text':>9} {'ceiling':>8} {'needs':>5} {'deferred':>8} {'conc':>4}"
    )
    for b in bursts:
        print(
            f"    {b.case.label:<31} {b.case.mps:>4.0f} {b.texts:>6,} {b.texts_per_second:>8.2f} {b.ratio:>6.3f} "
            f"{b.calls_per_text:>10.2f} {b.path_ms:>7.1f}ms {b.ceiling:>8.1f} {b.concurrency_needed:>5} "
            f"{b.deferred:>8,} {b.concurrency:>4}"
        )
    print(
        "    texts/s: sent / (last send + its share of a second - first send), simulated; ratio: parts/s over\n"
        f"    the MPS (goal: >= {RATIO_GOAL} for the short code and the pool); calls/text: every AWS request the\n"
        "    handler made, deferrals and the batch's reads included, per text sent; path/text: the AWS latency one\n"
        "    invocation waits per text it sends (its calls run one after another); ceiling: texts/s the concurrency\n"
        "    allows at that path, pacing aside (concurrency / (path + the receive's share)); needs: batches at once\n"
        f"    that would hold {RATIO_GOAL} of the MPS at this path."
    )
    for b in bursts:
        services = ", ".join(
            f"{SERVICE_NAMES.get(name, name)} {seconds / b.sent * 1000:.1f}"
            for name, seconds in b.by_service.most_common()
        )
        checks = (
            f"sent {b.sent:,}/{b.texts:,}, {b.throttles} throttles, {b.over_rule} over the MPS rule, "
            f"{b.failed_records} failed records, {b.timeouts} past the timeout, "
            f"{b.conditional_check_failures} conditional-check failures"
        )
        print(f"    {b.case.label}: ms per text by service: {services};\n      {checks}; {b.wall:.0f} s wall")
        if b.case.note:
            print(f"      ({b.case.note})")
    print(
        "    The model ignores: the handler's own compute (Lambda at 256 MB has a fraction of a vCPU), Lambda's\n"
        "    invoke overhead and cold starts, network jitter and tail latency (every call takes exactly its figure),\n"
        "    DynamoDB hot-partition throttling (every send of a number updates one schedule item) and retries,\n"
        "    the event source's own scaling delays. Real figures are at or below these.\n"
        f"    Bursts of {bursts[0].texts:,} texts (BENCH_SENDER_TEXTS), side by side, one process each "
        f"({time.perf_counter() - began:.0f} s of wall time).\n"
    )
    return bursts


if __name__ == "__main__":
    print_sender_throughput()
