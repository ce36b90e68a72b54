"""The sender handler against emulated AWS: moto (DynamoDB, SQS, EventBridge Scheduler), the SMS
emulator (End User Messaging) and a simulated clock, so hours of pacing and holds run in seconds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.ledger import MessageLedger, SentText
from two_way_sms.adapters.request_outcomes import RequestOutcomes
from two_way_sms.adapters.sent_records import SentRecords
from two_way_sms.handlers import sender as sender_function
from two_way_sms.services.slot_booking import BOOKING_LEAD_SECONDS
from two_way_sms_local.emulation import FakeLambdaContext, sender_environment
from two_way_sms_local.sender_world import (
    EIGHT_AM_IN_SEATTLE,
    ELEVEN_PM_IN_SEATTLE,
    MPS,
    NOON_IN_SEATTLE,
    OKLAHOMA_CITY,
    OUR_NUMBER,
    SEATTLE,
    TEMPLATES,
    SenderHarness,
    send_request,
    sender_world,
)

__all__ = [
    "EIGHT_AM_IN_SEATTLE",
    "ELEVEN_PM_IN_SEATTLE",
    "MPS",
    "NOON_IN_SEATTLE",
    "OKLAHOMA_CITY",
    "OUR_NUMBER",
    "SEATTLE",
    "TEMPLATES",
    "SenderHarness",
    "build_harness",
    "emitted_metrics",
    "send_request",
]


@contextmanager
def build_harness(
    monkeypatch: pytest.MonkeyPatch, *, start: float = NOON_IN_SEATTLE, conversations: bool = True, **options: Any
) -> Iterator[SenderHarness]:
    """``sender_world`` (see two_way_sms_local.sender_world), with the function's environment in
    ``os.environ`` too: a function wired beside it from the environment finds the same tables."""
    with sender_world(start=start, conversations=conversations, **options) as harness:
        for name, value in harness.environment.items():
            monkeypatch.setenv(name, value)
        yield harness


@pytest.fixture
def harness(monkeypatch):
    with build_harness(monkeypatch) as built:
        yield built


@pytest.fixture
def night_harness(monkeypatch):
    with build_harness(monkeypatch, start=ELEVEN_PM_IN_SEATTLE) as built:
        yield built


@pytest.fixture
def harness_at(monkeypatch):
    """A harness whose clock starts at the given epoch second."""
    with ExitStack() as stack:
        yield lambda start: stack.enter_context(build_harness(monkeypatch, start=start))


def emitted_metrics(capsys: pytest.CaptureFixture) -> dict[str, float]:
    """Sums of the EMF metrics the handler printed so far."""
    totals: dict[str, float] = {}
    for line in capsys.readouterr().out.splitlines():
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if not isinstance(blob, dict) or "_aws" not in blob:
            continue
        for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = blob[metric["Name"]]
            totals[metric["Name"]] = totals.get(metric["Name"], 0) + (sum(value) if isinstance(value, list) else value)
    return totals


# -- consent ----------------------------------------------------------------------------------
@pytest.mark.parametrize("message_type", ["TRANSACTIONAL", "PROMOTIONAL"])
def test_a_number_opted_out_in_our_table_never_receives_a_message(harness, capsys, message_type):
    harness.opt_in(SEATTLE)
    harness.opt_out(SEATTLE)
    harness.submit(send_request("r-1", message_type=message_type))

    harness.drain()

    assert harness.sms.sent == []
    outcome = harness.outcome("r-1")
    assert (outcome.status, outcome.reason) == ("REFUSED", "OPTED_OUT")
    assert emitted_metrics(capsys)["OutboundRefusedOptedOut"] == 1


def test_a_number_on_the_services_opt_out_list_is_refused_and_learned(harness):
    harness.sms.opted_out.add(SEATTLE)
    harness.submit(send_request("r-1"))
    harness.drain()

    assert harness.sms.sent == []
    assert (harness.outcome("r-1").status, harness.outcome("r-1").reason) == ("REFUSED", "OPTED_OUT")
    assert harness.app.contacts.is_opted_out(SEATTLE)
    proofs = harness.dynamodb.Table("contacts").query(
        KeyConditionExpression="phone_number = :n AND begins_with(#r, :p)",
        ExpressionAttributeNames={"#r": "record"},
        ExpressionAttributeValues={":n": SEATTLE, ":p": "CONSENT#"},
    )["Items"]
    assert [(p["change"], p["source"], p["message_id"]) for p in proofs] == [("OPTED_OUT", "OPT_OUT_LIST", "r-1")]

    # Our table now knows: the next request is refused without asking the service.
    harness.sms.opted_out.clear()
    harness.submit(send_request("r-2"))
    harness.drain()
    assert harness.sms.sent == []


def test_a_promotional_message_without_a_recorded_opt_in_is_refused(harness, capsys):
    harness.submit(send_request("promo-1", message_type="PROMOTIONAL", body="20% off today"))
    harness.drain()

    assert harness.sms.sent == []
    assert (harness.outcome("promo-1").status, harness.outcome("promo-1").reason) == ("REFUSED", "NO_OPT_IN")
    assert emitted_metrics(capsys)["OutboundRefusedNoOptIn"] == 1


def test_a_promotional_message_to_an_opted_in_contact_is_sent_with_the_opt_out_instruction(harness):
    harness.opt_in(SEATTLE)
    harness.submit(send_request("promo-1", message_type="PROMOTIONAL", body="20% off today"))
    harness.drain()

    [text] = harness.sms.sent
    assert text.body == "20% off today\nReply STOP to opt out" and text.message_type == "PROMOTIONAL"
    state = harness.app.contacts.contact_state(SEATTLE)
    assert list(state.recent_promotional) == ["promo-1"]


def test_the_daily_promotional_limit_refuses_the_third_message(harness):
    harness.opt_in(SEATTLE)
    harness.submit(*[send_request(f"promo-{i}", message_type="PROMOTIONAL", body=f"Offer {i}") for i in range(3)])
    harness.drain()

    assert len(harness.sms.sent) == 2
    assert harness.outcome("promo-2").reason == "OVER_DAILY_LIMIT"


# -- quiet hours and holds --------------------------------------------------------------------
def test_a_promotional_message_at_11pm_local_is_held_in_the_table_and_sent_after_release(night_harness):
    h = night_harness
    h.opt_in(SEATTLE)
    h.submit(send_request("promo-1", message_type="PROMOTIONAL", body="Spring sale"))
    h.drain()

    assert h.sms.sent == [] and h.pending() == []
    assert (h.outcome("promo-1").status, h.outcome("promo-1").reason) == ("HELD", "QUIET_HOURS")
    [item] = h.outbound_items("HOLD#")
    assert (item["pk"], item["sk"]) == ("HOLD#2026-03-05T16:00", "promo-1")
    schedule = h.scheduler.get_schedule(Name="release-20260305T1600", GroupName="two-way-sms")
    assert schedule["ScheduleExpression"] == "at(2026-03-05T16:00:00)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE" and schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == "arn:aws:lambda:us-east-1:123456789012:function:campaigns"
    assert target["RoleArn"] == "arn:aws:iam::123456789012:role/scheduler"
    assert target["DeadLetterConfig"]["Arn"] == "arn:aws:sqs:us-east-1:123456789012:schedule-dead-letters"
    assert json.loads(target["Input"]) == {"kind": "release", "minute": "2026-03-05T16:00"}

    # The release job at 08:00 local moves the minute's requests back into the queue.
    h.clock.set(EIGHT_AM_IN_SEATTLE)
    requests, more = h.app.held.take("2026-03-05T16:00", 100)
    assert not more and [r.idempotency_key for r in requests] == ["promo-1"]
    h.app.queue.enqueue(requests)
    h.drain()

    [text] = h.sms.sent
    assert text.at >= EIGHT_AM_IN_SEATTLE and text.body.endswith("Reply STOP to opt out")
    assert h.outcome("promo-1").status == "SENT" and h.outbound_items("HOLD#") == []


def test_a_promotional_message_ten_minutes_before_8am_is_delayed_in_the_queue(harness_at):
    h = harness_at(EIGHT_AM_IN_SEATTLE - 600)
    h.opt_in(SEATTLE)
    h.submit(send_request("promo-1", message_type="PROMOTIONAL", body="Spring sale"))
    h.invoke_once()

    assert h.sms.sent == [] and h.outbound_items("HOLD#") == []
    assert h.recording.delays[-1] == 600  # SQS keeps it back until 08:00 local
    assert h.outcome("promo-1").status == "HELD"

    h.drain()
    [text] = h.sms.sent
    assert EIGHT_AM_IN_SEATTLE <= text.at < EIGHT_AM_IN_SEATTLE + 1


def test_a_transactional_message_at_11pm_local_is_sent_at_once(night_harness):
    night_harness.submit(send_request("otp-1"))
    night_harness.drain()

    [text] = night_harness.sms.sent
    # at once: its slot is the booking's lead after the invocation began
    assert text.at == pytest.approx(ELEVEN_PM_IN_SEATTLE + BOOKING_LEAD_SECONDS)
    assert text.message_type == "TRANSACTIONAL"


def test_a_send_after_time_holds_a_transactional_message_until_then(harness):
    later = datetime.fromtimestamp(NOON_IN_SEATTLE + 120, tz=timezone.utc)
    harness.submit(send_request("reminder-1", sendAfter=later.isoformat()))
    harness.drain()

    [text] = harness.sms.sent
    assert NOON_IN_SEATTLE + 120 <= text.at < NOON_IN_SEATTLE + 122


# -- at most once -----------------------------------------------------------------------------
def test_the_same_idempotency_key_twice_sends_once(harness):
    harness.submit(send_request("dup-1"), send_request("dup-1"))
    harness.drain()
    harness.submit(send_request("dup-1"))  # a later duplicate, after the outcome is SENT
    harness.drain()

    assert len(harness.sms.sent) == 1
    assert harness.batch_failures == 0


def test_a_duplicate_is_not_sent_again_even_when_its_outcome_was_lost(harness):
    harness.submit(send_request("dup-1"))
    harness.drain()
    harness.dynamodb.Table("outbound").delete_item(Key={"pk": "REQUEST#dup-1", "sk": "OUTCOME"})

    harness.submit(send_request("dup-1"))
    harness.drain()

    assert len(harness.sms.sent) == 1  # the send's claim remembers it
    assert harness.outcome("dup-1").status == "SENT"  # and the bookkeeping is repeated


# -- pacing -----------------------------------------------------------------------------------
def test_a_burst_of_150_requests_draws_no_throttle_and_respects_the_numbers_mps(harness, monkeypatch):
    # moto evaluates the ledger's long update expression slowly; the ledger write has its own test.
    monkeypatch.setattr(MessageLedger, "record_sent", lambda self, sent: None)
    long_body = "Your order has shipped. " * 8  # 192 characters: 2 GSM-7 parts
    requests = [
        send_request(
            f"burst-{i}", destination=f"+1206555{i:04d}", body=long_body if i % 3 == 0 else "Your code is 123456."
        )
        for i in range(150)
    ]
    harness.submit(*requests)

    harness.drain()

    sent = harness.sms.sent
    assert len(sent) == 150 and harness.sms.throttles == 0 and harness.batch_failures == 0
    for index, text in enumerate(sent):  # the emulator's rule, checked independently of it
        window = [t for t in sent[:index] if t.at > text.at - 1 + 1e-6]
        assert sum(t.parts for t in window) + text.parts <= max(MPS, text.parts) + 1e-6
    parts = sum(t.parts for t in sent)
    end = max(t.at + t.parts / MPS for t in sent)  # when the last parts' share of a second is used
    assert parts / (end - sent[0].at) <= MPS + 1e-6  # no faster than MPS overall...
    assert parts / (end - sent[0].at) >= 0.9 * MPS  # ...and not much slower


def test_a_campaign_with_its_own_mps_is_paced_below_the_numbers(harness):
    campaign = {"campaignId": "spring", "runId": "r1", "maxPerRecipient": 1, "mps": 1.0}
    harness.submit(
        *[send_request(f"spring:r1:{i}", destination=f"+1206555{i:04d}", campaign=campaign) for i in range(6)]
    )
    harness.drain()

    times = [t.at for t in harness.sms.sent]
    assert len(times) == 6 and all(b - a >= 1 - 1e-6 for a, b in zip(times, times[1:]))
    report = harness.app.campaign_runs.read("spring", "r1")
    assert report.sent == 6
    assert all(t.context["campaign"] == "spring/r1" for t in harness.sms.sent)


def test_a_schedule_booked_beyond_the_horizon_defers_the_request_without_sending(harness, capsys):
    table = harness.dynamodb.Table("outbound")
    table.put_item(
        Item={
            "pk": f"THROUGHPUT#{OUR_NUMBER}",
            "sk": "SCHEDULE",
            "next_free_at": Decimal(str(NOON_IN_SEATTLE + 60)),
            "window": [],
        }
    )
    harness.submit(send_request("busy-1"))
    harness.invoke_once()

    assert harness.sms.sent == [] and harness.batch_failures == 0
    assert harness.recording.delays[-1] == 45  # back when the slot is within the next horizon
    assert emitted_metrics(capsys)["OutboundDeferred"] == 1

    harness.drain()
    [text] = harness.sms.sent
    assert text.at >= NOON_IN_SEATTLE + 60


def test_a_throttle_from_the_service_defers_the_request_which_is_sent_later(harness, capsys):
    harness.sms.fail_next("ThrottlingException")
    harness.submit(send_request("t-1"))
    harness.invoke_once()

    assert harness.sms.sent == [] and harness.batch_failures == 0
    [waiting] = harness.pending()  # still in the queue, delayed
    assert json.loads(waiting.body)["idempotencyKey"] == "t-1" and waiting.visible_at > harness.clock.now()
    assert emitted_metrics(capsys)["OutboundThrottled"] == 1

    harness.drain()
    assert [t.context["sendKey"] for t in harness.sms.sent] == ["t-1"]
    assert harness.outcome("t-1").status == "SENT"


def test_a_batch_is_booked_on_the_numbers_schedule_in_one_write(harness, monkeypatch):
    writes = []
    harness.on_call("PutItem", lambda params: writes.append(params["Item"]["pk"]["S"]))
    harness.submit(*[send_request(f"one-write-{i}", destination=f"+1206555{i:04d}") for i in range(10)])

    harness.invoke_once()

    assert len(harness.sms.sent) == 10
    assert [pk for pk in writes if pk.startswith("THROUGHPUT#")] == [f"THROUGHPUT#{OUR_NUMBER}"]


def test_a_batch_reads_its_outcomes_and_contacts_in_one_batch_read_each(harness, monkeypatch):
    def one_at_a_time(*args: Any) -> None:
        raise AssertionError("a record read on its own")

    harness.opt_in(SEATTLE)
    monkeypatch.setattr(RequestOutcomes, "get", one_at_a_time)  # the function's adapters are its own
    monkeypatch.setattr(ContactsTable, "contact_state", one_at_a_time)
    harness.submit(
        send_request("ahead-1"), send_request("ahead-2", message_type="PROMOTIONAL", body="20% off"), "not json"
    )

    result = harness.invoke_once()

    assert sorted(t.context["sendKey"] for t in harness.sms.sent) == ["ahead-1", "ahead-2"]
    assert len(result["batchItemFailures"]) == 1  # the malformed one, failed by its own handler


def test_a_failure_after_one_send_fails_only_that_record_and_its_retry_does_not_text_again(harness, monkeypatch):
    record_sent, record_together = MessageLedger.record_sent, SentRecords.record
    failures = {"together": iter([RuntimeError("TransactionCanceledException")]), "ledger": iter([RuntimeError()])}

    def failing_once(route: str, sent: SentText) -> None:
        if sent.context["sendKey"] == "flaky-1" and (error := next(failures[route], None)) is not None:
            raise error

    def flaky_ledger(ledger: MessageLedger, sent: SentText) -> None:
        failing_once("ledger", sent)
        record_sent(ledger, sent)

    def flaky_together(records: SentRecords, key: str, **kwargs: Any) -> bool:
        failing_once("together", kwargs["sent"])
        return record_together(records, key, **kwargs)

    # The function's ledger is its own: its one write after the send fails, then the ledger's own write.
    monkeypatch.setattr(MessageLedger, "record_sent", flaky_ledger)
    monkeypatch.setattr(SentRecords, "record", flaky_together)
    harness.submit(*[send_request(f"flaky-{i}", destination=f"+1206555{i:04d}") for i in range(3)])

    result = harness.invoke_once()

    assert len(result["batchItemFailures"]) == 1 and len(harness.sms.sent) == 3
    harness.drain()  # SQS redelivers the failed record: its send is remembered, its bookkeeping completed
    assert sorted(t.context["sendKey"] for t in harness.sms.sent) == ["flaky-0", "flaky-1", "flaky-2"]
    assert harness.outcome("flaky-1").status == "SENT"


def test_a_low_time_budget_defers_the_rest_of_the_batch_instead_of_failing_it(harness):
    @dataclass(frozen=True)
    class AlmostOutOfTime(FakeLambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return 4_000

    harness.submit(send_request("late-1"), send_request("late-2"))
    result = harness.invoke_once(context=AlmostOutOfTime(function_name="sender"))

    assert result == {"batchItemFailures": []} and harness.sms.sent == []
    assert len(harness.pending()) == 2
    harness.drain()
    assert len(harness.sms.sent) == 2


# -- what is sent and recorded ----------------------------------------------------------------
def test_the_ledger_records_the_send_with_its_send_key_and_context(harness):
    harness.submit(send_request("order-42", context={"orderId": "42"}))
    harness.drain()

    [text] = harness.sms.sent
    assert text.context == {"orderId": "42", "sendKey": "order-42"}
    assert text.configuration_set == "outbound" and text.origination == OUR_NUMBER
    item = harness.app.ledger.get(text.message_id)
    assert (item["status"], item["sent_by"], item["destination_number"]) == ("SENT", "sender", SEATTLE)
    assert item["context"] == {"orderId": "42", "sendKey": "order-42"} and item["estimated_parts"] == 1
    outcome = harness.outcome("order-42")
    assert (outcome.status, outcome.message_id) == ("SENT", text.message_id)


def test_max_price_and_time_to_live_are_passed_through(harness):
    harness.submit(send_request("p-1"))
    harness.drain()

    [text] = harness.sms.sent
    assert (text.max_price, text.time_to_live) == ("0.05", 3600)


def test_a_price_above_max_price_is_refused_with_its_own_reason(harness, capsys):
    harness.sms.price_per_part_usd = Decimal("0.08")
    harness.submit(send_request("p-1"))
    harness.drain()

    assert harness.sms.sent == [] and harness.batch_failures == 0
    assert (harness.outcome("p-1").status, harness.outcome("p-1").reason) == ("REFUSED", "PRICE_ABOVE_MAX")
    assert emitted_metrics(capsys)["OutboundRefusedPriceAboveMax"] == 1


def test_another_rejection_is_refused_as_rejected_with_its_code_logged(harness):
    harness.sms.fail_next("ValidationException", reason="INVALID_IDENTITY_FOR_DESTINATION_COUNTRY")
    harness.submit(send_request("v-1"))
    harness.drain()

    outcome = harness.outcome("v-1")
    assert outcome.reason == "REJECTED"
    assert outcome.code == "ValidationException:INVALID_IDENTITY_FOR_DESTINATION_COUNTRY"
    assert harness.batch_failures == 0
    assert "INVALID_IDENTITY_FOR_DESTINATION_COUNTRY" in harness.logs.getvalue()


def test_smart_quotes_are_replaced_before_sending(harness):
    harness.submit(send_request("q-1", body="We\u2019re open \u201ctoday\u201d \u2013 come by\u2026"))
    harness.drain()

    [text] = harness.sms.sent
    assert text.body == 'We\'re open "today" - come by...' and text.parts == 1


def test_a_template_is_rendered_with_the_requests_variables(harness):
    harness.submit(send_request("a-1", templateId="appointment", variables={"first_name": "Ana", "when": "Mon 9:00"}))
    harness.drain()

    assert [t.body for t in harness.sms.sent] == ["Hi Ana, your appointment is Mon 9:00."]


def test_a_refusal_of_a_campaign_request_is_counted_once_on_its_run(harness):
    campaign = {"campaignId": "spring", "runId": "r1"}
    request = send_request("spring:r1:x", message_type="PROMOTIONAL", body="Sale", campaign=campaign)
    harness.submit(request, request)
    harness.drain()

    report = harness.app.campaign_runs.read("spring", "r1")
    assert dict(report.refused) == {"NO_OPT_IN": 1} and report.sent == 0


# -- bad input and configuration ------------------------------------------------------------
def test_a_malformed_request_fails_alone_with_a_logged_reason_and_no_number(harness, capsys):
    harness.submit(
        {
            "destination": SEATTLE,
            "messageType": "TRANSACTIONAL",
            "idempotencyKey": "m-1",
            "body": "hi",
            "sendafter": "tomorrow",
        },
        send_request("good-1"),
    )
    result = harness.invoke_once()

    assert len(result["batchItemFailures"]) == 1 and len(harness.sms.sent) == 1
    logged = harness.logs.getvalue()
    assert "unknown fields: sendafter" in logged and SEATTLE not in logged
    assert emitted_metrics(capsys)["OutboundMalformed"] == 1

    harness.drain()  # retried until the redrive policy parks it
    assert [json.loads(m.body)["idempotencyKey"] for m in harness.dead_letters] == ["m-1"]


def test_logs_never_hold_the_full_number_or_the_body(harness):
    harness.submit(send_request("l-1", body="Secret code 987654"))
    harness.drain()

    logged = harness.logs.getvalue()
    assert "+1206*****23" in logged and SEATTLE not in logged and "987654" not in logged


def test_the_handler_refuses_to_start_without_its_settings(monkeypatch):
    for name, value in sender_environment("https://queue", "{}").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OUTBOUND_TABLE")
    monkeypatch.delenv("SCHEDULE_DEAD_LETTER_QUEUE_ARN")

    with pytest.raises(
        RuntimeError,
        match=r"missing environment variables \['OUTBOUND_TABLE', "
        r"'SCHEDULE_DEAD_LETTER_QUEUE_ARN'\]",
    ):
        sender_function.handler({"Records": []}, FakeLambdaContext(function_name="sender"))  # wired at its first call
