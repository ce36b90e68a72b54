"""Campaigns: the definition's wire format, the audience CSV, local send times and the send requests."""

import json
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from two_way_sms.adapters.audience import bounded_lines
from two_way_sms.outbound.campaign import (
    MAX_CAMPAIGN_AND_RUN_ID_CHARACTERS,
    AudienceCsv,
    AudienceQuery,
    AudienceRow,
    AudienceRowError,
    Campaign,
    InvalidCampaign,
    campaign_request,
    check_run_id,
    local_send_after,
    read_audience_csv,
)
from two_way_sms.outbound.campaign_events import (
    CheckBudgetHolds,
    InvalidCampaignEvent,
    ReleaseBudgetHolds,
    ReleaseMinute,
    RunCampaign,
    parse_campaigns_event,
)
from two_way_sms.outbound.contacts_import import ContactImport, ImportRowError, InvalidContactsFile, read_contacts_csv
from two_way_sms.outbound.csv_rows import MAX_CELL_CHARACTERS
from two_way_sms.outbound.request import CampaignRef, InvalidSendRequest, parse_send_request

NEW_YORK = "+12125550100"
SEATTLE = "+12065550100"
TOLL_FREE = "+18005550100"
EASTERN = ZoneInfo("America/New_York")
PACIFIC = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)  # Monday, 10:00 in New York

SPRING = Campaign(
    campaign_id="spring-2026",
    template_id="spring_sale",
    audience=AudienceCsv("audiences", "spring/list.csv"),
    variables={"code": "SPRING", "first_name": "there"},
    local_time="10:30",
    max_per_recipient=2,
    mps=0.5,
)


# -- the definition -------------------------------------------------------------------------------


def test_a_campaign_round_trips_through_camel_case_json():
    data = json.loads(SPRING.to_json())
    assert data == {
        "campaignId": "spring-2026",
        "templateId": "spring_sale",
        "messageType": "PROMOTIONAL",
        "audience": {"csv": {"bucket": "audiences", "key": "spring/list.csv"}},
        "variables": {"code": "SPRING", "first_name": "there"},
        "localTime": "10:30",
        "maxPerRecipient": 2,
        "mps": 0.5,
    }
    assert Campaign.from_json(SPRING.to_json()) == SPRING
    assert Campaign.from_json(data) == SPRING  # as embedded in the campaigns function's event


def test_a_query_audience_round_trips_and_optional_fields_default():
    text = '{"campaignId": "vip", "templateId": "vip_news", "audience": {"query": {"attributes": {"tier": "gold"}}}}'
    campaign = Campaign.from_json(text)
    assert campaign.audience == AudienceQuery({"tier": "gold"})
    assert (campaign.message_type, campaign.local_time, campaign.max_per_recipient, campaign.mps) == (
        "PROMOTIONAL",
        None,
        1,
        None,
    )
    assert Campaign.from_json(campaign.to_json()) == campaign


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"campaignId": "has space"}, "campaign id 'has space'"),
        ({"templateId": "a.b"}, "template id 'a.b'"),
        ({"messageType": "BULK"}, "message type 'BULK'"),
        ({"localTime": "25:00"}, "local time '25:00'"),
        ({"localTime": "9:00"}, "local time '9:00'"),
        ({"maxPerRecipient": 0}, "maxPerRecipient 0"),
        ({"mps": 0}, "mps 0"),
        ({"variables": {"n": 1}}, "variable 'n'"),
        ({"audience": {"csv": {"bucket": "b"}}}, "audience csv must have exactly bucket and key"),
        ({"audience": {"csv": {"bucket": "", "key": "k"}}}, "bucket ''"),
        ({"audience": {"s3": {}}}, "audience must be"),
        ({"audience": {"query": {"attributes": {}}}}, "at least one attribute"),
        ({"audence": {}}, "unknown fields: audence"),
        ({"audience": None}, "missing audience"),
    ],
)
def test_invalid_campaigns_are_refused_naming_the_bad_value(changes, fragment):
    data = {**json.loads(SPRING.to_json()), **changes}
    with pytest.raises(InvalidCampaign) as raised:
        Campaign.from_json(data)
    assert fragment in str(raised.value)


def test_a_campaign_without_an_audience_is_refused_by_the_constructor():
    with pytest.raises(InvalidCampaign, match="audience"):
        Campaign("c", "t")


# -- local send times -------------------------------------------------------------------------------


