"""What every handler module shares: the boto3 clients it is given, and wiring on first call.

A handler module holds no mutable state of its own. It exposes ``make_handler(settings,
clients)``, which builds the adapters and the service once and returns the Lambda entry
point, and ``handler = wired_on_first_call(...)`` for the Lambda runtime, which reads the
environment and creates the clients when the function first runs. Tests call
``make_handler`` with the settings and clients they want (a stubbed SMS client, moto's
DynamoDB) instead of importing the module again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

LambdaHandler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients the functions use, each created at its first use."""

    dynamodb: Any  # the DynamoDB resource: the table adapters take ``Table`` objects
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
            dynamodb=_Lazy(lambda: boto3.resource("dynamodb", **settings.get("dynamodb", {}))),
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
