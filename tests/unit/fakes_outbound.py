"""In-memory fakes of the sender's ports (``two_way_sms.services.sender_ports``), for the service tests.

Each fake keeps what the adapter would store and behaves as the adapter promises (a SENT
outcome is final, a claim is taken once, a conversation is created once); ``OutboundWorld``
holds one of each and builds the use case on them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from two_way_sms import pacing
from two_way_sms.adapters.contacts import ConsentRecorded
from two_way_sms.adapters.conversations import ConversationMoved, Stored
from two_way_sms.adapters.ledger import SentText
from two_way_sms.adapters.outbound_queue import EnqueueResult
from two_way_sms.adapters.request_outcomes import SENT, RequestOutcome, attempt_token
from two_way_sms.adapters.send_claims import DONE, NOT_SENT, SENDING, Existing
from two_way_sms.adapters.sms import OutgoingText, SendResult
from two_way_sms.conversations.engine import Conversation
from two_way_sms.conversations.flows import Flow
from two_way_sms.outbound.budget import SpendBudget
from two_way_sms.outbound.contact_state import ContactState, PromotionalCount
from two_way_sms.outbound.limits import promotional_subject
from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.outbound.request import CampaignRef, SendRequest
from two_way_sms.outbound.templates import Template
from two_way_sms.pacing import Booking, Wanted
from two_way_sms.responder import ConsentChange
from two_way_sms.services.budget_holds import BudgetHolds
from two_way_sms.services.send_requests import RequestSender
from two_way_sms.services.sending import OnceOnlySender

NOON_IN_SEATTLE = datetime(2026, 3, 4, 20, 0, tzinfo=timezone.utc).timestamp()  # Wednesday 12:00 PST
OUR_NUMBER = "+18445550100"


class FakeClock:
    def __init__(self, now: float = NOON_IN_SEATTLE) -> None:
        self._now = now
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept.append(seconds)
            self._now += seconds

    def advance(self, seconds: float) -> None:
        self._now += seconds


class RecordingLog:
    """Every line as (level, message, fields with the keys appended at the time)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []
        self.keys: dict[str, Any] = {}

    def _line(self, level: str, msg: str, fields: dict[str, Any]) -> None:
        self.lines.append((level, msg, {**self.keys, **fields}))

    def info(self, msg: str, **fields: Any) -> None:
        self._line("INFO", msg, fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self._line("WARNING", msg, fields)

    def error(self, msg: str, **fields: Any) -> None:
        self._line("ERROR", msg, fields)

    def exception(self, msg: str, **fields: Any) -> None:
        self._line("ERROR", msg, fields)

    def append_keys(self, **keys: Any) -> None:
        self.keys.update(keys)

    def remove_keys(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.keys.pop(key, None)

    def messages(self, level: str | None = None) -> list[str]:
        return [msg for lvl, msg, _ in self.lines if level is None or lvl == level]

    def text(self) -> str:
        return repr(self.lines)


class RecordingCounts:
    def __init__(self) -> None:
        self.written: list[tuple[str, int]] = []  # as the batches wrote them

    def count(self, metric: str, value: int = 1) -> None:
        self.written.append((metric, value))

    def totals(self) -> Counter[str]:
        totals: Counter[str] = Counter()
        for metric, value in self.written:
            totals[metric] += value
        return totals


class MemoryContacts:
    def __init__(self) -> None:
        self.states: dict[str, ContactState] = {}
        self.consents: list[dict[str, Any]] = []
        self.promotional: list[tuple[str, str, CampaignRef | None, datetime]] = []
        self.single_reads = 0

    def contact_state(self, number: str) -> ContactState:
        self.single_reads += 1
        return self.states.get(number, ContactState())

    def contact_states(self, numbers: Iterable[str]) -> dict[str, ContactState]:
        return {number: self.states.get(number, ContactState()) for number in numbers}

    def record_consent(
        self,
        *,
        number: str,
        change: ConsentChange,
        at_ms: int,
        message_id: str,
        keyword: str,
        our_number: str,
        source: str = "INBOUND",
    ) -> ConsentRecorded:
        self.consents.append({"number": number, "change": change, "message_id": message_id, "source": source})
        state = self.states.get(number, ContactState())
        self.states[number] = replace(
            state,
            opted_out=change is ConsentChange.OPTED_OUT,
            opted_in=change is ConsentChange.OPTED_IN or state.opted_in,
        )
        return ConsentRecorded(new_proof=True, current=True)

    def record_promotional_send(
        self, number: str, key: str, campaign: CampaignRef | None, at: datetime, *, subject: str | None = None
    ) -> bool:
        self.promotional.append((number, key, campaign, at))
        state = self.states.get(number, ContactState())
        subject = subject or promotional_subject(campaign, None)
        self.states[number] = replace(
            state,
            recent_promotional={**state.recent_promotional, key: at.timestamp()},
            promotional_subjects={**state.promotional_subjects, **({key: subject} if subject else {})},
        )
        return True


class MemoryOutcomes:
    def __init__(self) -> None:
        self.items: dict[str, RequestOutcome] = {}
        self.written_by: dict[str, str] = {}  # key -> the token of the send attempt that wrote it SENT
        self.single_reads = 0
        self.fail_records = False

    def get(self, key: str) -> RequestOutcome | None:
        self.single_reads += 1
        return self.items.get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, RequestOutcome]:
        return {key: self.items[key] for key in keys if key in self.items}

    def record(
        self,
        key: str,
        status: str,
        reason: str | None = None,
        message_id: str | None = None,
        *,
        at: datetime,
        code: str | None = None,
        written_by: str | None = None,
    ) -> bool:
        if self.fail_records:
            raise RuntimeError("the outbound table is unavailable")
        previous = self.items.get(key)
        if previous is not None and previous.status == SENT:
            # SENT stays the answer; one this very attempt wrote (its answer lost) was not counted yet.
            return written_by is not None and self.written_by.get(key) == written_by
        self.items[key] = RequestOutcome(key, status, at.isoformat(), reason, message_id, code)
        if written_by is not None:
            self.written_by[key] = written_by
        return previous is None or previous.status != status


class MemoryClaims:
    def __init__(self) -> None:
        self.items: dict[str, Existing] = {}
        self.finish_failures = 0  # the next finishes that fail

    def claim(self, key: str, *, now: float, until: float) -> Existing | None:
        existing = self.items.get(key)
        if existing is not None and existing.status != NOT_SENT:
            return existing
        self.items[key] = Existing(SENDING, until, None, round(now, 3))
        return None

    def finish(self, key: str, *, claimed_at: float, result: dict[str, Any] | None) -> bool:
        if self.finish_failures:
            self.finish_failures -= 1
            raise RuntimeError("DynamoDB is having a moment")
        existing = self.items.get(key)
        if existing is None or existing.status != SENDING or existing.at != round(claimed_at, 3):
            return False
        self.items[key] = Existing(DONE if result is not None else NOT_SENT, existing.until, result, existing.at)
        return True


class MemorySentRecords:
    """The claim's completion, the outcome SENT and the ledger entry in one all-or-nothing write.

    It fails with the claims' ``finish_failures`` (the transaction holds the completion), without
    using them up: the writes one by one that follow meet them."""

    def __init__(
        self,
        claims: MemoryClaims,
        outcomes: MemoryOutcomes,
        ledger: MemoryLedger,
        contacts: MemoryContacts | None = None,
        conversations: MemoryConversations | None = None,
    ) -> None:
        self.claims, self.outcomes, self.ledger, self.contacts = claims, outcomes, ledger, contacts
        self.conversations = conversations
        self.writes = 0
        self.answers_lost = 0  # the next writes that succeed but raise
        self.promotional_conflicts = 0  # transactions refused: the recent sends moved since the batch read them

    def record(
        self,
        key: str,
        *,
        claimed_at: float,
        result: dict[str, Any],
        sent: SentText,
        promotional: PromotionalCount | None = None,
        conversation: Conversation | None = None,
    ) -> bool:
        if self.claims.finish_failures or self.outcomes.fail_records or self.ledger.failures:
            raise RuntimeError("TransactionCanceledException: ThrottlingError")
        claim, previous = self.claims.items.get(key), self.outcomes.items.get(key)
        if claim is None or claim.status != SENDING or claim.at != round(claimed_at, 3):
            return False
        if previous is not None and previous.status == SENT:
            return False
        if conversation is not None and (
            self.conversations is None or conversation.conversation_id in self.conversations.stored
        ):
            return False
        if promotional is not None:
            if self.contacts is None:
                return False
            if self.contacts.states.get(promotional.number, ContactState()) != promotional.read:
                self.promotional_conflicts += 1
                return False
        self.writes += 1
        if promotional is not None and promotional.key not in promotional.read.recent_promotional:
            assert self.contacts is not None
            at = datetime.fromtimestamp(float(result["at"]), timezone.utc)
            self.contacts.record_promotional_send(
                promotional.number, promotional.key, promotional.campaign, at, subject=promotional.subject
            )
        if conversation is not None:
            assert self.conversations is not None
            self.conversations.create(conversation)
        self.claims.items[key] = Existing(DONE, claim.until, result, claim.at)
        at = datetime.fromtimestamp(float(result["at"]), timezone.utc).isoformat()
        self.outcomes.items[key] = RequestOutcome(key, SENT, at, None, result["message_id"])
        self.outcomes.written_by[key] = attempt_token(claimed_at)
        self.ledger.sent.append(asdict(sent))
        if self.answers_lost:
            self.answers_lost -= 1
            raise RuntimeError("Read timeout on endpoint URL")
        return True


@dataclass
class SentSms:
    destination: str
    body: str
    message_type: str
    context: dict[str, str]
    message_id: str


class FakeSms:
    """``SendTextMessage``: sends, or raises the errors queued with ``fail_next``."""

    def __init__(self) -> None:
        self.sent: list[SentSms] = []
        self.opted_out: set[str] = set()
        self.errors: list[Exception] = []
        self.calls = 0

    def fail_next(self, *errors: Exception) -> None:
        self.errors.extend(errors)

    def send(self, text: OutgoingText) -> SendResult:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        if text.destination in self.opted_out:
            return SendResult(message_id=None, blocked_by_opt_out=True)
        message_id = f"msg-{len(self.sent) + 1}"
        self.sent.append(SentSms(text.destination, text.body, text.message_type, dict(text.context), message_id))
        return SendResult(message_id=message_id)

    def keys(self) -> list[str]:
        return [text.context["sendKey"] for text in self.sent]


class MemorySchedule:
    """The shared schedules, packed by ``two_way_sms.pacing`` as the adapter does (one writer)."""

    def __init__(self) -> None:
        self.schedules: dict[str, pacing.Schedule] = {}
        self.writes: list[str] = []
        self.fail = False

    def book(self, key: str, parts: int, mps: float, now: float, horizon: float) -> Booking:
        return self.book_all(key, [Wanted(parts)], mps, now, horizon)[0]

    def book_all(self, key: str, wanted: Sequence[Wanted], mps: float, now: float, horizon: float) -> list[Booking]:
        if self.fail:
            raise RuntimeError("the schedule is contended")
        schedule, bookings = pacing.book(
            self.schedules.get(key, pacing.Schedule()), wanted, mps=mps, now=now, horizon=horizon
        )
        if any(booking.booked for booking in bookings):
            self.schedules[key] = schedule
            self.writes.append(key)
        return bookings


class MemoryHeld:
    def __init__(self) -> None:
        self.held: list[tuple[str, datetime]] = []
        self.parked: list[tuple[str, str]] = []
        self.releases: list[datetime] = []

    def hold(self, request: SendRequest, release_at: datetime) -> str:
        self.held.append((request.idempotency_key, release_at))
        return release_at.strftime("%Y-%m-%dT%H:%M")

    def park(self, request: SendRequest, reason: str, at: datetime) -> None:
        self.parked.append((request.idempotency_key, reason))

    def schedule_budget_release(self, after: datetime) -> str:
        self.releases.append(after)
        return f"release-budget-{after:%Y%m%dT%H%M}"


class MemoryQueue:
    def __init__(self) -> None:
        self.enqueued: list[tuple[str, int]] = []  # (idempotency key, delay seconds)
        self.failing = False

    def enqueue(self, requests: Iterable[SendRequest], *, delay_seconds: int = 0) -> EnqueueResult:
        requests = list(requests)
        if self.failing:
            return EnqueueResult(0, tuple((r.idempotency_key, "InternalError") for r in requests))
        self.enqueued += [(request.idempotency_key, delay_seconds) for request in requests]
        return EnqueueResult(len(requests))


class MemoryCampaignRuns:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], Counter[str]] = {}
        self.writes = 0
        self.refusals: list[Exception] = []  # the next writes fail with these, writing nothing
        self.answers_lost: list[Exception] = []  # the next writes that succeed fail with these

    def add_counts(self, campaign_id: str, run_id: str, counts: Mapping[str, int], chunk: str | None = None) -> bool:
        self.writes += 1
        if self.refusals:
            raise self.refusals.pop(0)
        self.counts.setdefault((campaign_id, run_id), Counter()).update(counts)
        if self.answers_lost:
            raise self.answers_lost.pop(0)
        return True


