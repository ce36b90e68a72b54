"""Folding a batch's delivery events per message: the winner, the history, what each event would have advanced."""

from __future__ import annotations

import pytest

from two_way_sms.delivery import DeliveryEvent, parse_delivery_event
from two_way_sms.delivery_batches import MessageEvents, by_message
from two_way_sms_local.emulation import delivery_event, lifecycle_events


def parsed(*events: dict) -> tuple[DeliveryEvent, ...]:
    return tuple(parse_delivery_event(event) for event in events)


def test_the_winner_is_the_greatest_status_whatever_the_arrival_order():
    queued, successful, delivered = parsed(*lifecycle_events())
    for order in ((queued, successful, delivered), (delivered, queued, successful), (successful, delivered, queued)):
        assert MessageEvents(order).winner is delivered


def test_the_history_holds_each_event_once():
    queued, successful, delivered = parsed(*lifecycle_events())
    folded = MessageEvents((queued, delivered, successful, delivered))
    assert folded.history_entries == {queued.history_entry, successful.history_entry, delivered.history_entry}


@pytest.mark.parametrize(
    ("order", "stored", "advanced"),
    [
        ("qsd", None, (True, True, True)),
        ("dsq", None, (True, False, False)),
        ("qdsd", None, (True, True, False, False)),
        ("sd", "queued", (True, True)),
        ("qs", "delivered", (False, False)),
    ],
)
def test_each_event_advances_as_it_would_have_written_alone_in_arrival_order(order, stored, advanced):
    queued, successful, delivered = parsed(*lifecycle_events())
    by_letter = {"q": queued, "s": successful, "d": delivered}
    stored_key = {"queued": queued.status_key, "delivered": delivered.status_key}.get(stored or "")
    assert MessageEvents(tuple(by_letter[c] for c in order)).advanced(stored_key) == advanced


def test_a_field_the_winner_lacks_comes_from_another_event_of_the_message():
    queued, delivered = parsed(
        delivery_event("TEXT_QUEUED", after_ms=100, is_final=False, status="QUEUED"),
        delivery_event("TEXT_DELIVERED", after_ms=2500, destinationPhoneNumber=None, context=None),
    )
    folded = MessageEvents((queued, delivered))
    assert folded.winner is delivered
    assert folded.first("destination_number") == queued.destination_number == "+14255550182"
    assert folded.first("status_description") == delivered.status_description


def test_events_of_several_messages_cannot_be_folded_as_one():
    with pytest.raises(ValueError, match="more than one message"):
        MessageEvents(parsed(lifecycle_events("m-1")[0], lifecycle_events("m-2")[0]))


def test_a_batch_is_grouped_by_message_in_order_of_first_arrival_with_each_events_position():
    a, b = parsed(*lifecycle_events("a")), parsed(*lifecycle_events("b"))
    grouped = by_message(enumerate([b[0], a[0], b[2], a[1]]))
    assert list(grouped) == ["b", "a"]
    assert grouped["b"] == [(0, b[0]), (2, b[2])] and grouped["a"] == [(1, a[0]), (3, a[1])]
