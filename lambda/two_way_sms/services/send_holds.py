"""Requests that do not go now: refused, held, parked for the budget, or put back on the queue.

Each is recorded as the request's outcome (``adapters.request_outcomes``), counted on the
batch and logged. A hold of up to 15 minutes goes back to the queue as a delayed message; a
longer one waits in the outbound table for its minute's release; a budget hold is parked
until the budget allows it again. A throttle or a slot too far ahead defers the request:
back on the queue with a delay, never dropped.
"""

from __future__ import annotations

import math
import random

from two_way_sms import metric_names
from two_way_sms.adapters.campaign_runs import refused
from two_way_sms.adapters.outbound_queue import MAX_DELAY_SECONDS
from two_way_sms.adapters.request_outcomes import HELD, REFUSED
from two_way_sms.adapters.sms import RetryableSendError
from two_way_sms.instants import utc_moment
from two_way_sms.outbound.budget import ACCOUNT_SPEND_LIMIT, BUDGET_HOLD_REASONS
from two_way_sms.outbound.policy import SenderSettings, SendPlan
from two_way_sms.outbound.request import SendRequest
from two_way_sms.services.send_batch import Batch
from two_way_sms.services.sender_ports import Clock, Held, Log, Outcomes, Schedule
from two_way_sms.services.shared_ports import OutboundQueue

MAX_THROTTLE_BACKOFF_SECONDS = MAX_DELAY_SECONDS


class SetAside:
    """Refuses, holds and defers requests; keeps the back-off, which lives as long as its environment."""

    def __init__(
        self,
        *,
        settings: SenderSettings,
        outcomes: Outcomes,
        held: Held,
        queue: OutboundQueue,
        schedule: Schedule,
        log: Log,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._outcomes = outcomes
        self._held = held
        self._queue = queue
        self._schedule = schedule
        self._log = log
        self._clock = clock
        self._throttle_streak = 0  # consecutive throttles in this execution environment: the back-off exponent

    def sent(self) -> None:
        """A send went through: the back-off starts over."""
        self._throttle_streak = 0

    def refuse(
        self,
        batch: Batch,
        request: SendRequest,
        reason: str,
        at: float,
        *,
        detail: str | None = None,
        code: str | None = None,
    ) -> None:
        """Records the refusal and its reason; counts it once, on the batch and on the campaign run."""
        changed = self._outcomes.record(request.idempotency_key, REFUSED, reason=reason, at=utc_moment(at), code=code)
        self._log.info("request refused", reason=reason, detail=detail, code=code)
        if not changed:
            return  # a duplicate of a refusal already counted
        batch.counts[metric_names.OUTBOUND_REFUSED_BY_REASON[reason]] += 1
        if request.campaign is not None:
            batch.count_on_run(request.campaign, refused(reason))

    def hold(self, batch: Batch, request: SendRequest, plan: SendPlan, now: float) -> None:
        """Holds the request until its plan's time: on the queue (15 minutes or less) or in the outbound table."""
        assert plan.hold_until is not None and plan.reason is not None  # a HOLD plan says until when, and why
        if plan.reason in BUDGET_HOLD_REASONS:
            self.hold_for_budget(batch, request, plan.reason, now)
            return
        wait = plan.hold_until.timestamp() - now
        if wait <= MAX_DELAY_SECONDS:
            self._enqueue(request, max(1, math.ceil(wait)))
        else:
            self._held.hold(request, plan.hold_until)  # released at its minute by the campaigns function
        self._outcomes.record(request.idempotency_key, HELD, reason=plan.reason, at=utc_moment(now))
        batch.counts[metric_names.OUTBOUND_HELD] += 1
        self._log.info(
            "request held", reason=plan.reason, hold_until=plan.hold_until.isoformat(), wait_seconds=round(wait)
        )

    def hold_for_budget(self, batch: Batch, request: SendRequest, reason: str, now: float) -> None:
        """Parks the request until the budget allows it again (raised, or a new month)."""
        self._held.park(request, reason, utc_moment(now))
        self._outcomes.record(request.idempotency_key, HELD, reason=reason, at=utc_moment(now))
        batch.counts[metric_names.OUTBOUND_HELD] += 1
        if reason == ACCOUNT_SPEND_LIMIT:
            self._log.warning(
                "request held: the account's monthly SMS spend limit is reached (End User Messaging)", reason=reason
            )
            return
        assert batch.budget is not None  # a budget hold comes from a budget
        self._log.info(
            "request held: this month's spend reached the budget",
            reason=reason,
            month=batch.budget.month,
            spend_usd=str(batch.budget.spend_usd),
            budget_usd=str(batch.budget.budget.monthly_usd),
        )

    def back_off(self, batch: Batch, request: SendRequest, parts: int, error: RetryableSendError) -> None:
        """End User Messaging throttled us (or failed) after boto3's own retries: pause the number's
        shared schedule for a second and put the request back with an exponential delay."""
        self._throttle_streak += 1
        if error.throttled:
            batch.counts[metric_names.OUTBOUND_THROTTLED] += 1
            # Something else uses the number's throughput (replies, another system): every sender slows down.
            self._schedule.book(
                self._settings.origination_identity,
                max(parts, math.ceil(self._settings.mps)),
                self._settings.mps,
                now=self._clock.now(),
                horizon=math.inf,
            )
        delay = min(MAX_THROTTLE_BACKOFF_SECONDS, 2 ** min(self._throttle_streak, 10) + random.randint(0, 2))
        self._log.warning(
            "End User Messaging throttled or failed; request deferred", code=error.code, delay_seconds=delay
        )
        self.defer(batch, request, delay, why=error.code)

    def defer(self, batch: Batch, request: SendRequest, delay_seconds: int, *, why: str) -> None:
        """Puts the request back on the queue with a delay: deferred, never a failed record."""
        self._enqueue(request, delay_seconds)
        batch.counts[metric_names.OUTBOUND_DEFERRED] += 1
        self._log.info("request deferred", why=why, delay_seconds=delay_seconds)

    def _enqueue(self, request: SendRequest, delay_seconds: int) -> None:
        result = self._queue.enqueue([request], delay_seconds=delay_seconds)
        if result.failed:
            # Not back on the queue: fail this record instead, so SQS redelivers the original.
            raise RuntimeError(f"could not put the request back on the queue: {result.failed[0][1]}")