class MemoryLedger:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.failures = 0

    def record_sent(self, sent: SentText) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("ledger throttled")
        self.sent.append(asdict(sent))


class MemoryDeadLetters:
    def __init__(self) -> None:
        self.parked: list[dict[str, Any]] = []

    def park(self, body: str, *, reason: str, source: str, attributes: Mapping[str, str] | None = None) -> str:
        self.parked.append({"body": body, "reason": reason, "source": source, **(attributes or {})})
        return f"dead-{len(self.parked)}"


class FixedSpend:
    def __init__(self, usd: str = "0") -> None:
        self.spend = Decimal(usd)
        self.reads = 0
        self.fail = False

    def usd(self, month: str, now: float) -> Decimal:
        if self.fail:
            raise RuntimeError("ProvisionedThroughputExceededException")
        self.reads += 1
        return self.spend


class MemoryConversations:
    def __init__(self) -> None:
        self.stored: dict[str, Conversation] = {}

    def create(self, conversation: Conversation) -> Stored:
        if conversation.conversation_id in self.stored:
            raise ConversationMoved(conversation.conversation_id)
        self.stored[conversation.conversation_id] = conversation
        return Stored(conversation, 1)


@dataclass
class OutboundWorld:
    """One fake per port; ``sender()`` builds the use case on them (one execution environment)."""

    settings: SenderSettings = field(default_factory=lambda: SenderSettings(OUR_NUMBER, mps=3.0, max_price_usd="0.05"))
    templates: Mapping[str, Template] = field(default_factory=dict)
    clock: FakeClock = field(default_factory=FakeClock)
    log: RecordingLog = field(default_factory=RecordingLog)
    counts: RecordingCounts = field(default_factory=RecordingCounts)
    contacts: MemoryContacts = field(default_factory=MemoryContacts)
    outcomes: MemoryOutcomes = field(default_factory=MemoryOutcomes)
    claims: MemoryClaims = field(default_factory=MemoryClaims)
    sms: FakeSms = field(default_factory=FakeSms)
    schedule: MemorySchedule = field(default_factory=MemorySchedule)
    held: MemoryHeld = field(default_factory=MemoryHeld)
    queue: MemoryQueue = field(default_factory=MemoryQueue)
    campaign_runs: MemoryCampaignRuns = field(default_factory=MemoryCampaignRuns)
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    records_with_claims: bool = True  # False: the sender writes the claim, outcome and ledger one by one
    dead_letters: MemoryDeadLetters | None = field(default_factory=MemoryDeadLetters)
    spend: FixedSpend = field(default_factory=FixedSpend)
    budget: SpendBudget | None = None
    conversations: MemoryConversations | None = None
    flows: dict[str, Flow] = field(default_factory=dict)
    code_for: Any = None
    max_receive_count: int | None = 5

    def __post_init__(self) -> None:
        self.records = MemorySentRecords(self.claims, self.outcomes, self.ledger, self.contacts, self.conversations)

    def sender(self) -> RequestSender:
        return RequestSender(
            settings=self.settings,
            templates=self.templates,
            contacts=self.contacts,
            outcomes=self.outcomes,
            sender=OnceOnlySender(
                claims=self.claims,
                gateway=self.sms,
                settings=self.settings,
                clock=self.clock,
                log=self.log,
                records=self.records if self.records_with_claims else None,
            ),
            schedule=self.schedule,
            held=self.held,
            budget=BudgetHolds(held=self.held, log=self.log, budget=self.budget, spend=self.spend),
            queue=self.queue,
            campaign_runs=self.campaign_runs,
            ledger=self.ledger,
            log=self.log,
            counts=self.counts,
            clock=self.clock,
            dead_letters=self.dead_letters,
            conversations=self.conversations,
            flows=lambda: self.flows,
            code_for=self.code_for,
            max_receive_count=self.max_receive_count,
        )
