"""Campaign fan-out: a large CSV audience read in byte-range shards, on the emulators (moto S3, DynamoDB, Scheduler).

Prints, never asserts: the campaigns function (``handlers.campaigns``, wired as in Lambda) runs
one audience of ``BENCH_CAMPAIGN_ROWS`` rows (default 50,000) twice: read whole by one chain of
invocations (how every run was read before shards), then fanned out in
``BENCH_CAMPAIGN_SHARDS`` shards (default 4). For each: rows per second per worker, AWS calls
per row by operation, the first invocation's planning pass; then a projection to 1,000,000
rows with the default shard size: shards, time with the workers in parallel (and with the
construct's default reserved concurrency of 2), AWS calls and their cost at list prices.

SQS is an in-memory stand-in that takes every batch and counts it (moto's queue slows down as it
fills: it would measure moto). The template is transactional (no opt-in needed), so every row is looked up, rendered and
queued; contacts are not seeded (each lookup finds nothing, as for a new audience). The
emulators run in this process: the "in process" figures include their time (an upper bound
of the function's own); the projection adds the latency model of ``bench/latency.py`` for
every call. Sending is not measured here: it is bounded by the numbers' MPS (README, sizing).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import boto3
from aws_calls import CallCounter
from environment import REGION
from latency import LatencyModel
from moto import mock_aws

from two_way_sms.adapters.audience import AudienceReader
from two_way_sms.handlers import campaigns as campaigns_function
from two_way_sms.outbound.campaign import AudienceCsv, Campaign
from two_way_sms.outbound.campaign_shards import MAX_SHARDS, SHARD_BYTES, shard_count
from two_way_sms.outbound.templates import parse_template
from two_way_sms.services.campaign_continuations import CONTINUE_AFTER_SECONDS, CONTINUE_BELOW_MS
from two_way_sms.settings.campaigns import CampaignsSettings
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.emulation import create_outbound_table, create_tables

ROWS = int(os.environ.get("BENCH_CAMPAIGN_ROWS", "50000"))
SHARDS = int(os.environ.get("BENCH_CAMPAIGN_SHARDS", "4"))
PROJECTED_ROWS = 1_000_000
ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:campaigns"
NOON_EASTERN = datetime(2026, 3, 3, 17, 0, tzinfo=timezone.utc)
DEFAULT_RESERVED_CONCURRENCY = 2  # the Campaigns construct's default
FUNCTION_TIMEOUT_SECONDS = 300  # the Campaigns construct's default
MEMORY_GB = 0.5  # the Campaigns construct's default (512 MB)
# List prices, us-east-1 (the same as bench/run.py's, plus S3 and Scheduler).
DYNAMODB_PER_READ_UNIT = 0.125 / 1e6  # on-demand, strongly consistent item under 4 KB
DYNAMODB_PER_WRITE_UNIT = 0.625 / 1e6
SQS_PER_REQUEST = 0.40 / 1e6  # a SendMessageBatch of 10 small messages is one request (under 64 KB)
S3_PER_GET = 0.0004 / 1000  # GET and HEAD
SCHEDULER_PER_INVOCATION = 1.00 / 1e6  # one-time schedules: continuations and shard workers
LAMBDA_PER_GB_SECOND = 0.0000166667  # x86 (the construct's default architecture)
LAMBDA_PER_REQUEST = 0.20 / 1e6
CONTACT_ITEMS_PER_ROW = 2  # contact_states reads PROFILE and PROMOTIONAL_SENDS for each recipient


class _CountingQueue:
    """The outbound queue's SQS client, in memory: takes every batch (``SendMessageBatch``) and counts it."""

    def __init__(self, counter: CallCounter) -> None:
        self._counter = counter
        self.messages = 0

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self._counter.calls[("sqs", "SendMessageBatch")] += 1
        self.messages += len(Entries)
        return {"Successful": [{"Id": entry["Id"], "MessageId": entry["Id"]} for entry in Entries], "Failed": []}

    def send_message(self, **_: Any) -> dict[str, Any]:
        self._counter.calls[("sqs", "SendMessage")] += 1
        return {"MessageId": "parked"}


