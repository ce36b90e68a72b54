"""The campaigns use cases with in-memory fakes of their ports: what is queued, counted, parked and continued."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from tests.unit.fakes_campaigns import CampaignsWorld, Invocation
from two_way_sms import metric_names
from two_way_sms.outbound.campaign import AudienceCsv, Campaign
from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.outbound.request import SendRequest
from two_way_sms.outbound.templates import parse_template
from two_way_sms.services.run_campaign_page import BUDGET_RELEASE_DELAY_SECONDS, CONTINUE_BELOW_MS

TEMPLATES = {
    "spring": parse_template("spring", "Hi {first_name}, 20% off at Example Shop!", "PROMOTIONAL"),
    "closure": parse_template("closure", "Example Clinic is closed on {day}."),
}
AUDIENCE = AudienceCsv("audiences", "spring.csv")
OPTED_IN = ContactState(opted_in=True)
LOW = CONTINUE_BELOW_MS - 1  # remaining milliseconds that make the run continue in a new invocation


def numbers(count: int) -> list[str]:
    return [f"+1206555{n:04d}" for n in range(count)]


def scene(world: CampaignsWorld, rows: list[str], *, opted_in: list[str] | None = None) -> Campaign:
    world.audiences.put_csv(AUDIENCE, "phone_number,first_name\n" + "".join(f"{row}\n" for row in rows))
    for number in opted_in if opted_in is not None else rows:
        world.contacts.states[number] = OPTED_IN
    return Campaign("spring-sale", "spring", "PROMOTIONAL", AUDIENCE, {"first_name": "friend"})


def run_event(campaign: Campaign, **extra: object) -> dict:
    return {"kind": "campaign", "campaign": campaign.to_dict(), "runId": "r1", **extra}


@pytest.fixture
def world() -> CampaignsWorld:
    return CampaignsWorld()


# -- a page: queued first, counted after, once ----------------------------------------------------------
def test_each_eligible_recipient_is_queued_and_the_rest_are_counted_by_reason(world):
    campaign = scene(
        world,
        [
            "+12065550101,Ana",
            "+12065550102,",
            "+12065550103,Cy",
            "not a number,Di",
            "+12065550101,Ana again",
            "+12065550104,Ed",
        ],
        opted_in=["+12065550101", "+12065550102"],
    )
    world.contacts.states["+12065550103"] = ContactState(opted_in=True, opted_out=True)

    result = world.runner(TEMPLATES).handle(run_event(campaign), Invocation())

    assert result == {
        "status": "QUEUED_ALL",
        "counts": {
            "queued": 2,
            "skipped_OPTED_OUT": 1,
            "skipped_INVALID_ROW": 1,
            "skipped_DUPLICATE_ROW": 1,
            "skipped_NO_OPT_IN": 1,
        },
    }
    assert [request.destination for request in world.queue.take()] == ["+12065550101", "+12065550102"]
    report = world.runs.read("spring-sale", "r1")
    assert report.status == "QUEUED_ALL" and report.queued == 2 and report.recipients == 6
    assert [error.row_number for error in world.runs.row_errors("spring-sale", "r1")] == [4]
    assert world.telemetry.counts == {
        metric_names.CAMPAIGN_RECIPIENTS_QUEUED: 2,
        metric_names.CAMPAIGN_RECIPIENTS_SKIPPED: 4,
    }


def test_a_retried_invocation_queues_the_page_again_and_counts_it_once(world):
    campaign = scene(world, numbers(3))
    runner = world.runner(TEMPLATES)
    runner.handle(run_event(campaign), Invocation())
    runner.handle(run_event(campaign), Invocation())

    assert len(world.queue.take()) == 6  # the sender sends each idempotency key once
    assert world.runs.read("spring-sale", "r1").queued == 3
    assert [fields["counted"] for _, message, fields in world.telemetry.lines if message == "page queued"] == [
        True,
        False,
    ]


def test_a_page_sqs_did_not_all_take_is_not_counted_and_the_invocation_fails_for_its_retry(world):
    campaign = scene(world, numbers(3))
    world.queue.refuse = {"spring-sale:r1:+12065550001"}

    with pytest.raises(RuntimeError, match=r"1 request\(s\) of page start not queued \(SQS: InternalError\)"):
        world.runner(TEMPLATES).handle(run_event(campaign), Invocation())

    report = world.runs.read("spring-sale", "r1")
    assert report.status == "RUNNING" and report.queued == 0 and report.skipped_total == 0
    assert world.dead_letters.parked == []


def test_a_transactional_campaign_needs_no_opt_in(world):
    world.audiences.put_csv(AUDIENCE, "phone_number\n+12065550101\n+12065550102\n")
    world.contacts.states["+12065550102"] = ContactState(opted_out=True)
    campaign = Campaign("closure", "closure", "TRANSACTIONAL", AUDIENCE, {"day": "Monday"})

    world.runner(TEMPLATES).handle(run_event(campaign), Invocation())

    assert [request.destination for request in world.queue.take()] == ["+12065550101"]
    assert dict(world.runs.read("closure", "r1").skipped) == {"OPTED_OUT": 1}


# -- continuing in a new invocation ----------------------------------------------------------------------
def test_when_time_runs_low_the_run_schedules_its_continuation_and_the_next_page_knows_earlier_rows(world):
    world.audiences.page_size = 2
    rows = numbers(4)
    campaign = scene(world, [*rows, rows[0]])  # the last row repeats the first, read two invocations before
    runner = world.runner(TEMPLATES)

    assert runner.handle(run_event(campaign), Invocation([LOW]))["status"] == "CONTINUED"
    at, target, event = world.schedules.created["campaign-spring-sale-r1-1"]
    assert at == world.now[0] + timedelta(seconds=60) and target.endswith(":function:campaigns")
    assert (event["cursor"], event["continuation"]) == ("2", 1)
    assert world.telemetry.keys == {"campaign": "spring-sale", "run_id": "r1", "continuation": 0}

    assert (
        runner.handle(world.schedules.payload("campaign-spring-sale-r1-1"), Invocation([LOW]))["status"] == "CONTINUED"
    )
    assert runner.handle(world.schedules.payload("campaign-spring-sale-r1-2"), Invocation())["status"] == "QUEUED_ALL"
    report = world.runs.read("spring-sale", "r1")
    assert report.queued == 4 and dict(report.skipped) == {"DUPLICATE_ROW": 1}
    assert sorted(request.destination for request in world.queue.take()) == rows


def test_the_last_page_never_continues_however_little_time_is_left(world):
    campaign = scene(world, numbers(3))
    assert world.runner(TEMPLATES).handle(run_event(campaign), Invocation(LOW))["status"] == "QUEUED_ALL"
    assert world.schedules.created == {}


# -- what can never run: parked at once, the run failed ----------------------------------------------------
def test_a_template_no_longer_deployed_fails_the_run_and_parks_the_event_with_its_reason(world):
    campaign = scene(world, numbers(2))
    event = run_event(Campaign("spring-sale", "gone", "PROMOTIONAL", AUDIENCE))

    assert world.runner(TEMPLATES).handle(event, Invocation()) == {
        "status": "FAILED",
        "reason": "no template gone is deployed",
    }

    assert campaign.template_id == "spring" and world.queue.take() == []
    report = world.runs.read("spring-sale", "r1")
    assert (report.status, report.failure, report.template_id) == ("FAILED", "no template gone is deployed", "gone")
    [(parked, reason, source, attributes)] = world.dead_letters.parked
    assert (parked, reason, source) == (event, "no template gone is deployed", "campaigns-function")
    assert attributes == {"requestId": "request-1", "campaignId": "spring-sale", "runId": "r1"}
    assert ("ERROR", "campaign run failed") in [(level, message) for level, message, _ in world.telemetry.lines]


def test_an_audience_that_is_gone_fails_the_run(world):
    campaign = Campaign("spring-sale", "spring", "PROMOTIONAL", AudienceCsv("audiences", "nope.csv"))
    result = world.runner(TEMPLATES).handle(run_event(campaign), Invocation())
    assert result == {"status": "FAILED", "reason": "the audience cannot be read (NoSuchKey)"}
    assert world.runs.read("spring-sale", "r1").status == "FAILED"


def test_an_audience_that_cannot_be_read_for_now_is_raised_for_lambdas_retry(world):
    campaign = scene(world, numbers(2))

    def throttled(*args: object, **kwargs: object):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}}, "GetObject")

    world.audiences.pages = throttled  # type: ignore[method-assign]
    with pytest.raises(ClientError):
        world.runner(TEMPLATES).handle(run_event(campaign), Invocation())
    assert world.runs.read("spring-sale", "r1").status == "RUNNING" and world.dead_letters.parked == []


@pytest.mark.parametrize(
    ("event", "run", "fragment"),
    [
        ({"kind": "party"}, None, "event kind 'party' must be one of"),
        (
            {
                "kind": "campaign",
                "campaign": {
                    "campaignId": "spring-sale",
                    "templateId": "spring",
                    "sendNow": True,
                    "audience": {"csv": {"bucket": "b", "key": "k"}},
                },
                "runId": "r1",
            },
            ("spring-sale", "r1"),
            "campaign has unknown fields",
        ),
    ],
)
def test_an_event_that_can_never_run_is_parked_and_fails_the_run_it_names(world, event, run, fragment):
    result = world.runner(TEMPLATES).handle(event, Invocation())

    assert result["status"] == "PARKED" and fragment in result["reason"]
    [(parked, reason, _, attributes)] = world.dead_letters.parked
    assert parked == event and fragment in reason and attributes == {"requestId": "request-1"}
    if run is not None:
        assert world.runs.read(*run).status == "FAILED"
    else:
        assert world.runs.items == {}


# -- held requests ------------------------------------------------------------------------------------------
def held(n: int) -> SendRequest:
    return SendRequest(
        destination=f"+1206555{n:04d}",
        message_type="TRANSACTIONAL",
        idempotency_key=f"held-{n:03d}",
        body="Your appointment is tomorrow.",
    )


def test_a_release_moves_the_minutes_requests_back_a_page_at_a_time(world):
    for n in range(130):
        world.held.put("2026-03-03T19:00", held(n))
    world.held.put("2026-03-03T19:05", held(999))

    result = world.runner(TEMPLATES).handle({"kind": "release", "minute": "2026-03-03T19:00"}, Invocation())

    assert result == {"status": "RELEASED", "released": 130}
    assert [delay for _, delay in world.queue.messages] == [0] * 130
    assert world.held.keys("2026-03-03T19:00") == [] and world.held.keys("2026-03-03T19:05") == ["held-999"]
    assert world.telemetry.counts[metric_names.HELD_REQUESTS_RELEASED] == 130


def test_held_requests_sqs_did_not_take_stay_held_and_what_was_released_is_still_counted(world):
    for n in range(12):
        world.held.put("2026-03-03T19:00", held(n))
    world.queue.refuse = {"held-003"}

    with pytest.raises(RuntimeError, match="1 held request"):
        world.runner(TEMPLATES).handle({"kind": "release", "minute": "2026-03-03T19:00"}, Invocation())

    assert world.held.keys("2026-03-03T19:00") == ["held-003"]
    assert world.telemetry.counts[metric_names.HELD_REQUESTS_RELEASED] == 11


def test_a_release_low_on_time_continues_in_a_new_invocation(world):
    for n in range(250):
        world.held.put("2026-03-03T19:00", held(n))
    runner = world.runner(TEMPLATES)

    assert runner.handle({"kind": "release", "minute": "2026-03-03T19:00"}, Invocation([LOW])) == {
        "status": "CONTINUED",
        "released": 100,
    }
    event = world.schedules.payload("release-20260303T1900-1")
    assert event == {"kind": "release", "minute": "2026-03-03T19:00", "continuation": 1}
    assert runner.handle(event, Invocation()) == {"status": "RELEASED", "released": 150}


def test_a_budget_release_puts_back_every_parked_request_of_both_reasons_after_a_delay(world):
    for n in range(3):
        world.held.put("BUDGET_REACHED", held(n))
    world.held.put("BUDGET_HARD_STOP", held(10))

    result = world.runner(TEMPLATES).handle({"kind": "release-budget"}, Invocation())

    assert result == {"status": "RELEASED", "released": 4}
    assert {delay for _, delay in world.queue.messages} == {BUDGET_RELEASE_DELAY_SECONDS}
    assert world.held.keys("BUDGET_REACHED") == [] and world.held.keys("BUDGET_HARD_STOP") == []


def test_a_budget_check_puts_back_one_parked_request_of_each_reason(world):
    for n in range(3):
        world.held.put("BUDGET_REACHED", held(n))
    world.held.put("BUDGET_HARD_STOP", held(10))
    runner = world.runner(TEMPLATES)

    assert runner.handle({"kind": "check-budget"}, Invocation()) == {"status": "CHECKED", "requeued": 2}
    assert [request.idempotency_key for request, _ in world.queue.messages] == ["held-000", "held-010"]
    assert world.held.keys("BUDGET_REACHED") == ["held-001", "held-002"]
    world.held.partitions.clear()
    assert runner.handle({"kind": "check-budget"}, Invocation()) == {"status": "CHECKED", "requeued": 0}
