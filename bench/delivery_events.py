"""Benchmark figures for the delivery events handler (printed by run.py, sections 5-7).

5. records per second through the handler for a 1,000-record batch against the emulator
   (moto Kinesis, DynamoDB, SQS), with the time spent inside the emulated calls apart;
6. DynamoDB requests per record, by the shape of the traffic;
7. the in-process cost of reading one record, next to ``json.loads`` of it.

Offline: no AWS account and no network. The emulator is far slower than DynamoDB, so
the records per second measure this machine and moto more than the handler: the
handler's own share is printed beside it.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import environment  # noqa: F401  (the import path, and Powertools' environment before the handler)

from two_way_sms.handlers import events as events_function
from two_way_sms_local.emulation import FakeLambdaContext, delivery_event, lifecycle_events
from two_way_sms_local.events_world import EventsWorld, events_world

BATCH_SIZE = 1000
THROUGHPUT_RUNS = 3
QUIET = {"POWERTOOLS_METRICS_DISABLED": "true"}  # (read when the metrics are flushed; the log level is set below)


@dataclass
class RequestClock:
    """A botocore hook pair: counts each request and the time from before-call to after-call (by ``timer``:
    wall time by default, ``time.thread_time`` for the CPU time this thread spent)."""

    calls: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    timer: Callable[[], float] = time.perf_counter
    _started: float = 0.0

    def attach(self, client: Any) -> None:
        client.meta.events.register_first("before-call.*.*", self._before, unique_id="bench-clock-before")
        client.meta.events.register_last("after-call.*.*", self._after, unique_id="bench-clock-after")
        client.meta.events.register_last("after-call-error.*.*", self._after, unique_id="bench-clock-error")

    def _before(self, model: Any, **_: Any) -> None:
        self.calls[(model.service_model.service_name, model.name)] += 1
        self._started = self.timer()

    def _after(self, **_: Any) -> None:
        self.seconds += self.timer() - self._started

    def take(self) -> tuple[Counter, float]:
        taken = (self.calls, self.seconds)
        self.calls, self.seconds = Counter(), 0.0
        return taken


class EmulatedEvents:
    def __init__(self, world: EventsWorld, clock: RequestClock) -> None:
        self.world, self.clock = world, clock

    def run(self, records: list[dict[str, Any] | bytes], per_batch: int | None = None) -> tuple[Counter, float, float]:
        """Feeds the records (in batches of ``per_batch``); returns requests, wall seconds, emulated seconds."""
        per_batch = per_batch or len(records)
        self.clock.take()
        wall = 0.0
        for start in range(0, len(records), per_batch):
            self.world.stream.put(*records[start : start + per_batch])
            event = self.world.stream.lambda_event()
            began = time.perf_counter()
            result = self.world.handler(event, FakeLambdaContext(function_name="events"))
            wall += time.perf_counter() - began
            # With metrics disabled Powertools keeps the values, then prints them at 100 per metric.
            events_function.metrics.clear_metrics()
            if result["batchItemFailures"]:
                raise RuntimeError(f"the handler failed records: {result}")
        calls, emulated = self.clock.take()
        return calls, wall, emulated


@contextmanager
def emulated_events(timer: Callable[[], float] = time.perf_counter) -> Iterator[EmulatedEvents]:
    """The events function wired to an empty emulated world (``two_way_sms_local.events_world``), quiet,
    the requests of its DynamoDB and SQS clients clocked (by ``timer``)."""
    saved = dict(os.environ)
    try:
        os.environ.update(QUIET)
        with events_world(log_level="CRITICAL") as world:
            events_function.metrics.clear_metrics()  # Powertools shares one metric set across handlers
            clock = RequestClock(timer=timer)
            for client in (world.clients.dynamodb.meta.client, world.clients.sqs):
                clock.attach(client)
            yield EmulatedEvents(world, clock)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def lifecycles(messages: int, prefix: str = "m") -> list[dict[str, Any]]:
    return [event for n in range(messages) for event in lifecycle_events(f"{prefix}-{n:05d}")]


def print_events_figures() -> None:
    print_throughput()
    print_requests_per_record()
    print_parse_cost()


# -- 5. throughput ----------------------------------------------------------------------------------
def print_throughput() -> None:
    records = lifecycles(BATCH_SIZE // 3 + 1)[:BATCH_SIZE]
    runs = []
    for _ in range(THROUGHPUT_RUNS):
        with emulated_events() as emulated:
            runs.append(emulated.run(records))
    wall = statistics.median(run[1] for run in runs)
    emulated_seconds = statistics.median(run[2] for run in runs)
    own = wall - emulated_seconds
    print(
        f"5. One batch of {BATCH_SIZE:,} delivery events through the events handler against the emulator "
        f"(median of {THROUGHPUT_RUNS} runs;\n   {len(records) // 3} messages x queued/successful/delivered, "
        "each run from empty tables)"
    )
    print(f"   {'wall time of the invocation':<46} {wall:>8.2f} s   {BATCH_SIZE / wall:>9,.0f} records/s")
    print(f"   {'  inside boto3 + moto (the emulated calls)':<46} {emulated_seconds:>8.2f} s")
    print(f"   {'  the handler itself (parse, decide, tally)':<46} {own:>8.2f} s   {BATCH_SIZE / own:>9,.0f} records/s")
    print("   (against DynamoDB each request takes single-digit milliseconds; one shard's batches run one at a time)\n")


# -- 6. DynamoDB requests per record ----------------------------------------------------------------
def print_requests_per_record() -> None:
    messages = 100
    blocked = [
        delivery_event(
            "TEXT_BLOCKED",
            is_final=True,
            status="BLOCKED",
            description="Destination phone number opted out",
            message_id=f"b-{n:05d}",
        )
        for n in range(messages)
    ]
    in_order = lifecycles(messages)
    scenarios = {
        "in order (queued, successful, delivered)": (in_order, None),
        "reversed (delivered first)": (
            [e for n in range(messages) for e in lifecycle_events(f"m-{n:05d}")[::-1]],
            None,
        ),
        "every event delivered twice": ([e for e in in_order for _ in range(2)], None),
        "in order, one record per invocation": (in_order, 1),
        "final only, blocked as opted out": (blocked, None),
    }
    print(
        "6. DynamoDB requests per delivery event record (counted by a botocore hook; failed conditional writes "
        "included)"
    )
    print(f"   {'traffic':<42} {'records':>8} {'requests':>9} {'per record':>11}   by operation")
    for name, (records, per_batch) in scenarios.items():
        with emulated_events() as emulated:
            calls, _, _ = emulated.run(records, per_batch)
        dynamodb = {op: n for (service, op), n in calls.items() if service == "dynamodb"}
        total = sum(dynamodb.values())
        detail = ", ".join(f"{op} {n}" for op, n in sorted(dynamodb.items()))
        print(f"   {name:<42} {len(records):>8} {total:>9} {total / len(records):>11.2f}   {detail}")
    print(
        "   Per message and batch: 1 conditional UpdateItem for all its events (the greatest status wins, every\n"
        "   event adds its history line); when a later status is stored already, a 2nd UpdateItem adds the missing\n"
        "   lines, and an exact duplicate writes nothing more. Per batch: 1 TransactWriteItems counts the spend of\n"
        "   every message that reached its final status (a mark on each, the months' sums; up to 100 items), then\n"
        "   1 GetItem per month reads its total. An opt-out shown by a block adds the contact's proof (PutItem) and\n"
        "   state (UpdateItem), once per message and batch.\n"
    )


# -- 7. parse cost -------------------------------------------------------------------------------------
def print_parse_cost() -> None:
    import timeit

    from two_way_sms.delivery import parse_delivery_event

    data = json.dumps(lifecycle_events()[2]).encode()
    timer_ours, timer_json = timeit.Timer(lambda: parse_delivery_event(data)), timeit.Timer(lambda: json.loads(data))
    number = 2000
    ours = statistics.median(timer_ours.repeat(7, number)) / number * 1e6
    baseline = statistics.median(timer_json.repeat(7, number)) / number * 1e6
    print("7. Reading one delivery event record in process (parse_delivery_event; median of 7 timeit repeats)")
    print(f"   parse_delivery_event {ours:>8.1f} us   json.loads {baseline:>6.1f} us   {ours / baseline:>5.1f}x")
    print("   (includes its own json.loads with exact decimals and E.164 normalisation of both numbers)\n")
