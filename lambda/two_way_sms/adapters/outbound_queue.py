"""The outbound SQS queue: where applications, campaigns and held-request releases put send requests.

``enqueue`` sends in batches of ten (``SendMessageBatch``) and retries the entries SQS
reports as failed, so a caller learns exactly which requests did not get in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from two_way_sms.outbound.request import SendRequest

MAX_BATCH = 10  # SendMessageBatch's limit
MAX_DELAY_SECONDS = 900  # SQS's per-message delay limit
_ATTEMPTS = 3


@dataclass(frozen=True)
class EnqueueResult:
    queued: int
    failed: tuple[tuple[str, str], ...] = field(default=())  # (idempotency key, SQS error code)


class OutboundQueue:
    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self._sqs = sqs_client
        self._queue_url = queue_url

    def enqueue(self, requests: Iterable[SendRequest], *, delay_seconds: int = 0) -> EnqueueResult:
        if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"delay_seconds {delay_seconds} must be 0-{MAX_DELAY_SECONDS}")
        queued = 0
        failed: list[Any] = []
        batch: list[Any] = []
        for request in requests:
            batch.append(request)
            if len(batch) == MAX_BATCH:
                done, lost = self._send_batch(batch, delay_seconds)
                queued, failed, batch = queued + done, failed + lost, []
        if batch:
            done, lost = self._send_batch(batch, delay_seconds)
            queued, failed = queued + done, failed + lost
        return EnqueueResult(queued=queued, failed=tuple(failed))

    def _send_batch(self, batch: list[SendRequest], delay_seconds: int) -> tuple[int, list[tuple[str, str]]]:
        # Entry ids are positions: idempotency keys may hold characters SQS ids do not allow.
        pending = {str(position): request for position, request in enumerate(batch)}
        errors: dict[str, str] = {}
        for _ in range(_ATTEMPTS):
            response = self._sqs.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": entry_id, "MessageBody": request.to_json(), "DelaySeconds": delay_seconds}
                    for entry_id, request in pending.items()
                ],
            )
            errors = {failure["Id"]: failure.get("Code", "Unknown") for failure in response.get("Failed", [])}
            pending = {entry_id: pending[entry_id] for entry_id in errors}
            if not pending:
                break
        lost = [(request.idempotency_key, errors[entry_id]) for entry_id, request in pending.items()]
        return len(batch) - len(lost), lost
