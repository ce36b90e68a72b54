"""In-memory fakes of the campaigns use cases' ports (``two_way_sms.services.campaign_ports``).

Each keeps what the adapter it stands for keeps, the way that adapter reads and writes it:
pages that resume at the same place for the same cursor, run counters that count a named
chunk once, held requests in key order, a queue that can refuse named requests. Fast enough
for a 10,000-recipient campaign; the adapters themselves are tested on moto.
``SimulatedQueue`` is the outbound queue between the campaigns use case and the sender's,
on the simulated clock (delays, visibility timeouts, ten messages a receive).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from two_way_sms.adapters.audience import AudiencePage
from two_way_sms.adapters.campaign_runs import CampaignReport, RowError, report_from_item
from two_way_sms.adapters.outbound_queue import EnqueueResult
from two_way_sms.outbound.campaign import Audience, AudienceRow, AudienceRowError, read_audience_csv
from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.outbound.request import SendRequest
from two_way_sms.services.run_campaign_page import PAGE_SIZE, CampaignRunner
from two_way_sms.services.send_requests import QueuedRequest
from two_way_sms_local.sms_emulator import SimulatedClock

Entry = AudienceRow | AudienceRowError


class MemoryAudiences:
    """Audiences by their description (``AudienceCsv`` / ``AudienceQuery``), read as ``AudienceReader`` reads
    a CSV: the cursor is the number of the last row read, a full page may be followed by an empty one."""

    def __init__(self, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size
        self.entries: dict[Audience, list[Entry]] = {}
        self.reads = 0  # pages handed out

    def put_csv(self, audience: Audience, text: str) -> None:
        self.entries[audience] = list(read_audience_csv(text.splitlines(keepends=True)))

    def shards(self, audience: Audience) -> list[Any]:
        return []  # read whole (sharded reads are tested on moto: tests/integration/test_campaign_shards.py)

    def pages(
        self, audience: Audience, cursor: str | None = None, earlier: set[str] | None = None, shard: Any = None
    ) -> Iterator[AudiencePage]:
        if shard is not None:
            raise NotImplementedError("MemoryAudiences reads audiences whole")
        if audience not in self.entries:
            raise ClientError(
                {"Error": {"Code": "NoSuchKey", "Message": "The specified key does not exist."}}, "GetObject"
            )
        entries = self.entries[audience]
        after = int(cursor or 0)
        if earlier is not None:
            earlier.update(e.destination for e in entries if isinstance(e, AudienceRow) and e.row_number <= after)
        rest = [e for e in entries if e.row_number > after]
        start = after
        if not rest:
            self.reads += 1
            yield AudiencePage(str(start), (), None)
            return
        while rest:
            page, rest = rest[: self.page_size], rest[self.page_size :]
            more = len(page) == self.page_size
            self.reads += 1
            yield AudiencePage(str(start), tuple(page), str(page[-1].row_number) if more else None)
            if not more:
                return
            start = page[-1].row_number


class MemoryContacts:
    """Consent and recent promotional sends by number (``ContactsTable.contact_states``)."""

    def __init__(self, states: Mapping[str, ContactState] | None = None) -> None:
        self.states: dict[str, ContactState] = dict(states or {})

    def contact_states(self, numbers: Iterable[str]) -> dict[str, ContactState]:
        return {number: self.states.get(number, ContactState()) for number in numbers}


class MemoryRuns:
    """Campaign runs as ``CampaignRuns`` keeps them: one item per run, its counters added once per named chunk."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.row_error_items: dict[tuple[str, str, str], list[RowError]] = {}

    def _item(self, campaign_id: str, run_id: str) -> dict[str, Any]:
        return self.items.setdefault((campaign_id, run_id), {})

    def start(
        self,
        campaign_id: str,
        run_id: str,
        at: datetime,
        *,
        template_id: str | None = None,
        template_lacks_opt_out_instruction: bool | None = None,
    ) -> None:
        item = self._item(campaign_id, run_id)
        item.setdefault("status", "RUNNING")
        item.setdefault("started_at", at.isoformat())
        if template_id is not None:
            item["template_id"] = template_id
        if template_lacks_opt_out_instruction is not None:
            item["template_lacks_opt_out_instruction"] = template_lacks_opt_out_instruction

    def add_counts(
        self,
        campaign_id: str,
        run_id: str,
        counts: Mapping[str, int],
        chunk: str | None = None,
        shard: int | None = None,
    ) -> bool:
        item = self._item(campaign_id, run_id if shard is None else f"{run_id}#SHARD#{shard}")
        done = item.setdefault("done_chunks", set())
        if chunk is not None and chunk in done:
            return False
        for name, value in counts.items():
            if value:
                item[name] = item.get(name, 0) + value
        if chunk is not None:
            done.add(chunk)
        return True

    def plan_shards(self, campaign_id: str, run_id: str, shards: int) -> frozenset[int]:
        item = self._item(campaign_id, run_id)
        item.setdefault("shards", shards)
        return frozenset(item.get("started_shards", set()) | item.get("done_shards", set()))

    def start_shard(self, campaign_id: str, run_id: str, shard: int) -> None:
        self._item(campaign_id, run_id).setdefault("started_shards", set()).add(shard)

    def finish_shard(self, campaign_id: str, run_id: str, shard: int, shards: int, at: datetime) -> bool:
        item = self._item(campaign_id, run_id)
        done = item.setdefault("done_shards", set())
        if shard not in done:
            shard_item = self.items.get((campaign_id, f"{run_id}#SHARD#{shard}"), {})
            for name, value in shard_item.items():
                if name != "done_chunks":
                    item[name] = item.get(name, 0) + value
            done.add(shard)
        if len(done) < shards:
            return False
        self.finish_fan_out(campaign_id, run_id, at)
        return True

    def finish_fan_out(self, campaign_id: str, run_id: str, at: datetime) -> None:
        item = self._item(campaign_id, run_id)
        if item.get("status") == "FAILED":
            return  # the run stopped meanwhile: that status stands
        item["status"] = "QUEUED_ALL"
        item.setdefault("queued_all_at", at.isoformat())

    def fail(self, campaign_id: str, run_id: str, reason: str, at: datetime) -> None:
        item = self._item(campaign_id, run_id)
        item.update(status="FAILED", failure=reason[:500], failed_at=at.isoformat())

    def record_row_errors(self, campaign_id: str, run_id: str, chunk: str, errors: Sequence[RowError]) -> None:
        self.row_error_items[(campaign_id, run_id, chunk)] = sorted(errors, key=lambda error: error.row_number)

    def read(self, campaign_id: str, run_id: str) -> CampaignReport | None:
        item = self.items.get((campaign_id, run_id))
        return None if item is None else report_from_item(campaign_id, run_id, item)

    def row_errors(self, campaign_id: str, run_id: str) -> list[RowError]:
        return sorted(
            (
                error
                for (campaign, run, _), errors in self.row_error_items.items()
                if (campaign, run) == (campaign_id, run_id)
                for error in errors
            ),
            key=lambda error: error.row_number,
        )


