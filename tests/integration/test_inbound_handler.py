"""The inbound handler against emulated DynamoDB and SQS, with End User Messaging stubbed."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import SETTINGS, FakeLambdaContext, inbound_payload
from two_way_sms.adapters.ledger import MessageLedger

CUSTOMER = "+14255550182"
OUR_NUMBER = "+12125550101"


def text(body: str, message_id: str = "in-1", **fields) -> dict:
    return inbound_payload(messageBody=body, inboundMessageId=message_id, **fields)


def failures(result: dict) -> list[str]:
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


# -- keywords AWS answers itself (AWS-managed opt-outs, the default) ---------------------------
@pytest.mark.parametrize("body", ["STOP", "Stop.", " stop ", "STOP please", "UNSUBSCRIBE", "arret", "STOPALL"])
def test_opt_out_words_are_recorded_without_a_second_reply_when_aws_manages_opt_outs(harness, body):
    harness.expect_listed(CUSTOMER)  # AWS listed it already; listing again is idempotent and costs nothing

    result = harness.handle(text(body))

    assert failures(result) == []
    assert harness.profile(CUSTOMER)["opted_out"] is True
    [proof] = harness.consent_records(CUSTOMER)
    assert proof["change"] == "OPTED_OUT" and proof["message_id"] == "in-1" and proof["source"] == "INBOUND"
    assert proof["keyword"] in {"STOP", "UNSUBSCRIBE", "ARRET", "STOPALL"}


def test_help_is_left_to_aws_when_it_manages_opt_outs(harness):
    assert failures(harness.handle(text("HELP"))) == []  # the stub fails on any unexpected send


def test_a_sentence_that_merely_starts_with_stop_letters_is_not_an_opt_out(harness):
    harness.expect_send(CUSTOMER, SETTINGS["default_reply"], inbound_id="in-1", intent="OTHER")

    assert failures(harness.handle(text("Stopping by later?"))) == []
    profile = harness.profile(CUSTOMER) or {}  # holds the reply log: no consent recorded on it
    assert "opted_out" not in profile and harness.consent_records(CUSTOMER) == []


def test_a_configured_keyword_gets_its_reply_with_the_configuration_set_and_context(harness):
    harness.expect_send(CUSTOMER, "Open Mon-Fri 8-18.", inbound_id="in-1", intent="KEYWORD")

    assert failures(harness.handle(text("hours?"))) == []


def test_a_sent_reply_is_in_the_ledger_as_sent_with_its_context_until_events_arrive(harness):
    harness.expect_send(CUSTOMER, "Open Mon-Fri 8-18.", inbound_id="in-1", intent="KEYWORD", message_id="reply-1")

    assert failures(harness.handle(text("hours?"))) == []
    item = harness.app.ledger.get("reply-1")
    assert (item["status"], item["is_final"], item["sent_by"]) == ("SENT", False, "inbound")
    assert item["context"] == {"inboundMessageId": "in-1", "intent": "KEYWORD"}
    assert (item["destination_number"], item["origination_number"]) == (CUSTOMER, OUR_NUMBER)
    assert item["estimated_parts"] == 1 and item["message_type"] == "TRANSACTIONAL"


def test_a_reply_whose_ledger_write_fails_is_not_sent_twice(harness, monkeypatch):
    from botocore.exceptions import ClientError

    from two_way_sms.adapters.reply_log import ReplyLogTable

    def unavailable(self, sent):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "try later"}}, "UpdateItem")

    complete = ReplyLogTable.complete

    def transaction_unavailable(self, *args, sent=None, **kwargs):
        if sent is not None:  # the completion and the ledger record in one request
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "try later"}}, "TransactWriteItems")
        return complete(self, *args, **kwargs)

    monkeypatch.setattr(ReplyLogTable, "complete", transaction_unavailable)
    monkeypatch.setattr(MessageLedger, "record_sent", unavailable)  # the handler's ledger is its own instance
    harness.expect_send(CUSTOMER, "Open Mon-Fri 8-18.", inbound_id="in-1", intent="KEYWORD")

    assert failures(harness.handle(text("hours?"))) == []  # no retry, so no second text
    assert "reply sent but not recorded in the ledger" in harness.logs()
    assert harness.profile(CUSTOMER)["reply:in-1#0"]["s"] == "SENT"  # completed on its own


def test_an_opt_out_phrase_is_honoured_by_the_handler_with_one_confirmation_and_the_list(harness):
    harness.expect_send(CUSTOMER, SETTINGS["stop_reply"], inbound_id="in-1", intent="OPT_OUT")
    harness.expect_listed(CUSTOMER)

    assert failures(harness.handle(text("please opt me out of these"))) == []
    assert harness.profile(CUSTOMER)["opted_out"] is True


def test_an_opted_out_number_gets_no_default_reply(harness):
    harness.expect_listed(CUSTOMER)
    harness.handle(text("STOP", "in-1"))

    assert failures(harness.handle(text("hello again", "in-2"))) == []  # no send expected


def test_the_numbers_own_number_without_plus_is_normalised(harness):
    harness.expect_send(CUSTOMER, SETTINGS["default_reply"], inbound_id="in-1", intent="OTHER")

    assert failures(harness.handle(text("hi", originationNumber="14255550182", destinationNumber="12125550101"))) == []


def test_an_sns_envelope_body_is_unwrapped(harness):
    envelope = {
        "Type": "Notification",
        "MessageId": "sns-1",
        "Timestamp": "2026-12-04T10:00:00.000Z",
        "Message": json.dumps(text("hours")),
    }
    harness.expect_send(CUSTOMER, "Open Mon-Fri 8-18.", inbound_id="in-1", intent="KEYWORD")

    assert failures(harness.handle(envelope)) == []


# -- self-managed opt-outs: the handler answers and keeps the list ------------------------------
def test_self_managed_stop_sends_one_confirmation_before_listing_the_number(self_managed_harness):
    h = self_managed_harness
    h.expect_send(CUSTOMER, SETTINGS["stop_reply"], inbound_id="in-1", intent="OPT_OUT")
    h.expect_listed(CUSTOMER)
    assert failures(h.handle(text("Stop."))) == []

    # A second STOP from an opted-out number: recorded, listed again, but no second confirmation.
    h.expect_listed(CUSTOMER)
    assert failures(h.handle(text("STOP", "in-2"))) == []
    assert len(h.consent_records(CUSTOMER)) == 2


def test_self_managed_help_is_answered_even_to_an_opted_out_number(self_managed_harness):
    h = self_managed_harness
    h.expect_send(CUSTOMER, SETTINGS["stop_reply"], inbound_id="in-1", intent="OPT_OUT")
    h.expect_listed(CUSTOMER)
    h.handle(text("STOP"))
    h.expect_send(CUSTOMER, SETTINGS["help_reply"], inbound_id="in-2", intent="HELP")

    assert failures(h.handle(text("HELP", "in-2"))) == []


def test_self_managed_start_takes_the_number_off_the_list_then_confirms(self_managed_harness):
    h = self_managed_harness
    h.stubber.add_response("delete_opted_out_number", {}, {"OptOutListName": "opt-outs", "OptedOutNumber": CUSTOMER})
    h.expect_send(CUSTOMER, SETTINGS["opt_in_reply"], inbound_id="in-1", intent="OPT_IN")

    assert failures(h.handle(text("START"))) == []
    assert h.profile(CUSTOMER)["opted_out"] is False
    assert h.consent_records(CUSTOMER)[0]["change"] == "OPTED_IN"


# -- duplicates, bad input, errors ----------------------------------------------------------------
def test_a_redelivered_message_gets_no_second_reply_and_no_second_record(self_managed_harness):
    h = self_managed_harness
    h.expect_send(CUSTOMER, SETTINGS["stop_reply"], inbound_id="in-1", intent="OPT_OUT")
    h.expect_listed(CUSTOMER)
    h.handle(text("STOP"))

    h.expect_listed(CUSTOMER)  # listing again is idempotent; no second confirmation is expected
    assert failures(h.handle(text("STOP"))) == []
    assert len(h.consent_records(CUSTOMER)) == 1


@pytest.mark.parametrize(
    "body, reason_fragment",
    [
        ("not json", "not JSON"),
        (json.dumps([1, 2]), "not an object"),
        (json.dumps(inbound_payload(inboundMessageId=None)), "inboundMessageId"),
        (json.dumps(inbound_payload(originationNumber=None)), "originationNumber"),
        (json.dumps(inbound_payload(destinationNumber="banana")), "destinationNumber"),
        (json.dumps(inbound_payload(messageBody=None)), "messageBody"),
    ],
)
def test_a_malformed_record_is_parked_at_once_with_its_reason_and_the_batch_goes_on(harness, body, reason_fragment):
    harness.expect_send(CUSTOMER, "Open Mon-Fri 8-18.", inbound_id="good", intent="KEYWORD")
    event = harness.sqs_event(body, json.dumps(text("HOURS", "good")))
    bad_id = next(r["messageId"] for r in event["Records"] if r["body"] == body)

    result = harness.app.handler(event, FakeLambdaContext())

    assert failures(result) == []  # retrying it could only fail again
    [parked] = harness.parked()
    assert parked["body"] == body and parked["originalMessageId"] == bad_id
    assert parked["reason"].startswith("MALFORMED") and reason_fragment in parked["reason"]
    logged = harness.logs()
    assert reason_fragment in logged
    assert "Stop" not in logged and "+14255550182" not in logged  # no body, no full number


def test_a_message_to_a_number_this_stack_does_not_answer_is_parked_and_not_answered(harness):
    assert failures(harness.handle(text("START", destinationNumber="+12065550100"))) == []  # no send expected

    [parked] = harness.parked()
    assert parked["reason"].startswith("NOT_OUR_NUMBER") and "+12065550100" not in parked["reason"]
    assert harness.profile(CUSTOMER) is None  # a forged START grants nothing


@pytest.mark.parametrize("sender", ["AMAZON", "262966", "12345", "MyBankAlerts"])
def test_a_text_from_a_short_code_or_sender_id_is_recorded_and_never_answered(harness, sender):
    assert failures(harness.handle(text("Your code is 1234", originationNumber=sender))) == []  # no send expected

    assert "recorded, not answered" in harness.logs()
    assert harness.parked() == []


def test_throttling_fails_the_record_for_a_retry_and_the_retry_replies(harness):
    harness.expect_send_error("ThrottlingException")
    first = harness.handle(text("hours"))
    assert len(failures(first)) == 1

    harness.expect_send(CUSTOMER, "Open Mon-Fri 8-18.", inbound_id="in-1", intent="KEYWORD")
    assert failures(harness.handle(text("hours"))) == []


def test_a_reply_to_a_number_on_the_opt_out_list_is_recorded_and_not_retried(harness):
    harness.expect_send_error("ConflictException", reason="DESTINATION_PHONE_NUMBER_OPTED_OUT")

    assert failures(harness.handle(text("hi there"))) == []
    assert harness.profile(CUSTOMER)["opted_out"] is True


def test_a_reply_refused_for_good_is_logged_and_counted_not_retried(harness):
    harness.expect_send_error("ValidationException")

    assert failures(harness.handle(text("hours"))) == []
    assert "ValidationException" in harness.logs()
    assert failures(harness.handle(text("hours"))) == []  # redelivered: the refusal is remembered, no call


def test_logs_mask_the_customer_number(harness):
    harness.expect_send(CUSTOMER, "Open Mon-Fri 8-18.", inbound_id="in-1", intent="KEYWORD")
    harness.handle(text("hours"))

    logged = harness.logs()
    assert "+1425*****82" in logged
    assert CUSTOMER not in logged
