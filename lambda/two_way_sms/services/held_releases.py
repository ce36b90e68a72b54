"""Held requests back into the outbound queue: the minute's holds, and the requests parked for the budget.

Only what is safely back in the queue leaves the outbound table, a page at a time; the
sender plans each request again (and parks again what the budget still holds). When time
runs low the release continues in a new invocation (``campaign_continuations``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from two_way_sms import metric_names
from two_way_sms.outbound.budget import BUDGET_HOLD_REASONS
from two_way_sms.outbound.campaign_events import ReleaseBudgetHolds, ReleaseMinute
from two_way_sms.services.campaign_continuations import continue_later, running_low
from two_way_sms.services.campaign_ports import Held, HeldRequests, Invocation, ScheduleOnce, Telemetry
from two_way_sms.services.shared_ports import OutboundQueue

RELEASE_PAGE_SIZE = 100
# Requests released from a budget hold come back after this delay, so the release has
# removed them from the table before the sender can park them there again.
BUDGET_RELEASE_DELAY_SECONDS = 10


class HeldReleases:
    """Releases held and parked requests with the collaborators it is given."""

    def __init__(
        self,
        *,
        held: HeldRequests,
        queue: OutboundQueue,
        schedule: ScheduleOnce,
        telemetry: Telemetry,
        clock: Callable[[], datetime],
    ) -> None:
        self._held = held
        self._queue = queue
        self._schedule = schedule
        self._telemetry = telemetry
        self._clock = clock

    def release_minute(self, command: ReleaseMinute, invocation: Invocation) -> dict[str, Any]:
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
                if running_low(invocation):
                    created = continue_later(
                        self._schedule,
                        name=f"{name}-{continuation + 1}",
                        now=self._clock(),
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
