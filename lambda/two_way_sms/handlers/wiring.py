"""What every handler module shares: the boto3 clients it is given, and wiring on first call.

A handler module holds no mutable state of its own. It exposes ``make_handler(settings,
clients)``, which builds the adapters and the service once and returns the Lambda entry
point, and ``handler = wired_on_first_call(...)`` for the Lambda runtime, which reads the
environment and creates the clients when the function first runs. Tests call
``make_handler`` with the settings and clients they want (a stubbed SMS client, moto's
DynamoDB) instead of importing the module again.

Cold start: a client is created at its first use, DynamoDB's without boto3's resource layer
(``DynamoDbTables``), and X-Ray's SDK is imported only by a
function that traces (``FunctionTracer``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import boto3
from aws_lambda_powertools import Tracer
from botocore.config import Config

from two_way_sms.adapters.dynamodb_tables import DynamoDbTables

LambdaHandler = Callable[[dict[str, Any], Any], Any]
Traced = TypeVar("Traced", bound=Callable[..., Any])


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients the functions use, each created at its first use."""

    dynamodb: Any  # ``Table(name)`` for the table adapters: a client speaking Python types (DynamoDbTables)
    sms: Any  # pinpoint-sms-voice-v2
    sqs: Any
    events: Any
    ssm: Any
    kms: Any
    scheduler: Any
    s3: Any

    @classmethod
    def from_default_session(cls, configs: Mapping[str, Config] | None = None) -> AwsClients:
        """Clients of the default session, so ``AWS_ENDPOINT_URL_<SERVICE>`` points them at an emulator;
        ``configs`` gives a client its own botocore ``Config`` by field name (``{"sms": Config(...)}``)."""
        configs = dict(configs or {})
        unknown = sorted(set(configs) - set(_CLIENTS) - {"dynamodb"})
        if unknown:
            raise ValueError(f"no AWS client named {', '.join(unknown)}; the clients are {', '.join(_CLIENTS)}")
        settings = {name: {"config": config} for name, config in configs.items()}  # none: boto3's defaults
        return cls(
            dynamodb=_Lazy(lambda: DynamoDbTables(boto3.client("dynamodb", **settings.get("dynamodb", {})))),
            **{
                name: _Lazy(lambda service=service, name=name: boto3.client(service, **settings.get(name, {})))  # type: ignore[misc]
                for name, service in _CLIENTS.items()
            },
        )


_CLIENTS = {
    "sms": "pinpoint-sms-voice-v2",
    "sqs": "sqs",
    "events": "events",
    "ssm": "ssm",
    "kms": "kms",
    "scheduler": "scheduler",
    "s3": "s3",
}


class _Lazy:
    """A boto3 client or resource created at its first use: a function pays only for the services it calls."""

    def __init__(self, create: Callable[[], Any]) -> None:
        self._create = create
        self._made: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if self._made is None:
            with self._lock:
                if self._made is None:
                    self._made = self._create()
        return getattr(self._made, name)


def wired_on_first_call(wire: Callable[[], LambdaHandler]) -> LambdaHandler:
    """The Lambda entry point: ``wire()`` (settings from the environment, clients, service) runs
    once, at the first invocation, and its handler serves every invocation after it."""
    wired: list[LambdaHandler] = []
    lock = threading.Lock()

    def handler(event: dict[str, Any], context: Any) -> Any:
        if not wired:
            with lock:
                if not wired:
                    wired.append(wire())
        return wired[0](event, context)

    return handler


class FunctionTracer:
    """Powertools' ``Tracer`` where the function is traced, and nothing where it is not.

    Powertools' ``Tracer()`` imports the X-Ray SDK even when tracing is off, and off Lambda the
    SDK's recorder then creates its own botocore session and X-Ray clients: more than
    ``import boto3`` itself. Off Lambda (tests, the benchmarks, the sandbox) and with
    ``POWERTOOLS_TRACE_DISABLED`` Powertools traces nothing anyway, so neither is imported;
    on Lambda with active tracing the decorators are Powertools' own (the SDK and its patching
    of botocore then cost about a third of ``import boto3``: ``make bench``, section 2).
    """

    def __init__(self, environment: Mapping[str, str] | None = None) -> None:
        from_environment = os.environ if environment is None else environment
        # Creating the Tracer is what imports the SDK (importing the class does not).
        self._tracer = Tracer() if tracing_enabled(from_environment) else None

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    def capture_lambda_handler(self, handler: Traced) -> Traced:
        """The handler in an X-Ray subsegment, with its cold start annotated (Powertools)."""
        return handler if self._tracer is None else cast(Traced, self._tracer.capture_lambda_handler(handler))

    def capture_method(self, method: Traced) -> Traced:
        """``method`` in an X-Ray subsegment of its own (Powertools)."""
        return method if self._tracer is None else self._tracer.capture_method(method)


_TRUTHY = frozenset({"1", "y", "yes", "t", "true", "on"})


def tracing_enabled(environment: Mapping[str, str]) -> bool:
    """Whether Powertools would trace here: on Lambda (not SAM's or Chalice's local emulation)
    and without ``POWERTOOLS_TRACE_DISABLED`` (Powertools' own rule, ``Tracer._is_tracer_disabled``)."""
    if environment.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in _TRUTHY:
        return False
    on_lambda = bool(environment.get("LAMBDA_TASK_ROOT"))
    emulated = bool(environment.get("AWS_SAM_LOCAL") or environment.get("AWS_CHALICE_CLI_MODE"))
    return on_lambda and not emulated