class MemoryHeld:
    """Held and parked requests by partition (``HOLD#<minute>`` / ``HOLD#<reason>``), each in key order."""

    def __init__(self) -> None:
        self.partitions: dict[str, dict[str, SendRequest]] = {}

    def put(self, partition: str, request: SendRequest) -> None:
        self.partitions.setdefault(partition, {})[request.idempotency_key] = request

    def keys(self, partition: str) -> list[str]:
        return sorted(self.partitions.get(partition, {}))

    def _peek(self, partition: str, limit: int) -> tuple[list[tuple[str, SendRequest]], bool]:
        held = self.partitions.get(partition, {})
        keys = sorted(held)
        return [(key, held[key]) for key in keys[:limit]], len(keys) > limit

    def _remove(self, partition: str, keys: list[str]) -> None:
        for key in keys:
            self.partitions.get(partition, {}).pop(key, None)

    def peek(self, minute: str, limit: int = 100) -> tuple[list[tuple[str, SendRequest]], bool]:
        return self._peek(minute, limit)

    def remove(self, minute: str, keys: list[str]) -> None:
        self._remove(minute, keys)

    def peek_parked(self, reason: str, limit: int = 100) -> tuple[list[tuple[str, SendRequest]], bool]:
        return self._peek(reason, limit)

    def remove_parked(self, reason: str, keys: list[str]) -> None:
        self._remove(reason, keys)


