"""Failures the way production fails: after botocore gave up retrying, or after the call succeeded.

``FaultInjector`` hooks a botocore client's ``before-call`` and ``after-call`` events, which
fire outside botocore's retry loop (the loop lives inside the request that ``before-call``
precedes): a fault injected there is one that outlasted every retry. It wraps the SMS
emulator (not a botocore client) the same way. Kinds:

- ``throttle``: the service kept throttling (``ThrottlingException`` /
  ``ProvisionedThroughputExceededException``); nothing happened;
- ``server``: the service kept failing (``InternalServerError`` / ``InternalServerException``);
  nothing happened;
- ``connection``: no connection could be made (``EndpointConnectionError``); nothing happened;
- ``lost``: the call **succeeded** but its answer never came back (``ReadTimeoutError``).

Faults come from a plan (call number -> kind) or at random from seeded rates, and every
call is recorded, so a test can fail the n-th call of a sequence and a benchmark can count.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

KINDS = ("throttle", "server", "connection", "lost")
_THROTTLE_CODES = {"dynamodb": "ProvisionedThroughputExceededException"}
_SERVER_CODES = {"dynamodb": "InternalServerError", "sms": "InternalServerException"}


class FaultInjector:
    def __init__(
        self,
        *,
        seed: int | None = None,
        rates: Mapping[str, float] | None = None,
        only: Callable[[str], bool] | None = None,
    ) -> None:
        self.calls: list[str] = []  # "dynamodb.PutItem", "sms.SendTextMessage", in order
        self.injected: Counter[str] = Counter()  # kind -> how many
        self.injected_by_call: Counter[str] = Counter()  # "kind call" -> how many
        self.enabled = True
        self._plan: dict[int, str] = {}
        self._random = random.Random(seed)
        self._rates = dict(rates or {})
        self._only = only or (lambda call: True)
        unknown = set(self._rates) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}: use {KINDS}")

    def fail_call(self, number: int, kind: str) -> None:
        """Fails the ``number``-th call (0-based, counted from now on) with ``kind``."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}: use {KINDS}")
        self._plan[len(self.calls) + number] = kind

    # -- attaching --------------------------------------------------------------------------
    def attach(self, client: Any) -> None:
        """Injects into a botocore client (a resource's ``meta.client`` serves all its tables)."""
        service = client.meta.service_model.service_name

        def before(model: Any, context: dict, **_: Any) -> None:
            call = f"{service}.{model.name}"
            kind = self._next(call)
            if kind == "lost":
                context["lost-answer"] = True
            elif kind is not None:
                raise _error(kind, service, model.name)

        def after(model: Any, context: dict, **_: Any) -> None:
            if context.pop("lost-answer", False):
                raise ReadTimeoutError(endpoint_url=f"https://{service}.example")

        client.meta.events.register("before-call", before)
        client.meta.events.register("after-call", after)

    def wrap_sms(self, emulator: Any) -> Any:
        """The SMS emulator, its calls passed through the injector."""
        return _FaultySms(emulator, self)

    # -- deciding -----------------------------------------------------------------------------
    def _next(self, call: str) -> str | None:
        index = len(self.calls)
        self.calls.append(call)
        kind = self._plan.pop(index, None)
        if kind is None and self.enabled and self._rates and self._only(call):
            draw = self._random.random()
            for candidate, rate in self._rates.items():
                if draw < rate:
                    kind = candidate
                    break
                draw -= rate
        if kind is not None:
            self.injected[kind] += 1
            self.injected_by_call[f"{kind} {call}"] += 1
        return kind


class _FaultySms:
    def __init__(self, emulator: Any, injector: FaultInjector) -> None:
        self._emulator = emulator
        self._injector = injector

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._emulator, name)
        if name not in ("send_text_message", "put_opted_out_number", "delete_opted_out_number"):
            return attribute

        def call(**params: Any) -> Any:
            operation = "".join(part.title() for part in name.split("_"))
            kind = self._injector._next(f"sms.{operation}")
            if kind is not None and kind != "lost":
                raise _error(kind, "sms", operation)
            result = attribute(**params)
            if kind == "lost":
                raise ReadTimeoutError(endpoint_url="https://sms-voice.example")
            return result

        return call


def _error(kind: str, service: str, operation: str) -> Exception:
    if kind == "connection":
        return EndpointConnectionError(endpoint_url=f"https://{service}.example")
    code = (
        _THROTTLE_CODES.get(service, "ThrottlingException")
        if kind == "throttle"
        else _SERVER_CODES.get(service, "InternalServerException")
    )
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"injected {kind}"},
            "ResponseMetadata": {"HTTPStatusCode": 500 if kind == "server" else 400},
        },
        operation,
    )