def test_the_send_time_is_the_next_local_time_on_the_recipients_clock():
    # 10:00 in New York: 10:30 today; 07:00 in Seattle: 10:30 today.
    assert local_send_after(NEW_YORK, "10:30", NOW) == datetime(2026, 11, 23, 10, 30, tzinfo=EASTERN)
    assert local_send_after(SEATTLE, "10:30", NOW) == datetime(2026, 11, 23, 10, 30, tzinfo=PACIFIC)
    # 09:30 has passed in New York: tomorrow.
    assert local_send_after(NEW_YORK, "09:30", NOW) == datetime(2026, 11, 24, 9, 30, tzinfo=EASTERN)


def test_a_local_time_that_is_now_is_now():
    assert local_send_after(NEW_YORK, "10:00", NOW) == NOW


def test_the_result_is_in_utc():
    assert local_send_after(NEW_YORK, "10:30", NOW).tzinfo is timezone.utc


def test_local_time_follows_the_march_clock_change():
    saturday = datetime(2026, 3, 7, 18, 0, tzinfo=timezone.utc)
    assert local_send_after(NEW_YORK, "10:00", saturday) == datetime(2026, 3, 8, 14, 0, tzinfo=timezone.utc)  # EDT


def test_a_local_time_in_the_spring_forward_gap_is_moved_to_the_end_of_the_gap():
    # 2026-03-08 02:30 does not exist in New York: clocks jump from 02:00 EST to 03:00 EDT (07:00 UTC).
    result = local_send_after(NEW_YORK, "02:30", datetime(2026, 3, 7, 12, 0, tzinfo=timezone.utc))
    assert result == datetime(2026, 3, 8, 7, 0, tzinfo=timezone.utc)
    assert result.astimezone(EASTERN).time() == time(3, 0)


def test_a_repeated_local_time_in_november_is_its_first_reading_unless_that_has_passed():
    # 2026-11-01 01:30 happens twice in New York: 05:30 UTC (EDT) and 06:30 UTC (EST).
    assert local_send_after(NEW_YORK, "01:30", datetime(2026, 10, 31, 12, 0, tzinfo=timezone.utc)) == datetime(
        2026, 11, 1, 5, 30, tzinfo=timezone.utc
    )
    assert local_send_after(NEW_YORK, "01:30", datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)) == datetime(
        2026, 11, 1, 6, 30, tzinfo=timezone.utc
    )


def test_no_local_send_time_when_the_zone_is_unknown():
    assert local_send_after(TOLL_FREE, "10:00", NOW) is None


def test_local_send_after_needs_an_aware_moment_and_a_valid_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        local_send_after(NEW_YORK, "10:00", datetime(2026, 11, 23, 15, 0))
    with pytest.raises(InvalidCampaign, match="'10h'"):
        local_send_after(NEW_YORK, "10h", NOW)


# -- the audience CSV ---------------------------------------------------------------------------------------


def rows(text):
    return list(read_audience_csv(text.splitlines(keepends=True)))


def test_each_row_becomes_a_destination_with_its_other_columns_as_variables():
    result = rows(" Phone_Number ,first_name, Store \n(212) 555-0100,Ana,Soho\n+12065550100,,\n")
    assert result == [
        AudienceRow(1, NEW_YORK, {"first_name": "Ana", "Store": "Soho"}),
        AudienceRow(2, SEATTLE, {}),
    ]


def test_a_bad_number_is_an_error_for_its_row_with_the_number_masked():
    result = rows("phone_number,first_name\n+1212555010099999,Ana\n,Bo\n2125550100,Cy\n")
    assert [type(r) for r in result] == [AudienceRowError, AudienceRowError, AudienceRow]
    assert result[0].row_number == 1 and "+1212555010099999" not in result[0].reason and "*" in result[0].reason
    assert result[1].reason.startswith("row 2:")
    assert result[2] == AudienceRow(3, NEW_YORK, {"first_name": "Cy"})


def test_quoted_cells_with_commas_and_newlines_are_one_cell():
    result = rows('phone_number,address\n2125550100,"1 Main St, Apt 2\nNew York"\n')
    assert result == [AudienceRow(1, NEW_YORK, {"address": "1 Main St, Apt 2\nNew York"})]


def test_empty_spreadsheet_rows_are_skipped_and_trailing_empty_cells_ignored():
    result = rows("phone_number,first_name\n,\n\n2125550100,Ana,,\n")
    assert result == [AudienceRow(1, NEW_YORK, {"first_name": "Ana"})]