class _Context:
    """A Lambda context with all the time in the world: each worker reads its whole shard in one invocation."""

    invoked_function_arn = FUNCTION_ARN
    aws_request_id = "bench"
    function_name = "campaigns"
    memory_limit_in_mb = 512

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@dataclass
class Run:
    """One run of the audience: each invocation's wall time and rows, the calls by (service, operation)."""

    label: str
    invocations: list[tuple[str, float, int]]  # (what, seconds, rows read)
    calls: Counter[tuple[str, str]]
    rows: int
    status: str

    @property
    def seconds(self) -> float:
        return sum(seconds for _, seconds, _ in self.invocations)

    def calls_per_row(self) -> float:
        return sum(self.calls.values()) / self.rows

    def worker_rows_per_second(self) -> float:
        """Rows a second of one worker, over the invocations that read rows (the planning pass apart)."""
        reading = [(seconds, rows) for what, seconds, rows in self.invocations if rows]
        return sum(rows for _, rows in reading) / sum(seconds for seconds, _ in reading)


def audience_csv(rows: int) -> bytes:
    """A CSV of ``rows`` distinct US numbers, each with a first name (17 bytes a row)."""
    return ("phone_number,first_name\n" + "".join(f"+1206{2000000 + n:07d},Ana\n" for n in range(rows))).encode()


