"""What the sender's use cases are given: small ports, each one adapter in Lambda and one fake in tests.

``services.send_requests`` (plan, book, send, record) and ``services.sending`` (one send, at
most once) take these and a few that other use cases take too (``services.shared_ports``);
``handlers.sender`` wires the adapters named on each port.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from two_way_sms.adapters.conversations import Stored
from two_way_sms.adapters.ledger import SentText
from two_way_sms.adapters.request_outcomes import RequestOutcome
from two_way_sms.adapters.send_claims import Existing
from two_way_sms.adapters.sms import OutgoingText, SendResult
from two_way_sms.conversations.engine import Conversation
from two_way_sms.outbound.contact_state import ContactState, PromotionalCount
from two_way_sms.outbound.request import CampaignRef, SendRequest
from two_way_sms.pacing import Booking, Wanted
from two_way_sms.services.shared_ports import Consent


class Clock(Protocol):
    """Epoch seconds, and a wait for a booked slot (a simulated clock in tests and benchmarks)."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class Log(Protocol):
    """Structured log lines, with keys that stay on every line until removed (Powertools' ``Logger`` fits)."""

    def info(self, msg: str, **fields: Any) -> None: ...

    def warning(self, msg: str, **fields: Any) -> None: ...

    def error(self, msg: str, **fields: Any) -> None: ...

    def exception(self, msg: str, **fields: Any) -> None: ...

    def append_keys(self, **keys: Any) -> None: ...

    def remove_keys(self, keys: Iterable[str]) -> None: ...


class Counts(Protocol):
    """Where a batch's counts go once it is done (``adapters.telemetry.PowertoolsTelemetry``)."""

    def count(self, metric: str, value: int = 1) -> None: ...


class Contacts(Consent, Protocol):
    """Consent and promotional sends by number (``adapters.contacts.ContactsTable``)."""

    def contact_state(self, number: str) -> ContactState: ...

    def contact_states(self, numbers: Iterable[str]) -> dict[str, ContactState]: ...

    def record_promotional_send(
        self, number: str, key: str, campaign: CampaignRef | None, at: datetime, *, subject: str | None = None
    ) -> bool: ...


class BatchReads(Protocol):
    """A batch's outcomes and contact states, read together (``adapters.send_batch_reads.SendBatchReads``)."""

    def read(
        self, keys: Iterable[str], numbers: Iterable[str]
    ) -> tuple[dict[str, RequestOutcome], dict[str, ContactState]]: ...


class Outcomes(Protocol):
    """What became of each request (``adapters.request_outcomes.RequestOutcomes``)."""

    def get(self, key: str) -> RequestOutcome | None: ...

    def get_many(self, keys: Iterable[str]) -> dict[str, RequestOutcome]: ...

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
    ) -> bool: ...


class Claims(Protocol):
    """The claim on each send (``adapters.send_claims.SendClaims``)."""

    def claim(self, key: str, *, now: float, until: float) -> Existing | None: ...

    def finish(self, key: str, *, claimed_at: float, result: dict[str, Any] | None) -> bool: ...


class SeparateReads:
    """``BatchReads`` from the two ports, one read each (where nothing reads both at once)."""

    def __init__(self, outcomes: Outcomes, contacts: Contacts) -> None:
        self._outcomes, self._contacts = outcomes, contacts

    def read(
        self, keys: Iterable[str], numbers: Iterable[str]
    ) -> tuple[dict[str, RequestOutcome], dict[str, ContactState]]:
        return self._outcomes.get_many(keys), self._contacts.contact_states(numbers)


class SentRecords(Protocol):
    """A sent text's claim, outcome, ledger entry, conversation and promotional count in one write
    (``adapters.sent_records.SentRecords``)."""

    def record(
        self,
        key: str,
        *,
        claimed_at: float,
        result: dict[str, Any],
        sent: SentText,
        promotional: PromotionalCount | None = None,
        conversation: Conversation | None = None,
    ) -> bool: ...


class Sms(Protocol):
    """``SendTextMessage`` (``adapters.sms.SmsGateway``)."""

    def send(self, text: OutgoingText) -> SendResult: ...


class Schedule(Protocol):
    """The shared send schedules of the number and of paced campaigns (``adapters.throughput.ThroughputSchedule``)."""

    def book(self, key: str, parts: int, mps: float, now: float, horizon: float) -> Booking: ...

    def book_all(self, key: str, wanted: Sequence[Wanted], mps: float, now: float, horizon: float) -> list[Booking]: ...


class Held(Protocol):
    """Requests held past the queue's 15 minutes, or parked for the budget (``adapters.held_requests.HeldRequests``)."""

    def hold(self, request: SendRequest, release_at: datetime) -> str: ...

    def park(self, request: SendRequest, reason: str, at: datetime) -> None: ...

    def schedule_budget_release(self, after: datetime) -> str: ...


class Spend(Protocol):
    """The month's counted spend, cached briefly (``adapters.spend.MonthSpend``)."""

    def usd(self, month: str, now: float) -> Decimal: ...


class Conversations(Protocol):
    """Where an opened conversation is stored (``adapters.conversations.ConversationStore``)."""

    def create(self, conversation: Conversation) -> Stored: ...
