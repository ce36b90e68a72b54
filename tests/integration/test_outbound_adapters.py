"""The sender's adapters against moto: the shared throughput schedule, held requests and their
release schedules, request outcomes, and the SMS gateway's error mapping (against the emulator)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError

from two_way_sms.adapters.batch_reads import BatchReadThrottled, batch_get
from two_way_sms.adapters.held_requests import HeldRequests, release_minute, schedule_name
from two_way_sms.adapters.request_outcomes import RequestOutcomes, attempt_token
from two_way_sms.adapters.sms import OutgoingText, PriceAboveMax, RetryableSendError, SendRejected, SmsGateway
from two_way_sms.adapters.throughput import ThroughputSchedule
from two_way_sms.outbound.request import SendRequest
from two_way_sms.pacing import Booking, Wanted
from two_way_sms_local.emulation import REGION, create_outbound_table
from two_way_sms_local.sms_emulator import SimulatedClock, SmsEmulator

NOW = 1_772_654_400.0  # 2026-03-04T20:00:00Z
KEY = "+18445550100"


@pytest.fixture
def table(emulated_aws):
    yield create_outbound_table(boto3.resource("dynamodb", region_name=REGION))


# -- throughput schedule ------------------------------------------------------------------------
def slot_times(bookings: list[Booking]) -> list[float]:
    return [booking.at - NOW for booking in bookings]


def test_a_batch_is_booked_in_one_write_and_kept_between_invocations(table):
    schedule = ThroughputSchedule(table)

    first = schedule.book_all(KEY, [Wanted(1)] * 3, 3.0, now=NOW, horizon=5)
    second = schedule.book(KEY, 1, 3.0, now=NOW, horizon=5)  # another invocation: after the batch

    assert slot_times(first) == pytest.approx([0, 1 / 3, 2 / 3], abs=1e-5)
    assert second.booked and second.at - NOW == pytest.approx(1, abs=1e-5)
    assert schedule.next_free_at(KEY) == pytest.approx(NOW + 4 / 3, abs=1e-5)
    item = table.get_item(Key={"pk": f"THROUGHPUT#{KEY}", "sk": "SCHEDULE"})["Item"]
    assert len(item["slots"]) == 4 and item["expires_at"] >= NOW + 86400


def test_a_slot_beyond_the_horizon_is_not_booked_and_says_when_it_could_go(table):
    schedule = ThroughputSchedule(table)
    schedule.book_all(KEY, [Wanted(1)] * 6, 1.0, now=NOW, horizon=10)

    booking = schedule.book(KEY, 1, 1.0, now=NOW, horizon=5)

    assert not booking.booked and booking.at == pytest.approx(NOW + 6, abs=1e-5)
    assert schedule.next_free_at(KEY) == pytest.approx(NOW + 6, abs=1e-5)  # nothing booked


def test_an_idle_schedule_books_now(table):
    schedule = ThroughputSchedule(table)
    schedule.book(KEY, 1, 1.0, now=NOW, horizon=5)

    assert schedule.book(KEY, 1, 1.0, now=NOW + 60, horizon=5).at == NOW + 60


def test_multi_part_sends_from_several_invocations_never_put_more_than_mps_parts_in_one_second(table):
    schedule = ThroughputSchedule(table)
    batches = [[2, 1, 1, 2], [2, 1, 3], [1, 2, 2]]

    booked = []
    for n, parts in enumerate(batches):
        bookings = schedule.book_all(KEY, [Wanted(p) for p in parts], 3.0, now=NOW + n * 0.1, horizon=60)
        booked += [(b.at, p) for b, p in zip(bookings, parts)]

    for at, p in booked:
        in_window = sum(q for t, q in booked if at - 1 + 1e-6 < t <= at)
        assert in_window <= max(3.0, p) + 1e-6


def test_two_schedules_interleaving_never_book_the_same_slot(table):
    """Instance A reads the schedule, then B books before each of A's writes: A's conditional write
    fails and answers with B's bookings, which A books around without reading again."""
    b = ThroughputSchedule(table)

    class Interleaving:
        def __init__(self, inner: Any) -> None:
            self.inner, self.conflicts, self.reads = inner, 0, 0

        def get_item(self, **kwargs: Any) -> Any:
            self.reads += 1
            return self.inner.get_item(**kwargs)

        def put_item(self, **kwargs: Any) -> Any:
            if self.conflicts < 3:
                self.conflicts += 1
                b.book(KEY, 1, 3.0, now=NOW, horizon=60)  # a concurrent invocation books meanwhile
            return self.inner.put_item(**kwargs)

    racing = Interleaving(table)
    a = ThroughputSchedule(racing)

    slot_a = a.book(KEY, 1, 3.0, now=NOW, horizon=60)

    assert (racing.conflicts, racing.reads) == (3, 1)
    assert slot_a.at == pytest.approx(NOW + 1, abs=1e-5)  # after B's three slots, not on one of them
    assert b.book(KEY, 1, 3.0, now=NOW, horizon=60).at == pytest.approx(NOW + 4 / 3, abs=1e-5)


