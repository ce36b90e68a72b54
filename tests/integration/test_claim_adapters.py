"""The reply log and the send claims against moto: what the at-most-once rules stand on."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError

from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.conversations import ConversationStore
from two_way_sms.adapters.ledger import SentText
from two_way_sms.adapters.reply_log import LAYOUT_KEY, ReplyLogTable, legacy_replies_until
from two_way_sms.adapters.request_outcomes import RequestOutcomes
from two_way_sms.adapters.send_claims import DONE, NOT_SENT, SENDING, SendClaims
from two_way_sms.adapters.sent_records import SentRecords
from two_way_sms.conversations.engine import Conversation
from two_way_sms.outbound.contact_state import PromotionalCount
from two_way_sms.outbound.request import CampaignRef
from two_way_sms.reply_log import KEEP_SECONDS, ReplyKind, Status, claimed, finished
from two_way_sms_local.emulation import REGION, create_conversations_table, create_outbound_table, create_tables

NUMBER = "+14255550182"
NOW = 1_800_000_000.0


@pytest.fixture
def dynamodb(emulated_aws):
    resource = boto3.resource("dynamodb", region_name=REGION)
    create_tables(resource)
    create_outbound_table(resource)
    return resource


# -- the reply log ------------------------------------------------------------------------------------
def reply_log(dynamodb, **options) -> ReplyLogTable:
    return ReplyLogTable(dynamodb.Table("contacts"), **options)


def test_a_claim_then_its_completion_is_read_back_with_the_numbers_consent(dynamodb):
    log = reply_log(dynamodb)
    claim = claimed(ReplyKind.REPLY, "abc", now=NOW, until=NOW + 30)

    assert log.claim(NUMBER, "in-1#0", claim, needs_consent=True).written
    assert log.complete(NUMBER, "in-1#0", claim, finished(claim, Status.SENT, message_id="m-1")).completed
    view = log.view(NUMBER)
    assert view.opted_out is False
    assert view.log.entries["in-1#0"] == finished(claim, Status.SENT, message_id="m-1")


def test_each_claim_answers_with_every_claim_written_before_it(dynamodb):
    log = reply_log(dynamodb)
    first = claimed(ReplyKind.REPLY, "a", now=NOW, until=NOW + 30)
    log.claim(NUMBER, "in-1#0", first, needs_consent=True)

    # No read before the write: the write itself says what was there (the limits are planned on it).
    second = log.claim(NUMBER, "in-2#0", claimed(ReplyKind.REPLY, "b", now=NOW, until=NOW + 30), needs_consent=True)
    assert second.written and second.before.entries == {"in-1#0": first}


def test_a_reply_already_in_the_log_is_not_claimed_again_unless_it_surely_did_not_go(dynamodb):
    log = reply_log(dynamodb)
    claim = claimed(ReplyKind.REPLY, "a", now=NOW, until=NOW + 30)
    log.claim(NUMBER, "in-1#0", claim, needs_consent=True)

    again = log.claim(NUMBER, "in-1#0", claimed(ReplyKind.REPLY, "a", now=NOW + 1, until=NOW + 31), needs_consent=True)
    assert not again.written and again.before.entries["in-1#0"] == claim
    log.complete(NUMBER, "in-1#0", claim, finished(claim, Status.NOT_SENT, reason="ThrottlingException"))
    retry = claimed(ReplyKind.REPLY, "a", now=NOW + 200, until=NOW + 230)
    assert log.claim(NUMBER, "in-1#0", retry, needs_consent=True).written


def test_a_business_reply_is_not_claimed_for_an_opted_out_number_but_help_is(dynamodb):
    contacts = dynamodb.Table("contacts")
    contacts.put_item(Item={"phone_number": NUMBER, "record": "PROFILE", "opted_out": True})
    log = reply_log(dynamodb)

    refused = log.claim(NUMBER, "in-1#0", claimed(ReplyKind.REPLY, "a", now=NOW, until=NOW + 30), needs_consent=True)
    help_reply = log.claim(NUMBER, "in-2#0", claimed(ReplyKind.HELP, "h", now=NOW, until=NOW + 30), needs_consent=False)

    assert (refused.written, refused.opted_out) == (False, True)
    assert help_reply.written and set(log.read(NUMBER).entries) == {"in-2#0"}


def test_a_completion_of_a_claim_that_is_no_longer_ours_writes_nothing(dynamodb):
    log = reply_log(dynamodb)
    ours = claimed(ReplyKind.HELP, "h", now=NOW, until=NOW + 30)
    log.claim(NUMBER, "in-1#0", ours, needs_consent=False)
    theirs = claimed(ReplyKind.HELP, "h", now=NOW + 300, until=NOW + 330)
    log.claim(NUMBER, "in-1#0", theirs, needs_consent=False, replacing=ours)  # ours expired: taken over

    assert log.complete(NUMBER, "in-1#0", ours, finished(ours, Status.SENT)).completed is False
    assert log.read(NUMBER).entries["in-1#0"] == theirs


def test_entries_past_their_keep_are_dropped_by_a_completion_and_the_profile_never_expires(dynamodb):
    log = reply_log(dynamodb)
    old = claimed(ReplyKind.REPLY, "o", now=NOW, until=NOW + 30)
    log.claim(NUMBER, "old#0", old, needs_consent=True)
    later = NOW + KEEP_SECONDS + 1
    new = claimed(ReplyKind.REPLY, "n", now=later, until=later + 30)
    log.claim(NUMBER, "new#0", new, needs_consent=True)

    log.complete(NUMBER, "new#0", new, finished(new, Status.SENT, message_id="m-2"), forget=["old#0"])

    assert set(log.read(NUMBER).entries) == {"new#0"}
    profile = dynamodb.Table("contacts").get_item(Key={"phone_number": NUMBER, "record": "PROFILE"})["Item"]
    assert "expires_at" not in profile  # the table's TTL would take the consent with it


def test_a_reply_that_went_is_completed_and_recorded_in_the_ledger_by_one_request(dynamodb):
    log = reply_log(dynamodb, ledger_table=dynamodb.Table("ledger"), ledger_retention_days=30)
    claim = claimed(ReplyKind.REPLY, "a", now=NOW, until=NOW + 30)
    log.claim(NUMBER, "in-1#0", claim, needs_consent=True)
    sent = SentText(
        "m-1", NUMBER, "+12125550101", {"inboundMessageId": "in-1"}, int(NOW * 1000), "TRANSACTIONAL", 1, "inbound"
    )

    done = log.complete(NUMBER, "in-1#0", claim, finished(claim, Status.SENT, message_id="m-1"), sent=sent)

    assert (done.completed, done.recorded) == (True, True)
    item = dynamodb.Table("ledger").get_item(Key={"message_id": "m-1"})["Item"]
    assert (item["status"], item["sent_by"], item["destination_number"]) == ("SENT", "inbound", NUMBER)
    # A claim no longer ours records nothing: the caller records the reply on its own.
    again = log.complete(NUMBER, "in-1#0", claim, finished(claim, Status.SENT, message_id="m-9"), sent=sent)
    assert (again.completed, again.recorded) == (False, False)


def test_a_reply_the_previous_release_logged_is_found_until_its_keep_is_over(dynamodb):
    contacts = dynamodb.Table("contacts")
    sent_before = {"s": "SENT", "t": Decimal(str(NOW)), "k": "reply", "h": "a", "m": "m-0"}
    contacts.put_item(
        Item={"phone_number": NUMBER, "record": "REPLIES", "replies": {"in-1#0": sent_before}, "version": 1}
    )
    log = reply_log(dynamodb, legacy_until=legacy_replies_until(contacts, NOW))

    again = log.claim(NUMBER, "in-1#0", claimed(ReplyKind.REPLY, "a", now=NOW + 60, until=NOW + 90), needs_consent=True)
    other = log.claim(NUMBER, "in-2#0", claimed(ReplyKind.REPLY, "b", now=NOW + 60, until=NOW + 90), needs_consent=True)

    assert not again.written and again.before.entries["in-1#0"].status is Status.SENT
    assert other.written and "in-1#0" in other.before.entries  # counted by the limits too
    assert log.view(NUMBER).log.entries["in-1#0"].message_id == "m-0"


def test_the_previous_layout_matters_for_its_keep_after_the_release_first_ran_and_never_on_a_new_table(dynamodb):
    contacts = dynamodb.Table("contacts")
    assert legacy_replies_until(contacts, NOW) == 0.0  # an empty table: nothing was written the old way
    assert legacy_replies_until(contacts, NOW + 999) == 0.0  # noted once, read after

    contacts.delete_item(Key=LAYOUT_KEY)
    contacts.put_item(Item={"phone_number": NUMBER, "record": "PROFILE"})
    assert legacy_replies_until(contacts, NOW) == NOW + KEEP_SECONDS


# -- the sender's send claims ------------------------------------------------------------------------
def test_a_send_is_claimed_once_and_its_result_is_kept_for_duplicates(dynamodb):
    claims = SendClaims(dynamodb.Table("outbound"))

    assert claims.claim("req-1", now=NOW, until=NOW + 60) is None
    in_flight = claims.claim("req-1", now=NOW + 1, until=NOW + 61)
    assert in_flight is not None and (in_flight.status, in_flight.until) == (SENDING, NOW + 60)
    assert claims.finish("req-1", claimed_at=NOW, result={"status": "SENT", "message_id": "m-1"})
    done = claims.claim("req-1", now=NOW + 2, until=NOW + 62)
    assert done is not None and (done.status, done.result) == (DONE, {"status": "SENT", "message_id": "m-1"})


def test_a_send_that_surely_did_not_go_may_be_claimed_again(dynamodb):
    claims = SendClaims(dynamodb.Table("outbound"))
    claims.claim("req-1", now=NOW, until=NOW + 60)

    assert claims.finish("req-1", claimed_at=NOW, result=None)
    assert claims.read("req-1").status == NOT_SENT
    assert claims.claim("req-1", now=NOW + 200, until=NOW + 260) is None


def test_a_claim_whose_write_answer_was_lost_is_read_back_as_ours(dynamodb, monkeypatch):
    table = dynamodb.Table("outbound")
    claims = SendClaims(table)
    put = table.put_item

    def written_but_answer_lost(**kwargs):
        put(**kwargs)
        raise ReadTimeoutError(endpoint_url="https://dynamodb.example")

    monkeypatch.setattr(table, "put_item", written_but_answer_lost)

    assert claims.claim("req-1", now=NOW, until=NOW + 60) is None  # ours: go on and send


def test_finishing_a_claim_someone_else_took_writes_nothing(dynamodb):
    claims = SendClaims(dynamodb.Table("outbound"))
    claims.claim("req-1", now=NOW, until=NOW + 60)
    claims.finish("req-1", claimed_at=NOW, result=None)
    claims.claim("req-1", now=NOW + 200, until=NOW + 260)

    assert claims.finish("req-1", claimed_at=NOW, result={"status": "SENT"}) is False
    assert claims.read("req-1").status == SENDING


# -- a sent text's records in one write ----------------------------------------------------------------
def sent_records(dynamodb) -> SentRecords:
    return SentRecords(
        dynamodb.Table("outbound"), dynamodb.Table("ledger"), dynamodb.Table("contacts"), ledger_retention_days=30
    )


def sender_sent(message_id: str) -> SentText:
    return SentText(
        message_id, NUMBER, "+12125550101", {"sendKey": "req-1"}, int(NOW * 1000), "TRANSACTIONAL", 1, "sender"
    )


def test_a_sent_text_completes_its_claim_and_records_its_outcome_and_ledger_entry_in_one_request(dynamodb):
    claims, records = SendClaims(dynamodb.Table("outbound")), sent_records(dynamodb)
    claims.claim("req-1", now=NOW, until=NOW + 60)
    result = {"status": "SENT", "message_id": "m-1", "at": NOW + 0.04}

    assert records.record("req-1", claimed_at=NOW, result=result, sent=sender_sent("m-1"))

    assert (claims.read("req-1").status, claims.read("req-1").result) == (DONE, result)
    stored = RequestOutcomes(dynamodb.Table("outbound")).get("req-1")
    assert (stored.status, stored.message_id) == ("SENT", "m-1")
    entry = dynamodb.Table("ledger").get_item(Key={"message_id": "m-1"})["Item"]
    assert (entry["status"], entry["sent_by"], entry["destination_number"]) == ("SENT", "sender", NUMBER)


def test_a_sent_texts_one_write_writes_nothing_when_the_claim_is_no_longer_ours(dynamodb):
    claims, records = SendClaims(dynamodb.Table("outbound")), sent_records(dynamodb)
    claims.claim("req-1", now=NOW, until=NOW + 60)
    result = {"status": "SENT", "message_id": "m-1", "at": NOW + 0.04}

    assert records.record("req-1", claimed_at=NOW - 5, result=result, sent=sender_sent("m-1")) is False

    assert claims.read("req-1").status == SENDING and RequestOutcomes(dynamodb.Table("outbound")).get("req-1") is None
    assert "Item" not in dynamodb.Table("ledger").get_item(Key={"message_id": "m-1"})


def test_a_sent_texts_one_write_never_replaces_a_sent_outcome(dynamodb):
    claims, records = SendClaims(dynamodb.Table("outbound")), sent_records(dynamodb)
    outcomes = RequestOutcomes(dynamodb.Table("outbound"))
    claims.claim("req-1", now=NOW, until=NOW + 60)
    outcomes.record("req-1", "SENT", message_id="m-0", at=datetime.fromtimestamp(NOW, timezone.utc))

    result = {"status": "SENT", "message_id": "m-1", "at": NOW + 0.04}
    assert records.record("req-1", claimed_at=NOW, result=result, sent=sender_sent("m-1")) is False
    assert outcomes.get("req-1").message_id == "m-0" and claims.read("req-1").status == SENDING


def opened_conversation(conversation_id: str = "appt-1") -> Conversation:
    return Conversation(
        conversation_id=conversation_id,
        flow="appointment",
        step="confirm",
        customer_number=NUMBER,
        our_number="+12125550101",
        opened_at=NOW,
        expires_at=NOW + 86400,
        prompt_message_ids=("m-1",),
    )


def claimed_with_conversations(dynamodb) -> tuple[SendClaims, SentRecords]:
    """The conversations table, the sender's one write with it, and "req-1" claimed at NOW."""
    create_conversations_table(dynamodb)
    claims = SendClaims(dynamodb.Table("outbound"))
    records = SentRecords(
        dynamodb.Table("outbound"),
        dynamodb.Table("ledger"),
        conversations_table=dynamodb.Table("conversations"),
        ledger_retention_days=30,
    )
    claims.claim("req-1", now=NOW, until=NOW + 60)
    return claims, records


