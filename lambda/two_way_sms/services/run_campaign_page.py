"""Run a campaign page, and the campaigns function's other use cases: releasing held requests.

What the function is asked (``two_way_sms.outbound.campaign_events``):

- ``{"kind": "campaign", "campaign": {...}, "runId": "..."[, "cursor": "...", "continuation": n]}``:
  read the audience page by page, leave out who must not get the text (an invalid row, a
  duplicate, opted out, no opt-in for a promotional text, a limit already reached) and
  put one send request per remaining recipient on the outbound queue. The sender decides
  again for every request when it sends (and adds the opt-out footer): this is a
  pre-filter that keeps the queue and the report honest, not the gate.
- ``{"kind": "release", "minute": "YYYY-MM-DDTHH:MM"[, "continuation": n]}``: move the
  requests held for that minute back into the outbound queue; the sender plans them again.
- ``{"kind": "release-budget"[, "continuation": n]}``: move every request the sender
  parked for the month's budget back into the queue (the sender scheduled it on finding
  the budget allows one of them again: raised, or a new month).
- ``{"kind": "check-budget"}`` (a recurring schedule): put one parked request of each
  budget reason back into the queue, so the sender finds out whether the budget allows
  them again; when it does, the sender schedules the release of them all.

Bad input never burns retries: an event that can never run (malformed, an unknown kind,
a run id too long for the idempotency key), a template no longer deployed or an audience
that cannot be read is parked at once in the dead-letter queue with its reason, the run
(when one is named) is marked FAILED with the same reason, and the invocation succeeds.
One bad audience row never fails its page: it is counted (``skipped_INVALID_ROW``) and
kept with its row number and reason. Any other failure is raised: Lambda retries the
invocation, then sends it to the dead-letter queue.

Exactly-once counting: a page of the audience is queued first and counted after, in one
conditional write naming the page (``Runs.add_counts(chunk=...)``). A retried invocation
queues the page again (the sender sends each idempotency key once) and counts nothing
twice. When the invocation's time runs low it stops after a page and schedules its own
continuation from the next cursor (``campaign-<id>-<run>-<n>``, ``release-<minute>-<n>``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from two_way_sms import metric_names
from two_way_sms.adapters.audience import AudiencePage
from two_way_sms.adapters.campaign_runs import RowError, skipped
from two_way_sms.adapters.outbound_queue import EnqueueResult
from two_way_sms.adapters.schedules import schedule_name
from two_way_sms.outbound.budget import BUDGET_HOLD_REASONS
from two_way_sms.outbound.campaign import (
    Audience,
    AudienceRow,
    AudienceRowError,
    Campaign,
    InvalidCampaign,
    campaign_request,
)
from two_way_sms.outbound.campaign_events import (
    CheckBudgetHolds,
    InvalidCampaignEvent,
    ReleaseBudgetHolds,
    ReleaseMinute,
    RunCampaign,
    parse_campaigns_event,
)
from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.outbound.limits import limit_refusal
from two_way_sms.outbound.policy import (
    MISSING_VARIABLES,
    NO_OPT_IN,
    OPTED_OUT,
    UNKNOWN_TIME_ZONE,
    has_opt_out_instruction,
)
from two_way_sms.outbound.request import PROMOTIONAL, InvalidSendRequest, SendRequest
from two_way_sms.outbound.templates import Template, TemplateError, render
from two_way_sms.quiet_hours import locate

SOURCE = "campaigns-function"  # the dead-letter messages' "source"
# Reasons only this function gives (the others are the policy's refusal reasons).
INVALID_ROW = "INVALID_ROW"
DUPLICATE_ROW = "DUPLICATE_ROW"
PAGE_SIZE = 500  # recipients per page: the unit of counting and of resuming
RELEASE_PAGE_SIZE = 100
# Stop and continue in a new invocation when less than this is left: a page takes a few seconds.
CONTINUE_BELOW_MS = 20_000
CONTINUE_AFTER_SECONDS = 60  # a one-time schedule must lie ahead (60 s precision)
# S3 errors that no retry cures: the run fails (its report says why).
AUDIENCE_GONE = frozenset({"NoSuchKey", "NoSuchBucket", "AccessDenied", "404", "403"})
# Requests released from a budget hold come back after this delay, so the release has
# removed them from the table before the sender can park them there again.
BUDGET_RELEASE_DELAY_SECONDS = 10

Held = list[tuple[str, SendRequest]]  # (idempotency key, request) pairs, as they are stored


# -- ports -------------------------------------------------------------------------------------------
class AudiencePages(Protocol):
    """A campaign's audience in resumable pages (``adapters.audience.AudienceReader``)."""

    def pages(
        self, audience: Audience, cursor: str | None = None, earlier: set[str] | None = None
    ) -> Iterator[AudiencePage]: ...


