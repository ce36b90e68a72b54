"""A large CSV audience fanned out in byte-range shards, against emulated AWS (moto: S3, SQS, DynamoDB, Scheduler).

The run's first invocation plans the shards, schedules a worker for every shard after the
first and reads shard 0 itself; each worker counts on its own item and adds its counters to
the run once when it ends; the last one marks the run QUEUED_ALL. Retried and duplicated
invocations count nothing twice, and a number repeated across shards is queued once.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from tests.integration.test_campaigns import (
    GROUP,
    NOON_EASTERN,
    TimedContext,
    campaign_world,
    spring_campaign,
)
from two_way_sms.adapters.campaign_runs import FAILED, QUEUED_ALL, RUNNING, shard_key
from two_way_sms.services.run_campaign_page import SHARD_QUEUED

RUN = "r1"


@pytest.fixture
def world():
    with campaign_world() as scene:
        yield scene


def _numbers(count: int) -> list[str]:
    return [f"+1206555{n:04d}" for n in range(1000, 1000 + count)]


def _scene(world, count: int = 60, shards: int = 4) -> tuple[list[str], bytes]:
    """An audience of ``count`` opted-in numbers, an invalid row near the middle and the first number again at
    the end (a duplicate in another shard), read in ``shards`` shards of 6 recipients a page."""
    numbers = _numbers(count)
    for number in numbers:
        world.add_contact(number)
    rows = [f"{number},Ana" for number in numbers]
    rows.insert(count // 2, "not a number,Eve")
    rows.append(f'{numbers[0]},"Ana, again"')
    data = ("phone_number,first_name\r\n" + "\r\n".join(rows) + "\r\n").encode()
    world.s3.put_object(Bucket="audiences", Key="big.csv", Body=data)
    world.wire(audience_page_size=6, audience_shard_bytes=len(data) // shards + 1)
    return numbers, data


def _campaign():
    from two_way_sms.outbound.campaign import AudienceCsv

    return spring_campaign(AudienceCsv("audiences", "big.csv"))


def _shard_events(world) -> dict[str, dict]:
    return {name: json.loads(s["Target"]["Input"]) for name, s in world.schedules().items()}


def test_the_first_invocation_reads_shard_zero_and_schedules_a_worker_for_every_other_shard(world):
    _scene(world)
    result = world.run(_campaign(), RUN)
    assert result["status"] == SHARD_QUEUED and (result["shard"], result["of"]) == (0, 4)
    events = _shard_events(world)
    assert sorted(events) == [f"campaign-spring-sale-r1-s{i}-0" for i in (1, 2, 3)]
    for index, event in enumerate(sorted(events.values(), key=lambda e: e["shard"]["index"]), start=1):
        assert event["kind"] == "campaign" and event["runId"] == RUN and "cursor" not in event
        assert (event["shard"]["index"], event["shard"]["of"]) == (index, 4)
    report = world.runs.read("spring-sale", RUN)
    assert report.status == RUNNING and (report.shards, report.shards_done) == (4, 1)
    assert report.queued == result["counts"]["queued"] > 0


def test_every_recipient_is_queued_once_and_the_run_counts_each_row_once_across_shards(world):
    numbers, _ = _scene(world)
    world.run(_campaign(), RUN)
    events = list(_shard_events(world).values())
    random.Random(7).shuffle(events)
    statuses = [world.invoke(event)["status"] for event in events]
    assert statuses == [SHARD_QUEUED, SHARD_QUEUED, QUEUED_ALL]

    queued = world.queued()
    assert sorted(r.destination for r in queued) == sorted(numbers)  # the repeated number once
    assert len({r.idempotency_key for r in queued}) == len(numbers)
    report = world.runs.read("spring-sale", RUN)
    assert report.status == QUEUED_ALL and report.shards_done == 4
    assert report.queued == len(numbers)
    assert dict(report.skipped) == {"DUPLICATE_ROW": 1, "INVALID_ROW": 1}
    # The bad row keeps the number a whole read gives it: the 31st data row.
    [error] = world.runs.row_errors("spring-sale", RUN)
    assert error.row_number == len(numbers) // 2 + 1


def test_retried_and_duplicated_shard_invocations_count_nothing_twice(world):
    numbers, _ = _scene(world)
    world.run(_campaign(), RUN)
    events = list(_shard_events(world).values())
    for event in events + events[:2]:  # EventBridge Scheduler delivers at least once
        world.invoke(event)
    assert world.run(_campaign(), RUN)["status"] == QUEUED_ALL  # the first invocation retried, all shards done
    world.invoke(events[0])  # a late duplicate after the run completed
    report = world.runs.read("spring-sale", RUN)
    assert report.status == QUEUED_ALL and report.queued == len(numbers)
    assert report.skipped_total == 2 and report.shards_done == 4
    assert {r.destination for r in world.queued()} == set(numbers)  # the sender sends each key once


def test_a_late_retry_of_the_first_invocation_schedules_no_shard_that_started(world):
    numbers, _ = _scene(world)
    world.run(_campaign(), RUN)
    events = _shard_events(world)
    world.invoke(events["campaign-spring-sale-r1-s1-0"])  # done
    world.invoke(events["campaign-spring-sale-r1-s2-0"], TimedContext(remaining_ms=[1_000]))  # reading on
    for ran in ("campaign-spring-sale-r1-s1-0", "campaign-spring-sale-r1-s2-0"):
        world.scheduler.delete_schedule(Name=ran, GroupName=GROUP)  # a one-time schedule goes once it ran

    world.run(_campaign(), RUN)  # the first invocation, retried late

    # s3 still waits for its first run; s2 goes on from its continuation; neither s1 nor s2 starts again
    assert sorted(_shard_events(world)) == ["campaign-spring-sale-r1-s2-1", "campaign-spring-sale-r1-s3-0"]


def test_a_shard_that_runs_low_on_time_continues_itself_from_its_next_row(world):
    numbers, _ = _scene(world)
    world.run(_campaign(), RUN)
    event = _shard_events(world)["campaign-spring-sale-r1-s2-0"]
    result = world.invoke(event, TimedContext(remaining_ms=[60_000, 1_000]))
    assert result["status"] == "CONTINUED"
    continuation = _shard_events(world)["campaign-spring-sale-r1-s2-1"]
    assert continuation["shard"] == event["shard"] and continuation["continuation"] == 1
    assert int(continuation["cursor"]) == event["shard"]["firstRow"] + 12  # two pages of six rows
    world.now[0] = NOON_EASTERN + timedelta(minutes=1)
    assert world.invoke(continuation)["status"] == SHARD_QUEUED
    for name, other in _shard_events(world).items():
        if name.endswith("-0") and "-s2-" not in name:
            world.invoke(other)
    report = world.runs.read("spring-sale", RUN)
    assert report.status == QUEUED_ALL and report.queued == len(numbers)


def test_the_status_adds_the_shards_still_reading_to_the_run(world):
    _scene(world)
    first = world.run(_campaign(), RUN)["counts"]
    event = next(iter(_shard_events(world).values()))
    world.invoke(event, TimedContext(remaining_ms=[1_000]))  # one page of a second shard, then it continues
    report = world.runs.read("spring-sale", RUN)
    assert report.recipients == sum(first.values()) + 6 and report.shards_done == 1
    # The shard's own item holds its page; the run item only what finished shards added.
    index = event["shard"]["index"]
    item = world.dynamodb.Table("outbound").get_item(Key=shard_key("spring-sale", RUN, index))["Item"]
    assert int(item["queued"]) + sum(int(v) for k, v in item.items() if k.startswith("skipped_")) == 6


def test_finishing_a_shard_adds_its_counters_once_and_the_last_shard_completes_the_run(world):
    runs = world.runs
    runs.start("c", "r", NOON_EASTERN)
    runs.plan_shards("c", "r", 3)
    for shard in range(3):
        assert runs.add_counts("c", "r", {"queued": 10 + shard, "skipped_OPTED_OUT": 1}, chunk="s-start", shard=shard)
        assert not runs.add_counts("c", "r", {"queued": 99}, chunk="s-start", shard=shard)  # a retried page
    assert runs.finish_shard("c", "r", 2, 3, NOON_EASTERN) is False
    assert runs.finish_shard("c", "r", 2, 3, NOON_EASTERN) is False  # retried: adds nothing
    assert runs.finish_shard("c", "r", 0, 3, NOON_EASTERN) is False
    report = runs.read("c", "r")
    assert report.status == RUNNING and report.queued == 33 and report.skipped["OPTED_OUT"] == 3
    assert runs.finish_shard("c", "r", 1, 3, NOON_EASTERN) is True
    assert runs.finish_shard("c", "r", 0, 3, NOON_EASTERN + timedelta(minutes=5)) is True  # a late retry
    report = runs.read("c", "r")
    assert report.status == QUEUED_ALL and report.queued_all_at == NOON_EASTERN.isoformat()
    assert report.queued == 33 and report.skipped["OPTED_OUT"] == 3 and report.shards_done == 3
    run_item = world.dynamodb.Table("outbound").get_item(Key={"pk": "CAMPAIGN#c", "sk": "RUN#r"})["Item"]
    assert int(run_item["queued"]) == 33  # the run item alone holds the totals once every shard ended


def test_an_audience_replaced_while_its_shards_read_it_fails_the_run(world):
    _scene(world)
    world.run(_campaign(), RUN)
    world.s3.put_object(Bucket="audiences", Key="big.csv", Body=b"phone_number\n+12065550199\n")
    result = world.invoke(next(iter(_shard_events(world).values())))
    assert result["status"] == FAILED and "replaced" in result["reason"]
    assert world.runs.read("spring-sale", RUN).status == FAILED