def test_a_text_that_opens_a_conversation_stores_it_in_the_same_request_as_its_outcome(dynamodb):
    claims, records = claimed_with_conversations(dynamodb)
    result = {"status": "SENT", "message_id": "m-1", "at": NOW + 0.04}

    assert records.record(
        "req-1", claimed_at=NOW, result=result, sent=sender_sent("m-1"), conversation=opened_conversation()
    )

    stored = ConversationStore(dynamodb.Table("conversations")).get(NUMBER, "appt-1")
    assert stored.version == 1 and stored.conversation.prompt_message_ids == ("m-1",)
    assert RequestOutcomes(dynamodb.Table("outbound")).get("req-1").status == "SENT"


def test_a_conversation_stored_already_refuses_the_one_write_and_nothing_is_written(dynamodb):
    claims, records = claimed_with_conversations(dynamodb)
    ConversationStore(dynamodb.Table("conversations")).create(opened_conversation())
    result = {"status": "SENT", "message_id": "m-1", "at": NOW + 0.04}

    refused = records.record(
        "req-1", claimed_at=NOW, result=result, sent=sender_sent("m-1"), conversation=opened_conversation()
    )

    assert refused is False  # the sender then writes one at a time: the store finds it there and goes on
    assert claims.read("req-1").status == SENDING and RequestOutcomes(dynamodb.Table("outbound")).get("req-1") is None