class ContactStates(Protocol):
    """Consent and recent sends of many destinations at once (``adapters.contacts.ContactsTable``)."""

    def contact_states(self, numbers: Iterable[str]) -> dict[str, ContactState]: ...


class Runs(Protocol):
    """Campaign runs: status, counters, bad rows (``adapters.campaign_runs.CampaignRuns``)."""

    def start(
        self,
        campaign_id: str,
        run_id: str,
        at: datetime,
        *,
        template_id: str | None = None,
        template_lacks_opt_out_instruction: bool | None = None,
    ) -> None: ...

    def add_counts(
        self, campaign_id: str, run_id: str, counts: Mapping[str, int], chunk: str | None = None
    ) -> bool: ...

    def finish_fan_out(self, campaign_id: str, run_id: str, at: datetime) -> None: ...

    def fail(self, campaign_id: str, run_id: str, reason: str, at: datetime) -> None: ...

    def record_row_errors(self, campaign_id: str, run_id: str, chunk: str, errors: Sequence[RowError]) -> None: ...


class HeldRequests(Protocol):
    """Requests held for a minute or parked for the budget (``adapters.held_requests.HeldRequests``)."""

    def peek(self, minute: str, limit: int = ...) -> tuple[Held, bool]: ...

    def remove(self, minute: str, keys: list[str]) -> None: ...

    def peek_parked(self, reason: str, limit: int = ...) -> tuple[Held, bool]: ...

    def remove_parked(self, reason: str, keys: list[str]) -> None: ...


class Queue(Protocol):
    """The outbound queue (``adapters.outbound_queue.OutboundQueue``): says which requests did not get in."""

    def enqueue(self, requests: Iterable[SendRequest], *, delay_seconds: int = 0) -> EnqueueResult: ...


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


