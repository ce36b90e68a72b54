"""Reading the data rows of a CSV so that one bad row is an error of its own, never the file's.

Shared by the audience reader (campaigns) and the contacts import. A row is bad, and
reported with its number and reason while the rows after it are read on, when:

- the csv module cannot read it (a cell beyond its field limit, a stray quote);
- it has more cells than the header has columns;
- a cell is not valid UTF-8 (the lines are decoded with ``surrogateescape``, so an
  invalid byte shows as a lone surrogate instead of failing the whole file);
- a cell is longer than ``MAX_CELL_CHARACTERS`` (no template variable or number needs more).

Rows are numbered from 1 (the first row after the header); rows whose cells are all
empty are skipped and not numbered. Reasons never show a cell's content.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MAX_CELL_CHARACTERS = 1600  # a message body's limit: a longer variable could never be sent
EXTRA_CELLS = "\0extra"  # DictReader's key for cells beyond the header (no real column is named so)
LONE_SURROGATES = range(0xDC80, 0xDD00)  # what surrogateescape decodes an invalid byte to


class UnreadableHeader(ValueError):
    """The header line cannot be read (not CSV, not UTF-8): nothing in the file can be."""


@dataclass(frozen=True)
class CsvRow:
    row_number: int
    cells: Mapping[str, Any]  # header name -> cell (None for a missing cell), as csv.DictReader gives them


@dataclass(frozen=True)
class CsvRowProblem:
    row_number: int
    reason: str  # "row 7: ..." in one line, without the cells' content


def open_rows(lines: Iterable[str]) -> tuple[list[str] | None, Iterator[CsvRow | CsvRowProblem]]:
    """The header (None for an empty file) and an iterator over the data rows after it.

    Raises UnreadableHeader when the header line is not CSV or not valid UTF-8.
    """
    reader = csv.DictReader(lines, restkey=EXTRA_CELLS)
    try:
        fieldnames = reader.fieldnames
    except csv.Error as error:
        raise UnreadableHeader(f"its header cannot be read as CSV ({error})") from None
    if fieldnames is not None and any(not_utf8(name) for name in fieldnames):
        raise UnreadableHeader("its header is not valid UTF-8")
    return (list(fieldnames) if fieldnames is not None else None), _rows(reader)


def _rows(reader: csv.DictReader[str]) -> Iterator[CsvRow | CsvRowProblem]:
    row_number = 0
    while True:
        try:
            row = next(reader)  # (DictReader skips completely empty lines)
        except StopIteration:
            return
        except csv.Error as error:  # the reader starts afresh on the next line
            row_number += 1
            yield CsvRowProblem(row_number, f"row {row_number} cannot be read as CSV ({error})")
            continue
        extra = [cell for cell in row.pop(EXTRA_CELLS, ()) if cell.strip()]  # trailing empty cells are harmless
        if not extra and not any(cell_text(value) for value in row.values()):
            continue  # a ",,," line from a spreadsheet
        row_number += 1
        if extra:
            yield CsvRowProblem(row_number, f"row {row_number} has more cells than the header has columns")
            continue
        problem = _cell_problem(row)
        if problem is not None:
            yield CsvRowProblem(row_number, f"row {row_number}: {problem}")
            continue
        yield CsvRow(row_number, row)


def count_row(record: list[str]) -> bool:
    """Whether a ``csv.reader`` record counts as a data row the way :func:`open_rows` numbers them."""
    return any(cell.strip() for cell in record)


def usable_record(record: list[str], columns: int) -> bool:
    """Whether :func:`open_rows` would read a ``csv.reader`` record of a ``columns``-column file
    as a row rather than a problem (too many cells, a cell not UTF-8 or too long)."""
    if any(cell.strip() for cell in record[columns:]):
        return False
    return not any(not_utf8(cell) or len(cell) > MAX_CELL_CHARACTERS for cell in record[:columns])


def cell_text(value: Any) -> str:
    """A cell stripped ("" for the None DictReader gives a missing cell)."""
    return value.strip() if isinstance(value, str) else ""


def not_utf8(text: str) -> bool:
    """True when ``text`` holds a byte that was not valid UTF-8 (decoded with ``surrogateescape``)."""
    return any(ord(character) in LONE_SURROGATES for character in text)


def _cell_problem(row: Mapping[str, Any]) -> str | None:
    for name, value in row.items():
        if not isinstance(value, str):
            continue
        if not_utf8(value):
            return f"column {_shown(name)} is not valid UTF-8"
        if len(value) > MAX_CELL_CHARACTERS:
            return f"column {_shown(name)} has {len(value):,} characters; at most {MAX_CELL_CHARACTERS:,} are allowed"
    return None


def _shown(name: str) -> str:
    name = name.strip()
    return repr(name if len(name) <= 40 else name[:40] + "...")
