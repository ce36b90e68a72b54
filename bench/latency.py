"""The latency model the issue-15 sections share: how long each AWS call takes, and the stack's shape.

``LatencyModel`` gives each call a latency by service (DynamoDB, End User Messaging, SQS,
EventBridge, Scheduler, Kinesis, anything else), in milliseconds, overridable by environment
variables (``BENCH_LATENCY_DYNAMODB_MS=8`` ...). The defaults are the issue's: AWS publishes
"single-digit millisecond" for DynamoDB; the others are commonly measured round trips from a
Lambda function in the same region, not published figures.

A call's latency is split in two halves around the emulated call: the request travels
(half), the service applies it at that instant (the emulator's clock reads then), the answer
travels back (half). Nothing else takes time in the model: the handler's own code, Lambda's
invoke, jitter, throttling and retries are left out (each section says so).

``StackShape`` reads from the synthesized default template what sizes the concurrency: the
event source mappings' batch sizes and maximum concurrency, the functions' timeouts, the
stream's shards (``two_way_sms_cdk.costs.synthesize_template``: the stack as ``app.py`` builds it).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from environment import REPO_ROOT

ENV_PREFIX = "BENCH_LATENCY_"
SERVICE_FIELDS = {  # botocore's service name -> the model's field
    "dynamodb": "dynamodb_ms",
    "pinpoint-sms-voice-v2": "sms_ms",
    "sqs": "sqs_ms",
    "events": "events_ms",
    "scheduler": "scheduler_ms",
    "kinesis": "kinesis_ms",
}


@dataclass(frozen=True)
class LatencyModel:
    """Milliseconds per call, by service (a round trip from a Lambda function in the same region)."""

    dynamodb_ms: float = 5.0  # AWS: "single-digit millisecond" at any scale
    sms_ms: float = 40.0  # SendTextMessage (every End User Messaging call)
    sqs_ms: float = 10.0  # SendMessageBatch, and the event source's ReceiveMessage
    events_ms: float = 15.0  # PutEvents
    scheduler_ms: float = 20.0  # CreateSchedule
    kinesis_ms: float = 10.0  # the event source's GetRecords (our assumption: not in the issue)
    other_ms: float = 10.0  # SSM, KMS, anything else (our assumption)

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] = os.environ) -> LatencyModel:
        values: dict[str, float] = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.removesuffix("_ms").upper() + "_MS"
            if environment.get(name):
                values[f.name] = float(environment[name])
        return cls(**values)

    def seconds(self, service: str) -> float:
        return float(getattr(self, SERVICE_FIELDS.get(service, "other_ms"))) / 1000

    def describe(self) -> str:
        shown = ", ".join(
            f"{label} {getattr(self, name):g} ms"
            for label, name in (
                ("DynamoDB", "dynamodb_ms"),
                ("SendTextMessage", "sms_ms"),
                ("SQS", "sqs_ms"),
                ("PutEvents", "events_ms"),
                ("Scheduler", "scheduler_ms"),
                ("Kinesis GetRecords", "kinesis_ms"),
                ("other", "other_ms"),
            )
        )
        overridden = [n for n in os.environ if n.startswith(ENV_PREFIX)]
        return shown + (f" (set by {', '.join(sorted(overridden))})" if overridden else " (defaults)")


class LatencyLedger:
    """Counts each call's latency without waiting (for a handler whose calls run one after another:
    its critical path is their sum). ``attach`` hooks a boto3 client; ``record`` anything else."""

    def __init__(self, model: LatencyModel) -> None:
        self.model = model
        self.seconds = 0.0
        self.calls: Counter = Counter()

    def attach(self, client: Any) -> None:
        client.meta.events.register_first("before-call.*.*", self._before, unique_id=f"latency-ledger-{id(self)}")

    def _before(self, model: Any, **_: Any) -> None:
        self.record(model.service_model.service_name, model.name)

    def record(self, service: str, operation: str) -> None:
        self.calls[(service, operation)] += 1
        self.seconds += self.model.seconds(service)

    def take(self) -> tuple[Counter, float]:
        taken = (self.calls, self.seconds)
        self.calls, self.seconds = Counter(), 0.0
        return taken


def wrap_methods(target: Any, before: Any, service: str) -> None:
    """Each method of ``target`` (an emulator standing in for a boto3 client of ``service``) that is one of the
    service's operations calls ``before(service, operation)`` first. Set on the instance, so the handler's
    ``client.send_text_message(...)`` finds it; the emulator's own helpers are left alone."""
    import botocore.session
    from botocore import xform_name

    operations = botocore.session.get_session().get_service_model(service).operation_names
    for operation in operations:
        name = xform_name(operation)
        method = getattr(target, name, None)
        if method is None:
            continue

        def wrapped(*args: Any, _method: Any = method, _operation: str = operation, **kwargs: Any) -> Any:
            before(service, _operation)
            return _method(*args, **kwargs)

        setattr(target, name, wrapped)


# -- the stack's shape, from the synthesized template ---------------------------------------------------------
@dataclass(frozen=True)
class EventSource:
    function: str  # the function's logical id
    batch_size: int
    max_concurrency: int | None  # SQS: ScalingConfig.MaximumConcurrency
    parallelization: int  # Kinesis: ParallelizationFactor
    batching_window: int


@dataclass(frozen=True)
class StackShape:
    sender: EventSource
    inbound: EventSource
    events: EventSource
    timeouts: dict[str, int]  # function logical id -> seconds
    shards: int | None  # the delivery events stream's (None: ON_DEMAND)

    def timeout(self, source: EventSource) -> int:
        return self.timeouts.get(source.function, 60)


def shape_of(template: Mapping[str, Any]) -> StackShape:
    resources = template["Resources"]
    sources: dict[str, EventSource] = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        p = resource["Properties"]
        function = p["FunctionName"]["Ref"]
        handler = resources[function]["Properties"]["Handler"]
        kind = handler.split(".")[-2]  # two_way_sms.handlers.<kind>.handler
        sources[kind] = EventSource(
            function,
            int(p.get("BatchSize", 10)),
            p.get("ScalingConfig", {}).get("MaximumConcurrency"),
            int(p.get("ParallelizationFactor", 1)),
            int(p.get("MaximumBatchingWindowInSeconds", 0)),
        )
    timeouts = {
        logical_id: int(r["Properties"].get("Timeout", 3))
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function"
    }
    streams = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Kinesis::Stream"]
    shards = None
    if streams and streams[0].get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED") == "PROVISIONED":
        shards = int(streams[0].get("ShardCount", 1))
    return StackShape(sources["sender"], sources["inbound"], sources["events"], timeouts, shards)


@lru_cache(maxsize=1)
def default_template() -> dict[str, Any]:
    """The default config's template (cdk.json), synthesized once per process."""
    from two_way_sms_cdk.costs import synthesize_template

    return synthesize_template(repo_root=REPO_ROOT)


def default_shape() -> StackShape:
    return shape_of(default_template())
