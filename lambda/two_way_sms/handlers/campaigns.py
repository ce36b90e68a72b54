"""Campaigns function: EventBridge Scheduler invokes it to fan a campaign out, or to release held requests.

Events (contract section 3):
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
that cannot be read is parked at once in the function's dead-letter queue with its
reason, the run (when one is named) is marked FAILED with the same reason, and the
invocation succeeds. One bad audience row never fails its page: it is counted
(``skipped_INVALID_ROW``) and kept with its row number and reason
(``CampaignRuns.row_errors``). Any other failure is logged once with its reason and
raised: Lambda retries the invocation, then sends it to the dead-letter queue.

Exactly-once counting: a page of the audience is queued first and counted after, in one
conditional write naming the page (``CampaignRuns.add_counts(chunk=...)``). A retried
invocation queues the page again (the sender sends each idempotency key once) and counts
nothing twice. When the invocation's time runs low it stops after a page and schedules its
own continuation from the next cursor (``campaign-<id>-<run>-<n>``, ``release-<minute>-<n>``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from two_way_sms import metric_names
from two_way_sms.adapters.audience import AudiencePage, AudienceReader
from two_way_sms.adapters.batch_failures import failure_reason
from two_way_sms.adapters.campaign_runs import CampaignRuns, RowError, skipped
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.dead_letters import DeadLetterQueue
from two_way_sms.adapters.held_requests import HeldRequests
from two_way_sms.adapters.outbound_queue import EnqueueResult, OutboundQueue
from two_way_sms.adapters.schedules import create_one_time_schedule, schedule_name
from two_way_sms.outbound.budget import BUDGET_HOLD_REASONS
from two_way_sms.outbound.campaign import AudienceRow, AudienceRowError, Campaign, InvalidCampaign, campaign_request
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
    SenderSettings,
    has_opt_out_instruction,
)
from two_way_sms.outbound.request import PROMOTIONAL, InvalidSendRequest, SendRequest
from two_way_sms.outbound.templates import Template, TemplateError, render, templates_from_json
from two_way_sms.quiet_hours import locate

REQUIRED_SETTINGS = (
    "OUTBOUND_QUEUE_URL", "OUTBOUND_TABLE", "CONTACTS_TABLE", "TEMPLATES", "SCHEDULE_GROUP", "SCHEDULER_ROLE_ARN",
    "SCHEDULE_DEAD_LETTER_QUEUE_ARN", "DEAD_LETTER_QUEUE_URL",
)
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


def _settings_from_environment() -> dict[str, str]:
    missing = [name for name in REQUIRED_SETTINGS if not os.environ.get(name)]
    if missing:
        raise RuntimeError(
            f"campaigns function is missing environment variables {missing}: deploy it with the construct")
    settings = {name: os.environ[name] for name in REQUIRED_SETTINGS}
    try:
        templates_from_json(settings["TEMPLATES"])
        if os.environ.get("SENDER_SETTINGS"):
            SenderSettings.from_json(os.environ["SENDER_SETTINGS"])
    except ValueError as error:
        raise RuntimeError(f"campaigns function settings are invalid: {error}") from None
    return settings


_env = _settings_from_environment()
logger = Logger()
metrics = Metrics()
tracer = Tracer()

templates: dict[str, Template] = templates_from_json(_env["TEMPLATES"])
# Optional: the sender's per-recipient daily limit; without it only the state and campaign limits pre-filter.
daily_limit: int | None = (
    SenderSettings.from_json(os.environ["SENDER_SETTINGS"]).promotional_daily_limit
    if os.environ.get("SENDER_SETTINGS") else None
)
_dynamodb = boto3.resource("dynamodb")
_outbound_table = _dynamodb.Table(_env["OUTBOUND_TABLE"])
runs = CampaignRuns(_outbound_table)
held = HeldRequests(_outbound_table)
_sqs = boto3.client("sqs")
queue = OutboundQueue(_sqs, _env["OUTBOUND_QUEUE_URL"])
dead_letters = DeadLetterQueue(_sqs, _env["DEAD_LETTER_QUEUE_URL"])
_contacts_table = _dynamodb.Table(_env["CONTACTS_TABLE"])
contacts = ContactsTable(_contacts_table)
audience_reader = AudienceReader(s3_client=boto3.client("s3"), contacts_table=_contacts_table,
                                 page_size=PAGE_SIZE)
scheduler = boto3.client("scheduler")


def clock() -> datetime:
    """Now (tests replace it)."""
    return datetime.now(timezone.utc)


class RunFailed(Exception):
    """The run cannot go on (an unknown template, an unreadable audience); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> Any:
    try:
        try:
            command = parse_campaigns_event(event)
        except InvalidCampaignEvent as error:
            return _park(event, error.reason, context, campaign_id=error.campaign_id, run_id=error.run_id)
        if isinstance(command, RunCampaign):
            return run_campaign(command, context, event)
        if isinstance(command, ReleaseMinute):
            return release_held(command, context)
        if isinstance(command, ReleaseBudgetHolds):
            return release_budget_holds(command, context)
        assert isinstance(command, CheckBudgetHolds)
        return check_budget_holds()
    except Exception as error:
        logger.exception("invocation failed; Lambda retries it, then sends it to the dead-letter queue",
                         reason=failure_reason(error))
        raise


