"""The sender's use case on in-memory fakes of its ports: what it plans, books, sends and records, and
the sequencing that keeps every failure safe to retry (one text per request, whatever happens)."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.unit.fakes_outbound import NOON_IN_SEATTLE, OUR_NUMBER, MemoryConversations, OutboundWorld
from two_way_sms import pacing
from two_way_sms.adapters.request_outcomes import RequestOutcome, attempt_token
from two_way_sms.adapters.send_claims import DONE, NOT_SENT, SENDING, Existing
from two_way_sms.adapters.sms import PriceAboveMax, RetryableSendError, SendOutcomeUnknown, SendRejected
from two_way_sms.conversations.flows import parse_flows
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms.outbound.budget import SpendBudget
from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.services.send_requests import QueuedRequest, RequestSender
from two_way_sms.services.slot_booking import BOOKING_LEAD_SECONDS

SEATTLE = "+12065550123"
ELEVEN_PM_IN_SEATTLE = datetime(2026, 3, 5, 7, 0, tzinfo=timezone.utc).timestamp()
EIGHT_AM_IN_SEATTLE = datetime(2026, 3, 5, 16, 0, tzinfo=timezone.utc).timestamp()
VISIT = {"first_name": "Ana", "when": "Mon 2 Mar at 11:00"}


def request(key: str, destination: str = SEATTLE, message_type: str = "TRANSACTIONAL", **fields: Any) -> str:
    if "templateId" not in fields and "conversation" not in fields:
        fields.setdefault("body", "Your code is 123456.")
    return json.dumps({"destination": destination, "messageType": message_type, "idempotencyKey": key, **fields})


def promo(key: str, destination: str = SEATTLE, **fields: Any) -> str:
    return request(key, destination, "PROMOTIONAL", body="Spring sale", **fields)


def run_batch(sender: RequestSender, *bodies: str, remaining: float = 30.0, receives: int = 1) -> list[str]:
    """One invocation as the handler runs it (a record whose plan raises fails); the failed record ids."""
    records = [QueuedRequest(f"m-{n}", body, str(receives)) for n, body in enumerate(bodies)]
    batch = sender.start(records, remaining_seconds=remaining)
    failed = []
    try:
        for record in records:
            try:
                sender.plan(batch, record)
            except Exception:
                failed.append(record.record_id)
        return failed + sender.send_planned(batch, remaining_seconds=remaining)
    finally:
        sender.finish(batch)


def outcome(world: OutboundWorld, key: str) -> tuple[str, str | None]:
    found = world.outcomes.items[key]
    return found.status, found.reason


@pytest.fixture
def world() -> OutboundWorld:
    return OutboundWorld()


# -- sending once ---------------------------------------------------------------------------------
def test_a_request_is_sent_once_with_its_context_and_recorded(world):
    assert run_batch(world.sender(), request("order-42", context={"orderId": "42"})) == []

    [text] = world.sms.sent
    assert text.context == {"orderId": "42", "sendKey": "order-42"} and text.destination == SEATTLE
    assert world.outcomes.items["order-42"].message_id == text.message_id
    [entry] = world.ledger.sent
    assert (entry["message_id"], entry["sent_by"], entry["origination"]) == (text.message_id, "sender", OUR_NUMBER)
    assert world.claims.items["order-42"].status == DONE
    assert sorted(world.counts.written) == [("OutboundPartsSent", 1), ("OutboundSent", 1)]  # once, at the end


def test_the_same_key_in_one_batch_and_in_a_later_one_is_sent_once(world):
    sender = world.sender()
    run_batch(sender, request("dup-1"), request("dup-1"))
    run_batch(sender, request("dup-1"))

    assert world.sms.keys() == ["dup-1"] and world.sms.calls == 1
    assert "request already sent; duplicate ignored" in world.log.messages("INFO")


def test_a_duplicate_whose_outcome_was_lost_reuses_the_claims_result_and_records_it_again(world):
    sender = world.sender()
    run_batch(sender, request("dup-1"))
    del world.outcomes.items["dup-1"]

    run_batch(sender, request("dup-1"))

    assert world.sms.calls == 1 and outcome(world, "dup-1") == ("SENT", None)


def test_a_failure_after_the_send_fails_its_record_and_the_retry_completes_it_without_texting(world):
    sender = world.sender()
    world.ledger.failures = 1

    assert run_batch(sender, request("flaky-1")) == ["m-0"]
    assert run_batch(sender, request("flaky-1")) == []

    assert world.sms.calls == 1 and outcome(world, "flaky-1") == ("SENT", None) and len(world.ledger.sent) == 1
    [(level, _, fields)] = [line for line in world.log.lines if line[1].startswith("send failed")]
    assert (level, fields["sqs_message_id"], fields["reason"]) == ("ERROR", "m-0", "RuntimeError: ledger throttled")


def test_a_lost_answer_is_recorded_unknown_counted_on_its_run_and_never_sent_again(world):
    sender = world.sender()
    world.sms.fail_next(SendOutcomeUnknown("ReadTimeoutError"))
    campaign = {"campaignId": "spring", "runId": "r1"}

    run_batch(sender, request("spring:r1:0", campaign=campaign))
    run_batch(sender, request("spring:r1:0", campaign=campaign))

    assert world.sms.calls == 1 and outcome(world, "spring:r1:0") == ("UNKNOWN", "ANSWER_LOST")
    assert world.campaign_runs.counts[("spring", "r1")] == {"unknown": 1}
    assert world.counts.totals()["OutboundOutcomeUnknown"] == 1


def test_a_send_another_invocation_is_making_is_deferred_not_sent(world):
    now = world.clock.now()
    world.claims.items["busy-1"] = Existing(SENDING, now + 60, None, now)

    assert run_batch(world.sender(), request("busy-1")) == []

    assert world.sms.calls == 0 and world.queue.enqueued == [("busy-1", 10)]


def test_a_claim_that_outlived_its_invocation_is_an_unknown_outcome_and_not_sent(world):
    now = world.clock.now()
    world.claims.items["lost-1"] = Existing(SENDING, now - 1, None, now - 100)

    run_batch(world.sender(), request("lost-1"))

    assert world.sms.calls == 0 and outcome(world, "lost-1") == ("UNKNOWN", "ANSWER_LOST")
    assert "send outcome unknown: its claim outlived its invocation; not sent again" in world.log.messages("WARNING")


def test_a_transactional_text_is_recorded_with_its_claim_in_one_write(world):
    run_batch(world.sender(), request("t-1"))

    [text] = world.sms.sent
    assert world.records.writes == 1 and world.claims.items["t-1"].status == DONE
    assert outcome(world, "t-1") == ("SENT", None) and [e["message_id"] for e in world.ledger.sent] == [text.message_id]
    assert world.counts.totals()["OutboundSent"] == 1


def test_a_promotional_text_is_counted_on_its_recipient_in_the_same_write_as_its_outcome(world):
    world.contacts.states[SEATTLE] = ContactState(opted_in=True)

    run_batch(world.sender(), promo("p-1"))

    assert world.records.writes == 1 and outcome(world, "p-1") == ("SENT", None) and len(world.ledger.sent) == 1
    assert [key for _, key, _, _ in world.contacts.promotional] == ["p-1"]


def test_a_second_promotional_text_to_one_recipient_in_a_batch_is_counted_on_top_of_the_first(world):
    world.contacts.states[SEATTLE] = ContactState(opted_in=True)

    run_batch(world.sender(), promo("p-1"), promo("p-2"))

    assert world.sms.calls == 2 and world.records.writes == 1 and world.records.promotional_conflicts == 1
    assert [outcome(world, key) for key in ("p-1", "p-2")] == [("SENT", None)] * 2
    assert [key for _, key, _, _ in world.contacts.promotional] == ["p-1", "p-2"]  # the second one write at a time
    assert set(world.contacts.states[SEATTLE].recent_promotional) == {"p-1", "p-2"}


def test_a_promotional_text_whose_one_write_failed_is_counted_once_with_its_outcome_last(world):
    world.contacts.states[SEATTLE] = ContactState(opted_in=True)
    world.records.answers_lost = 1  # written, but the answer lost: the writes one by one find theirs done

    run_batch(world.sender(), promo("p-1"))

    assert world.sms.calls == 1 and outcome(world, "p-1") == ("SENT", None)
    assert set(world.contacts.states[SEATTLE].recent_promotional) == {"p-1"}


def test_a_lost_answer_of_the_one_write_neither_texts_again_nor_records_twice(world):
    sender = world.sender()
    world.records.answers_lost = 1

    run_batch(sender, request("t-1"))
    world.clock.advance(300)
    run_batch(sender, request("t-1"))  # SQS delivers it again, minutes later

    assert world.sms.calls == 1 and world.claims.items["t-1"].status == DONE and outcome(world, "t-1") == ("SENT", None)
    assert len({entry["message_id"] for entry in world.ledger.sent}) == 1
    assert "sent text not recorded in one write; recorded one write at a time" in world.log.messages("WARNING")


def test_a_text_whose_one_write_lost_its_answer_is_still_counted_once_on_its_metrics_and_run(world):
    sender = world.sender()
    world.records.answers_lost = 1
    campaign = {"campaignId": "spring", "runId": "r1"}

    run_batch(sender, request("spring:r1:0", campaign=campaign))
    world.clock.advance(300)
    run_batch(sender, request("spring:r1:0", campaign=campaign))  # delivered again: nothing more to count

    assert world.sms.calls == 1
    assert world.counts.totals()["OutboundSent"] == 1 and world.counts.totals()["OutboundPartsSent"] == 1
    assert world.campaign_runs.counts[("spring", "r1")] == {"sent": 1}


def test_a_duplicate_that_reuses_a_sent_texts_result_does_not_count_it_again(world, monkeypatch):
    """The duplicate read no outcome (before the first attempt's one write landed), then found the claim
    done: it reuses the result, finds the outcome SENT by the other attempt and counts nothing."""
    at = world.clock.now()
    result = {"status": "SENT", "message_id": "m-first", "at": at}
    world.claims.items["t-1"] = Existing(DONE, at + 60, result, round(at, 3))
    world.outcomes.items["t-1"] = RequestOutcome("t-1", "SENT", "2026-03-04T20:00:00+00:00", None, "m-first")
    world.outcomes.written_by["t-1"] = attempt_token(at)  # the first attempt's, which counts it itself
    monkeypatch.setattr(world.outcomes, "get_many", lambda keys: {})  # the duplicate's read came first

    run_batch(world.sender(), request("t-1"))

    assert world.sms.calls == 0 and outcome(world, "t-1") == ("SENT", None)
    assert "OutboundSent" not in world.counts.totals()


def test_a_failure_after_the_send_is_recorded_on_the_retry_without_texting_again(world):
    sender = world.sender()
    world.ledger.failures = 1  # the one write fails, then the ledger's own write: the record fails

    assert run_batch(sender, request("t-1")) == ["m-0"]
    assert "t-1" not in world.outcomes.items and world.claims.items["t-1"].status == DONE
    run_batch(sender, request("t-1"))

    assert world.sms.calls == 1 and outcome(world, "t-1") == ("SENT", None) and len(world.ledger.sent) == 1
    assert world.counts.totals()["OutboundSent"] == 1


def test_the_claims_completion_is_tried_again_at_once(world):
    world.claims.finish_failures = 2

    run_batch(world.sender(), request("c-1"))

    assert world.claims.items["c-1"].status == DONE and outcome(world, "c-1") == ("SENT", None)
    assert world.clock.slept == [pytest.approx(BOOKING_LEAD_SECONDS)]  # its slot only: no pause for the retries


def test_a_claim_that_cannot_be_completed_still_keeps_the_text_from_going_twice(world):
    sender = world.sender()
    world.claims.finish_failures = 3

    run_batch(sender, request("c-1"))
    del world.outcomes.items["c-1"]
    run_batch(sender, request("c-1"))

    assert world.sms.calls == 1 and world.claims.items["c-1"].status == SENDING
    assert "send result not kept with its claim; the claim keeps it from going twice" in world.log.messages("WARNING")


# -- consent and refusals ------------------------------------------------------------------------------
def test_a_number_opted_out_in_the_table_is_refused_without_a_call(world):
    world.contacts.states[SEATTLE] = ContactState(opted_out=True)

    run_batch(world.sender(), request("r-1"))

    assert world.sms.calls == 0 and outcome(world, "r-1") == ("REFUSED", "OPTED_OUT")
    assert world.counts.totals() == {"OutboundRefusedOptedOut": 1}


def test_the_numbers_opt_out_list_refuses_and_is_learned(world):
    world.sms.opted_out.add(SEATTLE)

    run_batch(world.sender(), request("r-1"))

    assert outcome(world, "r-1") == ("REFUSED", "OPTED_OUT")
    assert world.outcomes.items["r-1"].code == "DESTINATION_PHONE_NUMBER_OPTED_OUT"
    [consent] = world.contacts.consents
    assert (consent["number"], consent["source"], consent["message_id"]) == (SEATTLE, "OPT_OUT_LIST", "r-1")


@pytest.mark.parametrize(
    "error, reason, code",
    [
        (
            PriceAboveMax("ValidationException", "too dear", reason="PRICE_OVER_THRESHOLD"),
            "PRICE_ABOVE_MAX",
            "ValidationException:PRICE_OVER_THRESHOLD",
        ),
        (SendRejected("AccessDeniedException", "no"), "REJECTED", "AccessDeniedException"),
    ],
)
def test_a_rejected_send_is_refused_with_its_reason_and_code(world, error, reason, code):
    world.sms.fail_next(error)

    assert run_batch(world.sender(), request("v-1")) == []

    assert outcome(world, "v-1") == ("REFUSED", reason) and world.outcomes.items["v-1"].code == code


def test_a_second_promotional_text_to_a_number_in_one_batch_counts_against_its_daily_limit(world):
    world.contacts.states[SEATTLE] = ContactState(opted_in=True)

    run_batch(world.sender(), promo("p-0"), promo("p-1"), promo("p-2"))

    assert world.sms.keys() == ["p-0", "p-1"] and outcome(world, "p-2") == ("REFUSED", "OVER_DAILY_LIMIT")
    assert [key for _, key, _, _ in world.contacts.promotional] == ["p-0", "p-1"]


def test_a_refusal_is_counted_once_on_its_campaign_run(world):
    sender = world.sender()
    body = promo("spring:r1:x", campaign={"campaignId": "spring", "runId": "r1"})

    run_batch(sender, body, body)
    run_batch(sender, body)

    assert world.campaign_runs.counts[("spring", "r1")] == {"refused_NO_OPT_IN": 1}


def test_the_batch_reads_outcomes_and_contacts_ahead_not_one_record_at_a_time(world):
    run_batch(world.sender(), request("a-1"), request("a-2", destination="+12065550124"), "not json")

    assert world.outcomes.single_reads == 0 and world.contacts.single_reads == 0 and len(world.sms.sent) == 2


# -- malformed requests ------------------------------------------------------------------------------
def test_a_malformed_request_is_parked_with_its_reason_and_its_record_succeeds(world):
    assert run_batch(world.sender(), "not json", request("good-1")) == []

    [parked] = world.dead_letters.parked
    assert parked["body"] == "not json" and parked["reason"].startswith("request is not JSON")
    assert (parked["source"], parked["sqsMessageId"], parked["receiveCount"]) == ("sender", "m-0", "1")
    [(_, message, fields)] = [line for line in world.log.lines if line[0] == "ERROR"]
    assert message.startswith("malformed send request parked") and fields["dead_letter_message_id"] == "dead-1"
    assert world.counts.totals()["OutboundMalformed"] == 1 and world.sms.keys() == ["good-1"]


def test_without_a_dead_letter_queue_a_malformed_request_fails_its_record():
    world = OutboundWorld(dead_letters=None)

    assert run_batch(world.sender(), "not json") == ["m-0"]


# -- holds -------------------------------------------------------------------------------------------
def test_a_promotional_text_at_11pm_is_held_in_the_table_until_8am():
    world = OutboundWorld()
    world.clock.advance(ELEVEN_PM_IN_SEATTLE - NOON_IN_SEATTLE)
    world.contacts.states[SEATTLE] = ContactState(opted_in=True)

    run_batch(world.sender(), promo("p-1"))

    assert world.held.held == [("p-1", datetime.fromtimestamp(EIGHT_AM_IN_SEATTLE, timezone.utc))]
    assert outcome(world, "p-1") == ("HELD", "QUIET_HOURS") and world.queue.enqueued == []


def test_a_promotional_text_ten_minutes_before_8am_waits_in_the_queue():
    world = OutboundWorld()
    world.clock.advance(EIGHT_AM_IN_SEATTLE - 600 - NOON_IN_SEATTLE)
    world.contacts.states[SEATTLE] = ContactState(opted_in=True)

    run_batch(world.sender(), promo("p-1"))

    assert world.queue.enqueued == [("p-1", 600)] and world.held.held == []
    assert world.counts.totals() == {"OutboundHeld": 1}


# -- the budget -----------------------------------------------------------------------------------------
def test_over_the_budget_a_promotional_text_is_parked_and_a_transactional_one_goes():
    world = OutboundWorld(budget=SpendBudget(Decimal("10")))
    world.spend.spend = Decimal("10.00")
    world.contacts.states[SEATTLE] = ContactState(opted_in=True)

    run_batch(world.sender(), promo("p-1"), request("otp-1", destination="+12065550124"))

    assert world.sms.keys() == ["otp-1"] and world.held.parked == [("p-1", "BUDGET_REACHED")]
    [(_, _, fields)] = [line for line in world.log.lines if "reached the budget" in line[1]]
    assert (fields["month"], fields["spend_usd"], fields["budget_usd"]) == ("2026-03", "10.00", "10")
    assert world.spend.reads == 1  # once for the batch


def test_a_request_the_budget_held_schedules_the_release_of_all_once_it_may_go_at_most_every_5_minutes():
    world = OutboundWorld(budget=SpendBudget(Decimal("50")))
    world.spend.spend = Decimal("10")
    sender = world.sender()
    for key in ("p-1", "p-2", "p-3"):
        world.outcomes.items[key] = RequestOutcome(key, "HELD", "2026-03-04T19:00:00Z", reason="BUDGET_REACHED")

    run_batch(sender, request("p-1"))
    run_batch(sender, request("p-2", destination="+12065550124"))
    world.clock.advance(301)
    run_batch(sender, request("p-3", destination="+12065550125"))

    assert len(world.held.releases) == 2 and world.sms.keys() == ["p-1", "p-2", "p-3"]


def test_the_accounts_spend_limit_parks_the_request_and_releases_its_claim(world):
    sender = world.sender()
    world.sms.fail_next(
        SendRejected("ServiceQuotaExceededException", "limit", reason="MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT")
    )

    assert run_batch(sender, request("otp-1")) == []

    assert world.held.parked == [("otp-1", "ACCOUNT_SPEND_LIMIT")] and world.claims.items["otp-1"].status == NOT_SENT
    assert outcome(world, "otp-1") == ("HELD", "ACCOUNT_SPEND_LIMIT") and world.held.releases == []

    run_batch(sender, request("otp-1"))  # the limit was raised: its send brings the rest back

    assert world.sms.keys() == ["otp-1"] and len(world.held.releases) == 1


def test_when_the_months_spend_cannot_be_read_every_record_fails_with_the_reason():
    world = OutboundWorld(budget=SpendBudget(Decimal("10")))
    world.spend.fail = True
    sender = world.sender()
    records = [QueuedRequest("m-0", request("otp-1")), QueuedRequest("m-1", request("otp-2"))]

    with pytest.raises(RuntimeError) as raised:
        sender.start(records, remaining_seconds=30)
    assert sender.reads_failed(records, raised.value) == ["m-0", "m-1"]

    assert [fields["sqs_message_id"] for _, _, fields in world.log.lines] == ["m-0", "m-1"]
    assert {fields["reason"] for _, _, fields in world.log.lines} == {
        "RuntimeError: ProvisionedThroughputExceededException"
    }


# -- pacing and deferrals --------------------------------------------------------------------------------
def test_a_batch_is_booked_in_one_write_and_each_text_waits_for_its_slot(world):
    run_batch(world.sender(), *[request(f"b-{n}", destination=f"+1206555{n:04d}") for n in range(6)])

    assert world.schedule.writes == [OUR_NUMBER]
    times = [entry["sent_at_ms"] / 1000 for entry in world.ledger.sent]
    assert len(times) == 6 and times[-1] - times[0] >= 5 / 3 - 1e-3  # 3 MPS


def test_a_campaign_with_its_own_mps_is_booked_on_its_schedule_first(world):
    campaign = {"campaignId": "spring", "runId": "r1", "mps": 1.0}

    run_batch(
        world.sender(),
        *[request(f"spring:r1:{n}", destination=f"+1206555{n:04d}", campaign=campaign) for n in range(4)],
    )

    assert world.schedule.writes == ["campaign#spring", OUR_NUMBER]
    times = [entry["sent_at_ms"] / 1000 for entry in world.ledger.sent]
    assert all(b - a >= 1 - 1e-3 for a, b in zip(times, times[1:]))
    assert world.campaign_runs.counts[("spring", "r1")] == {"sent": 4}
    assert world.campaign_runs.writes == 1  # once for the batch, not once a text


def spring_batch(world: OutboundWorld) -> None:
    campaign = {"campaignId": "spring", "runId": "r1"}
    run_batch(
        world.sender(),
        *[request(f"spring:r1:{n}", destination=f"+1206555{n:04d}", campaign=campaign) for n in range(3)],
    )


def test_a_run_count_write_throttled_is_tried_again_and_counted_once(world):
    throttled = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")
    world.campaign_runs.refusals = [throttled, throttled]

    spring_batch(world)

    assert world.campaign_runs.counts[("spring", "r1")] == {"sent": 3} and world.campaign_runs.writes == 3


def test_a_run_count_write_whose_answer_was_lost_is_not_tried_again_so_never_counted_twice(world):
    world.campaign_runs.answers_lost = [ReadTimeoutError(endpoint_url="https://dynamodb.example")]

    spring_batch(world)

    assert world.campaign_runs.counts[("spring", "r1")] == {"sent": 3} and world.campaign_runs.writes == 1
    assert "campaign run counts not added (or their answer lost); the requests' outcomes are recorded" in (
        world.log.messages("WARNING")
    )
    assert [outcome(world, f"spring:r1:{n}") for n in range(3)] == [("SENT", None)] * 3


def test_a_schedule_booked_beyond_the_horizon_defers_until_the_slot_is_near(world):
    now = pacing.to_microseconds(world.clock.now() + 60)
    world.schedule.schedules[OUR_NUMBER] = pacing.Schedule(next_free_at=now, busy_until=now)

    assert run_batch(world.sender(), request("busy-1")) == []

    assert world.sms.calls == 0 and world.queue.enqueued == [("busy-1", 45)]
    assert world.counts.totals() == {"OutboundDeferred": 1}


def test_a_low_time_budget_defers_the_batch_instead_of_failing_it(world):
    assert (
        run_batch(world.sender(), request("late-1"), request("late-2", destination="+12065550124"), remaining=4.0) == []
    )

    assert world.sms.calls == 0 and world.queue.enqueued == [("late-1", 0), ("late-2", 0)]


def test_a_deferral_that_cannot_be_queued_fails_its_record(world):
    world.queue.failing = True

    assert run_batch(world.sender(), request("late-1"), remaining=4.0) == ["m-0"]


def test_a_schedule_that_cannot_be_booked_fails_every_planned_record(world):
    world.schedule.fail = True

    assert run_batch(world.sender(), request("s-1"), request("s-2", destination="+12065550124")) == ["m-0", "m-1"]

    assert world.sms.calls == 0
    assert (
        world.log.messages("ERROR")
        == ["record failed: its slot could not be booked; it goes back to its queue and is retried"] * 2
    )


@pytest.mark.parametrize(
    "fault, what",
    [
        ("schedule", "record failed: its slot could not be booked"),
        ("ledger", "send failed"),
        ("queue", "could not defer the request"),
    ],
)
def test_a_record_failing_on_its_last_receive_is_logged_as_going_to_the_dead_letter_queue(world, fault, what):
    world.schedule.fail = fault == "schedule"
    world.ledger.failures = 9 if fault == "ledger" else 0
    world.queue.failing = fault == "queue"

    assert run_batch(world.sender(), request("s-1"), remaining=4.0 if fault == "queue" else 30.0, receives=5) == ["m-0"]

    [(_, message, fields)] = [line for line in world.log.lines if line[0] == "ERROR"]
    assert message == f"{what}; it was its last receive: it goes to the dead-letter queue"
    assert (fields["sqs_message_id"], fields["receive_count"]) == ("m-0", 5)


def test_a_batch_whose_reads_failed_names_each_record_and_its_receive(world):
    records = [QueuedRequest("m-0", request("r-1"), "2"), QueuedRequest("m-1", request("r-2"), "5")]

    assert world.sender().reads_failed(records, RuntimeError("throttled")) == ["m-0", "m-1"]

    assert [(message, fields["receive_count"]) for _, message, fields in world.log.lines] == [
        ("record failed: the batch's reads failed; it goes back to its queue and is retried", 2),
        ("record failed: the batch's reads failed; it was its last receive: it goes to the dead-letter queue", 5),
    ]


def test_throttles_back_off_exponentially_in_the_environment_and_pause_the_numbers_schedule(world):
    sender = world.sender()
    throttle = RetryableSendError("ThrottlingException")

    world.sms.fail_next(throttle)
    run_batch(sender, request("t-1"))
    world.clock.advance(60)
    world.sms.fail_next(throttle)
    run_batch(sender, request("t-1"))
    world.clock.advance(60)
    run_batch(sender, request("t-1"))  # sent: the back-off starts again
    world.clock.advance(60)
    world.sms.fail_next(throttle)
    run_batch(sender, request("t-2"))

    delays = [delay for _, delay in world.queue.enqueued]
    assert 2 <= delays[0] <= 4 and 4 <= delays[1] <= 6 and 2 <= delays[2] <= 4
    assert world.sms.keys() == ["t-1"] and world.counts.totals()["OutboundThrottled"] == 3
    # Four batches booked, and each throttle a second of the number's throughput for everyone, beyond any horizon.
    assert world.schedule.writes.count(OUR_NUMBER) == 4 + 3
    assert world.claims.items["t-2"].status == NOT_SENT  # surely not sent: a retry may claim it again


# -- conversations ----------------------------------------------------------------------------------------
def test_a_request_that_opens_a_conversation_texts_the_prompt_and_stores_it_with_the_prompts_id():
    world = OutboundWorld(conversations=MemoryConversations(), flows=parse_flows(READY_FLOWS))

    run_batch(world.sender(), request("appt-1", variables=VISIT, conversation={"flow": "appointment"}))

    [text] = world.sms.sent
    assert text.body.startswith("Hi Ana, this is a reminder of your appointment")
    assert world.conversations.stored["appt-1"].prompt_message_ids == (text.message_id,)
    assert world.records.writes == 1 and outcome(world, "appt-1") == ("SENT", None)  # with its outcome, in one write


def test_a_flow_that_takes_a_code_texts_the_code_derived_from_the_request():
    world = OutboundWorld(
        conversations=MemoryConversations(), flows=parse_flows(READY_FLOWS), code_for=lambda conversation_id: "424242"
    )
    charge = {"merchant": "Example Bank", "amount": "$412.00", "card_last4": "0042"}

    run_batch(world.sender(), request("txn-9", variables=charge, conversation={"flow": "transaction"}))

    assert "Reply YES 424242" in world.sms.sent[0].body


@pytest.mark.parametrize(
    "conversations, code_for, variables, reason",
    [
        (None, None, VISIT, "UNKNOWN_FLOW"),  # a sender without conversations
        (MemoryConversations(), None, {"first_name": "Ana"}, "MISSING_VARIABLES"),
    ],
)
def test_a_conversation_that_cannot_be_opened_is_refused(conversations, code_for, variables, reason):
    world = OutboundWorld(conversations=conversations, flows=parse_flows(READY_FLOWS), code_for=code_for)

    run_batch(world.sender(), request("bad-1", variables=variables, conversation={"flow": "appointment"}))

    assert world.sms.calls == 0 and outcome(world, "bad-1") == ("REFUSED", reason)


# -- logs -------------------------------------------------------------------------------------------------
def test_every_line_about_a_request_names_it_masked_and_no_line_holds_the_number_or_the_body(world):
    run_batch(world.sender(), request("l-1", body="Secret code 987654"))

    sent = [fields for _, message, fields in world.log.lines if message == "sent"]
    assert sent and sent[0]["destination"] == "+1206*****23" and sent[0]["idempotency_key"] == "l-1"
    assert SEATTLE not in world.log.text() and "987654" not in world.log.text()
    assert world.log.keys == {}  # removed once the request is done


def test_the_horizon_leaves_a_second_per_send_and_a_margin():
    world = OutboundWorld()
    sender = world.sender()
    now = pacing.to_microseconds(world.clock.now() + 20)
    world.schedule.schedules[OUR_NUMBER] = pacing.Schedule(next_free_at=now, busy_until=now)

    run_batch(sender, request("h-1"), remaining=5.0 + 1.0 + 19.0)  # a horizon of 19 s: the slot is 20 s away

    assert world.sms.calls == 0 and world.queue.enqueued == [("h-1", math.ceil(20 - 15))]