def test_a_row_with_more_cells_than_the_header_is_an_error():
    result = rows("phone_number,first_name\n2125550100,Ana,surprise\n")
    assert isinstance(result[0], AudienceRowError) and "more cells" in result[0].reason


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("number,first_name\n2125550100,Ana\n", "no phone_number column (columns: number, first_name)"),
        ("phone_number,name,Name\n2125550100,a,b\n", "duplicate columns: name"),
    ],
)
def test_a_file_without_a_usable_header_is_refused_as_a_whole(text, fragment):
    with pytest.raises(InvalidCampaign, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        rows(text)


# -- the send requests -----------------------------------------------------------------------------------------


def test_a_row_becomes_a_templated_request_of_the_run():
    row = AudienceRow(7, NEW_YORK, {"first_name": "Ana"})
    request = campaign_request(SPRING, "run-1", row, now=NOW)
    assert request.destination == NEW_YORK and request.message_type == "PROMOTIONAL"
    assert request.idempotency_key == "spring-2026:run-1:+12125550100"
    assert request.body is None and request.template_id == "spring_sale"
    assert request.variables == {"code": "SPRING", "first_name": "Ana"}  # the row overrides the default
    assert request.context == {}
    assert request.campaign == CampaignRef("spring-2026", "run-1", max_per_recipient=2, mps=0.5)
    assert request.send_after == datetime(2026, 11, 23, 10, 30, tzinfo=EASTERN)
    assert parse_send_request(request.to_json()) == request


def test_without_a_local_time_the_request_has_no_send_after():
    campaign = Campaign("now", "t", audience=AudienceQuery({"tier": "gold"}))
    assert campaign_request(campaign, "r", AudienceRow(1, NEW_YORK), now=NOW).send_after is None


def test_a_recipient_whose_zone_is_unknown_gets_no_send_after():
    assert campaign_request(SPRING, "run-1", AudienceRow(1, TOLL_FREE), now=NOW).send_after is None


def test_a_run_id_too_long_for_the_idempotency_key_is_refused():
    campaign = Campaign("c" * 64, "t", audience=AudienceQuery({"tier": "gold"}))
    assert len(campaign_request(campaign, "r" * 46, AudienceRow(1, NEW_YORK), now=NOW).idempotency_key) == 124
    with pytest.raises(InvalidSendRequest, match="idempotency key"):
        campaign_request(campaign, "r" * 60, AudienceRow(1, NEW_YORK), now=NOW)


def test_each_recipient_is_scheduled_in_their_own_zone():
    east = campaign_request(SPRING, "r", AudienceRow(1, NEW_YORK), now=NOW).send_after
    west = campaign_request(SPRING, "r", AudienceRow(2, SEATTLE), now=NOW).send_after
    assert west - east == timedelta(hours=3)


def test_a_campaign_and_run_id_too_long_together_are_refused_before_any_request_is_made():
    check_run_id("c" * 64, "r" * 46)  # 64 + 46 + 2 colons + 16 for the number = 128
    assert MAX_CAMPAIGN_AND_RUN_ID_CHARACTERS == 110
    with pytest.raises(InvalidCampaign, match="111 characters together; at most 110 fit"):
        check_run_id("c" * 64, "r" * 47)
    with pytest.raises(InvalidCampaign, match="run id 'a/b' must be"):
        check_run_id("c", "a/b")


# -- bad rows never fail the file ----------------------------------------------------------------------------------


def raw_rows(data: bytes, limit: int = 1 << 20):
    """Rows as the audience reader reads them from S3: bytes, decoded with surrogateescape."""
    lines = (line.decode("utf-8", "surrogateescape") for line in bounded_lines([data], limit))
    return list(read_audience_csv(lines))


def test_a_row_that_is_not_utf8_is_an_error_of_its_own():
    result = raw_rows(b"phone_number,first_name\n2125550100,Ana\n2065550100,Z\xfcrich\n2125550100,Bo\n")
    assert [type(r) for r in result] == [AudienceRow, AudienceRowError, AudienceRow]
    assert result[1].reason == "row 2: column 'first_name' is not valid UTF-8" and result[2].row_number == 3


def test_a_header_that_is_not_utf8_refuses_the_file():
    with pytest.raises(InvalidCampaign, match="header is not valid UTF-8"):
        raw_rows(b"phone_n\xffumber,first_name\n2125550100,Ana\n")


def test_an_oversized_cell_is_an_error_of_its_own_and_the_next_rows_are_read():
    big = "x" * (MAX_CELL_CHARACTERS + 1)
    huge = "y" * 200_000  # beyond the csv module's own field limit
    result = rows(f"phone_number,note\n2125550100,{big}\n2125550100,{huge}\n2065550100,ok\n")
    assert [type(r) for r in result] == [AudienceRowError, AudienceRowError, AudienceRow]
    assert result[0].reason == "row 1: column 'note' has 1,601 characters; at most 1,600 are allowed"
    assert result[1].reason.startswith("row 2 cannot be read as CSV (field larger than field limit")
    assert result[2] == AudienceRow(3, SEATTLE, {"note": "ok"})


def test_a_runaway_line_is_cut_as_it_streams_and_fails_only_its_row():
    data = b"phone_number,note\n2125550100," + b"z" * 5000 + b"\n2065550100,ok\n"
    result = raw_rows(data, limit=2000)
    assert isinstance(result[0], AudienceRowError) and "1,600" in result[0].reason
    assert result[1] == AudienceRow(2, SEATTLE, {"note": "ok"})


@pytest.mark.parametrize("chunk", [1, 2, 3, 64])
def test_lines_are_split_at_every_kind_of_line_end_whatever_the_chunks(chunk):
    data = b"a,b\r\nc,d\re,f\ng,h"
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    assert list(bounded_lines(chunks, 100)) == [b"a,b\r\n", b"c,d\r", b"e,f\n", b"g,h"]
    assert list(bounded_lines([b"0123456789abc\n", b"next"], 10)) == [b"0123456789\n", b"next"]
    assert list(bounded_lines([b"0123456789abc", b"def\r\nx"], 10)) == [b"0123456789\r\n", b"x"]


def test_contacts_import_reads_past_a_bad_row_too():
    lines = "phone_number,segment\n2125550100,\udcfcvip\n2065550100,gold\n".splitlines(keepends=True)
    result = list(read_contacts_csv(lines))
    assert result == [
        ImportRowError(1, "row 1: column 'segment' is not valid UTF-8"),
        ContactImport(SEATTLE, attributes={"segment": "gold"}),
    ]
    with pytest.raises(InvalidContactsFile, match="header is not valid UTF-8"):
        list(read_contacts_csv(["phone_\udcffnumber\n"]))


# -- the campaigns function's events ---------------------------------------------------------------------------------


def test_every_kind_of_event_is_read_and_checked():
    event = {"kind": "campaign", "campaign": SPRING.to_dict(), "runId": "r1", "cursor": "500", "continuation": 2}
    assert parse_campaigns_event(event) == RunCampaign(SPRING, "r1", "500", 2)
    assert parse_campaigns_event({"kind": "campaign", "campaign": SPRING.to_json(), "runId": "r1"}) == RunCampaign(
        SPRING, "r1"
    )
    assert parse_campaigns_event({"kind": "release", "minute": "2026-03-03T19:00"}) == ReleaseMinute("2026-03-03T19:00")
    assert parse_campaigns_event({"kind": "release-budget", "continuation": 1}) == ReleaseBudgetHolds(1)
    assert parse_campaigns_event({"kind": "check-budget"}) == CheckBudgetHolds()


@pytest.mark.parametrize(
    ("event", "fragment", "run"),
    [
        ("[]", "event must be a JSON object, not str", None),
        ({"kind": "party"}, "event kind 'party' must be one of campaign, release, release-budget, check-budget", None),
        ({"kind": "release", "minute": "tomorrow"}, "release minute 'tomorrow' must be YYYY-MM-DDTHH:MM", None),
        ({"kind": "release-budget", "continuation": -1}, "continuation -1 must be a whole number", None),
        ({"kind": "campaign", "campaign": "{not json", "runId": "r1"}, "campaign is not JSON", None),
        (
            {"kind": "campaign", "campaign": {**SPRING.to_dict(), "sendNow": True}, "runId": "r1"},
            "campaign has unknown fields: sendNow",
            ("spring-2026", "r1"),
        ),
        ({"kind": "campaign", "campaign": SPRING.to_dict()}, "no runId", None),
        (
            {"kind": "campaign", "campaign": {**SPRING.to_dict(), "campaignId": "c" * 64}, "runId": "r" * 50},
            "114 characters together",
            ("c" * 64, "r" * 50),
        ),
        (
            {"kind": "campaign", "campaign": SPRING.to_dict(), "runId": "r1", "cursor": 7},
            "cursor must be a string",
            ("spring-2026", "r1"),
        ),
    ],
)
def test_an_event_that_can_never_run_is_refused_naming_why_and_its_run(event, fragment, run):
    with pytest.raises(InvalidCampaignEvent) as raised:
        parse_campaigns_event(event)
    assert fragment in raised.value.reason
    assert (None if raised.value.campaign_id is None else (raised.value.campaign_id, raised.value.run_id)) == run
