"""Routing an inbound message: consent wins, then the conversation, start words, handlers, the responder."""

from __future__ import annotations

from dataclasses import replace

import pytest

from two_way_sms.conversations.engine import CLOSED, open_conversation
from two_way_sms.conversations.flows import parse_flows
from two_way_sms.conversations.inbound import handler_message, route, with_handler_result
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms.conversations.router import HandlerResult
from two_way_sms.responder import ResponderSettings, decide

FLOWS = parse_flows(READY_FLOWS)
CUSTOMER, OURS = "+14255550182", "+18445550100"
NOW = 1_772_654_400.0
SETTINGS = ResponderSettings(
    help_reply="Help: call us.",
    stop_reply="Stopped.",
    opt_in_reply="Welcome back.",
    default_reply="Thanks for your message.",
)


def reminder(conversation_id="c-1", opened_at=NOW):
    conversation, _ = open_conversation(
        FLOWS["appointment"],
        conversation_id=conversation_id,
        customer_number=CUSTOMER,
        our_number=OURS,
        now=opened_at,
        reference="appt-77",
        variables={"first_name": "Ana", "when": "Mon 11:00"},
        slots=("Tue 10:00", "Wed 14:30"),
    )
    return replace(conversation, prompt_message_ids=(f"prompt-{conversation_id}",))


def inbound(body, conversations=(), previous=None, keyword_handler=False, opted_out=False):
    return route(
        decide(body, opted_out=opted_out, settings=SETTINGS),
        body=body,
        customer_number=CUSTOMER,
        our_number=OURS,
        inbound_message_id="in-1",
        previous_message_id=previous,
        now=NOW + 60,
        conversations=list(conversations),
        flows=FLOWS,
        new_conversation_id="new-1",
        has_keyword_handler=keyword_handler,
    )


@pytest.mark.parametrize("body", ["STOP", "stop please", "UNSUBSCRIBE"])
def test_an_opt_out_closes_every_open_conversation_and_says_so_on_the_bus(body):
    routed = inbound(body, conversations=[reminder("c-1"), reminder("c-2", NOW + 1)])

    assert routed.path == "consent"
    assert [c.status for c in routed.changed] == [CLOSED, CLOSED]
    [event] = routed.events
    assert event.detail_type == "optout.recorded" and event.detail["closedConversations"] == ["c-1", "c-2"]


def test_an_opt_in_is_on_the_bus_and_leaves_conversations_alone():
    routed = inbound("START", conversations=[reminder()])

    assert routed.path == "consent" and routed.changed == ()
    assert [e.detail_type for e in routed.events] == ["optin.recorded"]


def test_help_in_the_middle_of_a_flow_is_answered_as_help_and_the_step_waits():
    routed = inbound("HELP", conversations=[reminder()])

    assert routed.path == "help" and routed.changed == () and routed.events == ()


def test_a_reply_in_a_conversation_takes_its_step():
    routed = inbound("2", conversations=[reminder()], previous="prompt-c-1")

    assert routed.path == "conversation" and routed.conversation.step == "rebook"
    assert [e.detail_type for e in routed.events] == ["appointment.cancelled"]
    assert routed.replies[0].startswith("Your appointment is cancelled. Would another time suit you?")


def test_a_reply_quoting_the_older_of_two_conversations_goes_to_that_one():
    routed = inbound("1", conversations=[reminder("c-1"), reminder("c-2", NOW + 1)], previous="prompt-c-1")

    assert routed.conversation.conversation_id == "c-1" and routed.conversation.status == CLOSED


def test_a_start_word_opens_a_support_conversation():
    routed = inbound("agent please")

    assert routed.path == "start_word" and routed.created.conversation_id == "new-1"
    assert [e.detail_type for e in routed.events] == ["support.requested"]


def test_a_keyword_with_a_registered_handler_goes_to_it():
    assert inbound("HOURS today?", keyword_handler=True).path == "keyword_handler"


def test_anything_else_gets_the_responders_answer_and_reaches_the_bus():
    routed = inbound("Can I bring my dog?")

    assert routed.path == "responder" and routed.replies == ()
    [event] = routed.events
    assert event.detail_type == "reply.received" and event.detail["text"] == "Can I bring my dog?"


def test_an_expired_conversation_no_longer_takes_answers():
    old = replace(reminder(), expires_at=NOW + 30)

    assert inbound("1", conversations=[old], previous="prompt-c-1").path == "responder"


# -- a registered handler's result ------------------------------------------------------------------
def folded(routed, result, body="anything"):
    message = handler_message(routed, body=body, customer_number=CUSTOMER, our_number=OURS, inbound_message_id="in-1")
    return with_handler_result(routed, result, flows=FLOWS, message=message, now=NOW + 60)


def test_an_unmatched_answer_in_a_conversation_is_reported_with_the_conversation():
    routed = inbound("what time?", conversations=[reminder()], previous="prompt-c-1")

    [event] = routed.events
    assert event.detail_type == "reply.received" and event.detail["conversationId"] == "c-1"
    assert event.detail["text"] == "what time?" and routed.replies[0].startswith("Sorry, we did not understand")


def test_a_handlers_reply_and_events_are_added_after_the_flows():
    routed = inbound("1", conversations=[reminder()], previous="prompt-c-1")

    result = folded(routed, HandlerResult(reply="See you Monday.", events=(("reply.received", {"bot": "yes"}),)))

    assert result.replies[-1] == "See you Monday." and len(result.replies) == len(routed.replies) + 1
    assert [e.detail_type for e in result.events] == ["appointment.confirmed", "reply.received"]
    assert result.events[1].detail["conversationId"] == "c-1" and result.events[1].detail["bot"] == "yes"


def test_a_handlers_goto_moves_the_conversation_and_sends_that_steps_prompt():
    routed = inbound("what time?", conversations=[reminder()], previous="prompt-c-1")

    result = folded(routed, HandlerResult(goto="rebook"))

    assert result.conversation.step == "rebook" and result.changed == (result.conversation,)
    assert result.replies[-1].startswith("Your appointment is cancelled. Would another time suit you?")


def test_a_handlers_close_ends_the_conversation_and_none_changes_nothing():
    routed = inbound("what time?", conversations=[reminder()], previous="prompt-c-1")

    assert folded(routed, HandlerResult(close=True)).conversation.status == CLOSED
    assert folded(routed, None) == routed


def test_outside_a_conversation_a_handlers_goto_and_close_mean_nothing():
    routed = inbound("BALANCE", keyword_handler=True)

    result = folded(routed, HandlerResult(reply="$12.34", close=True), body="BALANCE")

    assert result.replies == ("$12.34",) and result.conversation is None and result.changed == ()
