"""A campaign's audience read page by page: who gets the text, and who is left out and why.

A row that cannot be read, a duplicate, an opted-out number, a promotional text without an
opt-in or to a number whose time zone is unknown, a limit already reached: each is left out
and counted (``skipped_<reason>``); a bad row is also kept with its row number and reason.
This is a pre-filter that keeps the queue and the report honest; the sender decides again.
A missing or unreadable audience fails the run (``RunFailed``), and so does one replaced
while its shards read it (their ranged reads name the object they were planned from).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from two_way_sms.adapters.audience import AudiencePage
from two_way_sms.adapters.batch_failures import error_code
from two_way_sms.adapters.campaign_runs import RowError, skipped
from two_way_sms.outbound.campaign import (
    Audience,
    AudienceRow,
    AudienceRowError,
    Campaign,
    InvalidCampaign,
    campaign_request,
)
from two_way_sms.outbound.campaign_shards import AudienceShard
from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.outbound.limits import limit_refusal
from two_way_sms.outbound.policy import MISSING_VARIABLES, NO_OPT_IN, OPTED_OUT, UNKNOWN_TIME_ZONE
from two_way_sms.outbound.request import PROMOTIONAL, InvalidSendRequest, SendRequest
from two_way_sms.outbound.templates import Template, TemplateError, render
from two_way_sms.quiet_hours import locate
from two_way_sms.services.campaign_ports import AudiencePages, ContactStates, Telemetry

_T = TypeVar("_T")

# Reasons only this function gives (the others are the policy's refusal reasons).
INVALID_ROW = "INVALID_ROW"
DUPLICATE_ROW = "DUPLICATE_ROW"
# S3 errors that no retry cures: the run fails (its report says why).
AUDIENCE_GONE = frozenset({"NoSuchKey", "NoSuchBucket", "AccessDenied", "404", "403"})
AUDIENCE_REPLACED = frozenset({"PreconditionFailed", "412"})  # If-Match: not the object the shards were planned from


class RunFailed(Exception):
    """The run cannot go on (an unknown template, an unreadable audience); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PageRecipients:
    """One page read: the requests to queue, who was left out (counted by reason), the rows that could not be read."""

    requests: list[SendRequest]
    counts: Counter[str]
    row_errors: list[RowError]


class RecipientFilter:
    """Decides, for each recipient of a run's pages, whether to queue the request or to leave it out."""

    def __init__(
        self,
        campaign: Campaign,
        run_id: str,
        template: Template,
        promotional: bool,
        *,
        contacts: ContactStates,
        telemetry: Telemetry,
        daily_limit: int | None = None,
        duplicate_rows: frozenset[int] = frozenset(),
    ) -> None:
        self._contacts, self._telemetry, self._daily_limit = contacts, telemetry, daily_limit
        self.campaign, self.run_id, self.template, self.promotional = campaign, run_id, template, promotional
        self.seen: set[str] = set()  # destinations of the rows read so far: a duplicate row is left out
        # Rows of a shard whose number an earlier shard has (its plan names them): left out too.
        self.duplicate_rows = duplicate_rows

    def page(self, page: AudiencePage, now: datetime) -> PageRecipients:
        """The page's requests to queue, the counts of who was left out, and the rows that could not be read."""
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
            if entry.destination in self.seen or entry.row_number in self.duplicate_rows:
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
        return PageRecipients(requests, counts, row_errors)

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


def next_page(pages: Iterator[AudiencePage]) -> AudiencePage | None:
    """The next page; a missing or unreadable audience raises RunFailed (a passing error is just raised)."""
    return _reading(lambda: next(pages, None))


def planned_shards(audience: AudiencePages, described: Audience) -> Sequence[AudienceShard]:
    """The shards the audience is read in (empty: whole); a missing or unreadable one raises RunFailed."""
    return _reading(lambda: audience.shards(described))


def _reading(read: Callable[[], _T]) -> _T:
    try:
        return read()
    except InvalidCampaign as error:
        raise RunFailed(str(error)) from None
    except Exception as error:
        code = error_code(error)
        if code in AUDIENCE_REPLACED:
            raise RunFailed("the audience object was replaced while the run read it: start a new run") from None
        if code not in AUDIENCE_GONE:
            raise  # throttling or a timeout: the retried invocation reads it again
        raise RunFailed(f"the audience cannot be read ({code})") from None