def test_many_interleaved_bookings_from_two_instances_are_all_distinct_and_spaced(table):
    first, second = ThroughputSchedule(table), ThroughputSchedule(table)

    slots = sorted(s.book(KEY, 1, 2.0, now=NOW, horizon=60).at for _ in range(10) for s in (first, second))

    assert all(b - a >= 0.5 - 1e-6 for a, b in zip(slots, slots[1:]))


def test_a_schedule_stored_before_slots_were_kept_still_reads(table):
    table.put_item(
        Item={"pk": f"THROUGHPUT#{KEY}", "sk": "SCHEDULE", "next_free_at": Decimal(str(NOW + 2)), "window": []}
    )

    assert ThroughputSchedule(table).book(KEY, 1, 1.0, now=NOW, horizon=5).at == pytest.approx(NOW + 2, abs=1e-5)


def test_each_key_has_its_own_schedule(table):
    schedule = ThroughputSchedule(table)
    schedule.book("campaign#spring", 1, 1.0, now=NOW, horizon=5)

    assert schedule.book(KEY, 1, 1.0, now=NOW, horizon=5).at == NOW


# -- held requests ------------------------------------------------------------------------------
GROUP = "two-way-sms"
TARGET = f"arn:aws:lambda:{REGION}:123456789012:function:campaigns"
ROLE = "arn:aws:iam::123456789012:role/scheduler"
DLQ = f"arn:aws:sqs:{REGION}:123456789012:schedule-dead-letters"


@pytest.fixture
def held(table):
    scheduler = boto3.client("scheduler", region_name=REGION)
    scheduler.create_schedule_group(Name=GROUP)
    return HeldRequests(table, scheduler, GROUP, TARGET, ROLE, dead_letter_arn=DLQ), scheduler


def request(key: str) -> SendRequest:
    return SendRequest(destination="+12065550123", message_type="PROMOTIONAL", idempotency_key=key, body="Sale")


def test_the_release_minute_is_rounded_up():
    at = datetime(2026, 3, 5, 16, 0, tzinfo=timezone.utc)
    assert release_minute(at) == at
    assert release_minute(at + timedelta(seconds=1)) == at + timedelta(minutes=1)
    assert schedule_name(at) == "release-20260305T1600"


def test_a_held_request_is_stored_under_its_minute_with_one_release_schedule(held):
    holds, scheduler = held
    release_at = datetime(2026, 3, 5, 15, 59, 30, tzinfo=timezone.utc)

    assert holds.hold(request("a"), release_at) == "2026-03-05T16:00"
    holds.hold(request("b"), release_at)
    holds.hold(request("a"), release_at)  # a retry: same item, schedule exists already

    [summary] = scheduler.list_schedules(GroupName=GROUP)["Schedules"]
    schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=GROUP)
    assert schedule["Name"] == "release-20260305T1600"
    assert schedule["ScheduleExpression"] == "at(2026-03-05T16:00:00)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC" and schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["ActionAfterCompletion"] == "DELETE"
    target = schedule["Target"]
    assert (target["Arn"], target["RoleArn"], target["DeadLetterConfig"]["Arn"]) == (TARGET, ROLE, DLQ)
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert json.loads(target["Input"]) == {"kind": "release", "minute": "2026-03-05T16:00"}


def test_take_returns_and_deletes_a_page_and_says_whether_more_remain(held):
    holds, _ = held
    release_at = datetime(2026, 3, 5, 16, 0, tzinfo=timezone.utc)
    for key in "abcde":
        holds.hold(request(key), release_at)

    first, more = holds.take("2026-03-05T16:00", 3)
    assert [r.idempotency_key for r in first] == ["a", "b", "c"] and more
    rest, more = holds.take("2026-03-05T16:00", 3)
    assert [r.idempotency_key for r in rest] == ["d", "e"] and not more
    assert holds.take("2026-03-05T16:00", 3) == ([], False)
    assert rest[0] == request("d")  # the request comes back as it was held


