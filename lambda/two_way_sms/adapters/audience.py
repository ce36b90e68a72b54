"""Reading a campaign's audience in pages that a later invocation can resume.

Two kinds of audience (``two_way_sms.outbound.campaign``):

- a CSV object in S3, streamed line by line (never loaded whole) through
  ``campaign.read_audience_csv``; the cursor is the number of the last data row read
  (``"0"``: none yet), so the next page starts at the row after it. A line is cut at
  ``MAX_LINE_BYTES`` (its row is then an error of its own) and bytes that are not UTF-8
  are kept as lone surrogates (``surrogateescape``), so one bad row never fails the file;
- the contacts whose PROFILE ``attributes`` match every requested value: a paginated
  ``Scan`` of the contacts table with a ``FilterExpression``; each contact's attributes
  become its template variables; the cursor is the scan's ``LastEvaluatedKey`` as JSON.

Pages are the campaigns function's unit of exactly-once counting: a page always starts
at the same place for the same cursor (``page_size`` is fixed), so its ``chunk_id``
names the same rows on a retry.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from botocore.exceptions import ClientError

from two_way_sms.outbound.campaign import (
    PHONE_NUMBER_COLUMN,
    Audience,
    AudienceCsv,
    AudienceQuery,
    AudienceRow,
    AudienceRowError,
    InvalidCampaign,
    read_audience_csv,
)
from two_way_sms.outbound.campaign_shards import (
    MAX_DUPLICATE_ROWS_PER_SHARD,
    MAX_SHARDS,
    SHARD_BYTES,
    AudienceShard,
    shard_count,
)
from two_way_sms.outbound.csv_rows import count_row, usable_record
from two_way_sms.phone import InvalidPhoneNumber, to_e164

PROFILE = "PROFILE"
DEFAULT_PAGE_SIZE = 500
START = "0"  # the CSV cursor before the first row (the query's is None as well)
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{9}")  # how most audience files spell US/Canadian numbers
CHUNK_BYTES = 64 * 1024  # read from S3 this much at a time
# A line longer than this is cut (its row is then too long to be valid): one runaway line
# (a missing quote, a binary file) cannot take the function's memory.
MAX_LINE_BYTES = 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class AudiencePage:
    """Consecutive audience entries, where they started, and where the next page starts."""

    start: str | None  # the cursor this page was read from (None: the beginning)
    entries: tuple[AudienceRow | AudienceRowError, ...]
    next_cursor: str | None  # None: this is the last page (of the audience, or of its shard)
    shard: int | None = None  # the shard of the audience it was read from (None: read whole)

    @property
    def chunk_id(self) -> str:
        """A short, stable name for this page's rows (the run's ``done_chunks``), unique in its run."""
        return self._base_chunk_id if self.shard is None else f"s{self.shard}-{self._base_chunk_id}"

    @property
    def _base_chunk_id(self) -> str:
        if self.start is None or self.start == START:
            return "start"
        if self.start.isdigit():
            return f"row-{self.start}"
        # A scan key holds a phone number: store a digest, not the number.
        return "key-" + hashlib.sha256(self.start.encode()).hexdigest()[:24]


class AudienceReader:
    def __init__(
        self,
        *,
        s3_client: Any = None,
        contacts_table: Any = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        shard_bytes: int = SHARD_BYTES,
        max_shards: int = MAX_SHARDS,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page size {page_size} must be at least 1")
        shard_count(0, shard_bytes, max_shards)  # checks them
        self._s3 = s3_client
        self._contacts = contacts_table  # a boto3 DynamoDB Table resource
        self._page_size = page_size
        self._shard_bytes, self._max_shards = shard_bytes, max_shards

    def pages(
        self,
        audience: Audience,
        cursor: str | None = None,
        earlier: set[str] | None = None,
        shard: AudienceShard | None = None,
    ) -> Iterator[AudiencePage]:
        """The audience's pages from ``cursor`` on (the beginning when None); with ``shard``, that
        shard's pages only (the cursor is still a row number of the whole file).

        ``earlier``, when given, receives the destinations of the CSV rows before the
        cursor (as the rows are skipped; in a shard, its rows before the cursor), so a
        resumed run still knows a duplicate row. A contacts query has no duplicates: each
        contact is one key.
        """
        if isinstance(audience, AudienceCsv):
            if shard is not None:
                return self._shard_pages(audience, shard, _csv_cursor(cursor), earlier)
            after = _csv_cursor(cursor)
            return self._csv_pages(read_csv_from(self._csv_lines(audience), after, earlier), after)
        if shard is not None:
            raise InvalidCampaign("only a CSV audience is read in shards")
        if isinstance(audience, AudienceQuery):
            return self._query_pages(audience, _query_cursor(cursor))
        raise InvalidCampaign(f"audience {audience!r} must be an AudienceCsv or an AudienceQuery")

    def shards(self, audience: Audience) -> list[AudienceShard]:
        """How a CSV audience is read in parallel: its shards, or [] to read it whole (a small object, a
        contacts query, or numbers repeated too often across the file to name in the shards' events)."""
        if not isinstance(audience, AudienceCsv):
            return []
        if self._s3 is None:
            raise ValueError("reading a CSV audience needs an S3 client")
        try:
            head = self._s3.head_object(Bucket=audience.bucket, Key=audience.key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "403"):
                raise
            return []  # HEAD has no error body: the whole read's GET reports why (NoSuchKey, AccessDenied)
        size, etag = int(head["ContentLength"]), str(head["ETag"])
        count = shard_count(size, self._shard_bytes, self._max_shards)
        if count <= 1:
            return []
        body = self._s3.get_object(Bucket=audience.bucket, Key=audience.key, IfMatch=etag)["Body"]
        return plan_shards(body.iter_chunks(CHUNK_BYTES), size=size, etag=etag, count=count)

    # -- CSV in S3 ----------------------------------------------------------------------------
    def _csv_pages(
        self,
        entries: Iterator[AudienceRow | AudienceRowError],
        after_row: int,
        shard: int | None = None,
    ) -> Iterator[AudiencePage]:
        start = after_row
        while True:
            page = tuple(itertools.islice(entries, self._page_size))
            if not page:
                if start == after_row:  # an audience with no rows (after the cursor) is one empty page
                    yield AudiencePage(str(start), (), None, shard)
                return
            last = page[-1].row_number
            # Only a short page is known to be the last: a full one may be followed by nothing.
            more = len(page) == self._page_size
            yield AudiencePage(str(start), page, str(last) if more else None, shard)
            if not more:
                return
            start = last

    def _shard_pages(
        self, audience: AudienceCsv, shard: AudienceShard, cursor: int, earlier: set[str] | None
    ) -> Iterator[AudiencePage]:
        after = max(cursor, shard.first_row)
        header = self._ranged_chunks(audience, 0, shard.header_end, shard.etag)
        rows = self._ranged_chunks(audience, shard.start, shard.end, shard.etag)
        return self._csv_pages(read_shard(header, rows, shard, after, earlier), after, shard.index)

    def _ranged_chunks(self, audience: AudienceCsv, start: int, end: int, etag: str) -> Iterator[bytes]:
        """Bytes ``[start, end)`` of the object, only while it is still the one with ``etag``."""
        if start >= end:
            return
        body = self._s3.get_object(
            Bucket=audience.bucket, Key=audience.key, Range=f"bytes={start}-{end - 1}", IfMatch=etag
        )["Body"]
        yield from body.iter_chunks(CHUNK_BYTES)

    def _csv_lines(self, audience: AudienceCsv) -> Iterator[str]:
        if self._s3 is None:
            raise ValueError("reading a CSV audience needs an S3 client")
        body = self._s3.get_object(Bucket=audience.bucket, Key=audience.key)["Body"]
        yield from decoded_lines(body.iter_chunks(CHUNK_BYTES))  # (a generator: read when the first page is)

    # -- contacts query -----------------------------------------------------------------------
    def _query_pages(self, audience: AudienceQuery, start_key: dict[str, Any] | None) -> Iterator[AudiencePage]:
        if self._contacts is None:
            raise ValueError("reading a contacts query audience needs the contacts table")
        names = {"#record": "record", "#attributes": "attributes"}
        values: dict[str, Any] = {":profile": PROFILE}
        conditions = ["#record = :profile"]
        for position, (name, value) in enumerate(sorted(audience.attributes.items())):
            names[f"#a{position}"] = name
            values[f":a{position}"] = value
            conditions.append(f"#attributes.#a{position} = :a{position}")
        arguments = {
            "FilterExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": self._page_size,
            "ProjectionExpression": "phone_number, #attributes",
            "ConsistentRead": True,
        }
        row_number = 0
        while True:
            scan_args = dict(arguments, ExclusiveStartKey=start_key) if start_key else arguments
            response = self._contacts.scan(**scan_args)
            entries = []
            for item in response.get("Items", []):
                row_number += 1
                entries.append(_contact_row(row_number, item))
            next_key = response.get("LastEvaluatedKey")
            yield AudiencePage(_key_cursor(start_key), tuple(entries), _key_cursor(next_key))
            if not next_key:
                return
            start_key = next_key


def read_csv_from(
    lines: Iterable[str], after_row: int, earlier: set[str] | None = None
) -> Iterator[AudienceRow | AudienceRowError]:
    """``read_audience_csv``'s entries after row ``after_row``, with their numbers in the whole file.

    The rows before the cursor are skipped with the csv module alone, counting rows the way
    ``read_audience_csv`` does (a row counts when a cell has something in it), and the rest
    is read with the header in front. ``earlier`` collects the skipped rows' destinations
    (E.164 cells as they are, only other spellings parsed).
    """
    lines = iter(lines)
    if after_row <= 0:
        yield from read_audience_csv(lines)
        return
    header_lines: list[str] = []
    header_reader = csv.reader(_recording(lines, header_lines))
    try:
        first = next(header_reader, None)
    except csv.Error:
        first = None
    if first is None:
        yield from read_audience_csv(header_lines)  # raises: no header, or an unreadable one
        return
    header = next(csv.reader(header_lines))
    phone = _phone_column(header)
    skipped = 0
    skipper = csv.reader(lines)
    while skipped < after_row:
        try:
            record = next(skipper, None)
        except csv.Error:  # an unreadable row: numbered, like read_audience_csv numbers it
            skipped += 1
            continue
        if record is None:
            return  # the cursor is past the end (a file shorter than when the run began)
        if count_row(record):
            skipped += 1
            if earlier is not None and phone is not None and usable_record(record, len(header)):
                destination = _destination(record[phone] if phone < len(record) else "")
                if destination:
                    earlier.add(destination)
    for entry in read_audience_csv(itertools.chain(header_lines, lines)):
        yield _renumbered(entry, after_row)


def decoded_lines(chunks: Iterable[bytes], *, file_start: bool = True) -> Iterator[str]:
    """The lines of a CSV byte stream as the csv module reads them: cut at ``MAX_LINE_BYTES``, a
    leading BOM dropped (``file_start``), bytes that are not UTF-8 kept as lone surrogates."""
    # Line ends kept: a quoted cell may span lines, and the csv module needs them to tell.
    for number, line in enumerate(bounded_lines(chunks, MAX_LINE_BYTES)):
        if number == 0 and file_start:
            line = line.removeprefix(_BOM)
        yield line.decode("utf-8", "surrogateescape")  # a bad byte fails its row, not the file


def read_shard(
    header: Iterable[bytes],
    rows: Iterable[bytes],
    shard: AudienceShard,
    after_row: int | None = None,
    earlier: set[str] | None = None,
) -> Iterator[AudienceRow | AudienceRowError]:
    """The entries of one shard (after row ``after_row`` of the whole file, when given), numbered and
    reported as a read of the whole file numbers them: ``header`` is the object's bytes
    ``[0, header_end)``, ``rows`` its bytes ``[start, end)``."""
    after = shard.first_row if after_row is None else max(after_row, shard.first_row)
    lines = itertools.chain(decoded_lines(header), decoded_lines(rows, file_start=False))
    for entry in read_csv_from(lines, after - shard.first_row, earlier):
        yield _renumbered(entry, shard.first_row)


def plan_shards(chunks: Iterable[bytes], *, size: int, etag: str, count: int) -> list[AudienceShard]:
    """Splits a CSV object of ``size`` bytes into about ``count`` shards of about equal size, reading it
    once with the csv module alone; [] when it is read whole (a header the run cannot use, too few
    records to split, too many numbers repeated across shards to name them in the events).

    Each boundary is the first record that starts at or after an equal split of the bytes after the
    header, as the csv module reads the whole file (a record may span lines); a shard starts with
    the count of data rows before it and the rows whose number an earlier shard has.
    """
    offset = 0
    header_lines: list[str] = []  # the lines of the header record, as they are read

    def lines() -> Iterator[str]:
        nonlocal offset
        for number, (line, taken) in enumerate(sized_lines(chunks, MAX_LINE_BYTES)):
            offset += taken  # (the csv module reads no line ahead of the record it returns)
            text = (line.removeprefix(_BOM) if number == 0 else line).decode("utf-8", "surrogateescape")
            if header_end is None:
                header_lines.append(text)
            yield text

    header_end: int | None = None
    reader = csv.reader(lines())
    try:
        header = next(reader, None)
        if header is None:
            return []
        next(read_audience_csv(header_lines), None)  # the checks of a whole read (a phone_number column, ...)
    except (csv.Error, InvalidCampaign):
        return []  # read whole: the run fails with the reason a whole read gives
    phone = _phone_column(header)
    header_end = offset
    if phone is None or count <= 1 or size <= header_end:
        return []
    targets = [header_end + (size - header_end) * k // count for k in range(1, count)]
    starts = [(header_end, 0)]  # (first byte, data rows before it) of each shard
    duplicates: list[list[int]] = [[]]
    first_shard: dict[int, int] = {}  # a destination's digits -> the shard of its first row
    row = passed = 0
    while True:
        start = offset
        try:
            record: list[str] | None = next(reader)
        except StopIteration:
            break
        except csv.Error:
            record = None  # an unreadable row: numbered, like read_audience_csv numbers it
        while passed < len(targets) and start >= targets[passed]:
            passed += 1
            if start > starts[-1][0]:
                starts.append((start, row))
                duplicates.append([])
        if record is not None and not count_row(record):
            continue
        row += 1
        if record is None or not usable_record(record, len(header)):
            continue
        destination = _destination(record[phone] if phone < len(record) else "")
        if destination:
            shard = len(starts) - 1
            if first_shard.setdefault(int(destination[1:]), shard) != shard:
                duplicates[shard].append(row)
    if len(starts) <= 1 or any(len(rows) > MAX_DUPLICATE_ROWS_PER_SHARD for rows in duplicates):
        return []
    ends = [start for start, _ in starts[1:]] + [offset]
    return [
        AudienceShard(
            index=index,
            of=len(starts),
            start=start,
            end=end,
            first_row=first_row,
            header_end=header_end,
            etag=etag,
            duplicate_rows=tuple(duplicates[index]),
        )
        for index, ((start, first_row), end) in enumerate(zip(starts, ends, strict=True))
    ]


def _renumbered(entry: AudienceRow | AudienceRowError, rows_before: int) -> AudienceRow | AudienceRowError:
    if not rows_before:
        return entry
    number = entry.row_number + rows_before
    if isinstance(entry, AudienceRow):
        return AudienceRow(number, entry.destination, entry.variables)
    return AudienceRowError(number, entry.reason.replace(f"row {entry.row_number}", f"row {number}", 1))


def bounded_lines(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """The lines of a byte stream with their line ends (``\\n``, ``\\r\\n`` or ``\\r``), each cut to
    ``limit`` bytes before its line end: a line's excess is dropped as it streams, never buffered."""
    return (line for line, _ in sized_lines(chunks, limit))


def sized_lines(chunks: Iterable[bytes], limit: int) -> Iterator[tuple[bytes, int]]:
    """:func:`bounded_lines` with, for each line, the bytes of the stream it took (its uncut length):
    a shard plan places its boundaries by these."""
    buffer = bytearray()
    cut: bytes | None = None  # the first `limit` bytes of a line over the limit, whose rest is being dropped
    dropped = 0  # bytes of the current line already dropped from the buffer
    for chunk in chunks:
        buffer += chunk
        while (end := _LINE_END.search(buffer)) is not None:
            if end.group() == b"\r" and end.end() == len(buffer):
                break  # a last "\r" may be the start of "\r\n": wait for the next chunk
            ending = end.group()  # (read before the buffer changes under the match)
            line = bytes(buffer[: end.start()]) if cut is None else cut
            taken = dropped + end.end()
            del buffer[: end.end()]
            cut, dropped = None, 0
            yield line[:limit] + ending, taken
        if len(buffer) > limit:
            if cut is None:
                cut = bytes(buffer[:limit])
            kept = bytearray(b"\r" if buffer.endswith(b"\r") else b"")
            dropped += len(buffer) - len(kept)
            buffer = kept
    if cut is not None or buffer:
        ending = b"\r" if buffer.endswith(b"\r") else b""
        line = cut if cut is not None else bytes(buffer).removesuffix(ending)
        yield line[:limit] + ending, dropped + len(buffer)


def _phone_column(header: list[str]) -> int | None:
    folded = [name.strip().lower() for name in header]
    return folded.index(PHONE_NUMBER_COLUMN) if PHONE_NUMBER_COLUMN in folded else None


def _destination(cell: str) -> str | None:
    text = cell.strip()
    if _NANP_E164.fullmatch(text):
        return text  # what to_e164 returns for it, without parsing: skipping 100,000 rows stays quick
    try:
        return to_e164(text)
    except InvalidPhoneNumber:
        return None


def _recording(lines: Iterator[str], seen: list[str]) -> Iterator[str]:
    for line in lines:
        seen.append(line)
        yield line


def _contact_row(row_number: int, item: dict[str, Any]) -> AudienceRow | AudienceRowError:
    try:
        destination = to_e164(str(item.get("phone_number", "")))
    except InvalidPhoneNumber as error:  # its message masks the number
        return AudienceRowError(row_number, f"contact {row_number}: {error}")
    attributes = item.get("attributes") or {}
    variables = {str(name): str(value) for name, value in attributes.items() if isinstance(value, str) and value}
    return AudienceRow(row_number, destination, MappingProxyType(variables))


def _csv_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit():
        raise InvalidCampaign(f"csv audience cursor {cursor[:40]!r} must be a row number")
    return int(cursor)


def _query_cursor(cursor: str | None) -> dict[str, Any] | None:
    if cursor is None or cursor == "":
        return None
    try:
        key = json.loads(cursor)
    except ValueError:
        raise InvalidCampaign("query audience cursor is not JSON") from None
    if not isinstance(key, dict) or not key:
        raise InvalidCampaign("query audience cursor must be a DynamoDB key object")
    return key


def _key_cursor(key: dict[str, Any] | None) -> str | None:
    return json.dumps(key, sort_keys=True, separators=(",", ":")) if key else None
