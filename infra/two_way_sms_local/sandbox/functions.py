"""The stack's Lambda functions, run in this process with the settings the template gives them.

For each ``AWS::Lambda::Function`` whose ``Handler`` is one of the package's
(``two_way_sms.handlers.<name>.handler``), the function's ``Environment.Variables`` are
resolved against the emulated resources, read by its typed contract
(``<Name>Settings.from_environment``: the same check the construct runs at synth and the
handler at start-up) and handed to ``make_handler(settings, clients, ...)`` with clients on
moto and the SMS emulator. No variable goes into ``os.environ``: the functions share the
process. The sandbox clock goes to every ``make_handler`` that takes one.

An invocation gets a Lambda context whose remaining time runs on the sandbox clock from the
function's ``Timeout``. What it prints (Powertools' metrics) and logs is kept in ``output``,
not shown on the terminal.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import logging
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from two_way_sms.handlers.wiring import AwsClients
from two_way_sms_local.sandbox.clock import SandboxClock
from two_way_sms_local.sandbox.template import ACCOUNT, REGION

HANDLER_PREFIX = "two_way_sms.handlers."
SETTINGS = {
    "inbound": "two_way_sms.settings.inbound:InboundSettings",
    "sender": "two_way_sms.settings.sender:SenderFunctionSettings",
    "campaigns": "two_way_sms.settings.campaigns:CampaignsSettings",
    "events": "two_way_sms.settings.events:EventsSettings",
}
# What each handler's make_handler is given of the sandbox clock, when its signature takes it.
# (The events handler takes none: it reads the events' own timestamps.)
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME": "two-way-sms", "POWERTOOLS_TRACE_DISABLED": "true"}
OUTPUT_LINES = 2000


def clock_arguments(label: str, clock: SandboxClock) -> dict[str, Any]:
    if label == "inbound":
        return {"clock": clock.now, "sleep": clock.sleep}
    if label == "sender":
        return {"clock": clock}
    if label == "campaigns":
        return {"clock": lambda: datetime.fromtimestamp(clock.now(), tz=timezone.utc)}
    return {}


@dataclass
class LambdaContext:
    """The context Lambda passes: the remaining time counts down on the sandbox clock."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline: float
    clock: SandboxClock
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "sandbox"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self.clock.now()) * 1000))


@dataclass
class Function:
    logical_id: str
    label: str  # inbound, sender, campaigns, events
    name: str
    arn: str
    handler_path: str  # two_way_sms.handlers.inbound.handler
    timeout: int
    memory: int
    environment: dict[str, str]
    handler: Callable[[dict[str, Any], Any], Any] | None = None
    settings: Any = None
    problem: str | None = None  # why it could not be wired (then it is never invoked)
    invocations: int = 0
    errors: int = 0

    def invoke(self, event: dict[str, Any], clock: SandboxClock, output: FunctionOutput) -> Any:
        if self.handler is None:
            raise RuntimeError(f"function {self.label} is not wired: {self.problem}")
        self.invocations += 1
        context = LambdaContext(
            function_name=self.name,
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.memory,
            aws_request_id=f"{self.label}-{self.invocations:06d}",
            deadline=clock.now() + self.timeout,
            clock=clock,
            log_group_name=f"/aws/lambda/{self.name}",
        )
        with output.capture(self.label):
            try:
                return self.handler(event, context)
            except Exception:
                self.errors += 1
                raise


class FunctionOutput:
    """What the functions printed and logged (newest last), kept off the terminal."""

    def __init__(self, logger_names: set[str]) -> None:
        self.lines: deque[str] = deque(maxlen=OUTPUT_LINES)
        self._logger_names = logger_names
        self._saved: dict[str, tuple[list[logging.Handler], bool]] = {}
        self._buffer = _Lines(self.lines)

    def install(self) -> None:
        """The handler modules' loggers write here (their JSON formatter kept) instead of stdout."""
        for name in self._logger_names:
            named = logging.getLogger(name)
            self._saved[name] = (list(named.handlers), named.propagate)
            handler = logging.StreamHandler(self._buffer)
            if named.handlers:
                handler.setFormatter(named.handlers[0].formatter)
            named.handlers = [handler]
            named.propagate = False

    def restore(self) -> None:
        for name, (handlers, propagate) in self._saved.items():
            named = logging.getLogger(name)
            named.handlers, named.propagate = handlers, propagate
        self._saved.clear()

    @contextlib.contextmanager
    def capture(self, label: str) -> Iterator[None]:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "No application metrics to publish": a batch with nothing to count
            try:
                yield
            finally:
                self.lines.extend(f"{label}: {line}" for line in printed.getvalue().splitlines() if line.strip())


class _Lines(io.TextIOBase):
    def __init__(self, lines: deque[str]) -> None:
        self._lines = lines

    def write(self, text: str) -> int:
        self._lines.extend(line for line in text.splitlines() if line.strip())
        return len(text)


def powertools_environment(environment: dict[str, str]) -> list[str]:
    """What Powertools reads when a handler module creates its Logger and Metrics: process-wide (the
    functions share these values), set before the handler modules are imported, never overriding.
    Returns the names it set (the sandbox removes them when it closes)."""
    wanted = {
        name: environment[name]
        for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE")
        if environment.get(name)
    }
    added = []
    for name, value in {**POWERTOOLS, **wanted}.items():
        if name not in os.environ:
            os.environ[name] = value
            added.append(name)
    return added


def wire(function: Function, clients: AwsClients, sms: Any, clock: SandboxClock) -> None:
    """Reads the function's settings and builds its handler; on failure records why in ``problem``."""
    module_name = function.handler_path.rsplit(".", 1)[0]
    settings_path = SETTINGS.get(function.label)
    if settings_path is None:
        function.problem = f"no settings contract known for handler {function.handler_path}"
        return
    try:
        settings_module, settings_class = settings_path.split(":")
        contract = getattr(importlib.import_module(settings_module), settings_class)
        function.settings = contract.from_environment(function.environment)
        module = importlib.import_module(module_name)
        make_handler = module.make_handler
        accepted = inspect.signature(make_handler).parameters
        extra = {k: v for k, v in clock_arguments(function.label, clock).items() if k in accepted}
        function.handler = make_handler(function.settings, replace(clients, sms=sms), **extra)
    except Exception as error:  # a handler that cannot start: shown, never invoked
        function.problem = f"{type(error).__name__}: {error}"


def label_of(handler_path: str) -> str | None:
    """``inbound`` for ``two_way_sms.handlers.inbound.handler``; None for a handler not of the package."""
    if not handler_path.startswith(HANDLER_PREFIX):
        return None
    return handler_path[len(HANDLER_PREFIX) :].split(".")[0]


def lambda_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


@dataclass
class InvocationRecord:
    at: float
    function: str
    trigger: str  # "sqs <queue>", "kinesis", "schedule <name>", "retry 2"
    records: int
    failed: int
    error: str | None = None


@dataclass
class Activity:
    """The invocations so far (newest last): what ran, on what, and how it ended."""

    records: deque[InvocationRecord] = field(default_factory=lambda: deque(maxlen=500))

    def add(self, record: InvocationRecord) -> None:
        self.records.append(record)
