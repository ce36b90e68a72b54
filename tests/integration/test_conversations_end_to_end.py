"""Conversations end to end: the sender opens them, the inbound handler takes every turn.

Emulated AWS: moto (DynamoDB, SQS, SSM, KMS, EventBridge with a rule to an "agent desk"
queue), the SMS emulator (both functions send through it, validated against the service
model) and one simulated clock. The customer's replies are inbound records that quote the
prompt's message id, as End User Messaging's do.
"""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest

from tests.integration.conftest import SETTINGS
from tests.integration.test_sender import OUR_NUMBER, SEATTLE
from two_way_sms.adapters.conversations import ConversationMoved, ConversationStore
from two_way_sms.conversations.flows import flows_to_json, parse_flows
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms.settings import conversation_settings
from two_way_sms_local.conversation_world import CHARGE, SLOTS, VISIT, conversation_world
from two_way_sms_local.emulation import REGION


@pytest.fixture
def world():
    with conversation_world() as built:
        yield built


def types(received: list[dict[str, Any]]) -> list[str]:
    return [event["detail-type"] for event in received]


# -- appointment ----------------------------------------------------------------------------------
def test_the_appointment_scenario_from_reminder_to_a_rebooked_slot(world):
    reminder = world.remind("appt-77-reminder", "appointment", VISIT, reference="appt-77", slots=SLOTS)

    world.text("2", quoting=reminder.message_id)
    world.text("B", quoting=world.sms.sent[-1].message_id)

    assert world.replies() == [
        "Hi Ana, this is a reminder of your appointment on Mon 2 Mar at 11:00. Reply 1 to confirm or 2 to cancel.",
        "Your appointment is cancelled. Would another time suit you? A) Tue 3 Mar 10:00, B) Wed 4 Mar 14:30, "
        "C) Fri 6 Mar 09:00. Reply A, B or C, or 0 for none.",
        "You are booked for Wed 4 Mar 14:30. See you then.",
    ]
    received = world.desk()
    assert types(received) == ["appointment.cancelled", "appointment.rebooked"]
    assert all(event["source"] == "two-way-sms" and event["detail"]["reference"] == "appt-77" for event in received)
    assert received[1]["detail"]["slot"] == "Wed 4 Mar 14:30"
    assert received[0]["detail"]["ourNumber"] == OUR_NUMBER  # the number texted, not the sender's identity
    assert world.conversation("appt-77-reminder").status == "CLOSED"


def test_a_late_answer_to_a_closed_appointment_gets_the_default_reply_and_books_nothing(world):
    reminder = world.remind("appt-78-reminder", "appointment", VISIT, reference="appt-78", slots=SLOTS)
    world.text("1", quoting=reminder.message_id)
    world.desk()

    world.text("2", quoting=reminder.message_id)

    assert world.replies()[-1] == SETTINGS["default_reply"]
    received = world.desk()
    assert types(received) == ["reply.received"] and received[0]["detail"]["conversationId"] is None


def test_an_unclear_answer_is_asked_again_and_reported_as_a_reply(world):
    reminder = world.remind("appt-79-reminder", "appointment", VISIT, reference="appt-79")

    world.text("what time was it?", quoting=reminder.message_id)

    assert world.replies()[-1].startswith("Sorry, we did not understand. Reply 1 to confirm or 2 to cancel")
    [event] = world.desk()
    assert event["detail-type"] == "reply.received" and event["detail"]["conversationId"] == "appt-79-reminder"
    assert world.conversation("appt-79-reminder").step == "confirm"


def test_stop_in_the_middle_of_a_flow_opts_out_and_closes_the_conversation(world):
    reminder = world.remind("appt-80-reminder", "appointment", VISIT, reference="appt-80", slots=SLOTS)
    world.text("2", quoting=reminder.message_id)
    world.desk()

    world.text("STOP")

    assert len(world.replies()) == 2  # End User Messaging confirms the opt-out itself; no prompt follows
    [event] = world.desk()
    assert event["detail-type"] == "optout.recorded"
    assert event["detail"]["closedConversations"] == ["appt-80-reminder"]
    assert world.conversation("appt-80-reminder").status == "CLOSED"