def test_without_a_conversations_table_a_text_that_opens_one_is_left_to_the_writes_one_at_a_time(dynamodb):
    records, claims = sent_records(dynamodb), SendClaims(dynamodb.Table("outbound"))
    claims.claim("req-1", now=NOW, until=NOW + 60)
    result = {"status": "SENT", "message_id": "m-1", "at": NOW + 0.04}

    assert (
        records.record(
            "req-1", claimed_at=NOW, result=result, sent=sender_sent("m-1"), conversation=opened_conversation()
        )
        is False
    )
    assert claims.read("req-1").status == SENDING


def promotional(dynamodb, key: str = "spring:r1:x") -> PromotionalCount:
    """A promotional count on top of what a batch read of NUMBER finds now."""
    [read] = ContactsTable(dynamodb.Table("contacts")).contact_states([NUMBER]).values()
    return PromotionalCount(NUMBER, key, CampaignRef("spring", "r1"), "campaign:spring", read)


def test_a_promotional_text_is_counted_on_its_recipient_in_the_same_request_as_its_outcome(dynamodb):
    claims, records, contacts = (
        SendClaims(dynamodb.Table("outbound")),
        sent_records(dynamodb),
        ContactsTable(dynamodb.Table("contacts")),
    )
    claims.claim("req-1", now=NOW, until=NOW + 60)
    result = {"status": "SENT", "message_id": "m-1", "at": NOW + 0.04}

    assert records.record(
        "req-1", claimed_at=NOW, result=result, sent=sender_sent("m-1"), promotional=promotional(dynamodb)
    )

    state = contacts.contact_state(NUMBER)
    assert set(state.recent_promotional) == {"spring:r1:x"} and state.campaign_sends == {"spring/r1": 1}
    assert state.promotional_subjects == {"spring:r1:x": "campaign:spring"} and state.promotional_version == 1
    assert RequestOutcomes(dynamodb.Table("outbound")).get("req-1").status == "SENT"


def test_a_promotional_count_read_before_another_send_counted_writes_nothing(dynamodb):
    claims, records, contacts = (
        SendClaims(dynamodb.Table("outbound")),
        sent_records(dynamodb),
        ContactsTable(dynamodb.Table("contacts")),
    )
    claims.claim("req-1", now=NOW, until=NOW + 60)
    stale = promotional(dynamodb)
    contacts.record_promotional_send(NUMBER, "other", None, datetime.fromtimestamp(NOW, timezone.utc))
    result = {"status": "SENT", "message_id": "m-1", "at": NOW + 0.04}

    assert records.record("req-1", claimed_at=NOW, result=result, sent=sender_sent("m-1"), promotional=stale) is False

    assert set(contacts.contact_state(NUMBER).recent_promotional) == {"other"}
    assert claims.read("req-1").status == SENDING and RequestOutcomes(dynamodb.Table("outbound")).get("req-1") is None
    # the writes one by one that follow count it on top of the other send
    assert contacts.record_promotional_send(NUMBER, "spring:r1:x", None, datetime.fromtimestamp(NOW, timezone.utc))
    assert set(contacts.contact_state(NUMBER).recent_promotional) == {"other", "spring:r1:x"}
