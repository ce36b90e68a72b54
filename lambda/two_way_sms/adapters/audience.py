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
    next_cursor: str | None  # None: this is the last page

    @property
    def chunk_id(self) -> str:
        """A short, stable name for this page's rows (the run's ``done_chunks``)."""
        if self.start is None or self.start == START:
            return "start"
        if self.start.isdigit():
            return f"row-{self.start}"
        # A scan key holds a phone number: store a digest, not the number.
        return "key-" + hashlib.sha256(self.start.encode()).hexdigest()[:24]


class AudienceReader:
    def __init__(
        self, *, s3_client: Any = None, contacts_table: Any = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page size {page_size} must be at least 1")
        self._s3 = s3_client
        self._contacts = contacts_table  # a boto3 DynamoDB Table resource
        self._page_size = page_size

    def pages(
        self, audience: Audience, cursor: str | None = None, earlier: set[str] | None = None
    ) -> Iterator[AudiencePage]:
        """The audience's pages from ``cursor`` on (the beginning when None).

        ``earlier``, when given, receives the destinations of the CSV rows before the
        cursor (as the rows are skipped), so a resumed run still knows a duplicate row.
        A contacts query has no duplicates: each contact is one key.
        """
        if isinstance(audience, AudienceCsv):
            return self._csv_pages(audience, _csv_cursor(cursor), earlier)
        if isinstance(audience, AudienceQuery):
            return self._query_pages(audience, _query_cursor(cursor))
        raise InvalidCampaign(f"audience {audience!r} must be an AudienceCsv or an AudienceQuery")

    # -- CSV in S3 ----------------------------------------------------------------------------
    def _csv_pages(self, audience: AudienceCsv, after_row: int, earlier: set[str] | None) -> Iterator[AudiencePage]:
        entries = read_csv_from(self._csv_lines(audience), after_row, earlier)
        start = after_row
        while True:
            page = tuple(itertools.islice(entries, self._page_size))
            if not page:
                if start == after_row:  # an audience with no rows (after the cursor) is one empty page
                    yield AudiencePage(str(start), (), None)
                return
            last = page[-1].row_number
            # Only a short page is known to be the last: a full one may be followed by nothing.
            more = len(page) == self._page_size
            yield AudiencePage(str(start), page, str(last) if more else None)
            if not more:
                return
            start = last

    def _csv_lines(self, audience: AudienceCsv) -> Iterator[str]:
        if self._s3 is None:
            raise ValueError("reading a CSV audience needs an S3 client")
        body = self._s3.get_object(Bucket=audience.bucket, Key=audience.key)["Body"]
        # Line ends kept: a quoted cell may span lines, and the csv module needs them to tell.
        for number, line in enumerate(bounded_lines(body.iter_chunks(CHUNK_BYTES), MAX_LINE_BYTES)):
            if number == 0:
                line = line.removeprefix(_BOM)
            yield line.decode("utf-8", "surrogateescape")  # a bad byte fails its row, not the file

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
                destination = _destination(record[phone])
                if destination:
                    earlier.add(destination)
    for entry in read_audience_csv(itertools.chain(header_lines, lines)):
        if isinstance(entry, AudienceRow):
            yield AudienceRow(entry.row_number + after_row, entry.destination, entry.variables)
        else:
            number = entry.row_number + after_row
            reason = entry.reason.replace(f"row {entry.row_number}", f"row {number}", 1)
            yield AudienceRowError(number, reason)


def bounded_lines(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """The lines of a byte stream with their line ends (``\\n``, ``\\r\\n`` or ``\\r``), each cut to
    ``limit`` bytes before its line end: a line's excess is dropped as it streams, never buffered."""
    buffer = bytearray()
    cut: bytes | None = None  # the first `limit` bytes of a line over the limit, whose rest is being dropped
    for chunk in chunks:
        buffer += chunk
        while (end := _LINE_END.search(buffer)) is not None:
            if end.group() == b"\r" and end.end() == len(buffer):
                break  # a last "\r" may be the start of "\r\n": wait for the next chunk
            ending = end.group()  # (read before the buffer changes under the match)
            line = bytes(buffer[: end.start()]) if cut is None else cut
            del buffer[: end.end()]
            cut = None
            yield line[:limit] + ending
        if len(buffer) > limit:
            if cut is None:
                cut = bytes(buffer[:limit])
            buffer = bytearray(b"\r" if buffer.endswith(b"\r") else b"")
    if cut is not None or buffer:
        ending = b"\r" if buffer.endswith(b"\r") else b""
        line = cut if cut is not None else bytes(buffer).removesuffix(ending)
        yield line[:limit] + ending


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
