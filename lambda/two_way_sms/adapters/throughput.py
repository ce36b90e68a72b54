"""The shared send schedule of an origination identity (or a campaign), in the outbound table.

Every sender invocation books its batch here before calling ``SendTextMessage``, so all
concurrent invocations share one schedule (``two_way_sms.pacing`` places the slots).
Item: ``pk = "THROUGHPUT#<key>"``, ``sk = "SCHEDULE"`` with ``next_free_at`` and
``busy_until`` (epoch seconds) and ``slots`` (``[[epoch_microseconds, parts], ...]``: the
bookings of the last second and after).

A booking is one conditional write on ``next_free_at`` (which every booking moves
forward); a writer that lost the race books again around what the refused write answered
with (the schedule as it stands), without reading it again. Slots further than
``horizon`` seconds away are not booked at all: the caller defers those requests instead
of holding a Lambda invocation for them.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Sequence

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from two_way_sms import pacing
from two_way_sms.pacing import Booking, Schedule, Slot, Wanted

SORT_KEY = "SCHEDULE"
MAX_ATTEMPTS = 25  # conflicts only happen between concurrent bookings, each one a few ms
KEEP_SECONDS = 86400  # an idle schedule (a finished campaign's) expires a day after its last booking
_deserialize = TypeDeserializer().deserialize


class ScheduleContention(RuntimeError):
    """Too many concurrent writers: the booking did not get through in MAX_ATTEMPTS tries."""


def schedule_key(key: str) -> dict[str, str]:
    return {"pk": f"THROUGHPUT#{key}", "sk": SORT_KEY}


class ThroughputSchedule:
    def __init__(self, table: Any) -> None:
        self._table = table  # a boto3 DynamoDB Table resource (the outbound table)

    def book(self, key: str, parts: int, mps: float, now: float, horizon: float) -> Booking:
        """Books one send of ``parts`` parts on ``key``'s schedule (see ``book_all``)."""
        return self.book_all(key, [Wanted(parts)], mps, now, horizon)[0]

    def book_all(self, key: str, wanted: Sequence[Wanted], mps: float, now: float, horizon: float) -> list[Booking]:
        """Books ``wanted`` on ``key``'s schedule in one write; a booking per request, in order.
        An unbooked request's ``at`` says when it could go, so the caller knows how long to defer it."""
        item = self._table.get_item(Key=schedule_key(key), ConsistentRead=True).get("Item")
        for _ in range(MAX_ATTEMPTS):
            schedule, bookings = pacing.book(_schedule(item), wanted, mps=mps, now=now, horizon=horizon)
            if not any(booking.booked for booking in bookings):
                return bookings
            try:
                self._table.put_item(
                    Item={**schedule_key(key), **_attributes(schedule)},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **_unchanged_since(item),
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                # Another invocation booked first: book around its bookings, as the refusal answered them.
                current = error.response.get("Item")
                item = {name: _deserialize(value) for name, value in current.items()} if current else None
                continue
            return bookings
        raise ScheduleContention(f"schedule {key} stayed contended for {MAX_ATTEMPTS} attempts")

    def next_free_at(self, key: str) -> float | None:
        """Where the schedule's line is (epoch seconds); None for a schedule never booked."""
        item = self._table.get_item(Key=schedule_key(key), ConsistentRead=True).get("Item")
        return float(item["next_free_at"]) if item and "next_free_at" in item else None


def _schedule(item: dict[str, Any] | None) -> Schedule:
    if not item:
        return Schedule()
    return Schedule(
        next_free_at=_microseconds(item["next_free_at"]),
        busy_until=_microseconds(item.get("busy_until", item["next_free_at"])),
        slots=tuple(Slot(int(at), int(parts)) for at, parts in item.get("slots", [])),
    )


def _attributes(schedule: Schedule) -> dict[str, Any]:
    return {
        "next_free_at": _seconds(schedule.next_free_at),
        "busy_until": _seconds(schedule.busy_until),
        "slots": [[slot.at, slot.parts] for slot in schedule.slots],
        "expires_at": math.ceil(schedule.busy_until / pacing.MICROSECONDS) + KEEP_SECONDS,
    }


def _microseconds(seconds: Decimal) -> int:
    return math.ceil(Decimal(seconds).scaleb(6))


def _seconds(microseconds: int) -> Decimal:
    return Decimal(microseconds).scaleb(-6)


def _unchanged_since(item: dict[str, Any] | None) -> dict[str, Any]:
    if item is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {"ConditionExpression": "next_free_at = :seen", "ExpressionAttributeValues": {":seen": item["next_free_at"]}}
