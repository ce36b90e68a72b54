"""The reply log and the send claims against moto: what the at-most-once rules stand on."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError

from two_way_sms.adapters.reply_log import ReplyLogMoved, ReplyLogState, ReplyLogTable
from two_way_sms.adapters.send_claims import DONE, NOT_SENT, SENDING, SendClaims
from two_way_sms.reply_log import KEEP_SECONDS, ReplyKind, Status, claimed, finished
from two_way_sms_local.emulation import REGION, create_outbound_table, create_tables

NUMBER = "+14255550182"
NOW = 1_800_000_000.0


@pytest.fixture
def dynamodb(emulated_aws):
    resource = boto3.resource("dynamodb", region_name=REGION)
    create_tables(resource)
    create_outbound_table(resource)
    return resource


# -- the reply log ------------------------------------------------------------------------------------
def test_a_claim_then_its_completion_is_read_back_with_the_numbers_consent(dynamodb):
    log = ReplyLogTable(dynamodb.Table("contacts"))
    claim = claimed(ReplyKind.REPLY, "abc", now=NOW, until=NOW + 30)
    state = log.write(NUMBER, "in-1#0", claim, read=ReplyLogState(), now=NOW)

    assert log.complete(NUMBER, "in-1#0", claim, finished(claim, Status.SENT, message_id="m-1"))
    view = log.view(NUMBER)
    assert view.opted_out is False and view.log.version == state.version == 1
    assert view.log.entries["in-1#0"] == finished(claim, Status.SENT, message_id="m-1")


def test_a_claim_on_a_log_that_moved_since_it_was_read_is_refused(dynamodb):
    log = ReplyLogTable(dynamodb.Table("contacts"))
    first = log.write(
        NUMBER, "in-1#0", claimed(ReplyKind.REPLY, "a", now=NOW, until=NOW + 30), read=ReplyLogState(), now=NOW
    )
    log.write(NUMBER, "in-2#0", claimed(ReplyKind.REPLY, "b", now=NOW, until=NOW + 30), read=first, now=NOW)

    with pytest.raises(ReplyLogMoved):  # another message claimed meanwhile: read again, plan again
        log.write(NUMBER, "in-3#0", claimed(ReplyKind.REPLY, "c", now=NOW, until=NOW + 30), read=first, now=NOW)
    with pytest.raises(ReplyLogMoved):  # two first claims racing on a number with no log yet
        log.write(
            NUMBER, "in-4#0", claimed(ReplyKind.REPLY, "d", now=NOW, until=NOW + 30), read=ReplyLogState(), now=NOW
        )


def test_a_completion_of_a_claim_that_is_no_longer_ours_writes_nothing(dynamodb):
    log = ReplyLogTable(dynamodb.Table("contacts"))
    ours = claimed(ReplyKind.HELP, "h", now=NOW, until=NOW + 30)
    state = log.write(NUMBER, "in-1#0", ours, read=ReplyLogState(), now=NOW)
    theirs = claimed(ReplyKind.HELP, "h", now=NOW + 300, until=NOW + 330)
    log.write(NUMBER, "in-1#0", theirs, read=state, now=NOW + 300)

    assert log.complete(NUMBER, "in-1#0", ours, finished(ours, Status.SENT)) is False
    assert log.read(NUMBER).entries["in-1#0"] == theirs


def test_entries_past_their_keep_are_dropped_by_the_next_claim(dynamodb):
    log = ReplyLogTable(dynamodb.Table("contacts"))
    old = log.write(
        NUMBER, "old#0", claimed(ReplyKind.REPLY, "o", now=NOW, until=NOW + 30), read=ReplyLogState(), now=NOW
    )
    later = NOW + KEEP_SECONDS + 1
    log.write(NUMBER, "new#0", claimed(ReplyKind.REPLY, "n", now=later, until=later + 30), read=old, now=later)

    assert set(log.read(NUMBER).entries) == {"new#0"}


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
