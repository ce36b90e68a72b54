"""The shared send schedule of an origination identity (or a campaign), in the outbound table.

Every sender invocation books its send here before calling ``SendTextMessage``, so all
concurrent invocations share one schedule. Item: ``pk = "THROUGHPUT#<key>"``, ``sk =
"SCHEDULE"`` with

- ``next_free_at``: the GCRA "theoretical arrival time" (``pacing.reserve``): sends are
  spaced ``parts / mps`` apart, so a steady backlog runs at exactly ``mps``;
- ``window``: the bookings of the last second (``[{"t": send_at, "p": parts}]``). GCRA alone
  lets one second hold ``mps`` parts *plus* the send in progress: harmless for one-part
  texts, but two 2-part texts 2/3 s apart at 3 MPS put 4 parts in one second. So a send
  also waits until the parts booked in the second before it, plus its own, fit in
  ``max(mps, parts)``.

A booking is one conditional write on ``next_free_at`` (which every booking moves
forward); a writer that lost the race re-reads and books again. A slot further than
``horizon`` seconds away is not booked at all: the caller defers the request instead of
holding a Lambda invocation for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from botocore.exceptions import ClientError

from two_way_sms import pacing

SORT_KEY = "SCHEDULE"
MAX_ATTEMPTS = 25  # conflicts only happen between concurrent bookings, each one a few ms
WINDOW_SECONDS = Decimal(1)
KEEP_SECONDS = 86400  # an idle schedule (a finished campaign's) expires a day after its last booking
_MICROSECOND = Decimal("0.000001")


class ScheduleContention(RuntimeError):
    """Too many concurrent writers: the booking did not get through in MAX_ATTEMPTS tries."""


@dataclass(frozen=True)
class Booking:
    at: float  # when the parts may go; when not booked, the first free slot (for the deferral's delay)
    booked: bool


def schedule_key(key: str) -> dict[str, str]:
    return {"pk": f"THROUGHPUT#{key}", "sk": SORT_KEY}


class ThroughputSchedule:
    def __init__(self, table: Any) -> None:
        self._table = table  # a boto3 DynamoDB Table resource (the outbound table)

    def reserve(self, key: str, parts: int, mps: float, now: float, horizon: float) -> float | None:
        """Books ``parts`` parts on ``key``'s schedule; the epoch second they may go, or None
        (nothing booked) when the first free slot is more than ``horizon`` seconds after ``now``."""
        booking = self.book(key, parts, mps, now, horizon)
        return booking.at if booking.booked else None

    def book(self, key: str, parts: int, mps: float, now: float, horizon: float) -> Booking:
        """As ``reserve``, but an unbooked result still says when the first free slot is, so a
        caller that defers knows how long without reading the schedule again."""
        if parts < 1:
            raise ValueError(f"parts {parts} must be at least 1")
        if not mps > 0:
            raise ValueError(f"mps {mps} must be positive")
        for _ in range(MAX_ATTEMPTS):
            item = self._table.get_item(Key=schedule_key(key), ConsistentRead=True).get("Item")
            stored = item.get("next_free_at") if item else None
            window = [(Decimal(entry["t"]), int(entry["p"])) for entry in (item or {}).get("window", [])]
            gcra = pacing.reserve(now=now, next_free_at=float(stored or 0), parts=parts, mps=mps)
            send_at = _first_fit(_up(gcra.send_at), window, parts, mps)
            if float(send_at) - now > horizon:
                return Booking(float(send_at), booked=False)
            next_free_at = max(_up(gcra.next_free_at), _up(float(send_at) + parts / mps))
            kept = [{"t": t, "p": p} for t, p in window if t > send_at - WINDOW_SECONDS]
            try:
                self._table.put_item(
                    Item={
                        **schedule_key(key), "next_free_at": next_free_at,
                        "window": [*kept, {"t": send_at, "p": parts}],
                        "expires_at": math.ceil(next_free_at) + KEEP_SECONDS,
                    },
                    **_unchanged_since(stored),
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                continue  # another invocation booked first: read its booking and book after it
            return Booking(float(send_at), booked=True)
        raise ScheduleContention(f"schedule {key} stayed contended for {MAX_ATTEMPTS} attempts")

    def next_free_at(self, key: str) -> float | None:
        """When the schedule is next free (epoch seconds); None for a schedule never booked."""
        item = self._table.get_item(Key=schedule_key(key), ConsistentRead=True).get("Item")
        return float(item["next_free_at"]) if item and "next_free_at" in item else None


def _first_fit(start: Decimal, window: list[tuple[Decimal, int]], parts: int, mps: float) -> Decimal:
    """The earliest moment from ``start`` when the parts booked in the second before it, plus
    ``parts``, fit in ``max(mps, parts)``."""
    capacity = max(Decimal(str(mps)), Decimal(parts))
    at = start
    booked = sorted(entry for entry in window if entry[0] > at - WINDOW_SECONDS)
    while booked and sum(p for _, p in booked) + parts > capacity:
        oldest, _ = booked.pop(0)
        at = max(at, oldest + WINDOW_SECONDS)  # the oldest booking has left the window
        booked = [entry for entry in booked if entry[0] > at - WINDOW_SECONDS]
    return at


def _up(seconds: float) -> Decimal:
    """Epoch seconds as a DynamoDB number, rounded up to the microsecond (never earlier than meant)."""
    return Decimal(repr(seconds)).quantize(_MICROSECOND, rounding=ROUND_CEILING)


def _unchanged_since(stored: Decimal | None) -> dict[str, Any]:
    if stored is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {"ConditionExpression": "next_free_at = :seen", "ExpressionAttributeValues": {":seen": stored}}