@dataclass
class MemoryQueue:
    """The outbound queue: every request put on it with its delay, in order; ``refuse`` names requests
    (by idempotency key) it never takes, reported as SQS reports a partial failure."""

    messages: list[tuple[SendRequest, int]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    def enqueue(self, requests: Iterable[SendRequest], *, delay_seconds: int = 0) -> EnqueueResult:
        queued, failed = 0, []
        for request in requests:
            if request.idempotency_key in self.refuse:
                failed.append((request.idempotency_key, "InternalError"))
            else:
                self.messages.append((request, delay_seconds))
                queued += 1
        return EnqueueResult(queued=queued, failed=tuple(failed))

    def take(self) -> list[SendRequest]:
        """Every request on the queue, taken off it."""
        taken, self.messages = [request for request, _ in self.messages], []
        return taken


@dataclass
class MemoryDeadLetters:
    """What was parked for good: (event or body, reason, source, attributes)."""

    parked: list[tuple[Any, str, str, dict[str, str]]] = field(default_factory=list)

    def park_event(self, event: Any, *, reason: str, source: str, attributes: Mapping[str, str] | None = None) -> str:
        self.parked.append((event, reason, source, dict(attributes or {})))
        return f"dead-letter-{len(self.parked)}"

    def park(self, body: str, *, reason: str, source: str, attributes: Mapping[str, str] | None = None) -> str:
        return self.park_event(body, reason=reason, source=source, attributes=attributes)


@dataclass
class MemorySchedules:
    """One-time schedules by name (a repeat of a name creates nothing, as EventBridge Scheduler's ConflictException)."""

    created: dict[str, tuple[datetime, str, dict[str, Any]]] = field(default_factory=dict)

    def __call__(self, *, name: str, at: datetime, target_arn: str, payload: Mapping[str, Any]) -> bool:
        if name in self.created:
            return False
        self.created[name] = (at, target_arn, dict(payload))
        return True

    def payload(self, name: str) -> dict[str, Any]:
        return self.created[name][2]


@dataclass
class RecordingTelemetry:
    """Every log line (level, message, fields), the keys appended, and the counts (a log and a telemetry port)."""

    lines: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    amounts: dict[str, float] = field(default_factory=dict)

    def info(self, message: str, **fields: Any) -> None:
        self.lines.append(("INFO", message, fields))

    def warning(self, message: str, **fields: Any) -> None:
        self.lines.append(("WARNING", message, fields))

    def error(self, message: str, **fields: Any) -> None:
        self.lines.append(("ERROR", message, fields))

    def exception(self, message: str, **fields: Any) -> None:
        self.lines.append(("ERROR", message, fields))

    def append_keys(self, **fields: Any) -> None:
        self.keys.update(fields)

    def remove_keys(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.keys.pop(key, None)

    def count(self, metric: str, value: int = 1) -> None:
        self.counts[metric] += value

    def amount(self, metric: str, value: float) -> None:
        self.amounts[metric] = self.amounts.get(metric, 0.0) + value

    def messages(self, level: str | None = None) -> list[str]:
        return [message for line_level, message, _ in self.lines if level in (None, line_level)]


@dataclass
class Invocation:
    """A Lambda context whose remaining time the test sets (a list is used up one value per call)."""

    remaining_ms: Any = 300_000
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:campaigns"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        if isinstance(self.remaining_ms, list):
            return int(self.remaining_ms.pop(0)) if self.remaining_ms else 300_000
        return int(self.remaining_ms)


@dataclass
class CampaignsWorld:
    """The campaigns use cases on in-memory ports, and the ports themselves to set the scene and read it."""

    audiences: MemoryAudiences = field(default_factory=MemoryAudiences)
    contacts: MemoryContacts = field(default_factory=MemoryContacts)
    runs: MemoryRuns = field(default_factory=MemoryRuns)
    held: MemoryHeld = field(default_factory=MemoryHeld)
    queue: MemoryQueue = field(default_factory=MemoryQueue)
    dead_letters: MemoryDeadLetters = field(default_factory=MemoryDeadLetters)
    schedules: MemorySchedules = field(default_factory=MemorySchedules)
    telemetry: RecordingTelemetry = field(default_factory=RecordingTelemetry)
    now: list[datetime] = field(default_factory=lambda: [datetime(2026, 3, 3, 17, 0, tzinfo=timezone.utc)])

    def runner(self, templates: Mapping[str, Any], *, daily_limit: int | None = 2) -> CampaignRunner:
        return CampaignRunner(
            templates=templates,
            audience=self.audiences,
            contacts=self.contacts,
            runs=self.runs,
            held=self.held,
            queue=self.queue,
            dead_letters=self.dead_letters,
            schedule=self.schedules,
            telemetry=self.telemetry,
            clock=lambda: self.now[0],
            daily_limit=daily_limit,
        )


@dataclass
class QueuedMessage:
    message_id: str
    body: str
    visible_at: float
    receive_count: int = 0


class SimulatedQueue:
    """The outbound queue on the simulated clock: a delay is a visibility time; received ten visible messages
    at a time; a failed record comes back after the visibility timeout, and goes to the dead-letter queue
    after ``max_receive_count`` receives."""

    def __init__(self, clock: SimulatedClock, *, visibility_timeout: float = 360, max_receive_count: int = 5) -> None:
        self.clock, self.visibility_timeout, self.max_receive_count = clock, visibility_timeout, max_receive_count
        self.messages: list[QueuedMessage] = []
        self.dead_letters: list[QueuedMessage] = []
        self._ids = itertools.count(1)

    def enqueue(self, requests: Iterable[SendRequest], *, delay_seconds: int = 0) -> EnqueueResult:
        queued = 0
        for request in requests:
            self.messages.append(
                QueuedMessage(f"sqs-{next(self._ids):07d}", request.to_json(), self.clock.now() + delay_seconds)
            )
            queued += 1
        return EnqueueResult(queued=queued)

    def receive(self, limit: int = 10) -> list[QueuedMessage]:
        visible = sorted(
            (m for m in self.messages if m.visible_at <= self.clock.now() + 1e-9), key=lambda m: m.visible_at
        )[:limit]
        for message in visible:
            message.receive_count += 1
        return visible

    def settle(self, received: list[QueuedMessage], failed: set[str]) -> None:
        """Deletes what succeeded; a failed record becomes visible again, or goes to the dead-letter queue."""
        for message in received:
            if message.message_id not in failed:
                self.messages.remove(message)
            elif message.receive_count >= self.max_receive_count:
                self.messages.remove(message)
                self.dead_letters.append(message)
            else:
                message.visible_at = self.clock.now() + self.visibility_timeout

    def next_visible_at(self) -> float | None:
        return min((m.visible_at for m in self.messages), default=None)

    @staticmethod
    def records(messages: list[QueuedMessage]) -> list[QueuedRequest]:
        return [QueuedRequest(m.message_id, m.body, str(m.receive_count)) for m in messages]
