"""Section 15: the outbound sender under injected faults, duplicates and SQS redelivery.

The real sender handler on the emulated world its integration tests use
(``two_way_sms_local.sender_world``): the SMS emulator on a simulated clock (a toll-free
number's 3 MPS, so every batch is booked on the number's shared schedule and each send waits
for its slot; the emulator throttles any send beyond the MPS), and an SQS emulation with the
visibility timeout and receive counts of the construct (180 s, the dead-letter queue after
the fifth receive). The workload, seeded: send requests arriving over five minutes, mostly
TRANSACTIONAL, about a third PROMOTIONAL to contacts who opted in, a few to contacts opted
out in our table or on the number's opt-out list; a quarter are two-part texts.

Faults are injected outside botocore's retry loop (``two_way_sms_local.faults``) on the
handler's DynamoDB client (every table) and on its SMS client, at the rates of section 14:
throttles, server and connection errors, answers lost after the call succeeded; in the
duplicates runs 10 % of the requests are submitted again, one to ten minutes later. A clean
run of the same workload is the reference for which requests should be texted.

DynamoDB and EventBridge Scheduler are moto (~25 s a run of 1,000 requests: moto evaluates
the ledger's update expression slowly), so the faulty runs go side by side, one process each,
after the clean one. The queue the harness plays checks each SendMessageBatch against the SQS
service model instead of sending it to moto (which rescans every message it ever held on each
send); ``BENCH_FAULTS_SQS_MOTO=1`` sends them to moto too. ``BENCH_FAULTS_FULL=1`` runs 10,000
requests.

Printed per run: requests, SQS receives, texts, requests texted more than once (must be 0),
requests never texted although the clean run texted them and not dead-lettered (should be 0;
a request recorded UNKNOWN is not sent again by design and is counted apart), outcomes by
status, dead-lettered records and how many the logs explain, AWS calls per request, seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import random
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import environment  # noqa: F401  (the import path)
from inbound_faults import RUNS

from two_way_sms_local.faults import FaultInjector
from two_way_sms_local.sender_world import MPS, send_request, sender_world

SEED = 15
ARRIVAL_SECONDS = 300  # the requests arrive over five minutes (SQS DelaySeconds, at most 900)
MIX = {  # kind -> weight
    "transactional": 62,
    "promotional": 30,  # to a contact who opted in
    "opted_out_in_table": 4,  # a STOP recorded in our contacts table: refused before any call
    "on_opt_out_list": 4,  # only the number's opt-out list knows: refused by the service, then learned
}
LONG_BODY = "Your order 4411 has shipped and is on its way; track it any time in the app. " * 2  # 2 parts
EXPECTED_REFUSALS = ("OPTED_OUT", "NO_OPT_IN", "OVER_DAILY_LIMIT")


@dataclass(frozen=True)
class Request:
    key: str
    number: str
    kind: str
    body: dict[str, Any]
    at: float  # seconds after the start
    again_at: float | None = None  # a duplicate submission, when there is one


@dataclass
class Figures:
    requests: int = 0
    receives: int = 0
    texts: int = 0
    texted_twice: int = 0
    never_texted: int = 0  # the clean run texted it; this one never did; not dead-lettered; not UNKNOWN
    missing: list = field(default_factory=list)
    missing_in_dead_letters: int = 0
    unknown_not_sent: int = 0  # recorded UNKNOWN although no text went
    unknown_answered: int = 0  # recorded UNKNOWN although the send's answer (its message id) reached the handler
    outcomes: Counter = field(default_factory=Counter)
    dead_lettered: int = 0
    explained: int = 0  # the logs alone say it: a line saying dead-letter queue, or the processor's line at receive 5
    named: int = 0  # a failure line names it on its last receive (without saying it was the last)
    mps_exceeded: int = 0  # throttles the emulator drew because the number's MPS was exceeded
    not_in_ledger: int = 0  # texts whose message id has no ledger item
    calls: int = 0  # DynamoDB + SMS calls (the injector's count) + the handler's SQS SendMessageBatch
    faults: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def workload(count: int, seed: int, duplicates: float) -> list[Request]:
    """``count`` send requests (unique keys) with their arrival times; ``duplicates`` of them submitted again."""
    rng = random.Random(seed)
    kinds, weights = list(MIX), list(MIX.values())
    out = []
    for index in range(count):
        kind = rng.choices(kinds, weights)[0]
        number = f"+1206{2_000_000 + index:07d}"  # Seattle: noon, nobody's quiet hours
        body = LONG_BODY if rng.random() < 0.25 else f"Your code is {rng.randint(100000, 999999)}."
        message_type = (
            "PROMOTIONAL" if kind == "promotional" or (kind == "opted_out_in_table" and index % 2) else "TRANSACTIONAL"
        )
        if message_type == "PROMOTIONAL":
            body = "Spring sale: 20% off everything this week." if body != LONG_BODY else body
        out.append(
            Request(
                f"req-{index:05d}",
                number,
                kind,
                send_request(f"req-{index:05d}", destination=number, message_type=message_type, body=body),
                rng.uniform(0, ARRIVAL_SECONDS),
            )
        )
    dup_rng = random.Random(seed + 1)
    return [
        Request(
            r.key,
            r.number,
            r.kind,
            r.body,
            r.at,
            r.at + dup_rng.uniform(60, 600) if dup_rng.random() < duplicates else None,
        )
        for r in out
    ]


@contextlib.contextmanager
def faulty_sender(faults: FaultInjector, *, sqs_through_moto: bool) -> Iterator[tuple[Any, Answered]]:
    """``sender_world`` (conversations off) with the injector on the handler's DynamoDB client and around
    the SMS emulator; the second value remembers which sends' answers reached the handler."""
    answered: list[Answered] = []

    def wrap(emulator: Any) -> Answered:
        answered.append(Answered(faults.wrap_sms(emulator)))
        return answered[0]

    with sender_world(conversations=False, wrap_sms=wrap, sqs_through_moto=sqs_through_moto) as harness:
        faults.attach(harness.clients.dynamodb.meta.client)
        yield harness, answered[0]


