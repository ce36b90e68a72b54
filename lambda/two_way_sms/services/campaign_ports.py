"""What the campaigns function's use cases (``services.run_campaign_page``) are given: small ports.

Each is one adapter in Lambda (named on it) and one fake in tests (``tests/unit/fakes_campaigns``);
the outbound queue and the run's counters are ports other use cases take too (``shared_ports``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any, Protocol

from two_way_sms.adapters.audience import AudiencePage
from two_way_sms.adapters.campaign_runs import RowError
from two_way_sms.outbound.campaign import Audience
from two_way_sms.outbound.campaign_shards import AudienceShard
from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.outbound.request import SendRequest
from two_way_sms.services.shared_ports import CampaignCounters

Held = list[tuple[str, SendRequest]]  # (idempotency key, request) pairs, as they are stored


class AudiencePages(Protocol):
    """A campaign's audience in resumable pages, whole or one shard of it (``adapters.audience.AudienceReader``)."""

    def pages(
        self,
        audience: Audience,
        cursor: str | None = None,
        earlier: set[str] | None = None,
        shard: AudienceShard | None = None,
    ) -> Iterator[AudiencePage]: ...

    def shards(self, audience: Audience) -> Sequence[AudienceShard]:
        """How the audience is read in parallel; empty: read it whole."""
        ...


class ContactStates(Protocol):
    """Consent and recent sends of many destinations at once (``adapters.contacts.ContactsTable``)."""

    def contact_states(self, numbers: Iterable[str]) -> dict[str, ContactState]: ...


class Runs(CampaignCounters, Protocol):
    """Campaign runs: status, counters, bad rows (``adapters.campaign_runs.CampaignRuns``)."""

    def add_counts(
        self,
        campaign_id: str,
        run_id: str,
        counts: Mapping[str, int],
        chunk: str | None = None,
        shard: int | None = None,
    ) -> bool: ...

    def plan_shards(self, campaign_id: str, run_id: str, shards: int) -> AbstractSet[int]: ...

    def start_shard(self, campaign_id: str, run_id: str, shard: int) -> None: ...

    def finish_shard(self, campaign_id: str, run_id: str, shard: int, shards: int, at: datetime) -> bool: ...

    def start(
        self,
        campaign_id: str,
        run_id: str,
        at: datetime,
        *,
        template_id: str | None = None,
        template_lacks_opt_out_instruction: bool | None = None,
    ) -> None: ...

    def finish_fan_out(self, campaign_id: str, run_id: str, at: datetime) -> None: ...

    def fail(self, campaign_id: str, run_id: str, reason: str, at: datetime) -> None: ...

    def record_row_errors(self, campaign_id: str, run_id: str, chunk: str, errors: Sequence[RowError]) -> None: ...


class HeldRequests(Protocol):
    """Requests held for a minute or parked for the budget (``adapters.held_requests.HeldRequests``)."""

    def peek(self, minute: str, limit: int = ...) -> tuple[Held, bool]: ...

    def remove(self, minute: str, keys: list[str]) -> None: ...

    def peek_parked(self, reason: str, limit: int = ...) -> tuple[Held, bool]: ...

    def remove_parked(self, reason: str, keys: list[str]) -> None: ...


class DeadLetters(Protocol):
    """Where events that can never run are kept (``adapters.dead_letters.DeadLetterQueue``)."""

    def park_event(
        self, event: Any, *, reason: str, source: str, attributes: Mapping[str, str] | None = None
    ) -> str: ...


class ScheduleOnce(Protocol):
    """One invocation of ``target_arn`` with ``payload`` at ``at`` (``adapters.schedules.create_one_time_schedule``
    in the function's group); False when a schedule of that name exists already."""

    def __call__(self, *, name: str, at: datetime, target_arn: str, payload: Mapping[str, Any]) -> bool: ...


class Telemetry(Protocol):
    """Where the service reports (``adapters.telemetry.PowertoolsTelemetry``)."""

    def info(self, message: str, **fields: Any) -> None: ...

    def warning(self, message: str, **fields: Any) -> None: ...

    def error(self, message: str, **fields: Any) -> None: ...

    def count(self, metric: str, value: int = 1) -> None: ...

    def append_keys(self, **fields: Any) -> None: ...


class Invocation(Protocol):
    """What the service needs of the Lambda context: time left, its own ARN (for continuations), its id."""

    @property
    def invoked_function_arn(self) -> str: ...

    @property
    def aws_request_id(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...