def test_peek_leaves_requests_held_until_removed(held):
    holds, _ = held
    holds.hold(request("a"), datetime(2026, 3, 5, 16, 0, tzinfo=timezone.utc))

    entries, _ = holds.peek("2026-03-05T16:00", 10)
    assert [key for key, _ in entries] == ["a"]
    assert holds.peek("2026-03-05T16:00", 10)[0] == entries
    holds.remove("2026-03-05T16:00", ["a"])
    assert holds.peek("2026-03-05T16:00", 10) == ([], False)


def test_holding_without_a_scheduler_is_refused(table):
    with pytest.raises(ValueError, match="scheduler"):
        HeldRequests(table).hold(request("a"), datetime(2026, 3, 5, 16, tzinfo=timezone.utc))


# -- request outcomes ---------------------------------------------------------------------------
AT = datetime(2026, 3, 4, 20, 0, tzinfo=timezone.utc)


def test_outcomes_of_many_keys_come_from_batch_reads_and_unknown_keys_are_left_out(table):
    outcomes = RequestOutcomes(table)
    at = datetime.fromtimestamp(NOW, timezone.utc)
    for n in range(0, 150, 2):
        outcomes.record(f"k-{n}", "SENT", message_id=f"m-{n}", at=at)

    found = outcomes.get_many(f"k-{n}" for n in range(150))  # two BatchGetItem requests of 100 and 50 keys

    assert sorted(found) == sorted(f"k-{n}" for n in range(0, 150, 2))
    assert found["k-42"].status == "SENT" and found["k-42"].message_id == "m-42"


