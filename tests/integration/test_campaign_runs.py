"""Campaign run counters in the outbound table (moto DynamoDB)."""

from __future__ import annotations

from datetime import datetime, timezone

import boto3
import pytest

from two_way_sms.adapters.campaign_runs import QUEUED_ALL, RUNNING, CampaignRuns, refused, skipped
from two_way_sms_local.emulation import REGION, create_outbound_table

STARTED = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def runs(emulated_aws):
    yield CampaignRuns(create_outbound_table(boto3.resource("dynamodb", region_name=REGION)))


def test_a_started_run_is_running_and_starting_it_again_keeps_its_first_start_time(runs):
    runs.start("spring-sale", "r1", STARTED, template_id="spring", template_lacks_opt_out_instruction=True)
    runs.start("spring-sale", "r1", datetime(2026, 3, 2, 15, 5, tzinfo=timezone.utc))
    report = runs.read("spring-sale", "r1")
    assert report.status == RUNNING
    assert report.started_at == STARTED.isoformat()
    assert report.template_id == "spring" and report.template_lacks_opt_out_instruction is True
    assert (report.queued, report.sent, report.delivered, report.failed) == (0, 0, 0, 0)


def test_counts_add_up_by_name_and_reason(runs):
    runs.start("spring-sale", "r1", STARTED)
    runs.add_counts("spring-sale", "r1", {"queued": 7, skipped("OPTED_OUT"): 2, skipped("NO_OPT_IN"): 1})
    runs.add_counts("spring-sale", "r1", {"queued": 3, skipped("OPTED_OUT"): 1, skipped("INVALID_ROW"): 0})
    runs.add_counts("spring-sale", "r1", {"sent": 1})
    runs.add_counts("spring-sale", "r1", {"sent": 1, refused("OVER_DAILY_LIMIT"): 1})
    runs.add_counts("spring-sale", "r1", {"delivered": 1})
    runs.add_counts("spring-sale", "r1", {"failed": 1})
    report = runs.read("spring-sale", "r1")
    assert report.queued == 10
    assert dict(report.skipped) == {"NO_OPT_IN": 1, "OPTED_OUT": 3}  # zero counts leave no counter
    assert report.sent == 2 and dict(report.refused) == {"OVER_DAILY_LIMIT": 1}
    assert (report.delivered, report.failed) == (1, 1)
    assert report.recipients == 14 and report.awaiting_send == 7


def test_a_retried_chunk_counts_nothing(runs):
    runs.start("spring-sale", "r1", STARTED)
    assert runs.add_counts("spring-sale", "r1", {"queued": 500}, chunk="0") is True
    assert runs.add_counts("spring-sale", "r1", {"queued": 500}, chunk="500") is True
    assert runs.add_counts("spring-sale", "r1", {"queued": 500, skipped("OPTED_OUT"): 3}, chunk="0") is False
    report = runs.read("spring-sale", "r1")
    assert report.queued == 1000 and report.skipped_total == 0


def test_a_chunk_with_nothing_to_count_is_still_remembered(runs):
    runs.start("spring-sale", "r1", STARTED)
    assert runs.add_counts("spring-sale", "r1", {"queued": 0}, chunk="0") is True
    assert runs.add_counts("spring-sale", "r1", {"queued": 4}, chunk="0") is False
    assert runs.read("spring-sale", "r1").queued == 0


def test_runs_of_the_same_campaign_count_separately(runs):
    runs.start("spring-sale", "r1", STARTED)
    runs.start("spring-sale", "r2", STARTED)
    runs.add_counts("spring-sale", "r1", {"queued": 1}, chunk="0")
    runs.add_counts("spring-sale", "r2", {"queued": 2}, chunk="0")  # same chunk id, another run
    assert (runs.read("spring-sale", "r1").queued, runs.read("spring-sale", "r2").queued) == (1, 2)


def test_finishing_the_fan_out_marks_the_run_queued_all_once(runs):
    runs.start("spring-sale", "r1", STARTED)
    runs.finish_fan_out("spring-sale", "r1", STARTED.replace(minute=3))
    runs.finish_fan_out("spring-sale", "r1", STARTED.replace(minute=9))
    runs.start("spring-sale", "r1", STARTED)  # a late retry of the first invocation
    report = runs.read("spring-sale", "r1")
    assert report.status == QUEUED_ALL
    assert report.queued_all_at == STARTED.replace(minute=3).isoformat()


def test_a_run_that_failed_stays_failed_when_a_late_worker_finishes_its_fan_out(runs):
    runs.start("spring-sale", "r1", STARTED)
    runs.fail("spring-sale", "r1", "template spring is gone", STARTED.replace(minute=2))

    runs.finish_fan_out("spring-sale", "r1", STARTED.replace(minute=3))  # another shard read its last row

    report = runs.read("spring-sale", "r1")
    assert report.status == "FAILED" and report.queued_all_at is None


def test_an_unknown_run_reads_as_none(runs):
    assert runs.read("spring-sale", "nope") is None


@pytest.mark.parametrize(
    "counts", [{"queud": 1}, {"skipped_": 1}, {"skipped_opted out": 1}, {"queued": 1.5}, {"queued": True}]
)
def test_a_misspelt_counter_or_a_fractional_count_is_refused(runs, counts):
    with pytest.raises(ValueError):
        runs.add_counts("spring-sale", "r1", counts)


def test_the_report_reads_as_a_plain_dict_for_the_cli(runs):
    runs.start("spring-sale", "r1", STARTED)
    runs.add_counts("spring-sale", "r1", {"queued": 2, skipped("OPTED_OUT"): 1})
    report = runs.read("spring-sale", "r1").to_dict()
    assert report["queued"] == 2 and report["skipped"] == {"OPTED_OUT": 1} and report["status"] == RUNNING
