"""Requests that open a conversation: the sender texts the flow's start prompt and stores the
conversation with the prompt's message id, once, whatever retries happen."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_sender import SEATTLE, build_harness
from two_way_sms.adapters.conversations import ConversationStore
from two_way_sms.adapters.sent_records import SentRecords
from two_way_sms.conversations.engine import OPEN, advance
from two_way_sms.conversations.flows import parse_flows
from two_way_sms.conversations.ready_flows import READY_FLOWS

FLOWS = parse_flows(READY_FLOWS)
VISIT = {"first_name": "Ana", "when": "Mon 2 Mar at 11:00"}
CHARGE = {"merchant": "Example Bank", "amount": "$412.00", "card_last4": "0042"}


@pytest.fixture
def harness(monkeypatch):
    with build_harness(monkeypatch) as built:
        yield built


def conversation_request(key: str, flow: str, variables: dict[str, str], **conversation: Any) -> dict:
    return {
        "destination": SEATTLE,
        "messageType": "TRANSACTIONAL",
        "idempotencyKey": key,
        "variables": variables,
        "conversation": {"flow": flow, **conversation},
    }


def stored(harness, key: str):
    found = ConversationStore(harness.dynamodb.Table("conversations")).get(SEATTLE, key)
    return found.conversation if found else None


def test_an_appointment_reminder_texts_the_flows_prompt_and_opens_the_conversation(harness):
    harness.submit(
        conversation_request(
            "appt-77-reminder", "appointment", VISIT, reference="appt-77", slots=["Tue 10:00", "Wed 14:30"]
        )
    )
    harness.drain()

    [text] = harness.sms.sent_to(SEATTLE)
    assert text.body == (
        "Hi Ana, this is a reminder of your appointment on Mon 2 Mar at 11:00. Reply 1 to confirm or 2 to cancel."
    )
    conversation = stored(harness, "appt-77-reminder")
    assert conversation.flow == "appointment" and conversation.step == "confirm" and conversation.status == OPEN
    assert conversation.reference == "appt-77" and conversation.slots == ("Tue 10:00", "Wed 14:30")
    assert conversation.prompt_message_ids == (text.message_id,)
    assert conversation.opened_at == pytest.approx(text.at, abs=1)
    assert conversation.expires_at - conversation.opened_at == FLOWS["appointment"].timeout_seconds
    assert harness.outcome("appt-77-reminder").status == "SENT"


def test_a_verification_texts_a_six_digit_code_that_nothing_is_kept_of(harness):
    harness.submit(conversation_request("txn-9", "transaction", CHARGE, reference="txn-9"))
    harness.drain()

    [text] = harness.sms.sent_to(SEATTLE)
    code = text.body.split("Reply YES ")[1].split(" ")[0]
    assert code.isdigit() and len(code) == 6
    conversation = stored(harness, "txn-9")
    assert conversation.takes_code
    stored_items = repr(harness.dynamodb.Table("conversations").scan()["Items"])
    assert code not in stored_items and "hash" not in stored_items  # not even a hash to brute-force
    turn = advance(
        conversation,
        FLOWS["transaction"],
        f"yes {code}",
        now=text.at + 60,
        inbound_message_id="in-1",
        code_for=harness.app.codes.code_for,
    )  # checked by deriving the code again in KMS
    assert [event.detail_type for event in turn.events] == ["transaction.approved"]


def test_the_same_request_twice_texts_once_and_keeps_one_conversation(harness):
    request = conversation_request("appt-78-reminder", "appointment", VISIT)
    harness.submit(request)
    harness.drain()
    harness.submit(request)
    harness.drain()

    assert len(harness.sms.sent_to(SEATTLE)) == 1
    assert stored(harness, "appt-78-reminder").prompt_message_ids == (harness.sms.sent[0].message_id,)


def test_the_conversation_is_stored_in_the_same_write_as_the_texts_outcome(harness, monkeypatch):
    creates = []
    monkeypatch.setattr(ConversationStore, "create", lambda store, conversation: creates.append(conversation))
    harness.submit(conversation_request("appt-80-reminder", "appointment", VISIT))
    harness.drain()

    [text] = harness.sms.sent_to(SEATTLE)
    assert creates == []  # not one write at a time: in the transaction with the outcome SENT and the ledger
    assert stored(harness, "appt-80-reminder").prompt_message_ids == (text.message_id,)
    assert harness.outcome("appt-80-reminder").status == "SENT"


def test_a_failed_store_fails_the_record_and_its_retry_stores_it_without_texting_again(harness, monkeypatch):
    original = ConversationStore.create
    calls = []

    def fail_once(store, conversation):
        calls.append(conversation.conversation_id)
        if len(calls) == 1:
            raise RuntimeError("DynamoDB is unavailable")
        return original(store, conversation)

    def transaction_throttled(*args, **kwargs):
        raise RuntimeError("TransactionCanceledException: ThrottlingError")

    monkeypatch.setattr(SentRecords, "record", transaction_throttled)  # then one write at a time
    monkeypatch.setattr(ConversationStore, "create", fail_once)  # the function's store is its own
    harness.submit(conversation_request("appt-79-reminder", "appointment", VISIT))
    harness.drain()

    assert len(harness.sms.sent_to(SEATTLE)) == 1
    assert calls == ["appt-79-reminder", "appt-79-reminder"]
    assert stored(harness, "appt-79-reminder").prompt_message_ids == (harness.sms.sent[0].message_id,)
    assert harness.outcome("appt-79-reminder").status == "SENT"


@pytest.mark.parametrize(
    "flow, variables, reason",
    [
        ("no_such_flow", VISIT, "UNKNOWN_FLOW"),
        ("appointment", {"first_name": "Ana"}, "MISSING_VARIABLES"),  # the prompt needs {when}
    ],
)
def test_a_conversation_that_cannot_be_opened_is_refused_with_its_reason(harness, flow, variables, reason):
    harness.submit(conversation_request("bad-1", flow, variables))
    harness.drain()

    assert harness.sms.sent == []
    assert harness.outcome("bad-1").status == "REFUSED" and harness.outcome("bad-1").reason == reason
    assert stored(harness, "bad-1") is None


def test_an_opted_out_customer_gets_no_prompt_and_no_conversation(harness):
    harness.opt_out(SEATTLE)
    harness.submit(conversation_request("appt-80-reminder", "appointment", VISIT))
    harness.drain()

    assert harness.sms.sent == [] and harness.outcome("appt-80-reminder").reason == "OPTED_OUT"
    assert stored(harness, "appt-80-reminder") is None


def test_a_sender_without_conversations_refuses_conversation_requests(monkeypatch):
    with build_harness(monkeypatch, conversations=False) as harness:
        harness.submit(conversation_request("appt-81-reminder", "appointment", VISIT))
        harness.drain()

        assert harness.sms.sent == [] and harness.outcome("appt-81-reminder").reason == "UNKNOWN_FLOW"