def _park(event: Any, reason: str, context: LambdaContext, *, campaign_id: str | None = None,
          run_id: str | None = None) -> dict:
    """Keeps an event that can never run in the dead-letter queue with its reason, and fails its run."""
    if campaign_id is not None and run_id is not None:
        runs.fail(campaign_id, run_id, reason, clock())
    dead_letters.park_event(event, reason=reason, source=SOURCE,
                            attributes={"requestId": getattr(context, "aws_request_id", "") or ""})
    logger.error("event parked in the dead-letter queue: it can never run", reason=reason,
                 campaign=campaign_id, run_id=run_id)
    return {"status": "PARKED", "reason": reason}


# -- campaigns ----------------------------------------------------------------------------------------
@tracer.capture_method
def run_campaign(command: RunCampaign, context: LambdaContext, event: Any = None) -> dict:
    campaign, run_id, cursor, continuation = command.campaign, command.run_id, command.cursor, command.continuation
    logger.append_keys(campaign=campaign.campaign_id, run_id=run_id, continuation=continuation)
    try:
        return _fan_out(campaign, run_id, cursor, continuation, context)
    except RunFailed as failure:
        runs.fail(campaign.campaign_id, run_id, failure.reason, clock())
        logger.error("campaign run failed", reason=failure.reason)
        dead_letters.park_event(event, reason=failure.reason, source=SOURCE, attributes={
            "requestId": getattr(context, "aws_request_id", "") or "", "campaignId": campaign.campaign_id,
            "runId": run_id})
        return {"status": "FAILED", "reason": failure.reason}


def _fan_out(campaign: Campaign, run_id: str, cursor: str | None, continuation: int, context: LambdaContext) -> dict:
    now = clock()
    template = templates.get(campaign.template_id)
    if template is None:
        # schedule() checked it; the templates deployed since then no longer have it.
        runs.start(campaign.campaign_id, run_id, now, template_id=campaign.template_id)
        raise RunFailed(f"no template {campaign.template_id} is deployed")
    lacks_opt_out = not has_opt_out_instruction(template.body)
    promotional = PROMOTIONAL in (campaign.message_type, template.message_type)
    runs.start(campaign.campaign_id, run_id, now, template_id=template.template_id,
               template_lacks_opt_out_instruction=lacks_opt_out)
    if lacks_opt_out and promotional and cursor is None:
        logger.warning("the template has no opt-out instruction: the sender appends one to every text",
                       template_id=template.template_id)

    fan_out = FanOut(campaign, run_id, template, promotional)
    totals: Counter[str] = Counter()
    pages = audience_reader.pages(campaign.audience, cursor, earlier=fan_out.seen)
    while (page := _next_page(pages)) is not None:
        counts, row_errors = fan_out.page(page, clock())
        totals.update(counts)
        if row_errors:  # before the counts: a retried page writes the same items again
            runs.record_row_errors(campaign.campaign_id, run_id, page.chunk_id, row_errors)
        counted = runs.add_counts(campaign.campaign_id, run_id, counts, chunk=page.chunk_id)
        logger.info("page queued", chunk=page.chunk_id, queued=counts.get("queued", 0),
                    skipped=sum(v for k, v in counts.items() if k != "queued"), counted=counted)
        if page.next_cursor is not None and context.get_remaining_time_in_millis() < CONTINUE_BELOW_MS:
            _continue_campaign(campaign, run_id, page.next_cursor, continuation + 1, context.invoked_function_arn)
            _write_fan_out_metrics(totals)
            return {"status": "CONTINUED", "counts": dict(totals)}
    runs.finish_fan_out(campaign.campaign_id, run_id, clock())
    _write_fan_out_metrics(totals)
    logger.info("campaign fanned out", queued=totals.get("queued", 0),
                skipped=sum(v for k, v in totals.items() if k != "queued"))
    return {"status": "QUEUED_ALL", "counts": dict(totals)}


