"""Pacing sends to an origination identity's throughput, in message parts per second (MPS).

End User Messaging counts "the maximum number of message parts that you can send in a
second". The schedule reads that strictly, and keeps two rules:

1. **The window**: the parts sent in any second ``(u - 1, u]`` ending at a send ``u`` (its
   own included) stay within ``max(mps, its parts)``; a text of more parts than the MPS
   goes alone. This holds for every second a new booking touches, including seconds of
   sends other invocations booked earlier for later.
2. **The line**: ``next_free_at`` moves on by ``parts / mps`` with every booking, and
   nothing is booked before it, so a burst never averages above the MPS. While the number
   is busy the line does not jump to the time a send waited for the window: that time is
   made up later, within rule 1. Only an idle number's line restarts at ``now``.

A batch is booked greedily: the text that can go earliest first (the larger on a tie),
each in the earliest gap that keeps rule 1 (and its ``spacing`` after the batch's slot
before it: see ``Wanted``). Packing 1-part texts around 2- and 3-part
ones keeps the number close to its MPS with mixed sizes (a first-come-first-served
schedule loses about 7 % at 3 MPS with 30 % multi-part texts).

Times are whole microseconds inside, so a window's edge is exact.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field, replace
from typing import Sequence

# End User Messaging's default throughput per number type, in parts per second (FACTS.md).
DEFAULT_MPS = {
    "SHORT_CODE": 100.0,
    "TEN_DLC": 1.0,
    "TOLL_FREE": 3.0,
    "LONG_CODE": 10.0,  # outside the US and Canada
    "LONG_CODE_CA": 1.0,
    "SIMULATOR": 1.0,
}
MICROSECONDS = 1_000_000
WINDOW = MICROSECONDS  # one second
# Two sends booked into one gap are at least this far apart (and never at one instant).
MIN_GAP = 1_000


@dataclass(frozen=True)
class Slot:
    at: int  # microseconds since the epoch
    parts: int


@dataclass(frozen=True)
class Schedule:
    """An identity's shared schedule: the line, how long it is busy, the slots of the last second and after."""

    next_free_at: int = 0
    busy_until: int = 0
    slots: tuple[Slot, ...] = field(default=())  # by time

    def pruned(self, now: int) -> Schedule:
        """Without the slots that left the window before ``now``: they constrain nothing from now on."""
        return replace(self, slots=tuple(slot for slot in self.slots if slot.at > now - WINDOW))


@dataclass(frozen=True)
class Wanted:
    parts: int
    not_before: float = 0.0  # epoch seconds (a stricter schedule's slot, e.g. a campaign's own MPS)
    # Seconds after the slot booked before it in the same ``book`` call, at least. One invocation
    # sends its batch one text after another, so slots closer than its time per text are sent
    # late, each later than the one before, and late sends crowd the next second's window.
    spacing: float = 0.0


@dataclass(frozen=True)
class Booking:
    at: float  # epoch seconds: when the parts may go; when not booked, the projected slot
    booked: bool


def to_microseconds(epoch_seconds: float) -> int:
    """Rounded up: a slot is never earlier than meant."""
    return math.ceil(round(epoch_seconds * MICROSECONDS, 3))


def book(
    schedule: Schedule, wanted: Sequence[Wanted], *, mps: float, now: float, horizon: float
) -> tuple[Schedule, list[Booking]]:
    """Books ``wanted`` on ``schedule``; the new schedule and a booking per request, in order.

    A request whose slot is more than ``horizon`` seconds after ``now`` is not booked; its
    ``at`` is where it would go after all the others (to say how long to defer it).
    """
    if not mps > 0:
        raise ValueError(f"mps {mps} must be positive")
    for request in wanted:
        if request.parts < 1:
            raise ValueError(f"parts {request.parts} must be at least 1")
    now_us, horizon_us = to_microseconds(now), math.inf if horizon == math.inf else to_microseconds(horizon)
    kept = schedule.pruned(now_us)
    projected = kept
    bookings: dict[int, Booking] = {}
    pending = list(range(len(wanted)))
    previous: int | None = None  # this call's last slot
    while pending:
        at, index = _pick(projected, wanted, pending, mps, now_us, previous)
        pending.remove(index)
        previous = at
        projected = _with_slot(projected, Slot(at, wanted[index].parts), mps, now_us)
        fits = at - now_us <= horizon_us
        if fits:
            kept = projected
        bookings[index] = Booking(at / MICROSECONDS, booked=fits)
    return kept, [bookings[i] for i in range(len(wanted))]


def _pick(
    schedule: Schedule, wanted: Sequence[Wanted], pending: list[int], mps: float, now: int, previous: int | None
) -> tuple[int, int]:
    """The pending request that can go first (more parts on a tie, then the earlier request): (slot, index)."""
    earliest: dict[tuple[int, float, float], int] = {}
    best: tuple[int, int, int] | None = None
    for index in pending:
        request = wanted[index]
        key = (request.parts, request.not_before, request.spacing)
        if key not in earliest:
            floor = now if previous is None else previous + to_microseconds(request.spacing)
            earliest[key] = _earliest(schedule, request, mps, max(now, floor))
        candidate = (earliest[key], -request.parts, index)
        if best is None or candidate < best:
            best = candidate
    assert best is not None
    return best[0], best[2]


def _earliest(schedule: Schedule, request: Wanted, mps: float, now: int) -> int:
    """The first moment from ``now``, the line and ``not_before`` that keeps the window rule."""
    start = max(now, schedule.next_free_at, to_microseconds(request.not_before))
    slots = schedule.slots
    times = [slot.at for slot in slots]
    prefix = [0]
    for slot in slots:
        prefix.append(prefix[-1] + slot.parts)

    def parts_in(low: int, high: int) -> int:  # slots in (low, high]
        return prefix[bisect.bisect_right(times, high)] - prefix[bisect.bisect_right(times, low)]

    slack = [max(mps, slot.parts) - parts_in(slot.at - WINDOW, slot.at) for slot in slots]
    capacity = max(mps, request.parts)
    candidates = sorted(
        {start}
        | {t + WINDOW for t in times if t + WINDOW > start}
        | {t + MIN_GAP for t in times if t + MIN_GAP > start}
    )
    for at in candidates:
        if any(
            abs(at - t) < MIN_GAP
            for t in times[bisect.bisect_left(times, at - MIN_GAP + 1) : bisect.bisect_right(times, at + MIN_GAP - 1)]
        ):
            continue
        if parts_in(at - WINDOW, at) + request.parts > capacity + 1e-9:
            continue  # rule 1 for the second ending at this send
        later = range(bisect.bisect_left(times, at), bisect.bisect_left(times, at + WINDOW))
        if all(request.parts <= slack[i] + 1e-9 for i in later):
            return at  # rule 1 for every second ending at a later send that this one falls in
    raise AssertionError("unreachable: a moment a second after the last slot always fits")


def _with_slot(schedule: Schedule, slot: Slot, mps: float, now: int) -> Schedule:
    busy = schedule.busy_until > now
    line = schedule.next_free_at if busy else max(schedule.next_free_at, now)
    duration = math.ceil(slot.parts * MICROSECONDS / mps)
    slots = list(schedule.slots)
    bisect.insort(slots, slot, key=lambda s: s.at)
    return Schedule(
        next_free_at=line + duration, busy_until=max(schedule.busy_until, slot.at + duration), slots=tuple(slots)
    )
