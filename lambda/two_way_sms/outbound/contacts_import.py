"""Importing contacts from a CSV: numbers, proof of opt-in, and attributes for audience queries.

A PROMOTIONAL text needs a recorded opt-in, and a recorded opt-in needs its proof: where
the consent was given (``opt_in_source``: "web-form", "store-42") and when (``opt_in_at``,
ISO 8601 with an offset). A row with only one of the two is an error, not half an opt-in.
A row with neither is imported without opt-in: its attributes only, and no promotional texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from two_way_sms.instants import parse_instant
from two_way_sms.outbound.csv_rows import CsvRowProblem, UnreadableHeader, cell_text, open_rows
from two_way_sms.phone import InvalidPhoneNumber, to_e164

PHONE_NUMBER_COLUMN = "phone_number"
OPT_IN_SOURCE_COLUMN = "opt_in_source"
OPT_IN_AT_COLUMN = "opt_in_at"
MAX_OPT_IN_SOURCE_CHARACTERS = 64


class InvalidContactsFile(ValueError):
    """A contacts CSV that cannot be read at all (no header, no phone_number column, duplicate columns)."""


@dataclass(frozen=True)
class ContactImport:
    """One contact to write: an opt-in only when both its source and its time are known."""

    phone_number: str  # E.164
    opt_in_source: str | None = None
    opt_in_at: datetime | None = None  # UTC
    attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if (self.opt_in_source is None) != (self.opt_in_at is None):
            raise ValueError("opt-in proof needs both opt_in_source and opt_in_at")
        if self.opt_in_at is not None:
            if self.opt_in_at.tzinfo is None:
                raise ValueError(f"opt_in_at {self.opt_in_at.isoformat()} must carry a UTC offset")
            object.__setattr__(self, "opt_in_at", self.opt_in_at.astimezone(timezone.utc))
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))

    @property
    def opted_in(self) -> bool:
        return self.opt_in_at is not None


@dataclass(frozen=True)
class ImportRowError:
    row_number: int  # 1 = the first row after the header
    reason: str  # one line, the number masked


def read_contacts_csv(lines: Iterable[str]) -> Iterator[ContactImport | ImportRowError]:
    """One ContactImport or ImportRowError per data row, in file order.

    Columns (any case, spaces around ignored): phone_number (required), opt_in_source and
    opt_in_at (an opt-in needs both); every other non-empty cell becomes an attribute.
    Rows whose cells are all empty are skipped. A bad row (not CSV, not UTF-8, a cell over
    ``csv_rows.MAX_CELL_CHARACTERS``, too many cells, a bad value) is an ImportRowError
    with its number and reason, and the rows after it are read on. A file without a
    readable header or without a phone_number column raises InvalidContactsFile.
    """
    try:
        fieldnames, rows = open_rows(lines)
    except UnreadableHeader as error:
        raise InvalidContactsFile(f"contacts csv: {error}") from None
    if fieldnames is None:
        raise InvalidContactsFile("contacts csv is empty: it needs a header with a phone_number column")
    columns = _columns(fieldnames)
    special = {columns.get(name) for name in (PHONE_NUMBER_COLUMN, OPT_IN_SOURCE_COLUMN, OPT_IN_AT_COLUMN)}
    for row in rows:
        if isinstance(row, CsvRowProblem):
            yield ImportRowError(row.row_number, row.reason)
            continue
        try:
            yield _contact(row.cells, columns, special)
        except ValueError as error:
            yield ImportRowError(row.row_number, f"row {row.row_number}: {error}")


def _contact(row: Mapping[str, Any], columns: Mapping[str, str], special: set[str | None]) -> ContactImport:
    try:
        number = to_e164(_value(row, columns, PHONE_NUMBER_COLUMN))
    except InvalidPhoneNumber as error:  # its message masks the number
        raise ValueError(str(error)) from None
    source = _value(row, columns, OPT_IN_SOURCE_COLUMN) or None
    at_text = _value(row, columns, OPT_IN_AT_COLUMN) or None
    if (source is None) != (at_text is None):
        present, missing = (
            (OPT_IN_AT_COLUMN, OPT_IN_SOURCE_COLUMN) if source is None else (OPT_IN_SOURCE_COLUMN, OPT_IN_AT_COLUMN)
        )
        raise ValueError(f"{present} is set but {missing} is missing (proof of opt-in needs both)")
    opt_in_at = None
    if source is not None:
        if len(source) > MAX_OPT_IN_SOURCE_CHARACTERS:
            raise ValueError(
                f"opt_in_source has {len(source)} characters; at most {MAX_OPT_IN_SOURCE_CHARACTERS} are allowed"
            )
        opt_in_at = _instant(at_text)  # type: ignore[arg-type]
    attributes = {
        name.strip(): cell_text(value)
        for name, value in row.items()
        if name not in special and name.strip() and cell_text(value)
    }
    return ContactImport(number, source, opt_in_at, attributes)


def _instant(text: str) -> datetime:
    return parse_instant(text, "opt_in_at").astimezone(timezone.utc)


def _columns(fieldnames: Sequence[str]) -> dict[str, str]:
    """Lower-cased, stripped column name -> the header's spelling; checks the header."""
    folded = [name.strip().lower() for name in fieldnames]
    duplicates = sorted({name for name in folded if name and folded.count(name) > 1})
    if duplicates:
        raise InvalidContactsFile(f"contacts csv has duplicate columns: {', '.join(duplicates)}")
    if PHONE_NUMBER_COLUMN not in folded:
        shown = ", ".join(name.strip() for name in fieldnames[:10]) or "none"
        raise InvalidContactsFile(f"contacts csv has no {PHONE_NUMBER_COLUMN} column (columns: {shown})")
    return {name: original for name, original in zip(folded, fieldnames) if name}


def _value(row: Mapping[str, Any], columns: Mapping[str, str], name: str) -> str:
    """The stripped cell of column ``name`` ("" when the column or the cell is missing)."""
    return cell_text(row.get(columns[name])) if name in columns else ""
