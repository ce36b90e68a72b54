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

Exactly-once counting: a page of the audience is queued first and counted after, in one
conditional write naming the page (``CampaignRuns.add_counts(chunk=...)``). A retried
invocation queues the page again (the sender sends each idempotency key once) and counts
nothing twice. When the invocation's time runs low it stops after a page and schedules its
own continuation from the next cursor (``campaign-<id>-<run>-<n>``, ``release-<minute>-<n>``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from two_way_sms import metric_names
from two_way_sms.adapters.audience import AudiencePage, AudienceReader
from two_way_sms.adapters.campaign_runs import CampaignRuns, skipped
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.held_requests import HeldRequests, minute_text
from two_way_sms.adapters.outbound_queue import OutboundQueue
from two_way_sms.client import create_one_time_schedule, schedule_name
from two_way_sms.outbound.campaign import AudienceRow, AudienceRowError, Campaign, InvalidCampaign, campaign_request
from two_way_sms.outbound.limits import limit_refusal
from two_way_sms.outbound.policy import (
    MISSING_VARIABLES,
    NO_OPT_IN,
    OPTED_OUT,
    UNKNOWN_TIME_ZONE,
    ContactState,
    SenderSettings,
    has_opt_out_instruction,
)
from two_way_sms.outbound.request import PROMOTIONAL, RUN_ID_PATTERN
from two_way_sms.outbound.templates import Template, TemplateError, render, templates_from_json
from two_way_sms.quiet_hours import locate

REQUIRED_SETTINGS = (
    "OUTBOUND_QUEUE_URL", "OUTBOUND_TABLE", "CONTACTS_TABLE", "TEMPLATES", "SCHEDULE_GROUP", "SCHEDULER_ROLE_ARN",
    "SCHEDULE_DEAD_LETTER_QUEUE_ARN",
)
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
queue = OutboundQueue(boto3.client("sqs"), _env["OUTBOUND_QUEUE_URL"])
_contacts_table = _dynamodb.Table(_env["CONTACTS_TABLE"])
contacts = ContactsTable(_contacts_table)
audience_reader = AudienceReader(s3_client=boto3.client("s3"), contacts_table=_contacts_table,
                                 page_size=PAGE_SIZE)
scheduler = boto3.client("scheduler")


def clock() -> datetime:
    """Now (tests replace it)."""
    return datetime.now(timezone.utc)


class CampaignFailed(RuntimeError):
    """The run cannot go on (an unknown template, an unreadable audience): fails the invocation loudly."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    kind = event.get("kind") if isinstance(event, Mapping) else None
    if kind == "campaign":
        return run_campaign(event, context)
    if kind == "release":
        return release_held(event, context)
    logger.error("unknown event kind", kind=str(kind)[:40])
    raise ValueError(f"event kind {str(kind)[:40]!r} must be 'campaign' or 'release'")


# -- campaigns ----------------------------------------------------------------------------------------
@tracer.capture_method
def run_campaign(event: Mapping[str, Any], context: LambdaContext) -> dict:
    campaign = Campaign.from_json(event["campaign"])  # InvalidCampaign: a malformed event fails loudly
    run_id = str(event["runId"])
    if not RUN_ID_PATTERN.fullmatch(run_id):
        raise ValueError(f"run id {run_id[:70]!r} must be 1-64 characters of [A-Za-z0-9_.:#@+=-]")
    cursor = event.get("cursor")
    continuation = int(event.get("continuation", 0))
    logger.append_keys(campaign=campaign.campaign_id, run_id=run_id, continuation=continuation)
    now = clock()

    template = templates.get(campaign.template_id)
    if template is None:
        # schedule() checked it; the templates deployed since then no longer have it.
        runs.start(campaign.campaign_id, run_id, now, template_id=campaign.template_id)
        _fail(campaign, run_id, f"no template {campaign.template_id} is deployed")
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
    while (page := _next_page(pages, campaign, run_id)) is not None:
        counts = fan_out.page(page, clock())
        totals.update(counts)
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


def _next_page(pages: Iterator[AudiencePage], campaign: Campaign, run_id: str) -> AudiencePage | None:
    """The next page; a missing or unreadable audience fails the run (a passing error is just raised)."""
    try:
        return next(pages, None)
    except InvalidCampaign as error:
        _fail(campaign, run_id, str(error))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code not in AUDIENCE_GONE:
            raise  # throttling or a timeout: the retried invocation reads it again
        _fail(campaign, run_id, f"the audience cannot be read ({code})")
    raise AssertionError("unreachable")  # pragma: no cover


def _fail(campaign: Campaign, run_id: str, reason: str) -> NoReturn:
    runs.fail(campaign.campaign_id, run_id, reason, clock())
    logger.error("campaign run failed", reason=reason)
    raise CampaignFailed(f"campaign {campaign.campaign_id} run {run_id}: {reason}")


class FanOut:
    """Decides, for each recipient of one page, whether to queue the request or to leave it out, and queues."""

    def __init__(self, campaign: Campaign, run_id: str, template: Template, promotional: bool) -> None:
        self.campaign, self.run_id, self.template, self.promotional = campaign, run_id, template, promotional
        self.seen: set[str] = set()  # destinations of the rows read so far: a duplicate row is left out

    def page(self, page: AudiencePage, now: datetime) -> Counter[str]:
        counts: Counter[str] = Counter()
        candidates = []
        for entry in page.entries:
            if isinstance(entry, AudienceRowError):
                counts[skipped(INVALID_ROW)] += 1
                logger.info("audience row skipped", reason=entry.reason)  # (the reason masks the number)
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
            request = campaign_request(self.campaign, self.run_id, row, now=now)
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
        return counts

    def _reason_to_skip(self, request: Any, state: ContactState, now: datetime) -> str | None:
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
def release_held(event: Mapping[str, Any], context: LambdaContext) -> dict:
    minute = minute_text(str(event["minute"]))  # ValueError names a malformed minute
    continuation = int(event.get("continuation", 0))
    logger.append_keys(minute=minute, continuation=continuation)
    released = 0
    try:
        while True:
            entries, more = held.peek(minute, RELEASE_PAGE_SIZE)
            if entries:
                result = queue.enqueue([request for _, request in entries])
                lost = {key for key, _ in result.failed}
                # Only what is safely back in the queue leaves the table.
                held.remove(minute, [key for key, _ in entries if key not in lost])
                released += result.queued
                if lost:
                    raise RuntimeError(f"{len(lost)} held request(s) not queued; they stay held for the retry")
            if not more:
                break
            if context.get_remaining_time_in_millis() < CONTINUE_BELOW_MS:
                created = create_one_time_schedule(
                    scheduler, name=schedule_name(f"release-{minute.replace('-', '').replace(':', '')}-"
                                                  f"{continuation + 1}"),
                    at=clock() + timedelta(seconds=CONTINUE_AFTER_SECONDS), group=_env["SCHEDULE_GROUP"],
                    target_arn=context.invoked_function_arn, role_arn=_env["SCHEDULER_ROLE_ARN"],
                    dead_letter_queue_arn=_env["SCHEDULE_DEAD_LETTER_QUEUE_ARN"],
                    payload={"kind": "release", "minute": minute, "continuation": continuation + 1},
                )
                logger.info("time is running low: the release continues in a new invocation", schedule_created=created)
                return {"status": "CONTINUED", "released": released}
    finally:
        metrics.add_metric(name=metric_names.HELD_REQUESTS_RELEASED, unit=MetricUnit.Count, value=released)
    logger.info("held requests released", released=released)
    return {"status": "RELEASED", "released": released}

