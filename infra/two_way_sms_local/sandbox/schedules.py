"""EventBridge Scheduler's schedules and Lambda's asynchronous invocations (retries, destination), sandbox time."""

from __future__ import annotations

import heapq
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from two_way_sms_local.sandbox.clock import iso
from two_way_sms_local.sandbox.functions import Function
from two_way_sms_local.sandbox.runtime import Runtime

ASYNC_RETRY_DELAYS = (60.0, 120.0)  # Lambda retries an asynchronous invocation after 1, then 2 minutes


# -- Lambda's asynchronous invocation ----------------------------------------------------------------
@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    arn: str = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    trigger: str = field(compare=False)
    attempt: int = field(compare=False, default=1)
    first_at: float = field(compare=False, default=0.0)


@dataclass
class AsyncInvocations:
    functions: dict[str, Function]  # by ARN
    configs: dict[str, dict[str, Any]]  # function ARN -> its EventInvokeConfig (resolved)
    runtime: Runtime
    pending: list[_Pending] = field(default_factory=list)
    _seq: Any = field(default_factory=itertools.count)

    def submit(self, arn: str, event: dict[str, Any], trigger: str) -> bool:
        if arn not in self.functions:
            return False
        now = self.runtime.clock.now()
        heapq.heappush(self.pending, _Pending(now, next(self._seq), arn, event, trigger, 1, now))
        return True

    def run(self) -> bool:
        now = self.runtime.clock.now()
        progressed = False
        while self.pending and self.pending[0].due <= now + 1e-9:
            item = heapq.heappop(self.pending)
            progressed = True
            function = self.functions[item.arn]
            label = item.trigger if item.attempt == 1 else f"{item.trigger} (retry {item.attempt - 1})"
            _, error = self.runtime.invoke(function, item.event, label)
            if error is None:
                continue
            config = self.configs.get(item.arn, {})
            retries = int(config.get("MaximumRetryAttempts", 2))
            max_age = float(config.get("MaximumEventAgeInSeconds", 21600))
            if item.attempt <= retries and item.attempt - 1 < len(ASYNC_RETRY_DELAYS):
                due = now + ASYNC_RETRY_DELAYS[item.attempt - 1]
                if due - item.first_at <= max_age:
                    heapq.heappush(
                        self.pending,
                        _Pending(
                            due, next(self._seq), item.arn, item.event, item.trigger, item.attempt + 1, item.first_at
                        ),
                    )
                    continue
            self._on_failure(function, item, error, config)
        return progressed

    def next_due(self) -> float | None:
        return self.pending[0].due if self.pending else None

    def _on_failure(self, function: Function, item: _Pending, error: str, config: dict[str, Any]) -> None:
        destination = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if not destination or ":sqs:" not in destination:
            return
        error_type, _, message = error.partition(": ")
        body = {
            "version": "1.0",
            "timestamp": iso(self.runtime.clock.now()),
            "requestContext": {
                "requestId": f"{function.label}-{function.invocations:06d}",
                "functionArn": f"{function.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": item.attempt,
            },
            "requestPayload": item.event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": message, "errorType": error_type},
        }
        self.runtime.sqs.send_message(
            QueueUrl=self.runtime.queue_url(destination), MessageBody=json.dumps(body, default=str)
        )


# -- EventBridge Scheduler ---------------------------------------------------------------------------
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass
class _Schedule:
    group: str
    name: str
    target: dict[str, Any]
    next_at: float | None  # None: done, or an expression the sandbox does not run (cron)
    period: float | None
    delete_after: bool
    enabled: bool


@dataclass
class Scheduler:
    runtime: Runtime
    invoke_async: Callable[[str, dict[str, Any], str], bool]
    known: dict[tuple[str, str], _Schedule] = field(default_factory=dict)
    fired: int = 0
    unsupported: list[str] = field(default_factory=list)

    def run(self) -> bool:
        self._discover()
        now = self.runtime.clock.now()
        progressed = False
        for key, schedule in sorted(self.known.items(), key=lambda item: item[1].next_at or 0):
            if not schedule.enabled or schedule.next_at is None or schedule.next_at > now + 1e-9:
                continue
            self._fire(schedule)
            progressed = True
            if schedule.period:
                while schedule.next_at is not None and schedule.next_at <= now + 1e-9:
                    schedule.next_at += schedule.period
            else:
                schedule.next_at = None
                if schedule.delete_after:
                    self.runtime.scheduler.delete_schedule(Name=schedule.name, GroupName=schedule.group)
                    del self.known[key]
        return progressed

    def next_due(self) -> float | None:
        self._discover()
        times = [s.next_at for s in self.known.values() if s.enabled and s.next_at is not None]
        return min(times) if times else None

    def pending(self) -> list[dict[str, Any]]:
        """The schedules that will fire, soonest first (for the state)."""
        self._discover()
        return [
            {"group": s.group, "name": s.name, "at": iso(s.next_at), "target": s.target.get("Arn")}
            for s in sorted(self.known.values(), key=lambda s: s.next_at or 0)
            if s.enabled and s.next_at is not None
        ]

    def _discover(self) -> None:
        scheduler = self.runtime.scheduler
        present: set[tuple[str, str]] = set()
        groups = [g["Name"] for g in scheduler.list_schedule_groups().get("ScheduleGroups", [])]
        for group in groups:
            for summary in scheduler.list_schedules(GroupName=group).get("Schedules", []):
                key = (group, summary["Name"])
                present.add(key)
                if key not in self.known:
                    self.known[key] = self._read(group, summary["Name"])
        for key in [k for k in self.known if k not in present]:
            del self.known[key]  # deleted by someone else

    def _read(self, group: str, name: str) -> _Schedule:
        described = self.runtime.scheduler.get_schedule(Name=name, GroupName=group)
        expression = described["ScheduleExpression"]
        zone = ZoneInfo(described.get("ScheduleExpressionTimezone") or "UTC")
        next_at: float | None = None
        period: float | None = None
        at = _AT.fullmatch(expression)
        rate = _RATE.fullmatch(expression)
        if at:
            next_at = datetime.fromisoformat(at.group(1)).replace(tzinfo=zone).timestamp()
        elif rate:
            period = int(rate.group(1)) * _UNITS[rate.group(2).rstrip("s")]
            start = described.get("StartDate")
            next_at = (start.timestamp() if isinstance(start, datetime) else self.runtime.clock.now()) + period
        else:
            self.unsupported.append(f"{group}/{name}: {expression}")
        return _Schedule(
            group=group,
            name=name,
            target=described["Target"],
            next_at=next_at,
            period=period,
            delete_after=described.get("ActionAfterCompletion") == "DELETE",
            enabled=described.get("State", "ENABLED") == "ENABLED",
        )

    def _fire(self, schedule: _Schedule) -> None:
        self.fired += 1
        arn = schedule.target["Arn"]
        payload = schedule.target.get("Input") or "{}"
        if ":sqs:" in arn:
            self.runtime.sqs.send_message(QueueUrl=self.runtime.queue_url(arn), MessageBody=payload)
        elif ":lambda:" in arn:
            try:
                event = json.loads(payload)
            except ValueError:
                event = payload
            self.invoke_async(arn, event, f"schedule {schedule.name}")
