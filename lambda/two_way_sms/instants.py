"""Moments as people and APIs write them: ISO 8601 with a UTC offset, read and written one way."""

from __future__ import annotations

from datetime import datetime, timezone

SHOWN_CHARACTERS = 40  # an error quotes at most this much of a bad value


def parse_instant(text: str, name: str) -> datetime:
    """``text`` as an aware datetime; ValueError naming ``name`` when it is not ISO 8601 with an offset."""
    shown = text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + "..."
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} {shown!r} is not an ISO 8601 date and time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{name} {shown!r} must carry a UTC offset (for example +00:00 or Z)")
    return parsed


def iso_timestamp(epoch_ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC with milliseconds (sorts as text)."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")


def utc_moment(epoch_seconds: float) -> datetime:
    """Seconds since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)
