"""EventBridge in the sandbox: a rule's targets moto cannot reach (the tap), and the capture of the business buses."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from two_way_sms_local.sandbox.runtime import Runtime

TAP_PREFIX = "sandbox-tap-"
CAPTURE_PREFIX = "sandbox-bus-"


# -- EventBridge targets moto does not reach ------------------------------------------------------------
@dataclass
class RuleTap:
    rule: str
    bus: str
    targets: list[dict[str, Any]]  # the rule's Kinesis and Lambda targets, resolved
    runtime: Runtime
    tap_url: str = ""
    invoke_async: Callable[[str, dict[str, Any], str], bool] | None = None
    delivered: int = 0

    def install(self) -> None:
        name = (TAP_PREFIX + self.rule)[:80]
        self.tap_url = self.runtime.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.runtime.sqs.get_queue_attributes(QueueUrl=self.tap_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.runtime.events.put_targets(
            Rule=self.rule, EventBusName=self.bus, Targets=[{"Id": "sandbox-tap", "Arn": arn}]
        )

    def run(self) -> bool:
        messages = self.runtime.sqs.receive_message(
            QueueUrl=self.tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        for message in messages:
            event = json.loads(message["Body"])
            for target in self.targets:
                self._deliver(target, event)
            self.runtime.sqs.delete_message(QueueUrl=self.tap_url, ReceiptHandle=message["ReceiptHandle"])
            self.delivered += 1
        return bool(messages)

    def next_due(self) -> float | None:
        return None

    def _deliver(self, target: dict[str, Any], event: dict[str, Any]) -> None:
        arn = target["Arn"]
        if ":kinesis:" in arn:
            path = (target.get("KinesisParameters") or {}).get("PartitionKeyPath")
            key = _json_path(event, path) if path else event.get("id")
            self.runtime.kinesis.put_record(
                StreamName=arn.rsplit("/", 1)[-1],
                Data=json.dumps(event).encode(),
                PartitionKey=str(key or event.get("id")),
            )
        elif ":lambda:" in arn and self.invoke_async is not None:
            self.invoke_async(arn, event, f"rule {self.rule}")


def _json_path(event: dict[str, Any], path: str) -> Any:
    """``$.detail.messageId`` (the dotted paths EventBridge's Kinesis targets take)."""
    value: Any = event
    for part in path.removeprefix("$.").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


# -- the business-event bus --------------------------------------------------------------------------
@dataclass
class BusCapture:
    buses: list[str]
    runtime: Runtime
    captured: list[dict[str, Any]] = field(default_factory=list)  # EventBridge events, oldest first
    _urls: list[str] = field(default_factory=list)

    def install(self) -> None:
        for bus in self.buses:
            url = self.runtime.sqs.create_queue(QueueName=(CAPTURE_PREFIX + bus)[:80])["QueueUrl"]
            arn = self.runtime.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.runtime.events.put_rule(
                Name="sandbox-capture", EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": ""}]})
            )
            self.runtime.events.put_targets(
                Rule="sandbox-capture", EventBusName=bus, Targets=[{"Id": "capture", "Arn": arn}]
            )
            self._urls.append(url)

    def run(self) -> bool:
        progressed = False
        for url in self._urls:
            while True:
                messages = self.runtime.sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                ).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    self.captured.append(json.loads(message["Body"]))
                    self.runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                progressed = True
        return progressed

    def next_due(self) -> float | None:
        return None