def test_a_redelivered_answer_acts_once(world):
    reminder = world.remind("appt-81-reminder", "appointment", VISIT, reference="appt-81")
    world.text("1", quoting=reminder.message_id, inbound_id="in-dup")

    world.deliver(world.last_record)

    assert len(world.replies()) == 2 and types(world.desk()) == ["appointment.confirmed"]


def test_a_reply_that_fails_after_the_turn_is_sent_on_the_retry_without_a_second_step(world):
    reminder = world.remind("appt-82-reminder", "appointment", VISIT, reference="appt-82", slots=SLOTS)
    world.sms.fail_next("InternalServerException")

    failed = world.text("2", quoting=reminder.message_id, inbound_id="in-retry")
    world.deliver(world.last_record)  # SQS delivers it again

    assert failed["batchItemFailures"]  # the first delivery failed its record
    assert world.replies()[-1].startswith("Your appointment is cancelled. Would another time suit you?")
    assert len(world.replies()) == 2
    assert world.conversation("appt-82-reminder").step == "rebook"
    # The failed reply's entry in the reply log shows the events went before it: not put again.
    assert types(world.desk()) == ["appointment.cancelled"]


def test_two_open_conversations_each_take_the_answer_that_quotes_them(world):
    first = world.remind("appt-83-reminder", "appointment", VISIT, reference="appt-83")
    second = world.remind(
        "appt-84-reminder", "appointment", {**VISIT, "when": "Thu 5 Mar at 09:00"}, reference="appt-84"
    )

    world.text("1", quoting=first.message_id)
    world.text("YES")  # quotes nothing: the most recent open conversation

    [one, two] = world.desk()
    assert (one["detail"]["reference"], two["detail"]["reference"]) == ("appt-83", "appt-84")
    assert second.message_id != first.message_id


# -- transaction -------------------------------------------------------------------------------------
def test_a_verified_charge_is_approved_once_and_a_replayed_code_does_nothing(world):
    prompt = world.remind("txn-9", "transaction", CHARGE, reference="txn-9")
    code = prompt.body.split("Reply YES ")[1].split(" ")[0]

    world.text(f"YES {code}", quoting=prompt.message_id)
    world.text(f"NO {code}", quoting=prompt.message_id)  # a replay after the answer was final

    assert world.replies()[1] == "Thank you, the charge is approved."
    assert world.replies()[2] == SETTINGS["default_reply"]
    assert types(world.desk()) == ["transaction.approved", "reply.received"]


def test_a_wrong_code_is_asked_again_and_approves_nothing(world):
    prompt = world.remind("txn-10", "transaction", CHARGE, reference="txn-10")
    code = prompt.body.split("Reply YES ")[1].split(" ")[0]
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)

    world.text(f"YES {wrong}", quoting=prompt.message_id)

    assert world.replies()[-1].startswith("Please reply YES or NO, then the code we sent")
    assert types(world.desk()) == ["reply.received"]
    assert world.conversation("txn-10").status == "OPEN"


def test_three_wrong_codes_lock_the_verification_and_the_right_code_then_approves_nothing(world):
    prompt = world.remind("txn-11", "transaction", CHARGE, reference="txn-11")
    code = prompt.body.split("Reply YES ")[1].split(" ")[0]

    for guess in range(3):
        world.text(f"YES {(int(code) + 1 + guess) % 1_000_000:06d}", quoting=prompt.message_id, after=120)
    world.text(f"YES {code}", quoting=prompt.message_id)

    assert world.conversation("txn-11").status == "CLOSED"
    assert types(world.desk()) == ["reply.received", "reply.received", "verification.locked", "reply.received"]
    retries = [reply for reply in world.replies() if reply.startswith("Please reply YES or NO")]
    # The first guess is asked again; the second would get the same text within five minutes (the
    # reply limits hold it back); the third closes it with no reply; the right code is then too late.
    assert len(retries) == 1
    assert "Thank you, the charge is approved." not in world.replies()


def test_an_answer_after_the_verification_expired_gets_the_default_reply(world):
    prompt = world.remind("txn-11", "transaction", CHARGE, reference="txn-11")
    code = prompt.body.split("Reply YES ")[1].split(" ")[0]

    world.text(f"YES {code}", quoting=prompt.message_id, after=16 * 60)

    assert world.replies()[-1] == SETTINGS["default_reply"]
    assert types(world.desk()) == ["reply.received"]