def print_campaign_fanout_figures() -> None:
    print(
        f"22. Campaign fan-out: an audience of {ROWS:,} rows read whole, then in {SHARDS} byte-range shards "
        "(bench/campaign_fanout.py)"
    )
    data = audience_csv(ROWS)
    logging.getLogger("two-way-sms").setLevel(logging.WARNING)
    with mock_aws():
        scene = _Scene()
        key = scene.put(data)
        whole = scene.run(key, run_id="whole", shard_bytes=len(data) + 1)
        sharded = scene.run(key, run_id="sharded", shard_bytes=len(data) // SHARDS + 1)
        plan_seconds = scene.plan_seconds(key, len(data) // SHARDS + 1)
    _print_run(whole)
    _print_run(sharded)
    print(
        f"   the first invocation's planning pass alone (HeadObject + one streamed GetObject, csv module only): "
        f"{plan_seconds:.2f} s, {ROWS / plan_seconds:,.0f} rows/s"
    )
    _print_projection(whole, sharded, plan_seconds / ROWS, len(data) / ROWS)


class _Scene:
    """The campaigns function wired to moto, as ``make_handler`` wires it in Lambda, with its calls counted."""

    def __init__(self) -> None:
        sqs = boto3.client("sqs", region_name=REGION)
        self.queue_url = sqs.create_queue(QueueName="outbound")["QueueUrl"]
        dead_letters = sqs.create_queue(QueueName="campaign-dead-letters")["QueueUrl"]
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        create_tables(dynamodb)
        create_outbound_table(dynamodb)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket="audiences")
        self.scheduler = boto3.client("scheduler", region_name=REGION)
        self.scheduler.create_schedule_group(Name="two-way-sms")
        self.settings = CampaignsSettings(
            outbound_queue_url=self.queue_url,
            outbound_table="outbound",
            contacts_table="contacts",
            templates={"notice": parse_template("notice", "Hi {first_name}, Example Clinic is closed Friday.")},
            schedule_group="two-way-sms",
            scheduler_role_arn=f"arn:aws:iam::{ACCOUNT}:role/scheduler",
            schedule_dead_letter_queue_arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:schedule-dead-letters",
            dead_letter_queue_url=dead_letters,
        )
        self.counter = CallCounter()
        self.clients = emulated_clients(sqs=_CountingQueue(self.counter))
        for client in (self.clients.s3, self.clients.scheduler, self.clients.dynamodb.meta.client):
            self.counter.attach(client)

    def put(self, data: bytes) -> AudienceCsv:
        self.s3.put_object(Bucket="audiences", Key="audience.csv", Body=data)
        return AudienceCsv("audiences", "audience.csv")

    def run(self, audience: AudienceCsv, *, run_id: str, shard_bytes: int) -> Run:
        handler = campaigns_function.make_handler(
            self.settings, self.clients, clock=lambda: NOON_EASTERN, audience_shard_bytes=shard_bytes
        )
        campaign = Campaign("bench", "notice", "TRANSACTIONAL", audience)
        events = [("first invocation", {"kind": "campaign", "campaign": campaign.to_dict(), "runId": run_id})]
        invocations: list[tuple[str, float, int]] = []
        self.counter.take()
        calls: Counter[tuple[str, str]] = Counter()
        status = ""
        while events:
            what, event = events.pop(0)
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # the function's logs and metrics
                result = handler(event, _Context())
            invocations.append((what, time.perf_counter() - started, sum(result.get("counts", {}).values())))
            calls += self.counter.take()
            status = result["status"]
            events += self._due_schedules()  # shard workers (the emulator's Scheduler does not fire them)
            self.counter.take()  # (the bench's own Scheduler and queue calls are not the function's)
        return Run(f"{run_id} ({len(invocations)} invocation(s))", invocations, calls, ROWS, status)

    def plan_seconds(self, audience: AudienceCsv, shard_bytes: int) -> float:
        reader = AudienceReader(s3_client=boto3.client("s3", region_name=REGION), shard_bytes=shard_bytes)
        started = time.perf_counter()
        reader.shards(audience)
        return time.perf_counter() - started

    def _due_schedules(self) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for summary in self.scheduler.list_schedules(GroupName="two-way-sms")["Schedules"]:
            name = summary["Name"]
            schedule = self.scheduler.get_schedule(Name=name, GroupName="two-way-sms")
            self.scheduler.delete_schedule(Name=name, GroupName="two-way-sms")
            found.append((name.split("-")[-2], json.loads(schedule["Target"]["Input"])))
        return sorted(found, key=lambda item: item[1].get("shard", {}).get("index", 0))


def _print_run(run: Run) -> None:
    by_operation = Counter({operation: n for (_, operation), n in run.calls.items()})
    shown = ", ".join(f"{operation} {n / run.rows:.4f}" for operation, n in by_operation.most_common())
    print(
        f"   {run.label}: {run.status}, {run.seconds:.1f} s in process in all, "
        f"{run.worker_rows_per_second():,.0f} rows/s per worker, {run.calls_per_row():.4f} AWS calls per row"
    )
    print(f"      calls per row: {shown}")
    if len(run.invocations) > 1:
        slowest = max(seconds for _, seconds, _ in run.invocations)
        each = ", ".join(f"{what} {seconds:.1f} s/{rows:,} rows" for what, seconds, rows in run.invocations)
        print(f"      invocations: {each}")
        print(
            f"      in parallel, the run would take the slowest invocation: {slowest:.1f} s "
            f"(one chain: {run.seconds:.1f} s, {run.seconds / slowest:.1f}x)"
        )


def _print_projection(whole: Run, sharded: Run, plan_seconds_per_row: float, bytes_per_row: float) -> None:
    model = LatencyModel.from_environment()
    rows = PROJECTED_ROWS
    size = rows * bytes_per_row
    shards = shard_count(int(size), SHARD_BYTES, MAX_SHARDS)
    per_shard = rows / shards
    # One row's time in a worker: the function's own (in process, emulators included) + each call's modelled latency.
    own = 1 / sharded.worker_rows_per_second()
    latency = sum(n * model.seconds(service) for (service, _), n in sharded.calls.items()) / sharded.rows
    per_row = own + latency
    usable = FUNCTION_TIMEOUT_SECONDS - CONTINUE_BELOW_MS / 1000  # an invocation continues itself after this

    def chain(rows_read: float) -> float:
        """Seconds for one worker to read ``rows_read`` rows, with its continuations' minute apart."""
        busy = rows_read * per_row
        return busy + max(math.ceil(busy / usable) - 1, 0) * CONTINUE_AFTER_SECONDS

    plan = rows * plan_seconds_per_row
    one_chain = chain(rows)
    parallel = plan + CONTINUE_AFTER_SECONDS + chain(per_shard)  # shard workers start a minute after the plan
    waves = math.ceil(shards / DEFAULT_RESERVED_CONCURRENCY)
    two_at_a_time = plan + waves * (CONTINUE_AFTER_SECONDS + chain(per_shard))
    invocations = shards * math.ceil(per_shard * per_row / usable)
    # Per page (scaled by rows, as the whole read made them) and per run, shard and invocation (counted).
    calls = Counter(
        {
            key: n * rows / whole.rows
            for key, n in whole.calls.items()
            if key[1] in ("SendMessageBatch", "BatchGetItem", "UpdateItem")
        }
    )
    calls[("s3", "HeadObject")] += 1
    calls[("s3", "GetObject")] += 1 + 2 * invocations  # the plan; the header and the range per invocation
    calls[("scheduler", "CreateSchedule")] += invocations - 1  # shard workers and continuations
    calls[("dynamodb", "GetItem")] += shards  # a shard's counters, read when it ends
    calls[("dynamodb", "UpdateItem")] += invocations + shards + 1  # run start, shard end, the plan
    lambda_seconds = rows * per_row + plan
    cost = {
        "DynamoDB": rows * CONTACT_ITEMS_PER_ROW * DYNAMODB_PER_READ_UNIT
        + sum(n for (svc, op), n in calls.items() if svc == "dynamodb" and op != "BatchGetItem")
        * DYNAMODB_PER_WRITE_UNIT,
        "SQS": sum(n for (svc, _), n in calls.items() if svc == "sqs") * SQS_PER_REQUEST,
        "S3": sum(n for (svc, _), n in calls.items() if svc == "s3") * S3_PER_GET,
        "Scheduler": invocations * SCHEDULER_PER_INVOCATION,
        "Lambda": lambda_seconds * MEMORY_GB * LAMBDA_PER_GB_SECOND + invocations * LAMBDA_PER_REQUEST,
    }
    print(
        f"   projection to {rows:,} rows ({size / 1e6:.0f} MB at {bytes_per_row:.0f} bytes a row; latency model: "
        f"{model.describe()}):"
    )
    print(
        f"      per row in a worker: {own * 1e3:.3f} ms in process + {latency * 1e3:.3f} ms of modelled AWS latency "
        f"= {1 / per_row:,.0f} rows/s per worker"
    )
    print(
        f"      one chain (before): {one_chain / 60:.0f} min; {shards} shards of {per_shard:,.0f} rows "
        f"({SHARD_BYTES // 2**20} MiB each, at most {MAX_SHARDS}): {parallel / 60:.1f} min with {shards} workers in "
        f"parallel (planning pass {plan:.0f} s + the workers' first minute), {two_at_a_time / 60:.1f} min with the "
        f"default reserved concurrency of {DEFAULT_RESERVED_CONCURRENCY} ({waves} waves)"
    )
    print(
        f"      AWS calls: {sum(calls.values()):,.0f} ({sum(calls.values()) / rows:.3f} per row: "
        + ", ".join(f"{op} {n:,.0f}" for (_, op), n in calls.most_common())
        + f"); {invocations} invocations"
    )
    print(
        f"      cost at list prices: ${sum(cost.values()):.2f} per million rows fanned out ("
        + ", ".join(f"{name} ${value:.3f}" for name, value in cost.items())
        + "); idle: $0 (no new resource: shards are one-time schedules of the same function)"
    )
    print(
        "      the texts themselves go at the numbers' MPS: 1,000,000 one-part texts take 2.8 h on a 100 MPS short "
        "code, 3.9 days on one 3 MPS toll-free number (README, sizing)"
    )


if __name__ == "__main__":
    print_campaign_fanout_figures()
