"""Pacing sends to an origination identity's throughput, in message parts per second (MPS).

The generic cell rate algorithm (GCRA) with no burst: the identity has one shared
"theoretical arrival time" (``next_free_at``). A send of ``parts`` parts goes at
``max(now, next_free_at)`` and moves ``next_free_at`` on by ``parts / mps`` seconds. So
over any interval the parts sent never exceed ``mps`` per second (plus the one send in
progress), and a steady backlog runs at exactly ``mps``. The state is one number: the
sender keeps it in DynamoDB and updates it with a conditional write, so concurrent
invocations share one schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

# End User Messaging's default throughput per number type, in parts per second (FACTS.md).
DEFAULT_MPS = {
    "SHORT_CODE": 100.0,
    "TEN_DLC": 1.0,
    "TOLL_FREE": 3.0,
    "LONG_CODE": 10.0,  # outside the US and Canada
    "LONG_CODE_CA": 1.0,
    "SIMULATOR": 1.0,
}


@dataclass(frozen=True)
class Reservation:
    send_at: float  # seconds since the epoch: when these parts may go
    next_free_at: float  # the identity's new schedule, to store


def reserve(*, now: float, next_free_at: float, parts: int, mps: float) -> Reservation:
    """The slot for ``parts`` parts at ``mps``, given the stored schedule (0 when none)."""
    if parts < 1:
        raise ValueError(f"parts {parts} must be at least 1")
    if mps <= 0:
        raise ValueError(f"mps {mps} must be positive")
    send_at = max(now, next_free_at)
    return Reservation(send_at=send_at, next_free_at=send_at + parts / mps)
