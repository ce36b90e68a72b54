"""Business events on an EventBridge bus: what conversations decided, for the user's systems.

Every event has ``source`` ``two-way-sms`` (configurable), a ``detail-type`` from
``conversations.flows.EVENT_TYPES`` and the engine's detail (README: "Business events").
PutEvents takes 10 entries a request and may fail some of them (throttling, an internal
error): those are sent again, a few times, then reported, so the caller fails the inbound
record and SQS retries it; the handler is idempotent, so nothing else happens twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from two_way_sms.conversations.engine import BusinessEvent

SOURCE = "two-way-sms"
MAX_ENTRIES = 10  # PutEvents' limit per request
ATTEMPTS = 4


class EventsNotDelivered(RuntimeError):
    """Some events were still refused after ATTEMPTS requests; the message names their error codes."""


class BusinessEventBus:
    def __init__(
        self, client: Any, bus_name: str, *, source: str = SOURCE, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._client = client  # boto3 "events"
        self._bus_name = bus_name
        self._source = source
        self._sleep = sleep  # the pause before sending refused entries again (a sandbox's clock, in tests)

    def put(self, events: Sequence[BusinessEvent]) -> None:
        entries = [self._entry(event) for event in events]
        for start in range(0, len(entries), MAX_ENTRIES):
            self._put_all(entries[start : start + MAX_ENTRIES])

    def _entry(self, event: BusinessEvent) -> dict[str, Any]:
        occurred = event.detail.get("occurredAt")
        entry: dict[str, Any] = {
            "Source": self._source,
            "DetailType": event.detail_type,
            "EventBusName": self._bus_name,
            "Detail": json.dumps(dict(event.detail), separators=(",", ":"), sort_keys=True, default=str),
        }
        if isinstance(occurred, (int, float)):
            entry["Time"] = datetime.fromtimestamp(occurred, tz=timezone.utc)
        return entry

    def _put_all(self, entries: list[dict[str, Any]]) -> None:
        errors: list[str] = []
        for attempt in range(ATTEMPTS):
            response = self._client.put_events(Entries=entries)
            if not response.get("FailedEntryCount"):
                return
            results = response.get("Entries", [])
            failed = [(entry, result) for entry, result in zip(entries, results) if result.get("ErrorCode")]
            entries = [entry for entry, _ in failed]
            errors = sorted({str(result.get("ErrorCode")) for _, result in failed})
            self._sleep(min(0.1 * 2**attempt, 1.0))
        raise EventsNotDelivered(
            f"{len(entries)} business events not delivered to {self._bus_name}: {', '.join(errors)}"
        )
