"""Section 16: the delivery events handler under injected faults and Kinesis redelivery.

The real events function on the emulated world of its tests (``two_way_sms_local.events_world``):
delivery events go through a moto Kinesis stream, which gives each its sequence number and the
Lambda record the event source mapping would hand over, and the function writes to moto's
DynamoDB. The workload, seeded: a few hundred messages around a month's end (their spend counts
in two months), each with several events (queued, sometimes pending, accepted by the carrier,
then delivered, or a failure, a block for an opt-out, an expiry; now and then a late in-flight
event after the final one), 1-3 parts each; events arrive out of order (delivery jitter,
sometimes seconds), and some twice (EventBridge delivers at least once).

Faults are injected on the function's own DynamoDB client (ledger and contacts) outside
botocore's retry loop (``two_way_sms_local.faults``), at the rates of section 14; in the
duplicates runs EventBridge puts 10 % of the events on the stream again, minutes later.
The event source mapping is played as the construct configures it (batches of 100,
``ReportBatchItemFailures``, ``BisectBatchOnFunctionError``, 3 retries): a partial failure
bisects the batch at the lowest failed sequence number and the remaining records are
retried; after the third retry the remaining records go to the on-failure destination
(the dead-letter queue gets the batch's coordinates) and the shard moves on. A clean run
of the same events is the reference ledger.

The crash runs kill the invocation outright (a timeout, an out-of-memory), as no error handler
sees it: right after one of its DynamoDB calls succeeded (at random, 3 % of calls), or around
every other spend transaction (alternately before it and after it committed), the windows that
batching per invocation opens. The event source mapping then bisects the batch (a function
error) and retries each half; a single record that keeps crashing counts its retries and goes to
the dead-letter queue after the third.

moto takes ~20 ms per ledger update, so a run of the default 600 events takes well under half a
minute; ``BENCH_FAULTS_EVENTS=<n>`` runs n events (``BENCH_FAULTS_FULL=1``: 20,000).

Printed per run: records handed to the function (with retries), ledger messages whose status
(or any attribute) differs from the clean run's, the month's spend and parts against the
clean run's, messages counted twice, the SpendUSD metric against the spend counted, records
dead-lettered and how many the logs explain, DynamoDB requests per record, seconds.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import random
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import environment  # noqa: F401  (the import path, and Powertools' environment before the handler)
from inbound_faults import RUNS

from two_way_sms.adapters.ledger import SPEND_PREFIX
from two_way_sms_local.emulation import delivery_event
from two_way_sms_local.events_world import EventsWorld, events_world
from two_way_sms_local.faults import FaultInjector

SEED = 16
DEFAULT_EVENTS = 600
BATCH_SIZE = 100  # the construct's defaults
RETRY_ATTEMPTS = 3
MONTH_END = datetime(2025, 11, 1, tzinfo=timezone.utc).timestamp()
PRICE_PER_PART, CARRIER_FEE_PER_PART = Decimal("0.00581"), Decimal("0.00266")
FATES = {  # final event -> (weight, messageStatus, description)
    "TEXT_DELIVERED": (85, "DELIVERED", "Message has been delivered to the handset"),
    "TEXT_UNREACHABLE": (5, "UNREACHABLE", "The recipient's device is switched off"),
    "TEXT_CARRIER_UNREACHABLE": (3, "CARRIER_UNREACHABLE", "The carrier could not be reached"),
    "TEXT_BLOCKED": (3, "BLOCKED", "Destination phone number opted out"),
    "TEXT_TTL_EXPIRED": (4, "TTL_EXPIRED", "The message could not be delivered within its time to live"),
}


# -- the events ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Arrival:
    at: float  # when EventBridge puts it on the stream (seconds after the first request)
    event: dict[str, Any]


def messages_events(count: int, seed: int) -> list[Arrival]:
    """About ``count`` delivery events of a few hundred messages, in the order they reach the stream."""
    rng = random.Random(seed)
    fates, weights = list(FATES), [FATES[f][0] for f in FATES]
    arrivals: list[Arrival] = []
    index = 0
    while len(arrivals) < count:
        message_id = f"msg-{index:05d}"
        requested = MONTH_END - 7200 + rng.uniform(0, 14400)  # two hours either side of midnight UTC
        parts = rng.choice((1, 1, 1, 2, 3))
        common = {
            "messageId": message_id,
            "messageRequestTimestamp": int(requested * 1000),
            "destinationPhoneNumber": f"+1425555{index % 10_000:04d}",
            "totalMessageParts": parts,
            "totalMessagePrice": float(PRICE_PER_PART * parts),
            "totalCarrierFee": float(CARRIER_FEE_PER_PART * parts),
        }
        fate = rng.choices(fates, weights)[0]
        _, fate_status, fate_text = FATES[fate]
        steps = [("TEXT_QUEUED", 0.1, False, "QUEUED", "Message is queued for delivery")]
        if rng.random() < 0.3:
            steps.append(("TEXT_PENDING", 0.25, False, "PENDING", "Message is pending at the carrier"))
        if fate in ("TEXT_DELIVERED", "TEXT_UNREACHABLE"):
            steps.append(("TEXT_SUCCESSFUL", 0.4, False, "SUCCESSFUL", "Message has been accepted by phone carrier"))
        steps.append((fate, rng.uniform(2, 30), True, fate_status, fate_text))
        if rng.random() < 0.05:  # a late in-flight report after the final one
            steps.append(("TEXT_PENDING", steps[-1][1] + rng.uniform(5, 60), False, "PENDING", "Late pending report"))
        for event_type, after, final, status, text in steps:
            event = delivery_event(
                event_type,
                after_ms=int(after * 1000),
                is_final=final,
                status=status,
                description=text,
                message_id=message_id,
                **common,
            )
            event["detail"]["eventTimestamp"] = int((requested + after) * 1000)
            event["time"] = datetime.fromtimestamp(requested + after, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            jitter = rng.expovariate(1 / 0.5) + (rng.uniform(2, 20) if rng.random() < 0.1 else 0)
            arrivals.append(Arrival(requested - MONTH_END + 7200 + after + jitter, event))
            if rng.random() < 0.05:  # delivered twice by EventBridge, seconds apart
                arrivals.append(Arrival(arrivals[-1].at + rng.uniform(0.1, 5), event))
        index += 1
    return sorted(arrivals[:count], key=lambda arrival: arrival.at)


def with_duplicates(arrivals: list[Arrival], share: float, seed: int) -> list[Arrival]:
    """``share`` of the events put on the stream again, one to ten minutes later."""
    rng = random.Random(seed + 1)
    again = [Arrival(a.at + rng.uniform(60, 600), a.event) for a in arrivals if rng.random() < share]
    return sorted(arrivals + again, key=lambda arrival: arrival.at)


# -- crashes -----------------------------------------------------------------------------------------
class SimulatedCrash(BaseException):
    """The invocation died (a timeout, out of memory): no ``except Exception`` in the function sees it."""


@dataclass(frozen=True)
class Crashes:
    """When the function dies: right after a successful call (``rate`` of them, seeded), or around every
    other call of ``operation`` (alternately before it and after it committed)."""

    rate: float = 0.0
    operation: str | None = None

    def attach(self, client: Any, seed: int, counted: Counter) -> None:
        rng = random.Random(seed + 2)
        planned: set[int] = set()
        seen = Counter()

        def before(model: Any, context: dict, **_: Any) -> None:
            if model.name == self.operation:
                seen[model.name] += 1
                nth = seen[model.name]
                if nth % 2 == 0:
                    return  # (the retried batch's call goes through)
                if nth % 4 == 1:
                    counted["crash before " + model.name] += 1
                    raise SimulatedCrash(model.name)
                planned.add(id(context))
            elif rng.random() < self.rate:
                planned.add(id(context))

        def after(model: Any, context: dict, **_: Any) -> None:
            if id(context) in planned:
                planned.discard(id(context))
                counted["crash after " + model.name] += 1
                raise SimulatedCrash(model.name)

        client.meta.events.register("before-call", before)
        client.meta.events.register("after-call", after)


CRASH_RUNS = {
    "crashes 3 % of calls": Crashes(rate=0.03),
    "crashes at the spend tx": Crashes(operation="TransactWriteItems"),
}


# -- the world -------------------------------------------------------------------------------------
def stream_records(harness: EventsWorld, arrivals: list[Arrival]) -> list[dict[str, Any]]:
    """Puts the events on the (moto) stream in arrival order; the Lambda records of all of them."""
    harness.stream.put(*[arrival.event for arrival in arrivals])
    records: list[dict[str, Any]] = []
    while len(records) < len(arrivals):
        batch = harness.stream.lambda_event()["Records"]
        if not batch:
            raise RuntimeError(f"the stream returned {len(records)} of {len(arrivals)} records")
        records.extend(batch)
    return records


@dataclass
class Played:
    invocations: int = 0
    records_handled: int = 0
    dead: list = field(default_factory=list)  # (records, failed sequence numbers, log slice) per given-up batch
    crashes: int = 0  # invocations that died


def play(harness: EventsWorld, records: list[dict[str, Any]]) -> Played:
    """The event source mapping: batches, bisection at the lowest failed record, bounded retries."""
    played = Played()
    position = 0
    pending: list[tuple[list[dict[str, Any]], int]] = []  # halves of crashed batches, with their retries
    while position < len(records) or pending:
        if pending:
            batch, retries = pending.pop()
            end = position
        else:
            end = min(position + BATCH_SIZE, len(records))
            batch, retries = records[position:end], 0
        while True:
            before = len(harness.logs())  # (the log only grows)
            played.invocations += 1
            played.records_handled += len(batch)
            try:
                result = harness.invoke_with({"Records": batch})
            except SimulatedCrash:  # a function error: the mapping bisects the batch and retries each half
                played.crashes += 1
                if len(batch) > 1:
                    half = len(batch) // 2
                    pending += [(batch[half:], retries), (batch[:half], retries)]  # the first half first
                    break
                failed: set[str] = set()
            else:
                failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
                if not failed:
                    break
                first = min(n for n, record in enumerate(batch) if record["kinesis"]["sequenceNumber"] in failed)
                batch = batch[first:]  # bisected at the returned sequence number: only the rest is retried
            retries += 1
            if retries > RETRY_ATTEMPTS:  # the batch's coordinates go to the on-failure destination
                played.dead.append((batch, failed, (before, len(harness.logs()))))
                break
        position = end
    return played


# -- the figures -----------------------------------------------------------------------------------
@dataclass
class Figures:
    events: int = 0  # records put on the stream
    records_handled: int = 0  # records handed to the function, retries included
    status_differs: int = 0  # messages whose ledger status is not the clean run's (or that are missing)
    item_differs: int = 0  # messages whose ledger item differs in any attribute
    spend_difference: Decimal = Decimal(0)  # sum over the months, this run minus the clean run
    parts_difference: int = 0
    counted_twice: int = 0  # the months' message counts minus the messages marked counted
    metric_difference: Decimal = Decimal(0)  # SpendUSD metrics emitted minus the spend counted in the ledger
    dead_lettered: int = 0  # records in the batches given up
    failed_last: int = 0  # of those, the records that failed on the last attempt
    explained: int = 0  # of those, named by a log line of that attempt (message id or sequence number)
    by_sequence: int = 0  # of those, named by their sequence number
    calls: int = 0
    faults: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def ledger_state(harness: EventsWorld) -> tuple[dict[str, dict], dict[str, dict]]:
    """(message id -> item, month -> spend summary) from a consistent scan of the ledger."""
    items = list(harness.ledger_items().values())
    messages = {item["message_id"]: item for item in items if not item["message_id"].startswith(SPEND_PREFIX)}
    months = {
        item["message_id"].removeprefix(SPEND_PREFIX): item
        for item in items
        if item["message_id"].startswith(SPEND_PREFIX)
    }
    return messages, months


def figures_of(
    harness: EventsWorld,
    played: Played,
    arrivals: list[Arrival],
    faults: FaultInjector,
    emf: str,
    reference: tuple[dict, dict] | None,
) -> tuple[Figures, tuple[dict, dict]]:
    figures = Figures(
        events=len(arrivals),
        records_handled=played.records_handled,
        calls=len(faults.calls),
        faults=Counter(faults.injected),
    )
    messages, months = ledger_state(harness)
    counted = Decimal(sum(Decimal(m.get("spend_usd", 0)) for m in months.values()))
    figures.counted_twice = int(sum(m.get("messages", 0) for m in months.values())) - sum(
        "spend_month" in item for item in messages.values()
    )
    emitted = Decimal(0)
    for line in emf.splitlines():
        if line.startswith('{"_aws"'):
            value = json.loads(line, parse_float=Decimal).get("SpendUSD", 0)
            emitted += sum(value) if isinstance(value, list) else Decimal(value)
    figures.metric_difference = emitted - counted
    if reference is not None:
        clean_messages, clean_months = reference
        for message_id, clean in clean_messages.items():
            item = messages.get(message_id)
            figures.status_differs += item is None or item.get("status") != clean.get("status")
            figures.item_differs += item != clean
        figures.item_differs += len(set(messages) - set(clean_messages))
        for month in set(months) | set(clean_months):
            mine, clean = months.get(month, {}), clean_months.get(month, {})
            figures.spend_difference += Decimal(mine.get("spend_usd", 0)) - Decimal(clean.get("spend_usd", 0))
            figures.parts_difference += int(mine.get("parts", 0)) - int(clean.get("parts", 0))
    logs = harness.logs()
    for batch, failed, (before, after) in played.dead:
        figures.dead_lettered += len(batch)
        lines = [json.loads(line) for line in logs[before:after].splitlines() if line.startswith("{")]
        for record in batch:
            sequence = record["kinesis"]["sequenceNumber"]
            if sequence not in failed:
                continue
            figures.failed_last += 1
            message_id = json.loads(_data(record))["detail"]["messageId"]
            named = [
                line
                for line in lines
                if line.get("level") in ("WARNING", "ERROR")
                and (line.get("sequence_number") == sequence or line.get("message_id") == message_id)
            ]
            figures.explained += bool(named)
            figures.by_sequence += any(line.get("sequence_number") == sequence for line in named)
    return figures, (messages, months)


def _data(record: dict[str, Any]) -> bytes:
    return base64.b64decode(record["kinesis"]["data"])


def measure(
    arrivals: list[Arrival],
    *,
    rates: dict[str, float],
    seed: int,
    reference: tuple[dict, dict] | None,
    crashes: Crashes | None = None,
) -> tuple[Figures, tuple[dict, dict]]:
    faults = FaultInjector(seed=seed, rates=rates)
    started = time.perf_counter()
    emf = io.StringIO()
    # The handler prints its EMF metrics: the SpendUSD ones are compared with the ledger.
    with (
        contextlib.redirect_stdout(emf),
        warnings.catch_warnings(),
        events_world(faults=faults, log_level="INFO") as harness,
    ):
        warnings.simplefilter("ignore")  # Powertools: "No application metrics to publish"
        records = stream_records(harness, arrivals)
        faults.calls.clear()
        crashed: Counter = Counter()
        if crashes is not None:
            crashes.attach(harness.clients.dynamodb.meta.client, seed, crashed)
        played = play(harness, records)
        faults.enabled = False
        figures, state = figures_of(harness, played, arrivals, faults, emf.getvalue(), reference)
        figures.faults.update(crashed)
    figures.seconds = time.perf_counter() - started
    return figures, state


def print_events_fault_figures(count: int | None = None) -> None:
    count = count or int(
        os.environ.get("BENCH_FAULTS_EVENTS") or (20_000 if os.environ.get("BENCH_FAULTS_FULL") else DEFAULT_EVENTS)
    )
    base = messages_events(count, SEED)
    messages = len({a.event["detail"]["messageId"] for a in base})
    print(
        f"16. Delivery events handler under faults: {count:,} events of {messages:,} messages (out of order, some "
        f"twice), seeded; faults outside botocore's retries on DynamoDB; Kinesis batches of {BATCH_SIZE}, "
        f"bisected at the failed record, {RETRY_ATTEMPTS} retries, then the dead-letter queue "
        "(moto)"
    )
    print(
        f"   {'run':<24}{'events':>7}{'recs':>7}{'status!':>8}{'item!':>6}{'spend$':>10}{'parts':>6}{'2x':>4}"
        f"{'metric$':>10}{'DLQ':>6}{'fail':>5}{'expl':>5}{'seq#':>5}{'DDB/rec':>8}{'s':>5}"
    )
    reference: tuple[dict, dict] | None = None
    runs = [(name, rates, duplicates, None) for name, (rates, duplicates) in RUNS.items()]
    runs += [(name, {}, 0.0, crashes) for name, crashes in CRASH_RUNS.items()]
    for name, rates, duplicates, crashes in runs:
        arrivals = with_duplicates(base, duplicates, SEED)
        figures, state = measure(arrivals, rates=rates, seed=SEED, reference=reference, crashes=crashes)
        if reference is None:
            reference = state
        print(
            f"   {name:<24}{figures.events:>7}{figures.records_handled:>7}{figures.status_differs:>8}"
            f"{figures.item_differs:>6}{figures.spend_difference:>10.5f}{figures.parts_difference:>6}"
            f"{figures.counted_twice:>4}{figures.metric_difference:>10.5f}{figures.dead_lettered:>6}"
            f"{figures.failed_last:>5}{figures.explained:>5}{figures.by_sequence:>5}"
            f"{figures.calls / figures.events:>8.2f}{figures.seconds:>5.0f}"
        )
        if crashes is not None:
            died = ", ".join(f"{kind} {n}" for kind, n in sorted(figures.faults.items()) if kind.startswith("crash"))
            print(f"   {'':<24}(invocations died: {died})")
    print(
        "   recs: records handed to the function, retries included; status!/item!: messages whose ledger status/item "
        "differs from the clean run's; spend$/parts: months' totals minus the clean run's; 2x: messages counted "
        "twice; metric$: SpendUSD emitted minus spend counted; DLQ: records given up; fail: of those, failed on the "
        "last attempt; expl/seq#: of those, named by a warning or error line (by message id or sequence number / "
        "by sequence number)"
    )


if __name__ == "__main__":
    print_events_fault_figures()