def test_a_batch_read_retries_the_keys_dynamodb_left_unprocessed(monkeypatch):
    monkeypatch.setattr("two_way_sms.adapters.batch_reads.time.sleep", lambda seconds: None)

    class HalfAtATime:
        name = "outbound"

        def __init__(self) -> None:
            self.meta, self.requests = self, 0
            self.client = self

        def batch_get_item(self, RequestItems: dict) -> dict:
            self.requests += 1
            keys = RequestItems["outbound"]["Keys"]
            done, left = keys[: len(keys) // 2 or 1], keys[len(keys) // 2 or 1 :]
            return {
                "Responses": {"outbound": [{**key, "status": "SENT"} for key in done]},
                "UnprocessedKeys": {"outbound": {"Keys": left, "ConsistentRead": True}} if left else {},
            }

    table = HalfAtATime()
    items = batch_get(table, [{"pk": f"REQUEST#{n}", "sk": "OUTCOME"} for n in range(8)])

    assert sorted(item["pk"] for item in items) == sorted(f"REQUEST#{n}" for n in range(8))
    assert table.requests == 4  # 8 -> 4 -> 2 -> 1 left


def test_a_batch_read_that_stays_throttled_fails_loudly(monkeypatch):
    monkeypatch.setattr("two_way_sms.adapters.batch_reads.time.sleep", lambda seconds: None)

    class Throttled:
        name = "outbound"

        def __init__(self) -> None:
            self.meta = self.client = self

        def batch_get_item(self, RequestItems: dict) -> dict:
            return {"Responses": {}, "UnprocessedKeys": RequestItems}

    with pytest.raises(BatchReadThrottled, match="outbound stayed throttled for 8 batch reads"):
        batch_get(Throttled(), [{"pk": "REQUEST#1", "sk": "OUTCOME"}])


def test_an_outcome_is_stored_with_its_reason_and_a_ttl(table):
    outcomes = RequestOutcomes(table, retention_days=30)

    assert outcomes.record("k", "REFUSED", reason="NO_OPT_IN", at=AT)
    outcome = outcomes.get("k")
    assert (outcome.status, outcome.reason, outcome.message_id) == ("REFUSED", "NO_OPT_IN", None)
    item = table.get_item(Key={"pk": "REQUEST#k", "sk": "OUTCOME"})["Item"]
    assert item["expires_at"] == int(AT.timestamp()) + 30 * 86400
    assert outcomes.get("unknown") is None


def test_recording_the_same_status_again_reports_no_change(table):
    outcomes = RequestOutcomes(table)

    assert outcomes.record("k", "HELD", reason="QUIET_HOURS", at=AT)
    assert not outcomes.record("k", "HELD", reason="QUIET_HOURS", at=AT)
    assert outcomes.record("k", "SENT", message_id="m-1", at=AT)
    assert outcomes.get("k").reason is None  # the hold's reason is gone


def test_sent_is_final(table):
    outcomes = RequestOutcomes(table)
    outcomes.record("k", "SENT", message_id="m-1", at=AT)

    assert not outcomes.record("k", "REFUSED", reason="OVER_DAILY_LIMIT", at=AT)
    assert not outcomes.record("k", "SENT", message_id="m-2", at=AT)
    assert (outcomes.get("k").status, outcomes.get("k").message_id) == ("SENT", "m-1")


def test_recording_sent_again_by_the_attempt_that_wrote_it_says_it_is_still_to_count(table):
    """The one write of a sent text landed but its answer was lost: the write one at a time that follows
    finds the outcome its own attempt wrote, which nobody counted yet. A duplicate that reused the
    attempt's result (no token, or another) counts nothing."""
    outcomes = RequestOutcomes(table)
    outcomes.record("k", "SENT", message_id="m-1", at=AT, written_by=attempt_token(NOW))

    assert outcomes.record("k", "SENT", message_id="m-1", at=AT, written_by=attempt_token(NOW))
    assert not outcomes.record("k", "SENT", message_id="m-1", at=AT)
    assert not outcomes.record("k", "SENT", message_id="m-1", at=AT, written_by=attempt_token(NOW + 1))
    assert not outcomes.record("k", "UNKNOWN", reason="ANSWER_LOST", at=AT)
    assert outcomes.get("k").status == "SENT"


# -- SMS gateway (against the emulator) ---------------------------------------------------------
@pytest.fixture
def gateway():
    sms = SmsEmulator(clock=SimulatedClock(NOW), mps=1.0)
    return SmsGateway(sms, configuration_set="outbound"), sms


def send(gateway: SmsGateway, **overrides: Any):
    arguments = {
        "destination": "+12065550123",
        "origination_identity": KEY,
        "body": "hello",
        "message_type": "TRANSACTIONAL",
        "context": {"sendKey": "k"},
        **overrides,
    }
    return gateway.send(OutgoingText(**arguments))


def test_send_passes_every_setting_through(gateway):
    gw, sms = gateway
    result = send(gw, max_price="0.05", time_to_live_seconds=600, message_type="PROMOTIONAL")

    [text] = sms.sent
    assert result.message_id == text.message_id
    assert (text.max_price, text.time_to_live, text.message_type, text.configuration_set) == (
        "0.05",
        600,
        "PROMOTIONAL",
        "outbound",
    )


def test_a_price_above_max_price_raises_its_own_error(gateway):
    gw, sms = gateway
    sms.price_per_part_usd = Decimal("0.2")

    with pytest.raises(PriceAboveMax) as raised:
        send(gw, max_price="0.05")
    assert raised.value.reason == "PRICE_OVER_THRESHOLD"


def test_an_opted_out_destination_is_a_result_not_an_error(gateway):
    gw, sms = gateway
    sms.opted_out.add("+12065550123")

    assert send(gw).blocked_by_opt_out


def test_a_throttle_is_retryable_and_other_rejections_are_not(gateway):
    gw, sms = gateway
    send(gw)
    with pytest.raises(RetryableSendError) as throttled:
        send(gw)  # 2 parts in one second at 1 MPS
    assert throttled.value.throttled and sms.throttles == 1

    sms.fail_next("AccessDeniedException", reason="ACCOUNT_DISABLED")
    with pytest.raises(SendRejected) as rejected:
        send(gw)
    assert (rejected.value.code, rejected.value.reason) == ("AccessDeniedException", "ACCOUNT_DISABLED")


def test_the_emulator_checks_requests_against_the_service_model(gateway):
    gw, _ = gateway
    with pytest.raises(ParamValidationError):
        send(gw, body="")  # below the model's minimum length: botocore itself refuses it
    with pytest.raises(SendRejected, match="TimeToLive"):
        send(gw, time_to_live_seconds=300_000)  # above the maximum: the service refuses it
    with pytest.raises(SendRejected, match="Context"):
        send(gw, context={f"k{i}": "v" for i in range(6)})