# -- support and your own handlers ------------------------------------------------------------------
def test_agent_opens_a_support_conversation_and_every_message_reaches_the_desk(world):
    world.text("AGENT please, my bill is wrong")
    world.text("It says $40 but I paid $30")

    assert world.replies() == ["Thanks, an agent will text you back shortly. Reply STOP to opt out."]
    requested, message = world.desk()
    assert requested["detail-type"] == "support.requested"
    assert requested["detail"]["text"] == "AGENT please, my bill is wrong"
    assert message["detail-type"] == "reply.received" and message["detail"]["text"] == "It says $40 but I paid $30"
    assert message["detail"]["conversationId"] == requested["detail"]["conversationId"]


def test_a_registered_keyword_handler_answers_and_emits_its_events(world):
    world.text("balance")

    assert world.replies() == ["Your balance is $12.34."]
    [event] = world.desk()
    assert event["detail"]["handledBy"] == "balance" and event["detail"]["customerNumber"] == SEATTLE


def test_a_message_outside_any_conversation_gets_the_default_reply_and_reaches_the_bus(world):
    world.text("hello")

    assert world.replies() == [SETTINGS["default_reply"]]
    [event] = world.desk()
    assert event["detail-type"] == "reply.received" and event["detail"]["intent"] == "OTHER"


def test_help_in_the_middle_of_a_flow_is_answered_and_the_flow_waits(world):
    reminder = world.remind("appt-85-reminder", "appointment", VISIT, reference="appt-85")

    world.text("HELP", quoting=reminder.message_id)
    world.text("1", quoting=reminder.message_id)

    # End User Messaging answers HELP itself (its keyword); the flow only sees the "1".
    assert world.replies()[1:] == ["Thank you, your appointment on Mon 2 Mar at 11:00 is confirmed."]
    assert types(world.desk()) == ["appointment.confirmed"]


def test_a_bot_plugged_into_the_support_flow_answers_and_closes_the_conversation(world):
    support = copy.deepcopy(READY_FLOWS["support"])
    support["steps"]["with_agent"]["answers"][0]["handler"] = "support_bot"
    flows = flows_to_json(parse_flows({**READY_FLOWS, "support": support}))
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/two-way-sms/flows", Value=flows, Type="String", Overwrite=True
    )

    world.text("AGENT")
    world.text("I forgot my password")
    world.text("thanks")  # the bot closed the conversation: back to the default reply

    assert world.replies()[1:] == ["You can reset your password at example.com/reset.", SETTINGS["default_reply"]]
    assert types(world.desk()) == ["support.requested", "reply.received", "reply.received"]


def test_stop_closes_a_conversation_that_another_answer_moved_meanwhile(world, monkeypatch):
    reminder = world.remind("appt-86-reminder", "appointment", VISIT, reference="appt-86", slots=SLOTS)
    original, raced = ConversationStore.save, []

    def racing_save(store, conversation, **kwargs):
        if not raced:  # another answer's write lands between the read and this one
            raced.append(conversation.conversation_id)
            raise ConversationMoved(conversation.conversation_id)
        return original(store, conversation, **kwargs)

    monkeypatch.setattr(ConversationStore, "save", racing_save)  # the inbound function's store is its own
    world.text("STOP", quoting=reminder.message_id)

    assert raced == ["appt-86-reminder"] and world.conversation("appt-86-reminder").status == "CLOSED"


@pytest.mark.parametrize(
    "environment, expected",
    [
        ({}, {}),
        ({"FLOWS_PARAMETER": "/f", "CONVERSATIONS_TABLE": "c"}, {"FLOWS_PARAMETER": "/f", "CONVERSATIONS_TABLE": "c"}),
    ],
)
def test_conversations_are_configured_with_both_settings_or_none(environment, expected):
    assert conversation_settings(environment, "inbound") == expected


def test_flows_without_a_table_to_keep_conversations_fail_at_start_naming_what_is_missing():
    with pytest.raises(RuntimeError, match=r"inbound handler needs all of .*it has only \['FLOWS_PARAMETER'\]"):
        conversation_settings({"FLOWS_PARAMETER": "/f"}, "inbound")
