"""What every sandbox pump shares: the emulated services' clients, the sandbox clock, the delivery events' names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from two_way_sms_local.sandbox.clock import SandboxClock
from two_way_sms_local.sandbox.functions import Activity, Function, FunctionOutput, InvocationRecord

DELIVERY_SOURCE = "aws.sms-voice"
DELIVERY_DETAIL_TYPE = "Text Message Delivery Status Updated"


@dataclass
class Runtime:
    """What every pump shares: the clock, moto's clients, where invocations and output are recorded."""

    clock: SandboxClock
    sqs: Any
    kinesis: Any
    events: Any
    scheduler: Any
    output: FunctionOutput
    activity: Activity
    queue_url: Callable[[str], str]  # queue ARN -> URL

    def invoke(
        self, function: Function, event: dict[str, Any], trigger: str, records: int = 1
    ) -> tuple[Any, str | None]:
        """Invokes ``function``; (its result, None) or (None, the error it raised)."""
        at = self.clock.now()
        try:
            result = function.invoke(event, self.clock, self.output)
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            self.activity.add(InvocationRecord(at, function.label, trigger, records, records, message))
            return None, message
        failed = len(result.get("batchItemFailures", [])) if isinstance(result, dict) else 0
        self.activity.add(InvocationRecord(at, function.label, trigger, records, failed))
        return result, None
