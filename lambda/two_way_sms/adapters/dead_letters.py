"""Parking input that can never be processed in a dead-letter queue, with the reason it was parked.

A malformed send request or campaign event would fail every retry and reach the
dead-letter queue anyway, five receives (or two retries) later and with no word of why.
``park`` sends it there at once with its reason, so the record (or invocation) succeeds and
the dead-letter entry explains itself: the reason, where it came from and the id of the
original message are message attributes, and also the body's fields when the body is an
envelope (``park_event``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_REASON_CHARACTERS = 1000  # one line; SQS counts attributes towards the 256 KiB message limit


class DeadLetterQueue:
    """An SQS dead-letter queue that is written to directly, besides any redrive policy."""

    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self._sqs = sqs_client
        self._queue_url = queue_url

    def park(self, body: str, *, reason: str, source: str, attributes: Mapping[str, str] | None = None) -> str:
        """Sends ``body`` as it was, with ``reason``, ``source`` and ``attributes`` as message attributes;
        returns the dead-letter message's id. A redrive puts the original body back on its queue."""
        values = {"reason": reason[:MAX_REASON_CHARACTERS], "source": source, **(attributes or {})}
        response = self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value or "-"} for name, value in values.items()
            },
        )
        return str(response["MessageId"])

    def park_event(self, event: Any, *, reason: str, source: str, attributes: Mapping[str, str] | None = None) -> str:
        """Parks an invocation's event in an envelope ``{"reason", "source", ..., "event"}``: the event was
        never a queue message, so the body says what it was and why it is here."""
        envelope = {"reason": reason[:MAX_REASON_CHARACTERS], "source": source, **(attributes or {}), "event": event}
        return self.park(
            json.dumps(envelope, default=str, ensure_ascii=False), reason=reason, source=source, attributes=attributes
        )
