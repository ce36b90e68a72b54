"""A CSV audience read in byte-range shards gives every row exactly once, numbered as a whole read numbers it.

The plan reads the object once with the csv module alone and puts each boundary at the start
of a record, so a quoted cell spanning lines (LF, CRLF or a bare CR), blank lines, unreadable
rows, a final line without a line end and a BOM fall where a whole read puts them; a number
whose first row is in an earlier shard is named by the plan, so the run leaves it out once,
as a whole read does.
"""

from __future__ import annotations

import random

import pytest

from two_way_sms.adapters.audience import decoded_lines, plan_shards, read_csv_from, read_shard
from two_way_sms.outbound.campaign import AudienceRow, InvalidCampaign
from two_way_sms.outbound.campaign_shards import MAX_DUPLICATE_ROWS_PER_SHARD, AudienceShard, shard_count

HEADER = b"phone_number,first_name,note"


def _entry(entry) -> tuple:
    if isinstance(entry, AudienceRow):
        return (entry.row_number, entry.destination, dict(entry.variables))
    return (entry.row_number, None, entry.reason)


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def _whole(data: bytes) -> list[tuple]:
    return [_entry(e) for e in read_csv_from(decoded_lines([data]), 0)]


def _read_shards(data: bytes, shards: list[AudienceShard]) -> list[tuple]:
    entries = []
    for shard in shards:
        header, rows = data[: shard.header_end], data[shard.start : shard.end]
        entries += [_entry(e) for e in read_shard(_chunks(header, 7), _chunks(rows, 11), shard)]
    return entries


def _duplicates_of_a_whole_read(entries: list[tuple]) -> set[int]:
    seen, duplicates = set(), set()
    for row, destination, _ in entries:
        if destination is None:
            continue
        if destination in seen:
            duplicates.add(row)
        seen.add(destination)
    return duplicates


def _duplicates_of_a_sharded_read(data: bytes, shards: list[AudienceShard]) -> set[int]:
    """What the campaigns function leaves out as DUPLICATE_ROW, shard by shard (RecipientFilter's rule)."""
    duplicates = set()
    for shard in shards:
        seen: set[str] = set()
        for entry in read_shard([data[: shard.header_end]], [data[shard.start : shard.end]], shard):
            if not isinstance(entry, AudienceRow):
                continue
            if entry.destination in seen or entry.row_number in shard.duplicate_rows:
                duplicates.add(entry.row_number)
                continue
            seen.add(entry.destination)
    return duplicates


def _random_audience(rng: random.Random) -> bytes:
    """Rows of every kind, with line ends chosen at random and quoted cells spanning lines."""
    numbers = [f"+1206555{n:04d}" for n in rng.sample(range(100, 400), 40)]
    lines = []
    for _ in range(rng.randint(0, 120)):
        number = rng.choice(numbers)
        kind = rng.random()
        end = rng.choice([b"\n", b"\r\n", b"\n", b"\r"])
        if kind < 0.45:
            line = f"{number},Ana,plain".encode()
        elif kind < 0.55:
            line = f"({number[2:5]}) {number[5:8]}-{number[8:]},Ben,".encode()  # another spelling
        elif kind < 0.70:
            inner = rng.choice([b"\n", b"\r\n", b"\r"])
            line = number.encode() + b',Cy,"call ' + inner + b"+12065550199" + inner + b'then ""bye"""'
        elif kind < 0.75:
            line = b""  # a blank line
        elif kind < 0.80:
            line = b",,"  # a spreadsheet's empty row
        elif kind < 0.85:
            line = number.encode() + b",Di,x,extra"  # too many cells
        elif kind < 0.90:
            line = b"not a number,Eve,"
        elif kind < 0.95:
            line = number.encode() + b",F\xffo,"  # not UTF-8
        else:
            line = number.encode() + b',Gil,sa"id'  # a stray quote in an unquoted cell
        lines.append(line + end)
    body = b"".join(lines)
    if body and rng.random() < 0.3:
        body = body.rstrip(b"\r\n")  # a final line without a line end
    bom = b"\xef\xbb\xbf" if rng.random() < 0.2 else b""
    return bom + HEADER + rng.choice([b"\n", b"\r\n"]) + body


@pytest.mark.parametrize("seed", range(150))
def test_every_row_is_read_exactly_once_whatever_the_split(seed):
    rng = random.Random(seed)
    data = _random_audience(rng)
    count = rng.randint(2, 12)
    shards = plan_shards(_chunks(data, rng.randint(1, 64)), size=len(data), etag='"e"', count=count)
    if not shards:  # too little after the header to split
        return
    assert [s.index for s in shards] == list(range(len(shards))) and all(s.of == len(shards) for s in shards)
    assert shards[0].start == shards[0].header_end and shards[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(shards, shards[1:], strict=False))
    assert _read_shards(data, shards) == _whole(data)