class RunFailed(Exception):
    """The run cannot go on (an unknown template, an unreadable audience); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- the use cases -------------------------------------------------------------------------------------
class CampaignRunner:
    """The campaigns function's use cases, with the collaborators it is given (adapters in Lambda, fakes in tests)."""

    def __init__(
        self,
        *,
        templates: Mapping[str, Template],
        audience: AudiencePages,
        contacts: ContactStates,
        runs: Runs,
        held: HeldRequests,
        queue: Queue,
        dead_letters: DeadLetters,
        schedule: ScheduleOnce,
        telemetry: Telemetry,
        clock: Callable[[], datetime],
        daily_limit: int | None = None,
    ) -> None:
        self._templates = templates
        self._audience = audience
        self._contacts = contacts
        self._runs = runs
        self._held = held
        self._queue = queue
        self._dead_letters = dead_letters
        self._schedule = schedule
        self._telemetry = telemetry
        self._clock = clock
        # The sender's per-recipient daily limit; None: only the state and campaign limits pre-filter.
        self._daily_limit = daily_limit

    def handle(self, event: Any, invocation: Invocation) -> dict[str, Any]:
        """Runs what the event asks; parks it when it can never run. A passing failure is raised."""
        try:
            command = parse_campaigns_event(event)
        except InvalidCampaignEvent as error:
            return self._park(event, error.reason, invocation, campaign_id=error.campaign_id, run_id=error.run_id)
        if isinstance(command, RunCampaign):
            return self.run_campaign(command, invocation, event)
        if isinstance(command, ReleaseMinute):
            return self.release_held(command, invocation)
        if isinstance(command, ReleaseBudgetHolds):
            return self.release_budget_holds(command, invocation)
        assert isinstance(command, CheckBudgetHolds)
        return self.check_budget_holds()

    def _park(
        self,
        event: Any,
        reason: str,
        invocation: Invocation,
        *,
        campaign_id: str | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Keeps an event that can never run in the dead-letter queue with its reason, and fails its run."""
        if campaign_id is not None and run_id is not None:
            self._runs.fail(campaign_id, run_id, reason, self._clock())
        self._dead_letters.park_event(
            event, reason=reason, source=SOURCE, attributes={"requestId": invocation.aws_request_id or ""}
        )
        self._telemetry.error(
            "event parked in the dead-letter queue: it can never run",
            reason=reason,
            campaign=campaign_id,
            run_id=run_id,
        )
        return {"status": "PARKED", "reason": reason}

    # -- campaigns ------------------------------------------------------------------------------------
    def run_campaign(self, command: RunCampaign, invocation: Invocation, event: Any = None) -> dict[str, Any]:
        """Fans the run's audience out from its cursor, a page at a time; continues itself when time runs low."""
        campaign, run_id = command.campaign, command.run_id
        self._telemetry.append_keys(campaign=campaign.campaign_id, run_id=run_id, continuation=command.continuation)
        try:
            return self._fan_out(command, invocation)
        except RunFailed as failure:
            self._runs.fail(campaign.campaign_id, run_id, failure.reason, self._clock())
            self._telemetry.error("campaign run failed", reason=failure.reason)
            self._dead_letters.park_event(
                event,
                reason=failure.reason,
                source=SOURCE,
                attributes={
                    "requestId": invocation.aws_request_id or "",
                    "campaignId": campaign.campaign_id,
                    "runId": run_id,
                },
            )
            return {"status": "FAILED", "reason": failure.reason}

    def _fan_out(self, command: RunCampaign, invocation: Invocation) -> dict[str, Any]:
        campaign, run_id = command.campaign, command.run_id
        now = self._clock()
        template = self._templates.get(campaign.template_id)
        if template is None:
            # schedule() checked it; the templates deployed since then no longer have it.
            self._runs.start(campaign.campaign_id, run_id, now, template_id=campaign.template_id)
            raise RunFailed(f"no template {campaign.template_id} is deployed")
        lacks_opt_out = not has_opt_out_instruction(template.body)
        promotional = PROMOTIONAL in (campaign.message_type, template.message_type)
        self._runs.start(
            campaign.campaign_id,
            run_id,
            now,
            template_id=template.template_id,
            template_lacks_opt_out_instruction=lacks_opt_out,
        )
        if lacks_opt_out and promotional and command.cursor is None:
            self._telemetry.warning(
                "the template has no opt-out instruction: the sender appends one to every text",
                template_id=template.template_id,
            )

        fan_out = _PageFanOut(self, campaign, run_id, template, promotional)
        totals: Counter[str] = Counter()
        pages = self._audience.pages(campaign.audience, command.cursor, earlier=fan_out.seen)
        while (page := _next_page(pages)) is not None:
            counts, row_errors = fan_out.page(page, self._clock())
            totals.update(counts)
            if row_errors:  # before the counts: a retried page writes the same items again
                self._runs.record_row_errors(campaign.campaign_id, run_id, page.chunk_id, row_errors)
            counted = self._runs.add_counts(campaign.campaign_id, run_id, counts, chunk=page.chunk_id)
            self._telemetry.info(
                "page queued",
                chunk=page.chunk_id,
                queued=counts.get("queued", 0),
                skipped=_skipped(counts),
                counted=counted,
            )
            if page.next_cursor is not None and invocation.get_remaining_time_in_millis() < CONTINUE_BELOW_MS:
                self._continue_campaign(
                    campaign, run_id, page.next_cursor, command.continuation + 1, invocation.invoked_function_arn
                )
                self._write_fan_out_metrics(totals)
                return {"status": "CONTINUED", "counts": dict(totals)}
        self._runs.finish_fan_out(campaign.campaign_id, run_id, self._clock())
        self._write_fan_out_metrics(totals)
        self._telemetry.info("campaign fanned out", queued=totals.get("queued", 0), skipped=_skipped(totals))
        return {"status": "QUEUED_ALL", "counts": dict(totals)}

    def _continue_campaign(
        self, campaign: Campaign, run_id: str, cursor: str, continuation: int, self_arn: str
    ) -> None:
        created = self._schedule(
            name=schedule_name(f"campaign-{campaign.campaign_id}-{run_id}-{continuation}"),
            at=self._clock() + timedelta(seconds=CONTINUE_AFTER_SECONDS),
            target_arn=self_arn,
            payload={
                "kind": "campaign",
                "campaign": campaign.to_dict(),
                "runId": run_id,
                "cursor": cursor,
                "continuation": continuation,
            },
        )
        self._telemetry.info(
            "time is running low: the run continues in a new invocation",
            next_continuation=continuation,
            schedule_created=created,
        )

    def _write_fan_out_metrics(self, totals: Counter[str]) -> None:
        self._telemetry.count(metric_names.CAMPAIGN_RECIPIENTS_QUEUED, totals.get("queued", 0))
        self._telemetry.count(metric_names.CAMPAIGN_RECIPIENTS_SKIPPED, _skipped(totals))

    # -- held requests ----------------------------------------------------------------------------------
    def release_held(self, command: ReleaseMinute, invocation: Invocation) -> dict[str, Any]:
        """The minute's held requests back into the queue; the sender plans them again."""
        minute, continuation = command.minute, command.continuation
        self._telemetry.append_keys(minute=minute, continuation=continuation)

        def take() -> tuple[Held, bool]:
            return self._held.peek(minute, RELEASE_PAGE_SIZE)

        def remove(keys: list[str]) -> None:
            self._held.remove(minute, keys)

        return self._release(
            take,
            remove,
            invocation,
            name=f"release-{minute.replace('-', '').replace(':', '')}",
            payload={"kind": "release", "minute": minute},
            continuation=continuation,
        )

    def release_budget_holds(self, command: ReleaseBudgetHolds, invocation: Invocation) -> dict[str, Any]:
        """Every request parked for the budget, back into the queue; the sender parks again what still waits."""
        self._telemetry.append_keys(continuation=command.continuation)
        reasons = list(BUDGET_HOLD_REASONS)

        def take() -> tuple[Held, bool]:
            while reasons:
                entries, more = self._held.peek_parked(reasons[0], RELEASE_PAGE_SIZE)
                if entries:
                    return entries, more or len(reasons) > 1
                reasons.pop(0)
            return [], False

        def remove(keys: list[str]) -> None:
            self._held.remove_parked(reasons[0], keys)

        return self._release(
            take,
            remove,
            invocation,
            name=f"release-budget-{self._clock():%Y%m%dT%H%M}",
            payload={"kind": "release-budget"},
            continuation=command.continuation,
            delay_seconds=BUDGET_RELEASE_DELAY_SECONDS,
        )

    def check_budget_holds(self) -> dict[str, Any]:
        """One parked request of each budget reason back into the queue: the sender tries it against the budget."""
        requeued = 0
        for reason in BUDGET_HOLD_REASONS:
            entries, _ = self._held.peek_parked(reason, 1)
            if not entries:
                continue
            result = self._queue.enqueue(
                [request for _, request in entries], delay_seconds=BUDGET_RELEASE_DELAY_SECONDS
            )
            if result.failed:
                raise RuntimeError(f"a request parked for {reason} was not queued (SQS: {result.failed[0][1]})")
            self._held.remove_parked(reason, [key for key, _ in entries])
            requeued += 1
        if requeued:
            self._telemetry.info("parked requests put back to try the budget", requeued=requeued)
        return {"status": "CHECKED", "requeued": requeued}

    def _release(
        self,
        take: Callable[[], tuple[Held, bool]],
        remove: Callable[[list[str]], None],
        invocation: Invocation,
        *,
        name: str,
        payload: dict[str, Any],
        continuation: int,
        delay_seconds: int = 0,
    ) -> dict[str, Any]:
        """Moves held requests back into the queue a page at a time, continuing in a new invocation when
        time runs low."""
        released = 0
        try:
            while True:
                entries, more = take()
                if entries:
                    result = self._queue.enqueue([request for _, request in entries], delay_seconds=delay_seconds)
                    lost = {key for key, _ in result.failed}
                    # Only what is safely back in the queue leaves the table.
                    remove([key for key, _ in entries if key not in lost])
                    released += result.queued
                    if lost:
                        raise RuntimeError(f"{len(lost)} held request(s) not queued; they stay held for the retry")
                if not more:
                    break
                if invocation.get_remaining_time_in_millis() < CONTINUE_BELOW_MS:
                    created = self._schedule(
                        name=schedule_name(f"{name}-{continuation + 1}"),
                        at=self._clock() + timedelta(seconds=CONTINUE_AFTER_SECONDS),
                        target_arn=invocation.invoked_function_arn,
                        payload={**payload, "continuation": continuation + 1},
                    )
                    self._telemetry.info(
                        "time is running low: the release continues in a new invocation", schedule_created=created
                    )
                    return {"status": "CONTINUED", "released": released}
        finally:
            self._telemetry.count(metric_names.HELD_REQUESTS_RELEASED, released)
        self._telemetry.info("held requests released", released=released)
        return {"status": "RELEASED", "released": released}


class _PageFanOut:
    """Decides, for each recipient of one page, whether to queue the request or to leave it out, and queues."""

    def __init__(
        self, runner: CampaignRunner, campaign: Campaign, run_id: str, template: Template, promotional: bool
    ) -> None:
        self._contacts, self._queue = runner._contacts, runner._queue
        self._telemetry, self._daily_limit = runner._telemetry, runner._daily_limit
        self.campaign, self.run_id, self.template, self.promotional = campaign, run_id, template, promotional
        self.seen: set[str] = set()  # destinations of the rows read so far: a duplicate row is left out

    def page(self, page: AudiencePage, now: datetime) -> tuple[Counter[str], list[RowError]]:
        """Queues the page's requests; the counts by outcome, and the rows that could not be read."""
        counts: Counter[str] = Counter()
        row_errors: list[RowError] = []
        candidates = []
        for entry in page.entries:
            if isinstance(entry, AudienceRowError):
                counts[skipped(INVALID_ROW)] += 1
                row_errors.append(RowError(entry.row_number, entry.reason))
                self._telemetry.info("audience row skipped", row=entry.row_number, reason=entry.reason)  # (masked)
                continue
            assert isinstance(entry, AudienceRow)
            if entry.destination in self.seen:
                counts[skipped(DUPLICATE_ROW)] += 1
                continue
            self.seen.add(entry.destination)
            candidates.append(entry)
        states = self._contacts.contact_states(row.destination for row in candidates)
        requests = []
        for row in candidates:
            try:
                request = campaign_request(self.campaign, self.run_id, row, now=now)
            except InvalidSendRequest as error:  # a variable the request cannot carry: this row only
                counts[skipped(INVALID_ROW)] += 1
                row_errors.append(RowError(row.row_number, f"row {row.row_number}: {error.reason}"))
                self._telemetry.info("audience row skipped", row=row.row_number, reason=error.reason)
                continue
            reason = self._reason_to_skip(request, states[row.destination], now)
            if reason is not None:
                counts[skipped(reason)] += 1
            else:
                requests.append(request)
        if requests:
            result = self._queue.enqueue(requests)
            if result.failed:
                # Nothing of this page is counted: the retried invocation queues it again.
                raise RuntimeError(
                    f"{len(result.failed)} request(s) of page {page.chunk_id} not queued "
                    f"(SQS: {', '.join(sorted({code for _, code in result.failed}))})"
                )
        counts["queued"] += len(requests)
        return counts, row_errors

    def _reason_to_skip(self, request: SendRequest, state: ContactState, now: datetime) -> str | None:
        try:
            render(self.template, request.variables)
        except TemplateError:
            return MISSING_VARIABLES
        if state.opted_out:
            return OPTED_OUT
        if not self.promotional:
            return None
        if not state.opted_in:
            return NO_OPT_IN
        recipient = locate(request.destination)
        if not recipient.zones:
            return UNKNOWN_TIME_ZONE
        # Limits count the sends before the text can go: at its local send time, if later.
        at = max(now, request.send_after) if request.send_after else now
        checked = request if request.message_type == PROMOTIONAL else request.with_changes(message_type=PROMOTIONAL)
        return limit_refusal(checked, state, at, daily_limit=self._daily_limit, state=recipient.state)


def _next_page(pages: Iterator[AudiencePage]) -> AudiencePage | None:
    """The next page; a missing or unreadable audience raises RunFailed (a passing error is just raised)."""
    try:
        return next(pages, None)
    except InvalidCampaign as error:
        raise RunFailed(str(error)) from None
    except Exception as error:
        code = _error_code(error)
        if code not in AUDIENCE_GONE:
            raise  # throttling or a timeout: the retried invocation reads it again
        raise RunFailed(f"the audience cannot be read ({code})") from None


def _skipped(counts: Mapping[str, int]) -> int:
    return sum(value for name, value in counts.items() if name != "queued")


def _error_code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None