class Answered:
    """The SMS client the handler sees: remembers the message ids whose answer reached the handler."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.message_ids: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name != "send_text_message":
            return attribute

        def send_text_message(**params: Any) -> Any:
            response = attribute(**params)
            self.message_ids.add(response["MessageId"])
            return response

        return send_text_message


def run(harness: Any, requests: list[Request], faults: FaultInjector) -> dict[str, Any]:
    """Sets up the contacts (no faults), submits every request at its time and drains the queue."""
    faults.enabled = False
    for request in requests:
        if request.kind in ("promotional", "opted_out_in_table"):
            harness.opt_in(request.number)
        if request.kind == "opted_out_in_table":
            harness.opt_out(request.number)
        elif request.kind == "on_opt_out_list":
            harness.sms.opted_out.add(request.number)
    faults.calls.clear()
    faults.injected.clear()
    faults.enabled = True
    arrivals = sorted([(r.at, r.body) for r in requests] + [(r.again_at, r.body) for r in requests if r.again_at])
    for first in range(0, len(arrivals), 10):
        harness.recording.send_message_batch(
            QueueUrl=harness.queue_url,
            Entries=[
                {"Id": str(n), "MessageBody": json.dumps(body), "DelaySeconds": min(900, int(at))}
                for n, (at, body) in enumerate(arrivals[first : first + 10])
            ],
        )

    invocations: list[tuple[int, int, dict[str, int]]] = []  # (log offset before, after, {record id: receive})
    app = harness.app
    sqs_calls = [0]
    recording_send = harness.recording.send_message_batch

    def counted_send(**kwargs: Any) -> dict:
        sqs_calls[0] += 1
        return recording_send(**kwargs)

    def observed(event: dict, context: Any) -> dict:
        before = harness.logs.tell()  # (the buffer only grows: its position is its length)
        try:
            return app.handler(event, context)
        finally:
            receives = {r["messageId"]: int(r["attributes"]["ApproximateReceiveCount"]) for r in event["Records"]}
            invocations.append((before, harness.logs.tell(), receives))

    harness.recording.send_message_batch = counted_send
    harness.app = dataclasses.replace(app, handler=observed)
    try:
        harness.drain(max_invocations=200 * len(arrivals))
    finally:
        harness.app = app
        harness.recording.send_message_batch = recording_send
        faults.enabled = False
    return {"invocations": invocations, "calls": len(faults.calls) + sqs_calls[0]}


def figures_of(
    harness: Any,
    answered: Answered,
    requests: list[Request],
    outcome: dict[str, Any],
    faults: FaultInjector,
    reference: set[str] | None,
) -> Figures:
    figures = Figures(requests=len(requests))
    texts = Counter(text.context.get("sendKey") for text in harness.sms.sent)
    figures.texts = sum(texts.values())
    figures.texted_twice = sum(n > 1 for n in texts.values())
    found = harness.app.outcomes.get_many(r.key for r in requests)
    outcomes = {r.key: found.get(r.key) for r in requests}
    figures.outcomes = Counter(o.status if o is not None else "none" for o in outcomes.values())
    dead = harness.dead_letters
    dead_keys = {json.loads(m.body)["idempotencyKey"] for m in dead}
    figures.dead_lettered = len(dead)
    figures.explained, figures.named = _explained(
        harness.logs.getvalue(), outcome["invocations"], dead, harness.max_receive_count
    )
    figures.unknown_not_sent = sum(
        o is not None and o.status == "UNKNOWN" and texts[key] == 0 for key, o in outcomes.items()
    )
    answered = {text.context.get("sendKey") for text in harness.sms.sent if text.message_id in answered.message_ids}
    figures.unknown_answered = sum(
        o is not None and o.status == "UNKNOWN" and key in answered for key, o in outcomes.items()
    )
    for request in requests:
        if texts[request.key] or (reference is not None and request.key not in reference):
            continue
        if reference is None:  # the clean run: anything not refused for an expected reason counts
            o = outcomes[request.key]
            if o is not None and o.status == "REFUSED" and o.reason in EXPECTED_REFUSALS:
                continue
        o = outcomes[request.key]
        if request.key in dead_keys:
            figures.missing_in_dead_letters += 1
        elif o is None or o.status != "UNKNOWN":
            figures.never_texted += 1
            figures.missing.append((request.key, o))
    figures.receives = sum(len(receives) for _, _, receives in outcome["invocations"])
    figures.mps_exceeded = harness.sms.throttles
    figures.calls = outcome["calls"]
    figures.not_in_ledger = sum(harness.app.ledger.get(text.message_id) is None for text in harness.sms.sent)
    figures.faults = Counter(faults.injected)
    return figures


def _explained(logs: str, invocations: list, dead: list, max_receives: int) -> tuple[int, int]:
    """(explained by the logs alone, named by a failure line on the last receive) among ``dead``."""
    last_receive = {}  # record id -> (log slice of the invocation that received it the last time)
    for before, after, receives in invocations:
        for record_id, count in receives.items():
            if count >= max_receives:
                last_receive[record_id] = (before, after)
    explained = named = 0
    for message in dead:
        before, after = last_receive.get(message.message_id, (0, 0))
        lines = [json.loads(line) for line in logs[before:after].splitlines() if line.startswith("{")]
        mine = [line for line in lines if line.get("sqs_message_id") == message.message_id]
        failures = [line for line in mine if line.get("level") == "ERROR"]
        named += bool(failures)
        explained += any(
            "dead-letter queue" in line.get("message", "")
            or (
                line.get("message", "").startswith("record failed; it goes back to its queue")
                and str(line.get("receive_count")) == str(max_receives)
            )
            for line in mine
        )
    return explained, named


def measure(
    requests: list[Request], *, rates: dict[str, float], seed: int, sqs_through_moto: bool, reference: set[str] | None
) -> tuple[Figures, set[str]]:
    faults = FaultInjector(seed=seed, rates=rates)
    random.seed(seed)  # the handler's back-off jitter: the same run every time
    started = time.perf_counter()
    # The handler prints its EMF metrics: not part of the figures.
    with (
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
        faulty_sender(faults, sqs_through_moto=sqs_through_moto) as (harness, answered),
    ):
        warnings.simplefilter("ignore")  # Powertools: "No application metrics to publish"
        outcome = run(harness, requests, faults)
        figures = figures_of(harness, answered, requests, outcome, faults, reference)
        texted = {text.context.get("sendKey") for text in harness.sms.sent}
    figures.seconds = time.perf_counter() - started
    return figures, texted


def _measure_run(
    count: int, rates: dict[str, float], duplicates: float, sqs_through_moto: bool, reference: set[str]
) -> Figures:
    figures, _ = measure(
        workload(count, SEED, duplicates),
        rates=rates,
        seed=SEED,
        sqs_through_moto=sqs_through_moto,
        reference=reference,
    )
    return figures


def _print_row(name: str, figures: Figures) -> None:
    o = figures.outcomes
    print(
        f"   {name:<24}{figures.requests:>6}{figures.receives:>6}{figures.texts:>6}{figures.texted_twice:>4}"
        f"{figures.never_texted:>6}{figures.missing_in_dead_letters:>6}{figures.unknown_not_sent:>6}"
        f"{figures.unknown_answered:>6}"
        f"{o['SENT']:>6}{o['UNKNOWN']:>5}{o['REFUSED']:>5}{o['HELD']:>5}{o['none']:>5}"
        f"{figures.dead_lettered:>5}{figures.explained:>5}{figures.named:>6}{figures.not_in_ledger:>6}"
        f"{figures.mps_exceeded:>5}{figures.calls / figures.requests:>10.2f}{figures.seconds:>5.0f}"
    )


def print_sender_fault_figures(count: int | None = None) -> None:
    sqs_through_moto = bool(os.environ.get("BENCH_FAULTS_SQS_MOTO"))
    count = count or (10_000 if os.environ.get("BENCH_FAULTS_FULL") else 1_000)
    print(
        f"15. Sender under faults: {count:,} send requests arriving over {ARRIVAL_SECONDS // 60} minutes to a "
        f"{MPS:g} MPS number, seeded; faults outside botocore's retries on DynamoDB and SMS, SQS redelivery after "
        f"180 s, dead-letter queue after 5 receives (moto DynamoDB)"
    )
    print(
        f"   {'run':<24}{'reqs':>6}{'recv':>6}{'texts':>6}{'2x':>4}{'never':>6}{'inDLQ':>6}{'unkn0':>6}{'unknA':>6}"
        f"{'SENT':>6}{'UNKN':>5}{'REFU':>5}{'HELD':>5}{'none':>5}{'DLQ':>5}{'expl':>5}{'named':>6}{'!ledg':>6}"
        f"{'MPS!':>5}{'calls/req':>10}{'s':>5}"
    )
    (clean_name, (clean_rates, clean_duplicates)), *faulty = RUNS.items()
    clean, reference = measure(
        workload(count, SEED, clean_duplicates),
        rates=clean_rates,
        seed=SEED,
        sqs_through_moto=sqs_through_moto,
        reference=None,
    )
    _print_row(clean_name, clean)
    # The faulty runs are independent worlds (moto's, one per process): side by side, against the clean run.
    with ProcessPoolExecutor(max_workers=min(len(faulty), os.cpu_count() or 1)) as pool:
        results = pool.map(
            _measure_run,
            *zip(*[(count, rates, duplicates, sqs_through_moto, reference) for _, (rates, duplicates) in faulty]),
        )
        for (name, _), figures in zip(faulty, results):
            _print_row(name, figures)
    print(
        "   recv: SQS receives; 2x: texted more than once; never: texted by the clean run, not here, neither "
        "dead-lettered nor UNKNOWN (inDLQ: dead-lettered); unkn0/unknA: UNKNOWN though no text went/though its "
        "message id came back; none: no outcome; "
        "expl: the logs alone say it went to the DLQ; named: an error line names it on its last receive; "
        "!ledg: texts without a ledger item; MPS!: throttles for exceeding the MPS; calls: DynamoDB, SMS, SQS; "
        "s: wall seconds (the faulty runs side by side)"
    )


if __name__ == "__main__":
    print_sender_fault_figures()
