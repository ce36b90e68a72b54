"""Issue 15: the inbound and delivery events handlers under the same latency model as the sender.

Neither handler paces or runs calls side by side: each record's AWS calls run one after
another, so a record's critical path is the sum of its calls' latencies (``latency.LatencyLedger``
adds them up as the calls are made; nothing waits).

18. inbound: the real handler on the conversation world (``two_way_sms_local.conversation_world``:
    moto, the SMS emulator, the business event bus, the ready flows), warm; per path (a keyword
    reply, the default reply, STOP, a reply inside a flow) the calls, the critical path and the
    texts one invocation answers per second, with the stack's BatchSize and MaximumConcurrency;
19. delivery events: the real handler on ``two_way_sms_local.events_world``, records in batches of
    the stack's BatchSize, in order (queued, successful, delivered per message); DynamoDB requests
    per record, the critical path of a batch and the records per second one shard sustains
    (ParallelizationFactor batches at once per shard), beside the handler's own compute measured
    here (this thread's CPU time inside the handler minus that inside boto3 + moto: wall time would
    count whatever else the machine runs). Then the same records
    out of order (seeded: each moved up to 1.5 batches later, so a message's events straddle
    batches and many arrive after a later status): the requests per record that costs.
"""

from __future__ import annotations

import io
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from typing import Any

import botocore.client
import environment  # noqa: F401  (the import path and Powertools' environment)
from latency import LatencyLedger, LatencyModel, StackShape, default_shape, wrap_methods

EVENTS_RECORDS = 1_000  # 334 messages x 3 lifecycle events, cut to 1,000
OUT_OF_ORDER_SPAN = 1.5  # batches: how far a record may be moved later in the out-of-order run
OUT_OF_ORDER_SEED = 19


