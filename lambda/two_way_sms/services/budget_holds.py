"""The month's budget as the sender applies it, and the release of the texts it held.

Once the month's counted spend reaches the budget (``outbound.budget``), the requests it
holds are parked in the outbound table with their reason. The campaigns function's
recurring check puts one of them back now and then; when the sender finds the budget allows
it (raised, or the month turned), or a send the account's spend limit stopped goes through
again, ``release_all`` schedules the release of every parked request.
"""

from __future__ import annotations

from two_way_sms.adapters.batch_failures import failure_reason
from two_way_sms.instants import utc_moment
from two_way_sms.outbound.budget import BudgetState, SpendBudget, month_of
from two_way_sms.outbound.policy import SendPlan
from two_way_sms.outbound.request import PROMOTIONAL, SendRequest
from two_way_sms.services.sender_ports import Held, Log, Spend

# One release per execution environment in this long at most (the released requests each
# come back as one the budget had held).
BUDGET_RELEASE_EVERY_SECONDS = 300.0


class BudgetHolds:
    """Reads the budget's state and schedules the release of what it held; lives as long as its environment."""

    def __init__(self, *, held: Held, log: Log, budget: SpendBudget | None = None, spend: Spend | None = None) -> None:
        if budget is not None and spend is None:
            raise ValueError("a budget needs the month's spend to compare with")
        self._held = held
        self._log = log
        self._budget = budget
        self._spend = spend
        self._released_at: float | None = None  # when this environment last scheduled a release

    def state(self, now: float) -> BudgetState | None:
        """The month's budget against its counted spend (None: no budget); the spend is cached briefly."""
        if self._budget is None or self._spend is None:
            return None
        month = month_of(utc_moment(now))
        return self._budget.state(month=month, spend_usd=self._spend.usd(month, now))

    def release_all(self, now: float) -> None:
        """Schedules the release of every parked request, at most once per ``BUDGET_RELEASE_EVERY_SECONDS``.
        A failure is logged, not raised: the recurring check tries again, and no record fails for it."""
        if self._released_at is not None and 0 <= now - self._released_at < BUDGET_RELEASE_EVERY_SECONDS:
            return
        try:
            name = self._held.schedule_budget_release(utc_moment(now))
        except Exception as error:
            self._log.warning("could not schedule the release of the budget holds", reason=failure_reason(error))
            return
        self._released_at = now
        self._log.info("the budget allows held requests again: their release is scheduled", schedule=name)


def budget_allows(state: BudgetState | None, request: SendRequest, plan: SendPlan) -> bool:
    """Whether the budget lets ``request`` go (as its plan typed it)."""
    if state is None:
        return True
    promotional = (plan.message_type or request.message_type) == PROMOTIONAL
    return state.hold_reason(promotional=promotional, campaign=request.campaign is not None) is None
