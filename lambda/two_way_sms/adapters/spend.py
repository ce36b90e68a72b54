"""The month's counted SMS spend, read cheaply: one GetItem per ``ttl_seconds`` at most.

The events handler adds each message's price to the ledger's ``SPEND#<yyyy-mm>`` item
once, when the message reaches its final status (``adapters.ledger``). The sender reads
that total once per batch, and a read younger than ``ttl_seconds`` serves the next
batches of the same execution environment, so a busy sender reads it a few times a minute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal

from two_way_sms.outbound.budget import budget_from_environment, month_of

DEFAULT_TTL_SECONDS = 30.0


class MonthSpend:
    """``usd(month, now)``: the month's counted spend, from ``read`` (``MessageLedger.month_to_date``) or its cache."""

    def __init__(self, read: Callable[[str], Decimal], *, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        if ttl_seconds < 0:
            raise ValueError(f"ttl_seconds {ttl_seconds} must not be negative")
        self._read = read
        self._ttl = ttl_seconds
        self._cached: tuple[str, float, Decimal] | None = None  # month, read at (epoch seconds), spend
        self.reads = 0  # how many times the ledger was read (for tests and benchmarks)

    def usd(self, month: str, now: float) -> Decimal:
        cached = self._cached
        if cached is not None and cached[0] == month and 0 <= now - cached[1] < self._ttl:
            return cached[2]
        spend = Decimal(self._read(month))
        self.reads += 1
        self._cached = (month, now, spend)
        return spend

    def forget(self) -> None:
        """Drops the cached total: the next ``usd`` reads the ledger."""
        self._cached = None


def hard_stop_from_environment(
    environment: Mapping[str, str], read: Callable[[str], Decimal] | None
) -> Callable[[float], bool] | None:
    """Whether the month's budget stops every text now (``MONTHLY_BUDGET_USD`` with ``BUDGET_HARD_STOP``),
    from the spend ``read`` counts (``MessageLedger.month_to_date``); None without a hard stop."""
    budget = budget_from_environment(environment.get("MONTHLY_BUDGET_USD"), environment.get("BUDGET_HARD_STOP"))
    if budget is None or not budget.hard_stop or read is None:
        return None
    spend = MonthSpend(read)

    def reached(now: float) -> bool:
        month = month_of(datetime.fromtimestamp(now, tz=timezone.utc))
        return budget.state(month=month, spend_usd=spend.usd(month, now)).reached

    return reached