@contextmanager
def every_request(ledger: LatencyLedger) -> Iterator[None]:
    """Every botocore request in the process goes through ``ledger`` (moto answers below this level)."""
    original = botocore.client.BaseClient._make_api_call

    def recorded(client: Any, operation_name: str, api_params: Any) -> Any:
        ledger.record(client.meta.service_model.service_name, operation_name)
        return original(client, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = recorded  # type: ignore[method-assign]
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


# -- 18. inbound ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InboundPath:
    name: str
    calls: Counter
    path_seconds: float

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def detail(self) -> str:
        return ", ".join(f"{op} x{n}" if n > 1 else op for (_, op), n in sorted(self.calls.items()))


def measure_inbound(model: LatencyModel) -> list[InboundPath]:
    from two_way_sms_local.conversation_world import SLOTS, VISIT, conversation_world

    ledger = LatencyLedger(model)
    paths: list[InboundPath] = []
    with conversation_world() as world, redirect_stdout(io.StringIO()):  # the handlers' EMF lines
        wrap_methods(world.sms, ledger.record, "pinpoint-sms-voice-v2")
        world.text("warm-up: hello")  # reads the flows parameter, creates the clients

        def measure(name: str, action: Callable[[], Any]) -> None:
            ledger.take()
            with every_request(ledger):
                action()
            calls, seconds = ledger.take()
            paths.append(InboundPath(name, calls, seconds))

        measure("keyword HOURS", lambda: world.text("HOURS", after=86400 * 2))
        measure("default reply (no flow open)", lambda: world.text("hello", after=86400 * 2))
        reminder = world.remind("appt-1", "appointment", VISIT, reference="appt-1", slots=SLOTS)
        measure("reply inside a flow (2: cancel)", lambda: world.text("2", quoting=reminder.message_id))
        measure("STOP (AWS-managed opt-outs)", lambda: world.text("STOP", after=86400 * 2))
    return paths


def print_inbound_latency(shape: StackShape, model: LatencyModel) -> list[InboundPath]:
    source = shape.inbound
    concurrency = source.max_concurrency or 1
    receive_share = model.seconds("sqs") / source.batch_size
    paths = measure_inbound(model)
    print(
        "18. The inbound handler under the same latency model (issue 15): the real handler, warm, on moto + the SMS\n"
        "    emulator with the ready flows; each message's AWS calls run one after another, so its critical path is\n"
        f"    their sum. The stack's inbound event source: BatchSize {source.batch_size}, MaximumConcurrency "
        f"{concurrency}; one ReceiveMessage\n"
        "    per batch (its share per message added)."
    )
    print(f"    {'path':<34} {'calls':>5} {'critical path':>13} {'texts/s per invocation':>23} {'x concurrency':>14}")
    for p in paths:
        per_second = 1 / (p.path_seconds + receive_share)
        print(
            f"    {p.name:<34} {p.total:>5} {p.path_seconds * 1000:>10.1f} ms {per_second:>23.1f} "
            f"{per_second * concurrency:>14.1f}"
        )
    for p in paths:
        print(f"      {p.name}: {p.detail()}")
    print(
        "    Ignored as in 17: the handler's own compute, Lambda's invoke, jitter, throttling and retries; a reply\n"
        "    is answered in order within its batch, so a batch of 10 takes ten critical paths.\n"
    )
    return paths


# -- 19. delivery events -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventsRun:
    records: int
    batch_size: int
    invocations: int
    dynamodb_requests: int
    calls: Counter
    path_seconds: float  # summed over the batches
    cpu: float  # this thread's CPU time inside the handler
    emulated: float  # of which inside boto3 + moto (before-call to after-call)

    @property
    def dynamodb_per_record(self) -> float:
        return self.dynamodb_requests / self.records

    @property
    def own_records_per_second(self) -> float:
        return self.records / (self.cpu - self.emulated)

    def records_per_second_per_shard(self, model: LatencyModel, parallelization: int) -> float:
        batch_path = self.path_seconds / self.invocations + model.seconds("kinesis")  # + the GetRecords
        return parallelization * self.records / self.invocations / batch_path


def out_of_order(records: list[Any], span: int, seed: int = OUT_OF_ORDER_SEED) -> list[Any]:
    """``records`` each moved up to ``span`` places later (seeded): events of one message straddle batches."""
    rng = random.Random(seed)
    keyed = [(position + rng.uniform(0, span), position) for position in range(len(records))]
    return [records[position] for _, position in sorted(keyed)]


def measure_events(
    shape: StackShape, model: LatencyModel, total: int = EVENTS_RECORDS, *, in_order: bool = True
) -> EventsRun:
    from delivery_events import emulated_events, lifecycles

    from two_way_sms.handlers import events as events_function
    from two_way_sms_local.emulation import FakeLambdaContext

    records = lifecycles(-(-total // 3))[:total]
    batch_size = shape.events.batch_size
    if not in_order:
        records = out_of_order(records, int(batch_size * OUT_OF_ORDER_SPAN))
    ledger = LatencyLedger(model)
    # CPU time, not wall time: the machine's other work (and a busy machine) would count as the handler's.
    with emulated_events(timer=time.thread_time) as emulated:
        for client in (emulated.world.clients.dynamodb.meta.client, emulated.world.clients.sqs):
            ledger.attach(client)
        emulated.clock.take()
        cpu = 0.0
        invocations = 0
        for start in range(0, len(records), batch_size):
            emulated.world.stream.put(*records[start : start + batch_size])
            event = emulated.world.stream.lambda_event()
            began = time.thread_time()
            result = emulated.world.handler(event, FakeLambdaContext(function_name="events"))
            cpu += time.thread_time() - began
            invocations += 1
            events_function.metrics.clear_metrics()
            if result["batchItemFailures"]:
                raise RuntimeError(f"the handler failed records: {result}")
        _, emulated_seconds = emulated.clock.take()
        calls, path = ledger.take()
    dynamodb = sum(n for (service, _), n in calls.items() if service == "dynamodb")
    return EventsRun(len(records), batch_size, invocations, dynamodb, calls, path, cpu, emulated_seconds)


def print_events_latency(shape: StackShape, model: LatencyModel) -> EventsRun:
    run = measure_events(shape, model)
    shuffled = measure_events(shape, model, in_order=False)
    parallelization = shape.events.parallelization
    per_shard = run.records_per_second_per_shard(model, parallelization)
    shards = shape.shards
    print(
        "19. The delivery events handler under the same latency model (issue 15): the real handler on moto, "
        f"{run.records:,} records\n"
        f"    (queued, successful, delivered per message) in batches of the stack's BatchSize {run.batch_size}; "
        f"ParallelizationFactor {parallelization}\n"
        f"    (batches at once per shard); one GetRecords ({model.kinesis_ms:g} ms) per batch."
    )
    detail = ", ".join(f"{op} {n / run.records:.2f}" for (_, op), n in sorted(run.calls.items()))
    batch_ms = run.path_seconds / run.invocations * 1000
    print(f"    DynamoDB requests per record {run.dynamodb_per_record:>6.2f}   ({detail})")
    detail = ", ".join(f"{op} {n / shuffled.records:.2f}" for (_, op), n in sorted(shuffled.calls.items()))
    print(
        f"      out of order               {shuffled.dynamodb_per_record:>6.2f}   ({detail}; each record moved up to "
        f"{OUT_OF_ORDER_SPAN:g} batches later, seeded)"
    )
    print(
        f"    critical path of a batch     {batch_ms:>6.0f} ms "
        f"({batch_ms / (run.records / run.invocations):.1f} ms a record)"
    )
    print(
        f"    records/s per shard          {per_shard:>6.0f}   "
        + (
            f"({shards} shard{'s' if shards != 1 else ''}: {per_shard * shards:,.0f} records/s for the stream)"
            if shards
            else "(ON_DEMAND)"
        )
    )
    print(
        f"    the handler's own compute    {run.own_records_per_second:>6,.0f} records/s on this machine "
        f"(CPU time inside the handler {run.cpu:.1f} s minus {run.emulated:.1f} s in boto3 + moto; 1 run)"
    )
    print(
        "    A 100 MPS short code's texts make about 3 delivery events each (queued, successful, delivered): 300\n"
        "    records/s for one shard to keep up with. Ignored as in 17; the handler's compute adds to the path.\n"
    )
    return run


def main() -> None:
    shape = default_shape()
    model = LatencyModel.from_environment()
    print_inbound_latency(shape, model)
    print_events_latency(shape, model)


if __name__ == "__main__":
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    main()
