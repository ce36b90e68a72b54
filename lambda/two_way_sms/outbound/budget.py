"""The monthly SMS budget that stops sends, not only alarms: which sends wait once it is reached.

Pure: the sender reads the month's counted spend (the message ledger's ``SPEND#<yyyy-mm>``
item, which the events handler adds to once per message at its final status) and asks
:meth:`BudgetState.hold_reason` for each request it plans. Once the counted spend of the
UTC month reaches the budget:

- PROMOTIONAL texts and every text of a campaign run wait (``BUDGET_REACHED``);
- other (TRANSACTIONAL) texts go on, unless ``hard_stop`` is set: then they wait too
  (``BUDGET_HARD_STOP``), except consent confirmations (the one text a STOP or START
  allows, which must go out whatever the spend).

A held text is planned again once the budget is raised or the UTC month turns (the new
month's spend starts at zero). Counted spend lags the sends by their delivery receipts
(seconds to minutes, up to 72 hours), so a fast campaign can overshoot by what is in
flight: the account's End User Messaging spend limit stays the last line of defence. A
text that limit stopped (``ServiceQuotaExceededException``,
``MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT``) is not lost either: it waits the same way
(``ACCOUNT_SPEND_LIMIT``) until one of them goes out again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

BUDGET_REACHED = "BUDGET_REACHED"  # promotional or campaign text, and the month's spend reached the budget
BUDGET_HARD_STOP = "BUDGET_HARD_STOP"  # any other text, when the budget is a hard stop
ACCOUNT_SPEND_LIMIT = "ACCOUNT_SPEND_LIMIT"  # End User Messaging refused the send: the account's monthly limit
BUDGET_HOLD_REASONS = (BUDGET_REACHED, BUDGET_HARD_STOP, ACCOUNT_SPEND_LIMIT)
# What the service says when the account's monthly SMS spend limit stopped a send.
SPEND_LIMIT_ERROR = ("ServiceQuotaExceededException", "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT")

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


def month_of(moment: datetime) -> str:
    """The UTC month of ``moment`` as the ledger names it (``2026-03``)."""
    return _utc(moment).strftime("%Y-%m")


def next_month_start(moment: datetime) -> datetime:
    """Midnight UTC on the first day of the month after ``moment``'s: when the month's spend starts again."""
    utc = _utc(moment)
    year, month = (utc.year + 1, 1) if utc.month == 12 else (utc.year, utc.month + 1)
    return datetime(year, month, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class SpendBudget:
    """The month's budget in US dollars, and whether reaching it stops TRANSACTIONAL texts too."""

    monthly_usd: Decimal
    hard_stop: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.monthly_usd, Decimal) or not self.monthly_usd.is_finite() or self.monthly_usd <= 0:
            raise ValueError(f"monthly budget {self.monthly_usd!r} must be a positive number of dollars")
        if not isinstance(self.hard_stop, bool):
            raise ValueError(f"hard stop {self.hard_stop!r} must be true or false")

    def state(self, *, month: str, spend_usd: Decimal) -> BudgetState:
        """The budget as it stands with ``spend_usd`` counted in ``month``."""
        return BudgetState(self, month, spend_usd)


def budget_from_environment(monthly_usd: str | None, hard_stop: str | None) -> SpendBudget | None:
    """The budget the construct set (``MONTHLY_BUDGET_USD``, ``BUDGET_HARD_STOP``); None when no budget is set.

    Raises ValueError naming the bad value, and when a hard stop is asked for without a budget.
    """
    stop = (hard_stop or "").strip().lower()
    if stop not in _TRUE + _FALSE:
        raise ValueError(f"BUDGET_HARD_STOP {hard_stop!r} must be true or false")
    if monthly_usd is None or not monthly_usd.strip():
        if stop in _TRUE:
            raise ValueError("BUDGET_HARD_STOP is true but MONTHLY_BUDGET_USD is not set: a hard stop needs a budget")
        return None
    try:
        amount = Decimal(monthly_usd.strip())
    except InvalidOperation:
        raise ValueError(f"MONTHLY_BUDGET_USD {monthly_usd!r} must be a number of dollars") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"MONTHLY_BUDGET_USD {monthly_usd!r} must be a positive number of dollars")
    return SpendBudget(amount, stop in _TRUE)


def budget_text(monthly_usd: float) -> str:
    """``monthly_usd`` as the environment carries it (``100``, ``12.5``); ValueError unless positive and finite."""
    if (
        isinstance(monthly_usd, bool)
        or not isinstance(monthly_usd, (int, float))
        or not math.isfinite(monthly_usd)
        or monthly_usd <= 0
    ):
        raise ValueError(f"monthly_budget_usd {monthly_usd!r} must be a positive number of dollars")
    return format(Decimal(str(monthly_usd)).normalize(), "f")


@dataclass(frozen=True)
class BudgetState:
    """The budget against the spend counted so far in ``month``."""

    budget: SpendBudget
    month: str  # "2026-03"
    spend_usd: Decimal

    @property
    def reached(self) -> bool:
        return self.spend_usd >= self.budget.monthly_usd

    def hold_reason(self, *, promotional: bool, campaign: bool, consent_confirmation: bool = False) -> str | None:
        """Why a text of this kind must wait (BUDGET_REACHED, BUDGET_HARD_STOP), or None when it may go."""
        if not self.reached or consent_confirmation:
            return None
        if promotional or campaign:
            return BUDGET_REACHED
        return BUDGET_HARD_STOP if self.budget.hard_stop else None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"moment {moment.isoformat()} must be timezone-aware")
    return moment.astimezone(timezone.utc)
