"""A batch of delivery events folded per message: what one ledger write per message must say.

A Kinesis batch often holds several events of one message (queued, successful,
delivered). Writing them one by one costs a request each; folding them gives the same
ledger item in one: the event with the greatest ``status_key`` (``two_way_sms.delivery``)
owns the status, and every event adds its history line. Whether each event would have
advanced the status had they been written one after another in arrival order follows
from the key the ledger held before (``advanced``), so the metrics read as before.

Pure Python: ``two_way_sms.adapters.ledger`` writes what this describes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from two_way_sms.delivery import DeliveryEvent

Position = TypeVar("Position")


@dataclass(frozen=True)
class MessageEvents:
    """The events of one message in one batch, in arrival order (duplicates included)."""

    events: tuple[DeliveryEvent, ...]

    def __post_init__(self) -> None:
        if not self.events:
            raise ValueError("a message's events must not be empty")
        if any(event.message_id != self.message_id for event in self.events):
            raise ValueError(f"events of more than one message folded as {self.message_id!r}")

    @property
    def message_id(self) -> str:
        return self.events[0].message_id

    @cached_property
    def winner(self) -> DeliveryEvent:
        """The event that owns the status: the greatest ``status_key`` (the first to arrive among equals)."""
        return max(self.events, key=lambda event: event.status_key)

    @cached_property
    def history_entries(self) -> frozenset[str]:
        return frozenset(event.history_entry for event in self.events)

    def first(self, field: str) -> object | None:
        """A field that is the same for every event of a message (the destination, the request time...):
        the winner's, else the first event's that carries it."""
        for event in (self.winner, *self.events):
            value: object = getattr(event, field)
            if value is not None and value != {}:
                return value
        return None

    def advanced(self, stored_key: str | None) -> tuple[bool, ...]:
        """For each event in arrival order, whether it would have advanced the status written one at a
        time after ``stored_key`` (the ledger's key before this batch; None: no status yet)."""
        best = stored_key
        advanced = []
        for event in self.events:
            key = event.status_key
            moved = best is None or key > best
            advanced.append(moved)
            if moved:
                best = key
        return tuple(advanced)


def by_message(received: Iterable[tuple[Position, DeliveryEvent]]) -> dict[str, list[tuple[Position, DeliveryEvent]]]:
    """``(position, event)`` pairs grouped by message id, messages in order of first arrival."""
    messages: dict[str, list[tuple[Position, DeliveryEvent]]] = {}
    for position, event in received:
        messages.setdefault(event.message_id, []).append((position, event))
    return messages
