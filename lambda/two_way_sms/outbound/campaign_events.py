"""What the campaigns function is asked to do, read and checked from its event before anything runs.

EventBridge Scheduler invokes the function with one of:

- ``{"kind": "campaign", "campaign": {...}, "runId": "..."[, "cursor": "...", "continuation": n]
  [, "shard": {"index": i, "of": n, "start": a, "end": b, ...}]}``: with ``shard``, one worker's
  byte range of a large CSV audience (``two_way_sms.outbound.campaign_shards``);
- ``{"kind": "release", "minute": "YYYY-MM-DDTHH:MM"[, "continuation": n]}``;
- ``{"kind": "release-budget"[, "continuation": n]}``: every request parked for the budget;
- ``{"kind": "check-budget"}``: the recurring check that puts one parked request of each
  budget reason back on the queue, for the sender to try.

An event that cannot be run raises :class:`InvalidCampaignEvent` with one line saying why
(never a phone number). Retrying it would fail the same way, so the function parks it in
its dead-letter queue at once; when the event names a campaign run (its campaign and run
ids are readable), the run is marked FAILED with the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from two_way_sms.outbound.campaign import AudienceCsv, Campaign, InvalidCampaign, check_run_id
from two_way_sms.outbound.campaign_shards import AudienceShard
from two_way_sms.outbound.request import CAMPAIGN_ID_PATTERN, RUN_ID_PATTERN

CAMPAIGN, RELEASE, RELEASE_BUDGET, CHECK_BUDGET = "campaign", "release", "release-budget", "check-budget"
KINDS = (CAMPAIGN, RELEASE, RELEASE_BUDGET, CHECK_BUDGET)
MINUTE_FORMAT = "%Y-%m-%dT%H:%M"
MAX_CURSOR_CHARACTERS = 4096  # a row number, or a contacts scan key as JSON
MAX_CONTINUATION = 100_000


class InvalidCampaignEvent(ValueError):
    """An event the campaigns function can never run; ``campaign_id``/``run_id`` name its run when readable."""

    def __init__(self, reason: str, *, campaign_id: str | None = None, run_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.campaign_id = campaign_id
        self.run_id = run_id


@dataclass(frozen=True)
class RunCampaign:
    campaign: Campaign
    run_id: str
    cursor: str | None = None  # where the audience continues (None: from the start, or the shard's)
    continuation: int = 0
    shard: AudienceShard | None = None  # the byte range this invocation reads (None: the whole audience)


@dataclass(frozen=True)
class ReleaseMinute:
    minute: str  # YYYY-MM-DDTHH:MM (UTC)
    continuation: int = 0


@dataclass(frozen=True)
class ReleaseBudgetHolds:
    continuation: int = 0


@dataclass(frozen=True)
class CheckBudgetHolds:
    pass


CampaignsEvent = RunCampaign | ReleaseMinute | ReleaseBudgetHolds | CheckBudgetHolds


def parse_campaigns_event(event: Any) -> CampaignsEvent:
    """The checked event; raises InvalidCampaignEvent naming what is wrong."""
    if not isinstance(event, Mapping):
        raise InvalidCampaignEvent(f"event must be a JSON object, not {type(event).__name__}")
    kind = event.get("kind")
    if kind == CAMPAIGN:
        return _run_campaign(event)
    if kind == RELEASE:
        return ReleaseMinute(_minute(event.get("minute")), _continuation(event))
    if kind == RELEASE_BUDGET:
        return ReleaseBudgetHolds(_continuation(event))
    if kind == CHECK_BUDGET:
        return CheckBudgetHolds()
    raise InvalidCampaignEvent(f"event kind {str(kind)[:40]!r} must be one of {', '.join(KINDS)}")


def _run_campaign(event: Mapping[str, Any]) -> RunCampaign:
    raw = event.get("campaign")
    campaign_id = raw.get("campaignId") if isinstance(raw, Mapping) else None
    run_id = event.get("runId")
    names = {  # the run to mark FAILED, when both ids can name one
        "campaign_id": campaign_id
        if isinstance(campaign_id, str) and CAMPAIGN_ID_PATTERN.fullmatch(campaign_id)
        else None,
        "run_id": run_id if isinstance(run_id, str) and RUN_ID_PATTERN.fullmatch(run_id) else None,
    }
    if names["campaign_id"] is None or names["run_id"] is None:
        names = {"campaign_id": None, "run_id": None}
    try:
        if raw is None:
            raise InvalidCampaign("campaign event has no campaign")
        campaign = Campaign.from_json(raw)
        if run_id is None:
            raise InvalidCampaign("campaign event has no runId")
        check_run_id(campaign.campaign_id, run_id)
        cursor = event.get("cursor")
        if cursor is not None and (not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARACTERS):
            raise InvalidCampaign(f"cursor must be a string of at most {MAX_CURSOR_CHARACTERS} characters")
        shard = None
        if event.get("shard") is not None:
            if not isinstance(campaign.audience, AudienceCsv):
                raise InvalidCampaign("only a CSV audience is read in shards")
            shard = AudienceShard.from_dict(event["shard"])
        return RunCampaign(campaign, run_id, cursor, _continuation(event), shard)
    except (InvalidCampaign, InvalidCampaignEvent) as error:
        raise InvalidCampaignEvent(str(error), **names) from None


def _minute(raw: Any) -> str:
    try:
        return datetime.strptime(raw, MINUTE_FORMAT).strftime(MINUTE_FORMAT)
    except (TypeError, ValueError):
        raise InvalidCampaignEvent(f"release minute {str(raw)[:40]!r} must be YYYY-MM-DDTHH:MM (UTC)") from None


def _continuation(event: Mapping[str, Any]) -> int:
    value = event.get("continuation", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CONTINUATION:
        raise InvalidCampaignEvent(
            f"continuation {str(value)[:20]} must be a whole number from 0 to {MAX_CONTINUATION:,}"
        )
    return int(value)
