"""The sender under the failures production has: one text per request, whatever failed.

Faults are injected outside botocore's retry loop or after a call that succeeded (its answer
lost); the harness then plays SQS: the record comes back after the visibility timeout, up to
its receive limit. A send is claimed before ``SendTextMessage`` and completed after it, so
no failure, crash or duplicate texts the customer twice.
"""

from __future__ import annotations

import pytest

from two_way_sms.adapters.conversations import ConversationStore
from two_way_sms.adapters.sent_records import SentRecords
from two_way_sms_local.faults import FaultInjector
from two_way_sms_local.sender_world import SEATTLE, send_request, sender_world


def harness_with_faults(monkeypatch, faults: FaultInjector):
    """The sender with ``faults`` on its DynamoDB client (every table) and around its SMS client."""
    built = sender_world(conversations=False, wrap_sms=faults.wrap_sms)
    harness = built.__enter__()
    faults.attach(harness.clients.dynamodb.meta.client)
    return built, harness


def calls_of_one_send(monkeypatch) -> list[str]:
    faults = FaultInjector()
    built, harness = harness_with_faults(monkeypatch, faults)
    try:
        harness.submit(send_request("one-1"))
        harness.drain()
        return list(faults.calls)
    finally:
        built.__exit__(None, None, None)


# One send, as the sender makes it (a batch of one): the batch's outcomes and contacts in one read,
# the schedule's booking, the claim, the call, then its completion, outcome and ledger entry in one
# transaction (when that fails, they are written one by one: the fault tests below go down that path too).
SEND_CALLS = [
    "dynamodb.BatchGetItem",
    "dynamodb.GetItem",
    "dynamodb.PutItem",
    "dynamodb.PutItem",
    "sms.SendTextMessage",
    "dynamodb.TransactWriteItems",
]


# A request that opens the appointment flow: the sender texts its prompt and stores the conversation.
APPOINTMENT_REMINDER = {
    "destination": SEATTLE,
    "messageType": "TRANSACTIONAL",
    "idempotencyKey": "appt-1",
    "variables": {"first_name": "Ana", "when": "Mon 2 Mar at 11:00"},
    "conversation": {"flow": "appointment"},
}


def test_one_send_claims_then_sends_then_completes(monkeypatch):
    assert calls_of_one_send(monkeypatch) == SEND_CALLS


def test_a_text_that_opens_a_conversation_makes_the_same_calls_its_conversation_stored_in_the_one_write():
    faults = FaultInjector()
    with sender_world(conversations=True, wrap_sms=faults.wrap_sms) as harness:
        faults.attach(harness.clients.dynamodb.meta.client)
        harness.submit(APPOINTMENT_REMINDER)
        harness.drain()

        assert faults.calls == SEND_CALLS  # was four writes after the send, the conversation's first
        assert harness.outcome("appt-1").status == "SENT"


@pytest.mark.parametrize("kind", ["throttle", "server", "connection", "lost"])
@pytest.mark.parametrize("failing", range(len(SEND_CALLS)), ids=lambda i: f"{i}-{SEND_CALLS[i]}")
def test_a_request_is_texted_once_whatever_call_fails(monkeypatch, failing, kind):
    faults = FaultInjector()
    faults.fail_call(failing, kind)
    built, harness = harness_with_faults(monkeypatch, faults)
    try:
        harness.submit(send_request("req-1"))
        harness.drain()

        texts = harness.sms.sent_to(SEATTLE)
        assert len(texts) == 1  # exactly once: a lost answer was sent, a failed call is sent on the retry
        assert harness.outcome("req-1").status in ("SENT", "UNKNOWN")
    finally:
        built.__exit__(None, None, None)


@pytest.mark.parametrize("kind", ["throttle", "server", "connection", "lost"])
@pytest.mark.parametrize("failing", range(len(SEND_CALLS)), ids=lambda i: f"{i}-{SEND_CALLS[i]}")
def test_a_text_that_opens_a_conversation_is_texted_once_and_its_conversation_stored_whatever_call_fails(failing, kind):
    faults = FaultInjector()
    faults.fail_call(failing, kind)
    with sender_world(conversations=True, wrap_sms=faults.wrap_sms) as harness:
        faults.attach(harness.clients.dynamodb.meta.client)
        harness.submit(APPOINTMENT_REMINDER)
        harness.drain()

        texts = harness.sms.sent_to(SEATTLE)
        assert len(texts) == 1
        outcome = harness.outcome("appt-1").status
        stored = ConversationStore(harness.dynamodb.Table("conversations")).get(SEATTLE, "appt-1")
        if outcome == "SENT":  # the conversation is never missing behind a SENT outcome
            assert stored is not None and stored.conversation.prompt_message_ids == (texts[0].message_id,)
        else:
            assert outcome == "UNKNOWN" and kind == "lost" and SEND_CALLS[failing] == "sms.SendTextMessage"


def test_a_send_whose_answer_was_lost_is_recorded_unknown_and_not_sent_again(monkeypatch):
    faults = FaultInjector()
    faults.fail_call(SEND_CALLS.index("sms.SendTextMessage"), "lost")
    built, harness = harness_with_faults(monkeypatch, faults)
    try:
        harness.submit(send_request("req-1"))
        harness.drain()
        harness.submit(send_request("req-1"))  # the application sends the request again
        harness.drain()

        assert len(harness.sms.sent_to(SEATTLE)) == 1
        assert harness.outcome("req-1").status == "UNKNOWN"
    finally:
        built.__exit__(None, None, None)


def test_a_crash_between_the_send_and_its_completion_is_not_sent_again_after_the_claim_expires(monkeypatch):
    faults = FaultInjector()
    built, harness = harness_with_faults(monkeypatch, faults)
    try:
        original = SentRecords.record

        def crash(*args, **kwargs):  # the function died right after SendTextMessage returned
            monkeypatch.setattr(SentRecords, "record", original)
            raise SystemExit("the function was killed")

        monkeypatch.setattr(SentRecords, "record", crash)  # the function's records are its own
        harness.submit(send_request("req-1"))
        with pytest.raises(SystemExit):
            harness.drain()
        harness.clock.advance(600)
        harness.submit(send_request("req-1"))  # SQS, or the application, delivers it again later
        harness.drain()

        assert len(harness.sms.sent_to(SEATTLE)) == 1
    finally:
        built.__exit__(None, None, None)


@pytest.mark.parametrize(
    "lost, counted",
    [
        ("sms.SendTextMessage", {"sent": 0, "unknown": 1}),  # recorded UNKNOWN, so the run still adds up
        # The one write landed: the writes one at a time that follow find the outcome their own attempt
        # wrote and count it (before, the run's report missed it); the redelivery counts nothing more.
        ("dynamodb.TransactWriteItems", {"sent": 1, "unknown": 0}),
    ],
)
def test_a_campaign_text_whose_answer_was_lost_is_counted_once_on_its_run(monkeypatch, lost, counted):
    faults = FaultInjector()
    faults.fail_call(SEND_CALLS.index(lost), "lost")
    built, harness = harness_with_faults(monkeypatch, faults)
    try:
        for _ in range(2):  # SQS, or the application, delivers it again ten minutes later
            harness.submit(send_request("spring:r1:0", campaign={"campaignId": "spring", "runId": "r1"}))
            harness.drain()
            harness.clock.advance(600)

        report = harness.app.campaign_runs.read("spring", "r1")
        assert len(harness.sms.sent_to(SEATTLE)) == 1
        assert {"sent": report.sent, "unknown": report.unknown} == counted
        assert report.to_dict()["unknown"] == counted["unknown"]
    finally:
        built.__exit__(None, None, None)
