"""Contact imports: numbers, complete proof of opt-in, and attributes for audience queries."""

from datetime import datetime, timezone

import pytest

from two_way_sms.outbound.contacts_import import (
    ContactImport,
    ImportRowError,
    InvalidContactsFile,
    read_contacts_csv,
)

NEW_YORK = "+12125550100"
HEADER = "phone_number,opt_in_source,opt_in_at,tier,city\n"


def read(text):
    return list(read_contacts_csv(text.splitlines(keepends=True)))


def test_a_row_with_complete_proof_is_an_opt_in_stored_in_utc():
    [contact] = read(HEADER + "(212) 555-0100,web-form,2026-01-05T09:30:00-05:00,gold,NYC\n")
    assert contact == ContactImport(
        NEW_YORK, "web-form", datetime(2026, 1, 5, 14, 30, tzinfo=timezone.utc), {"tier": "gold", "city": "NYC"}
    )
    assert contact.opted_in and contact.opt_in_at.tzinfo is timezone.utc


def test_a_row_without_proof_is_imported_without_opt_in():
    [contact] = read(HEADER + "2125550100,,,silver,\n")
    assert contact == ContactImport(NEW_YORK, None, None, {"tier": "silver"})
    assert not contact.opted_in


def test_a_file_without_opt_in_columns_imports_attributes_only():
    [contact] = read("Phone_Number,tier\n2125550100,gold\n")
    assert contact == ContactImport(NEW_YORK, attributes={"tier": "gold"})


@pytest.mark.parametrize(
    "cells, fragment",
    [
        ("web-form,", "opt_in_source is set but opt_in_at is missing"),
        (",2026-01-05T09:30:00Z", "opt_in_at is set but opt_in_source is missing"),
    ],
)
def test_half_a_proof_is_an_error_not_half_an_opt_in(cells, fragment):
    [error] = read(HEADER + f"2125550100,{cells},gold,NYC\n")
    assert isinstance(error, ImportRowError) and error.row_number == 1 and fragment in error.reason


def test_an_opt_in_time_without_an_offset_is_an_error():
    [error] = read(HEADER + "2125550100,web,2026-01-05T09:30:00,,\n")
    assert isinstance(error, ImportRowError) and "must carry a UTC offset" in error.reason


def test_an_opt_in_time_that_is_not_a_date_is_an_error():
    [error] = read(HEADER + "2125550100,web,last tuesday,,\n")
    assert "is not an ISO 8601 date" in error.reason


def test_the_opt_in_source_is_at_most_64_characters():
    ok, too_long = read(
        HEADER + f"2125550100,{'s' * 64},2026-01-05T09:30:00Z,,\n2125550101,{'s' * 65},2026-01-05T09:30:00Z,,\n"
    )
    assert ok.opt_in_source == "s" * 64
    assert isinstance(too_long, ImportRowError) and "65 characters" in too_long.reason


def test_a_bad_number_is_an_error_with_the_number_masked():
    good, bad = read(HEADER + "2125550100,,,,\n+1212555010099999,,,,\n")
    assert isinstance(good, ContactImport)
    assert bad.row_number == 2 and "+1212555010099999" not in bad.reason and bad.reason.startswith("row 2:")


def test_empty_rows_are_skipped_and_overlong_rows_are_errors():
    result = read(HEADER + ",,,,\n2125550100,,,gold,NYC,extra\n2125550101,,,,,\n")
    assert isinstance(result[0], ImportRowError) and "more cells" in result[0].reason
    assert result[1] == ContactImport("+12125550101")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("number,tier\n2125550100,gold\n", "no phone_number column"),
        ("phone_number,Tier,tier\n2125550100,a,b\n", "duplicate columns: tier"),
    ],
)
def test_a_file_without_a_usable_header_is_refused(text, fragment):
    with pytest.raises(InvalidContactsFile, match=fragment):
        read(text)


def test_a_contact_import_needs_both_halves_of_the_proof_and_an_aware_time():
    with pytest.raises(ValueError, match="both"):
        ContactImport(NEW_YORK, "web", None)
    with pytest.raises(ValueError, match="offset"):
        ContactImport(NEW_YORK, "web", datetime(2026, 1, 5, 9, 30))