@pytest.mark.parametrize("seed", range(150))
def test_a_number_repeated_across_shards_is_left_out_as_a_whole_read_leaves_it_out(seed):
    rng = random.Random(seed)
    data = _random_audience(rng)
    shards = plan_shards([data], size=len(data), etag='"e"', count=rng.randint(2, 12))
    if not shards:
        return
    assert _duplicates_of_a_sharded_read(data, shards) == _duplicates_of_a_whole_read(_whole(data))


def test_a_quoted_cell_spanning_a_boundary_stays_with_the_row_it_belongs_to():
    note = b'"' + b"\n+12065550123,Zed,inside the note\n" * 20 + b'"'
    data = HEADER + b"\n+12065550101,Ana," + note + b"\n+12065550102,Ben,after\n"
    shards = plan_shards([data], size=len(data), etag='"e"', count=8)
    # The note is one record: no boundary falls inside it, so no shard reads "+12065550123" as a row.
    assert _read_shards(data, shards) == _whole(data)
    assert [row[1] for row in _whole(data)] == ["+12065550101", "+12065550102"]


def test_a_boundary_that_would_fall_inside_the_header_starts_after_it():
    header = b"phone_number," + b",".join(f"column_{n}".encode() for n in range(60)) + b"\r\n"
    data = header + b"".join(f"+1206555{n:04d}\r\n".encode() for n in range(100, 110))
    assert len(header) > len(data) // 4  # an equal split of the object's bytes would cut the header
    shards = plan_shards(_chunks(data, 5), size=len(data), etag='"e"', count=4)
    assert len(shards) == 4
    assert all(shard.start >= shard.header_end == len(header) for shard in shards)
    assert _read_shards(data, shards) == _whole(data)


def test_a_shard_resumed_from_a_cursor_reads_the_rows_after_it_and_knows_those_before():
    data = HEADER + b"\n" + b"".join(f"+1206555{n:04d},A,\n".encode() for n in range(100, 160))
    shards = plan_shards([data], size=len(data), etag='"e"', count=3)
    second = shards[1]
    cursor = second.first_row + 5
    earlier: set[str] = set()
    resumed = list(read_shard([data[: second.header_end]], [data[second.start : second.end]], second, cursor, earlier))
    whole = [e for e in _whole(data) if second.first_row + 5 < e[0] <= shards[2].first_row]
    assert [_entry(e) for e in resumed] == whole
    assert len(earlier) == 5


def test_an_audience_that_cannot_be_split_is_read_whole():
    rows = b"".join(f"+1206555{n:04d}\n".encode() for n in range(100, 200))
    assert plan_shards([b"name\n" + rows], size=5 + len(rows), etag='"e"', count=4) == []  # no phone_number
    assert plan_shards([b"phone_number\n"], size=13, etag='"e"', count=4) == []  # nothing after the header
    assert plan_shards([b""], size=0, etag='"e"', count=4) == []


def test_too_many_numbers_repeated_across_shards_read_the_audience_whole():
    numbers = [f"+1206{n:07d}" for n in range(MAX_DUPLICATE_ROWS_PER_SHARD + 1)]
    data = ("phone_number\n" + "\n".join(numbers + numbers) + "\n").encode()
    assert plan_shards([data], size=len(data), etag='"e"', count=2) == []


def test_the_shard_count_follows_the_objects_size_up_to_its_cap():
    assert shard_count(0) == 1 and shard_count(2 * 1024 * 1024) == 1
    assert shard_count(2 * 1024 * 1024 + 1) == 2
    assert shard_count(10**12) == 64
    assert shard_count(100, shard_bytes=10, max_shards=4) == 4


def test_a_shard_survives_its_event_and_a_bad_one_is_refused():
    shard = AudienceShard(1, 3, 100, 200, 7, 20, '"abc"', (9, 12))
    assert AudienceShard.from_dict(shard.to_dict()) == shard
    for bad in (
        {**shard.to_dict(), "index": 3},
        {**shard.to_dict(), "start": 10},
        {**shard.to_dict(), "end": "x"},
        {**shard.to_dict(), "etag": ""},
        {**shard.to_dict(), "duplicateRows": [7]},
        {**shard.to_dict(), "surprise": 1},
        "shard",
    ):
        with pytest.raises(InvalidCampaign):
            AudienceShard.from_dict(bad)
