"""Run a campaign page, and the campaigns function's other use cases: releasing held requests.

What the function is asked (``two_way_sms.outbound.campaign_events``):

- ``{"kind": "campaign", "campaign": {...}, "runId": "..."[, "cursor": "...", "continuation": n]
  [, "shard": {...}]}``: read the audience page by page, leave out who must not get the text
  (an invalid row, a duplicate, opted out, no opt-in for a promotional text, a limit
  already reached) and put one send request per remaining recipient on the outbound
  queue. The sender decides again for every request when it sends (and adds the opt-out
  footer): this is a pre-filter that keeps the queue and the report honest, not the gate.
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

A large CSV audience fans out (``two_way_sms.outbound.campaign_shards``): the run's first
invocation plans byte-range shards, schedules one worker event per shard after the first
(``campaign-<id>-<run>-s<i>-0``, the same one-time schedules as continuations) and reads
shard 0 itself. Each worker reads its range page by page as above, counts on its shard's
own item, continues itself (``campaign-<id>-<run>-s<i>-<n>``) and, at its end, adds its
counters to the run once; the last shard to end marks the run QUEUED_ALL. An audience of
one shard (up to ``SHARD_BYTES``) is read exactly as before.

This module runs the campaign; beside it: ``campaign_audience`` (who gets the text),
``held_releases`` (the release events), ``campaign_continuations`` and ``campaign_ports``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from two_way_sms import metric_names
from two_way_sms.adapters.audience import AudiencePage
from two_way_sms.outbound.campaign import Campaign
from two_way_sms.outbound.campaign_events import (
    CheckBudgetHolds,
    InvalidCampaignEvent,
    ReleaseBudgetHolds,
    ReleaseMinute,
    RunCampaign,
    parse_campaigns_event,
)
from two_way_sms.outbound.campaign_shards import AudienceShard
from two_way_sms.outbound.policy import has_opt_out_instruction
from two_way_sms.outbound.request import PROMOTIONAL
from two_way_sms.outbound.templates import Template
from two_way_sms.services.campaign_audience import (
    PageRecipients,
    RecipientFilter,
    RunFailed,
    next_page,
    planned_shards,
)
from two_way_sms.services.campaign_continuations import CONTINUE_BELOW_MS, continue_later, running_low
from two_way_sms.services.campaign_ports import (
    AudiencePages,
    ContactStates,
    DeadLetters,
    HeldRequests,
    Invocation,
    Runs,
    ScheduleOnce,
    Telemetry,
)
from two_way_sms.services.held_releases import BUDGET_RELEASE_DELAY_SECONDS, HeldReleases
from two_way_sms.services.shared_ports import OutboundQueue

# What the handler and tests import from here, some of it defined in the modules beside it.
__all__ = ["BUDGET_RELEASE_DELAY_SECONDS", "CONTINUE_BELOW_MS", "PAGE_SIZE", "SOURCE", "CampaignRunner"]

SOURCE = "campaigns-function"  # the dead-letter messages' "source"
PAGE_SIZE = 500  # recipients per page: the unit of counting and of resuming
SHARD_QUEUED = "SHARD_QUEUED"  # a shard has read all its rows; others still read theirs


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
        queue: OutboundQueue,
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
        self._queue = queue
        self._dead_letters = dead_letters
        self._schedule = schedule
        self._telemetry = telemetry
        self._clock = clock
        # The sender's per-recipient daily limit; None: only the state and campaign limits pre-filter.
        self._daily_limit = daily_limit
        self._releases = HeldReleases(held=held, queue=queue, schedule=schedule, telemetry=telemetry, clock=clock)

    def handle(self, event: Any, invocation: Invocation) -> dict[str, Any]:
        """Runs what the event asks; parks it when it can never run. A passing failure is raised."""
        try:
            command = parse_campaigns_event(event)
        except InvalidCampaignEvent as error:
            return self._park(event, error.reason, invocation, campaign_id=error.campaign_id, run_id=error.run_id)
        if isinstance(command, RunCampaign):
            return self.run_campaign(command, invocation, event)
        if isinstance(command, ReleaseMinute):
            return self._releases.release_minute(command, invocation)
        if isinstance(command, ReleaseBudgetHolds):
            return self._releases.release_budget_holds(command, invocation)
        assert isinstance(command, CheckBudgetHolds)
        return self._releases.check_budget_holds()

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
        if command.shard is not None:
            self._telemetry.append_keys(shard=command.shard.index)
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
        shard = command.shard
        if shard is not None and command.continuation == 0 and command.cursor is None:
            self._runs.start_shard(campaign.campaign_id, run_id, shard.index)
        if shard is None and command.cursor is None:
            if lacks_opt_out and promotional:
                self._telemetry.warning(
                    "the template has no opt-out instruction: the sender appends one to every text",
                    template_id=template.template_id,
                )
            shard = self._start_shards(campaign, run_id, invocation.invoked_function_arn)

        recipients = RecipientFilter(
            campaign,
            run_id,
            template,
            promotional,
            contacts=self._contacts,
            telemetry=self._telemetry,
            daily_limit=self._daily_limit,
            duplicate_rows=frozenset(shard.duplicate_rows) if shard is not None else frozenset(),
        )
        shard_index = shard.index if shard is not None else None
        totals: Counter[str] = Counter()
        pages = self._audience.pages(campaign.audience, command.cursor, earlier=recipients.seen, shard=shard)
        while (page := next_page(pages)) is not None:
            read = recipients.page(page, self._clock())
            counts = self._queue_page(page, read)
            totals.update(counts)
            if read.row_errors:  # before the counts: a retried page writes the same items again
                self._runs.record_row_errors(campaign.campaign_id, run_id, page.chunk_id, read.row_errors)
            counted = self._runs.add_counts(
                campaign.campaign_id, run_id, counts, chunk=page.chunk_id, shard=shard_index
            )
            self._telemetry.info(
                "page queued",
                chunk=page.chunk_id,
                queued=counts.get("queued", 0),
                skipped=_skipped(counts),
                counted=counted,
            )
            if page.next_cursor is not None and running_low(invocation):
                self._continue_campaign(
                    campaign,
                    run_id,
                    page.next_cursor,
                    command.continuation + 1,
                    invocation.invoked_function_arn,
                    shard=shard,
                )
                self._write_fan_out_metrics(totals)
                return {"status": "CONTINUED", "counts": dict(totals)}
        self._write_fan_out_metrics(totals)
        if shard is not None and not self._runs.finish_shard(
            campaign.campaign_id, run_id, shard.index, shard.of, self._clock()
        ):
            self._telemetry.info("shard queued", queued=totals.get("queued", 0), skipped=_skipped(totals))
            return {"status": SHARD_QUEUED, "shard": shard.index, "of": shard.of, "counts": dict(totals)}
        if shard is None:
            self._runs.finish_fan_out(campaign.campaign_id, run_id, self._clock())
        self._telemetry.info("campaign fanned out", queued=totals.get("queued", 0), skipped=_skipped(totals))
        return {"status": "QUEUED_ALL", "counts": dict(totals)}

    def _start_shards(self, campaign: Campaign, run_id: str, self_arn: str) -> AudienceShard | None:
        """Plans a large audience's shards and schedules a worker for each after the first; the first
        shard, which this invocation reads (None: read the audience whole)."""
        shards = planned_shards(self._audience, campaign.audience)
        if len(shards) <= 1:
            return None
        started = self._runs.plan_shards(campaign.campaign_id, run_id, len(shards))
        # Each is named by its shard, so a retry cannot schedule one twice while it waits; a shard
        # that started (its schedule ran and was deleted) is not scheduled again by a late retry.
        for shard in shards[1:]:
            if shard.index not in started:
                self._continue_campaign(campaign, run_id, None, 0, self_arn, shard=shard)
        self._telemetry.info("the audience is read in shards", shards=len(shards))
        self._telemetry.append_keys(shard=0)
        return shards[0]

    def _queue_page(self, page: AudiencePage, read: PageRecipients) -> Counter[str]:
        """Queues the page's requests; the page's counts by outcome, ``queued`` among them."""
        if read.requests:
            result = self._queue.enqueue(read.requests)
            if result.failed:
                # Nothing of this page is counted: the retried invocation queues it again.
                raise RuntimeError(
                    f"{len(result.failed)} request(s) of page {page.chunk_id} not queued "
                    f"(SQS: {', '.join(sorted({code for _, code in result.failed}))})"
                )
        read.counts["queued"] += len(read.requests)
        return read.counts

    def _continue_campaign(
        self,
        campaign: Campaign,
        run_id: str,
        cursor: str | None,
        continuation: int,
        self_arn: str,
        shard: AudienceShard | None = None,
    ) -> None:
        """Schedules the run's next invocation: from ``cursor``, of ``shard`` when it reads one."""
        where = "" if shard is None else f"s{shard.index}-"
        payload: dict[str, Any] = {
            "kind": "campaign",
            "campaign": campaign.to_dict(),
            "runId": run_id,
            "continuation": continuation,
        }
        if cursor is not None:
            payload["cursor"] = cursor
        if shard is not None:
            payload["shard"] = shard.to_dict()
        created = continue_later(
            self._schedule,
            name=f"campaign-{campaign.campaign_id}-{run_id}-{where}{continuation}",
            now=self._clock(),
            target_arn=self_arn,
            payload=payload,
        )
        if continuation == 0:
            return  # a shard's first invocation, not a continuation
        self._telemetry.info(
            "time is running low: the run continues in a new invocation",
            next_continuation=continuation,
            schedule_created=created,
        )

    def _write_fan_out_metrics(self, totals: Counter[str]) -> None:
        self._telemetry.count(metric_names.CAMPAIGN_RECIPIENTS_QUEUED, totals.get("queued", 0))
        self._telemetry.count(metric_names.CAMPAIGN_RECIPIENTS_SKIPPED, _skipped(totals))


def _skipped(counts: Mapping[str, int]) -> int:
    return sum(value for name, value in counts.items() if name != "queued")
