"""A large CSV audience read in parallel: byte ranges of the object, one worker invocation each.

A run whose audience object is larger than one shard (``SHARD_BYTES``) is split into up to
``MAX_SHARDS`` byte ranges of about equal size. The first invocation plans the split with
one streamed read of the object through the csv module alone (no phone lookups, no
DynamoDB, no SQS): every boundary is the start of a record as the csv module reads the
whole file, so a quoted cell spanning lines, CRLF or bare CR line ends, blank lines and
unreadable rows fall where a single read puts them, and each shard knows the number of
the rows before it (row numbers, row errors and the pages' chunk ids are those of a
single read). A shard owns the rows whose record starts in ``[start, end)``; every
shard reads the header (``[0, header_end)``) and its range with ranged GETs, pinned to the
planned object by its ETag (``If-Match``: an object replaced mid-run fails the run).

Duplicates: inside a shard the campaigns function leaves a repeated number out as it
always has; a number whose first row is in an earlier shard is named by the plan
(``duplicate_rows``, row numbers only, never the number), so the run queues and counts
every destination once, exactly as a single read would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from two_way_sms.outbound.campaign import InvalidCampaign

SHARD_BYTES = 2 * 1024 * 1024  # 35,000-120,000 rows (60-17 bytes a row): about one invocation of work
MAX_SHARDS = 64  # workers of one run (each continues itself); more only adds schedules
# Rows a shard leaves out because an earlier shard has their number: they travel in the event.
MAX_DUPLICATE_ROWS_PER_SHARD = 5_000
_MAX_OFFSET = 5 * 1024**4  # S3's largest object (5 TiB)
_ETAG_CHARACTERS = 256


def shard_count(size: int, shard_bytes: int = SHARD_BYTES, max_shards: int = MAX_SHARDS) -> int:
    """How many shards an object of ``size`` bytes is read in: one per ``shard_bytes``, at most ``max_shards``."""
    if shard_bytes < 1 or max_shards < 1:
        raise ValueError(f"shard bytes {shard_bytes} and max shards {max_shards} must be at least 1")
    return max(1, min(max_shards, math.ceil(size / shard_bytes)))


@dataclass(frozen=True)
class AudienceShard:
    """One worker's byte range of a CSV audience object, and what it needs to read it like a single read would."""

    index: int  # 0 .. of-1
    of: int
    start: int  # the first byte of its first record
    end: int  # one past its last record's last byte (the next shard's start, or the object's size)
    first_row: int  # data rows before ``start`` (row numbers continue from it)
    header_end: int  # one past the header record's last byte
    etag: str  # the object the plan was made from
    duplicate_rows: tuple[int, ...] = ()  # its rows whose number an earlier shard has (left out)

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.of:
            raise InvalidCampaign(f"shard index {self.index} must be 0 to {self.of - 1}")
        if not 0 < self.header_end <= self.start <= self.end <= _MAX_OFFSET:
            raise InvalidCampaign(
                f"shard bytes {self.header_end}/{self.start}-{self.end} must satisfy 0 < header end <= start <= end"
            )
        if self.first_row < 0 or len(self.duplicate_rows) > MAX_DUPLICATE_ROWS_PER_SHARD:
            raise InvalidCampaign(
                f"shard first row {self.first_row} and {len(self.duplicate_rows)} duplicate rows are out of range"
            )
        if any(row <= self.first_row for row in self.duplicate_rows):
            raise InvalidCampaign("a shard's duplicate rows must come after its first row")

    def to_dict(self) -> dict[str, Any]:
        """The event's ``shard`` object."""
        return {
            "index": self.index,
            "of": self.of,
            "start": self.start,
            "end": self.end,
            "firstRow": self.first_row,
            "headerEnd": self.header_end,
            "etag": self.etag,
            "duplicateRows": list(self.duplicate_rows),
        }

    @classmethod
    def from_dict(cls, raw: Any) -> AudienceShard:
        """Reads :meth:`to_dict`; InvalidCampaign naming what is wrong."""
        if not isinstance(raw, Mapping):
            raise InvalidCampaign(f"shard must be an object, not {type(raw).__name__}")
        names = ("index", "of", "start", "end", "firstRow", "headerEnd")
        unknown = sorted(str(name) for name in raw if name not in (*names, "etag", "duplicateRows"))
        if unknown:
            raise InvalidCampaign(f"shard has unknown fields: {', '.join(unknown)}")
        numbers = {}
        for name in names:
            value = raw.get(name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidCampaign(f"shard {name} {str(value)[:20]} must be a whole number")
            numbers[name] = value
        etag = raw.get("etag")
        if not isinstance(etag, str) or not 0 < len(etag) <= _ETAG_CHARACTERS:
            raise InvalidCampaign(f"shard etag must be a string of 1-{_ETAG_CHARACTERS} characters")
        duplicates = raw.get("duplicateRows", [])
        if not isinstance(duplicates, list) or any(
            isinstance(row, bool) or not isinstance(row, int) for row in duplicates
        ):
            raise InvalidCampaign("shard duplicateRows must be a list of row numbers")
        return cls(
            index=numbers["index"],
            of=numbers["of"],
            start=numbers["start"],
            end=numbers["end"],
            first_row=numbers["firstRow"],
            header_end=numbers["headerEnd"],
            etag=etag,
            duplicate_rows=tuple(duplicates),
        )