def _next_page(pages: Iterator[AudiencePage]) -> AudiencePage | None:
    """The next page; a missing or unreadable audience raises RunFailed (a passing error is just raised)."""
    try:
        return next(pages, None)
    except InvalidCampaign as error:
        raise RunFailed(str(error)) from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code not in AUDIENCE_GONE:
            raise  # throttling or a timeout: the retried invocation reads it again
        raise RunFailed(f"the audience cannot be read ({code})") from None


class FanOut:
    """Decides, for each recipient of one page, whether to queue the request or to leave it out, and queues."""

    def __init__(self, campaign: Campaign, run_id: str, template: Template, promotional: bool) -> None:
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
                logger.info("audience row skipped", row=entry.row_number, reason=entry.reason)  # (number masked)
                continue
            assert isinstance(entry, AudienceRow)
            if entry.destination in self.seen:
                counts[skipped(DUPLICATE_ROW)] += 1
                continue
            self.seen.add(entry.destination)
            candidates.append(entry)
        states = contacts.contact_states(row.destination for row in candidates)
        requests = []
        for row in candidates:
            try:
                request = campaign_request(self.campaign, self.run_id, row, now=now)
            except InvalidSendRequest as error:  # a variable the request cannot carry: this row only
                counts[skipped(INVALID_ROW)] += 1
                row_errors.append(RowError(row.row_number, f"row {row.row_number}: {error.reason}"))
                logger.info("audience row skipped", row=row.row_number, reason=error.reason)
                continue
            reason = self._reason_to_skip(request, states[row.destination], now)
            if reason is not None:
                counts[skipped(reason)] += 1
            else:
                requests.append(request)
        if requests:
            result = queue.enqueue(requests)
            if result.failed:
                # Nothing of this page is counted: the retried invocation queues it again.
                raise RuntimeError(f"{len(result.failed)} request(s) of page {page.chunk_id} not queued "
                                   f"(SQS: {', '.join(sorted({code for _, code in result.failed}))})")
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
        return limit_refusal(checked, state, at, daily_limit=daily_limit, state=recipient.state)


def _continue_campaign(campaign: Campaign, run_id: str, cursor: str, continuation: int, self_arn: str) -> None:
    created = create_one_time_schedule(
        scheduler, name=schedule_name(f"campaign-{campaign.campaign_id}-{run_id}-{continuation}"),
        at=clock() + timedelta(seconds=CONTINUE_AFTER_SECONDS), group=_env["SCHEDULE_GROUP"],
        target_arn=self_arn, role_arn=_env["SCHEDULER_ROLE_ARN"],
        dead_letter_queue_arn=_env["SCHEDULE_DEAD_LETTER_QUEUE_ARN"],
        payload={"kind": "campaign", "campaign": campaign.to_dict(), "runId": run_id, "cursor": cursor,
                 "continuation": continuation},
    )
    logger.info("time is running low: the run continues in a new invocation", next_continuation=continuation,
                schedule_created=created)


def _write_fan_out_metrics(totals: Counter[str]) -> None:
    metrics.add_metric(name=metric_names.CAMPAIGN_RECIPIENTS_QUEUED, unit=MetricUnit.Count,
                       value=totals.get("queued", 0))
    metrics.add_metric(name=metric_names.CAMPAIGN_RECIPIENTS_SKIPPED, unit=MetricUnit.Count,
                       value=sum(v for k, v in totals.items() if k != "queued"))


