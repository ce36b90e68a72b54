"""The conversation engine through every branch of the three ready flows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from two_way_sms.conversations.engine import (
    CLOSED,
    ConversationError,
    advance,
    closed_by_opt_out,
    correlate,
    open_by_word,
    open_conversation,
    sent_at,
    start_word,
)
from two_way_sms.conversations.flows import parse_flows
from two_way_sms.conversations.ready_flows import READY_FLOWS

FLOWS = parse_flows(READY_FLOWS)
APPOINTMENT, TRANSACTION, SUPPORT = FLOWS["appointment"], FLOWS["transaction"], FLOWS["support"]
CUSTOMER, OURS = "+14255550182", "+18445550100"
NOW = 1_772_654_400.0
SLOTS = ("Tue 3 Mar 10:00", "Wed 4 Mar 14:30", "Fri 6 Mar 09:00")
VISIT = {"first_name": "Ana", "when": "Mon 2 Mar at 11:00"}


def reminder(slots=SLOTS, conversation_id="c-1", now=NOW):
    conversation, prompt = open_conversation(
        APPOINTMENT,
        conversation_id=conversation_id,
        customer_number=CUSTOMER,
        our_number=OURS,
        now=now,
        reference="appt-77",
        variables=VISIT,
        slots=slots,
    )
    return replace(conversation, prompt_message_ids=(f"prompt-{conversation_id}",)), prompt


def say(conversation, body, flow=APPOINTMENT, at=NOW + 60, message_id="in-1", code_for=None):
    return advance(conversation, flow, body, now=at, inbound_message_id=message_id, code_for=code_for)


# -- appointment -----------------------------------------------------------------------------------
def test_the_reminder_prompt_is_rendered_with_the_businesss_variables():
    conversation, prompt = reminder()

    assert prompt == (
        "Hi Ana, this is a reminder of your appointment on Mon 2 Mar at 11:00. Reply 1 to confirm or 2 to cancel."
    )
    assert conversation.step == "confirm" and conversation.expires_at == NOW + 2 * 86400


@pytest.mark.parametrize("body", ["1", "yes", "Y", "Yes please!", "confirm"])
def test_confirming_emits_confirmed_replies_and_closes(body):
    turn = say(reminder()[0], body)

    assert [e.detail_type for e in turn.events] == ["appointment.confirmed"]
    assert turn.events[0].detail["reference"] == "appt-77" and turn.events[0].detail["conversationId"] == "c-1"
    assert turn.replies == ("Thank you, your appointment on Mon 2 Mar at 11:00 is confirmed.",)
    assert turn.conversation.status == CLOSED


def test_cancelling_offers_the_slots_and_a_letter_books_one():
    cancelled = say(reminder()[0], "2")

    assert [e.detail_type for e in cancelled.events] == ["appointment.cancelled"]
    assert cancelled.replies == (
        "Your appointment is cancelled. Would another time suit you? A) Tue 3 Mar 10:00, "
        "B) Wed 4 Mar 14:30, C) Fri 6 Mar 09:00. Reply A, B or C, or 0 for none.",
    )
    assert cancelled.conversation.step == "rebook" and cancelled.conversation.expires_at == NOW + 60 + 2 * 86400

    booked = say(cancelled.conversation, "b", at=NOW + 120, message_id="in-2")

    assert [e.detail_type for e in booked.events] == ["appointment.rebooked"]
    assert booked.events[0].detail["slot"] == "Wed 4 Mar 14:30"
    assert booked.replies == ("You are booked for Wed 4 Mar 14:30. See you then.",)
    assert booked.conversation.status == CLOSED


def test_a_letter_that_was_not_offered_gets_the_steps_otherwise():
    cancelled = say(reminder(slots=SLOTS[:2])[0], "2").conversation

    turn = say(cancelled, "C")

    assert turn.events == () and turn.matched is None
    assert turn.replies == ("Please reply A or B to book a new time, or 0 for none.",)
    assert turn.conversation.step == "rebook"


def test_declining_every_slot_closes_without_an_event():
    cancelled = say(reminder()[0], "2").conversation

    turn = say(cancelled, "0")

    assert turn.events == () and turn.conversation.status == CLOSED
    assert turn.replies == ("No problem. Call us when you want a new time.",)


def test_cancelling_with_no_slots_offered_closes_with_its_own_reply():
    turn = say(reminder(slots=())[0], "no")

    assert [e.detail_type for e in turn.events] == ["appointment.cancelled"]
    assert turn.replies == ("Your appointment is cancelled. Call us when you want a new time.",)
    assert turn.conversation.status == CLOSED


def test_an_unknown_answer_gets_the_otherwise_reply_and_keeps_the_step():
    turn = say(reminder()[0], "what time was it again?")

    assert turn.events == () and turn.conversation.step == "confirm" and turn.conversation.status == "OPEN"
    assert turn.replies == (
        "Sorry, we did not understand. Reply 1 to confirm or 2 to cancel your appointment on Mon 2 Mar at 11:00.",
    )


def test_a_word_that_only_begins_like_an_answer_is_not_one():
    assert say(reminder()[0], "NOT SURE").matched is None
    assert say(reminder()[0], "12").matched is None


def test_an_expired_or_closed_conversation_takes_no_answer():
    conversation = reminder()[0]
    closed = say(conversation, "1").conversation

    assert correlate([closed], previous_message_id="prompt-c-1", now=NOW + 120) is None
    assert correlate([conversation], previous_message_id=None, now=NOW + 2 * 86400) is None
    with pytest.raises(ConversationError, match="conversation c-1 is closed or expired"):
        say(closed, "1")  # a replayed or late answer never acts twice


def test_a_missing_variable_fails_when_the_conversation_is_opened():
    with pytest.raises(ConversationError, match="missing variables: when"):
        open_conversation(
            APPOINTMENT,
            conversation_id="c-9",
            customer_number=CUSTOMER,
            our_number=OURS,
            now=NOW,
            variables={"first_name": "Ana"},
        )


def test_at_most_nine_slots_and_the_engines_variables_are_its_own():
    with pytest.raises(ConversationError, match="10 slots offered; at most 9"):
        reminder(slots=tuple(f"slot {n}" for n in range(10)))
    with pytest.raises(ConversationError, match="variables chosen_slot are the engine's"):
        open_conversation(
            APPOINTMENT,
            conversation_id="c-9",
            customer_number=CUSTOMER,
            our_number=OURS,
            now=NOW,
            variables={**VISIT, "chosen_slot": "x"},
        )


# -- opt-out and two conversations ------------------------------------------------------------------
def test_stop_in_the_middle_of_a_flow_closes_it():
    cancelled = say(reminder()[0], "2").conversation

    stopped = closed_by_opt_out(cancelled)

    assert stopped.status == CLOSED
    assert correlate([stopped], previous_message_id=None, now=NOW + 120) is None


def test_two_open_conversations_a_reply_quoting_a_prompt_goes_to_that_one():
    older, _ = reminder(conversation_id="c-1", now=NOW)
    newer, _ = reminder(conversation_id="c-2", now=NOW + 30)

    assert correlate([older, newer], previous_message_id="prompt-c-1", now=NOW + 60) is older
    assert correlate([older, newer], previous_message_id=None, now=NOW + 60) is newer  # the most recent
    assert correlate([older, newer], previous_message_id="someone-else", now=NOW + 60) is newer


# -- transaction verification ----------------------------------------------------------------------
def verification(code="482913"):
    conversation, prompt = open_conversation(
        TRANSACTION,
        conversation_id="t-1",
        customer_number=CUSTOMER,
        our_number=OURS,
        now=NOW,
        reference="txn-5",
        variables={"merchant": "Example Bank", "amount": "$120.00", "card_last4": "4242"},
        code=code,
    )
    return conversation, prompt


def codes(conversation_id: str) -> str:
    """The code the KMS key would derive for the conversation (``adapters.one_use_codes``)."""
    return {"t-1": "482913"}[conversation_id]


def test_the_verification_prompt_carries_the_code_and_the_conversation_keeps_nothing_of_it():
    conversation, prompt = verification()

    assert "Reply YES 482913 to approve or NO 482913 to decline." in prompt
    assert "482913" not in repr(conversation) and conversation.takes_code


@pytest.mark.parametrize(
    ("body", "event"),
    [
        ("YES 482913", "transaction.approved"),
        ("y 482913", "transaction.approved"),
        ("No 482913", "transaction.declined"),
    ],
)
def test_the_right_code_decides_the_transaction_once(body, event):
    turn = say(verification()[0], body, flow=TRANSACTION, code_for=codes)

    assert [e.detail_type for e in turn.events] == [event]
    assert turn.events[0].detail["reference"] == "txn-5" and turn.conversation.status == CLOSED
    with pytest.raises(ConversationError):
        say(turn.conversation, body, flow=TRANSACTION, code_for=codes)  # final: cannot be replayed


@pytest.mark.parametrize("body", ["YES", "YES 111111", "YES482913", "482913"])
def test_a_missing_or_wrong_code_decides_nothing(body):
    turn = say(verification()[0], body, flow=TRANSACTION, code_for=codes)

    assert turn.events == () and turn.conversation.status == "OPEN"
    assert turn.replies == (
        "Please reply YES or NO, then the code we sent, to approve or decline the charge of $120.00.",
    )


def test_without_a_way_to_derive_the_code_no_code_answer_matches():
    assert say(verification()[0], "YES 482913", flow=TRANSACTION).events == ()


def test_the_third_wrong_code_closes_the_conversation_without_a_paid_reply():
    conversation = verification()[0]
    for attempt, guess in enumerate(["YES 111111", "YES 222222"], start=1):
        turn = say(conversation, guess, flow=TRANSACTION, code_for=codes)
        conversation = turn.conversation
        assert (conversation.wrong_codes, conversation.status, len(turn.replies)) == (attempt, "OPEN", 1)

    locked = say(conversation, "no 333333", flow=TRANSACTION, code_for=codes)

    assert locked.replies == () and locked.conversation.status == CLOSED
    assert [e.detail_type for e in locked.events] == ["verification.locked"]
    with pytest.raises(ConversationError):
        say(locked.conversation, "YES 482913", flow=TRANSACTION, code_for=codes)  # even the right code is too late


def test_a_word_without_a_code_is_not_a_wrong_guess():
    turn = say(verification()[0], "yes", flow=TRANSACTION, code_for=codes)

    assert turn.conversation.wrong_codes == 0


def test_a_verification_needs_a_code_of_digits():
    with pytest.raises(ConversationError, match="needs a one-use code of 4-10 digits"):
        verification(code=None)
    with pytest.raises(ConversationError, match="needs a one-use code"):
        verification(code="12ab")


def test_a_verification_expires_after_its_time_out():
    conversation, _ = verification()

    assert correlate([conversation], previous_message_id=None, now=NOW + 15 * 60) is None
    assert correlate([conversation], previous_message_id=None, now=NOW + 15 * 60 - 1) is conversation


# -- support ----------------------------------------------------------------------------------------
def test_agent_opens_a_support_conversation_that_requests_support():
    assert start_word(FLOWS, "agent please") is SUPPORT
    assert start_word(FLOWS, "2") is None

    turn = open_by_word(
        SUPPORT,
        conversation_id="s-1",
        customer_number=CUSTOMER,
        our_number=OURS,
        now=NOW,
        inbound_message_id="in-1",
        body="AGENT my card is blocked",
    )

    assert [e.detail_type for e in turn.events] == ["support.requested"]
    assert turn.events[0].detail["text"] == "AGENT my card is blocked"
    assert turn.replies == ("Thanks, an agent will text you back shortly. Reply STOP to opt out.",)
    assert turn.conversation.status == "OPEN" and turn.conversation.step == "with_agent"


def test_every_later_message_in_support_goes_to_the_agents_as_reply_received():
    opened = open_by_word(
        SUPPORT,
        conversation_id="s-1",
        customer_number=CUSTOMER,
        our_number=OURS,
        now=NOW,
        inbound_message_id="in-1",
        body="AGENT",
    ).conversation

    turn = say(opened, "It says declined at the shop", flow=SUPPORT, message_id="in-2")

    assert [e.detail_type for e in turn.events] == ["reply.received"]
    assert turn.events[0].detail["text"] == "It says declined at the shop" and turn.replies == ()
    assert turn.conversation.status == "OPEN"


def test_a_prompt_sent_later_than_it_was_opened_is_timed_from_the_send():
    conversation, _ = open_conversation(
        APPOINTMENT, conversation_id="c-9", customer_number=CUSTOMER, our_number=OURS, now=NOW, variables=VISIT
    )

    sent = sent_at(conversation, message_id="msg-1", at=NOW + 3600)

    assert sent.opened_at == NOW + 3600 and sent.expires_at == NOW + 3600 + APPOINTMENT.timeout_seconds
    assert sent.prompt_message_ids == ("msg-1",)
