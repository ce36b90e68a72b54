"""Delivery events: parsing what real traffic sends, and which event of a message wins."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from pathlib import Path

import pytest

from two_way_sms.delivery import SENT_STATUS_KEY, MalformedDeliveryEvent, parse_delivery_event

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "delivery-event-eventbridge.json"


def fixture_event(**detail) -> dict:
    event = json.loads(FIXTURE.read_text())
    event["detail"].update(detail)
    event["detail"] = {k: v for k, v in event["detail"].items() if v is not None}
    return event


def test_the_documented_eventbridge_event_is_read_with_exact_amounts():
    event = parse_delivery_event(json.dumps(fixture_event()).encode())
    assert (event.message_id, event.event_type, event.is_final) == (
        "ed23196c-75ce-4727-93ee-7bf72b64998f",
        "TEXT_SUCCESSFUL",
        True,
    )
    assert event.price_usd == Decimal("0.00581") and event.carrier_fee_usd == Decimal("0.00266")
    assert event.spend_usd == Decimal("0.00847") and event.parts == 1
    assert event.destination_number == "+14255550182" and event.billing_month == "2025-10"
    assert event.outcome == "DELIVERED"


def test_a_bare_detail_object_as_archived_by_firehose_is_read_too():
    assert parse_delivery_event(fixture_event()["detail"]).message_id == "ed23196c-75ce-4727-93ee-7bf72b64998f"


def test_numbers_without_plus_are_normalised_and_sender_ids_kept():
    event = parse_delivery_event(fixture_event(destinationPhoneNumber="14255550182", originationPhoneNumber="MyShop"))
    assert event.destination_number == "+14255550182" and event.origination_number == "MyShop"


@pytest.mark.parametrize(
    "event_type, expected",
    [
        ("TEXT_QUEUED", False),
        ("TEXT_PENDING", False),
        ("TEXT_SUCCESSFUL", False),
        ("TEXT_DELIVERED", True),
        ("TEXT_UNREACHABLE", True),
        ("TEXT_BLOCKED", True),
    ],
)
def test_a_missing_is_final_is_inferred_from_the_event_type(event_type, expected):
    assert parse_delivery_event(fixture_event(eventType=event_type, isFinal=None)).is_final is expected


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"\x00\x01", "record is not JSON"),
        (b"[1, 2]", "record is a JSON list, not an object"),
        (json.dumps({**fixture_event(), "source": "aws.ses"}), "not 'aws.sms-voice'"),
        (json.dumps(fixture_event(messageId=None)), "no messageId"),
        (json.dumps(fixture_event(eventType="VOICE_COMPLETED")), "not a text message event"),
        (json.dumps(fixture_event(eventTimestamp="yesterday")), "no usable eventTimestamp"),
    ],
)
def test_unusable_records_are_rejected_with_a_reason_that_shows_no_number(data, reason):
    with pytest.raises(MalformedDeliveryEvent) as error:
        parse_delivery_event(data)
    assert reason in error.value.reason
    assert "555" not in error.value.reason


def test_a_final_event_outranks_any_later_non_final_event_and_the_sent_record():
    delivered = parse_delivery_event(fixture_event(eventType="TEXT_DELIVERED", isFinal=True, eventTimestamp=1000))
    late_pending = parse_delivery_event(fixture_event(eventType="TEXT_PENDING", isFinal=False, eventTimestamp=9000))
    assert delivered.status_key > late_pending.status_key > SENT_STATUS_KEY


def test_the_winner_of_a_set_of_events_does_not_depend_on_their_order():
    events = [
        parse_delivery_event(fixture_event(eventType=t, isFinal=f, eventTimestamp=ts))
        for t, f, ts in (
            ("TEXT_QUEUED", False, 100),
            ("TEXT_PENDING", False, 100),
            ("TEXT_SUCCESSFUL", False, 300),
            ("TEXT_CARRIER_UNREACHABLE", False, 250),
            ("TEXT_DELIVERED", True, 900),
        )
    ]
    winners = {max(order, key=lambda e: e.status_key).event_type for order in itertools.permutations(events)}
    assert winners == {"TEXT_DELIVERED"}


def test_a_tie_in_time_goes_to_the_event_further_along():
    pending = parse_delivery_event(fixture_event(eventType="TEXT_PENDING", isFinal=False, eventTimestamp=100))
    queued = parse_delivery_event(fixture_event(eventType="TEXT_QUEUED", isFinal=False, eventTimestamp=100))
    assert pending.status_key > queued.status_key


@pytest.mark.parametrize(
    "event_type, status, description, opted_out",
    [
        ("TEXT_BLOCKED", "BLOCKED", "Destination phone number opted out", True),
        ("TEXT_CARRIER_BLOCKED", "CARRIER_BLOCKED", "Recipient has opted-out of messages from this sender", True),
        ("TEXT_BLOCKED", "OPTED_OUT", "Blocked", True),
        ("TEXT_CARRIER_BLOCKED", "CARRIER_BLOCKED", "Suspected phishing", False),
        ("TEXT_UNREACHABLE", "UNREACHABLE", "Handset is switched off", False),
    ],
)
def test_only_a_block_that_names_an_opt_out_shows_an_opt_out(event_type, status, description, opted_out):
    event = parse_delivery_event(
        fixture_event(eventType=event_type, messageStatus=status, messageStatusDescription=description)
    )
    assert event.shows_opt_out is opted_out
