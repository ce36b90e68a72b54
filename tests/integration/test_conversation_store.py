"""The conversation store against moto: round trip, a number's conversations, optimistic moves."""

from __future__ import annotations

from dataclasses import replace

import boto3
import pytest

from two_way_sms.adapters.conversations import KEEP_AFTER_EXPIRY_SECONDS, ConversationMoved, ConversationStore
from two_way_sms.conversations.engine import advance, correlate, open_conversation
from two_way_sms.conversations.flows import parse_flows
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms_local.emulation import REGION

FLOWS = parse_flows(READY_FLOWS)
CUSTOMER, OURS = "+14255550182", "+18445550100"
NOW = 1_772_654_400.0
VISIT = {"first_name": "Ana", "when": "Mon 2 Mar at 11:00"}


@pytest.fixture
def store(emulated_aws):
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    table = dynamodb.create_table(
        TableName="conversations",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "customer_number", "KeyType": "HASH"},
            {"AttributeName": "conversation_id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "customer_number", "AttributeType": "S"},
            {"AttributeName": "conversation_id", "AttributeType": "S"},
        ],
    )
    yield ConversationStore(table)


def appointment(conversation_id="c-1", now=NOW):
    conversation, _ = open_conversation(
        FLOWS["appointment"],
        conversation_id=conversation_id,
        customer_number=CUSTOMER,
        our_number=OURS,
        now=now,
        reference="appt-77",
        variables=VISIT,
        slots=("Tue 10:00", "Wed 14:30"),
    )
    return replace(conversation, prompt_message_ids=(f"prompt-{conversation_id}",))


def test_a_conversation_round_trips_with_every_field(store):
    verification, _ = open_conversation(
        FLOWS["transaction"],
        conversation_id="t-1",
        customer_number=CUSTOMER,
        our_number=OURS,
        now=NOW,
        reference="txn-5",
        variables={"merchant": "Example", "amount": "$1", "card_last4": "4242"},
        code="482913",
    )

    store.create(verification)

    stored = store.get(CUSTOMER, "t-1")
    assert stored.conversation == verification and stored.version == 1


def test_a_numbers_conversations_come_back_for_the_engine_to_correlate(store):
    store.create(appointment("c-1", NOW))
    store.create(appointment("c-2", NOW + 30))

    conversations = [stored.conversation for stored in store.for_number(CUSTOMER)]

    assert {c.conversation_id for c in conversations} == {"c-1", "c-2"}
    assert correlate(conversations, previous_message_id="prompt-c-1", now=NOW + 60).conversation_id == "c-1"
    assert store.for_number("+14255550100") == []


def test_a_move_is_saved_only_from_the_version_it_was_read_at(store):
    store.create(appointment())
    read = store.get(CUSTOMER, "c-1")
    turn = advance(read.conversation, FLOWS["appointment"], "2", now=NOW + 60, inbound_message_id="in-1")

    saved = store.save(turn.conversation, read_at=read.version)

    assert saved.version == 2 and store.get(CUSTOMER, "c-1").conversation.step == "rebook"
    late = advance(read.conversation, FLOWS["appointment"], "1", now=NOW + 61, inbound_message_id="in-2")
    with pytest.raises(ConversationMoved, match="conversation c-1 changed meanwhile"):
        store.save(late.conversation, read_at=read.version)  # a racing answer cannot act on the old step too


def test_a_conversation_id_is_created_once_and_kept_a_month_past_expiry(store):
    conversation = appointment()
    store.create(conversation)

    with pytest.raises(ConversationMoved):
        store.create(conversation)
    item = store._table.get_item(Key={"customer_number": CUSTOMER, "conversation_id": "c-1"})["Item"]
    assert item["delete_at"] == int(conversation.expires_at) + KEEP_AFTER_EXPIRY_SECONDS