# -- held requests ----------------------------------------------------------------------------------------
@tracer.capture_method
def release_held(command: ReleaseMinute, context: LambdaContext) -> dict:
    minute, continuation = command.minute, command.continuation
    logger.append_keys(minute=minute, continuation=continuation)

    def take() -> tuple[list[tuple[str, SendRequest]], bool]:
        return held.peek(minute, RELEASE_PAGE_SIZE)

    def remove(keys: list[str]) -> None:
        held.remove(minute, keys)

    return _release(take, remove, context, name=f"release-{minute.replace('-', '').replace(':', '')}",
                    payload={"kind": "release", "minute": minute}, continuation=continuation)


@tracer.capture_method
def release_budget_holds(command: ReleaseBudgetHolds, context: LambdaContext) -> dict:
    """Every request parked for the budget, back into the queue; the sender parks again what still waits."""
    logger.append_keys(continuation=command.continuation)
    reasons = list(BUDGET_HOLD_REASONS)

    def take() -> tuple[list[tuple[str, SendRequest]], bool]:
        while reasons:
            entries, more = held.peek_parked(reasons[0], RELEASE_PAGE_SIZE)
            if entries:
                return entries, more or len(reasons) > 1
            reasons.pop(0)
        return [], False

    def remove(keys: list[str]) -> None:
        held.remove_parked(reasons[0], keys)

    return _release(take, remove, context, name=f"release-budget-{clock():%Y%m%dT%H%M}",
                    payload={"kind": "release-budget"},
                    continuation=command.continuation, delay_seconds=BUDGET_RELEASE_DELAY_SECONDS)


def check_budget_holds() -> dict:
    """One parked request of each budget reason back into the queue: the sender tries it against the budget."""
    requeued = 0
    for reason in BUDGET_HOLD_REASONS:
        entries, _ = held.peek_parked(reason, 1)
        if not entries:
            continue
        result = _enqueue([request for _, request in entries], BUDGET_RELEASE_DELAY_SECONDS)
        if result.failed:
            raise RuntimeError(f"a request parked for {reason} was not queued (SQS: {result.failed[0][1]})")
        held.remove_parked(reason, [key for key, _ in entries])
        requeued += 1
    if requeued:
        logger.info("parked requests put back to try the budget", requeued=requeued)
    return {"status": "CHECKED", "requeued": requeued}


def _release(take: Any, remove: Any, context: LambdaContext, *, name: str, payload: dict[str, Any],
             continuation: int, delay_seconds: int = 0) -> dict:
    """Moves held requests back into the queue a page at a time, continuing in a new invocation when time runs low."""
    released = 0
    try:
        while True:
            entries, more = take()
            if entries:
                result = _enqueue([request for _, request in entries], delay_seconds)
                lost = {key for key, _ in result.failed}
                # Only what is safely back in the queue leaves the table.
                remove([key for key, _ in entries if key not in lost])
                released += result.queued
                if lost:
                    raise RuntimeError(f"{len(lost)} held request(s) not queued; they stay held for the retry")
            if not more:
                break
            if context.get_remaining_time_in_millis() < CONTINUE_BELOW_MS:
                created = create_one_time_schedule(
                    scheduler, name=schedule_name(f"{name}-{continuation + 1}"),
                    at=clock() + timedelta(seconds=CONTINUE_AFTER_SECONDS), group=_env["SCHEDULE_GROUP"],
                    target_arn=context.invoked_function_arn, role_arn=_env["SCHEDULER_ROLE_ARN"],
                    dead_letter_queue_arn=_env["SCHEDULE_DEAD_LETTER_QUEUE_ARN"],
                    payload={**payload, "continuation": continuation + 1},
                )
                logger.info("time is running low: the release continues in a new invocation", schedule_created=created)
                return {"status": "CONTINUED", "released": released}
    finally:
        metrics.add_metric(name=metric_names.HELD_REQUESTS_RELEASED, unit=MetricUnit.Count, value=released)
    logger.info("held requests released", released=released)
    return {"status": "RELEASED", "released": released}


def _enqueue(requests: list[SendRequest], delay_seconds: int) -> EnqueueResult:
    return queue.enqueue(requests, delay_seconds=delay_seconds)
