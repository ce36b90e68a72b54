"""A sharded run's report: the counters of its shards still reading are added, the folded ones are not."""

from __future__ import annotations

from decimal import Decimal

import pytest

from two_way_sms.adapters.campaign_runs import runs_with_shards_still_reading, shard_of, with_shards_still_reading


@pytest.mark.parametrize(
    "sk, expected",
    [
        ("SHARD#r1#0", ("r1", 0)),
        ("SHARD#2026-12-01#r#12", ("2026-12-01#r", 12)),  # a run id may hold '#'
        ("SHARD#r1#x", None),
        ("SHARD#3", None),
        ("RUN#r1", None),
    ],
)
def test_a_shard_items_sort_key_names_its_run_and_index(sk, expected):
    assert shard_of(sk) == expected


def test_only_the_shards_not_yet_folded_into_the_run_are_added():
    run = {"sk": "RUN#r1", "queued": Decimal(300), "sent": Decimal(250), "done_shards": {Decimal(0)}}
    shards = [
        {"sk": "SHARD#r1#0", "queued": Decimal(300), "sent": Decimal(250)},  # folded in already
        {"sk": "SHARD#r1#1", "queued": Decimal(120), "skipped_OPTED_OUT": Decimal(2)},
    ]

    merged = with_shards_still_reading(run, shards)

    assert (merged["queued"], merged["sent"], merged["skipped_OPTED_OUT"]) == (420, 250, 2)
    assert run["queued"] == 300  # the run's item is left as read


def test_a_scans_shard_items_are_added_to_their_own_run_only():
    items = [
        {"pk": "CAMPAIGN#spring", "sk": "RUN#r1", "queued": Decimal(5)},
        {"pk": "CAMPAIGN#spring", "sk": "RUN#r1#x", "queued": Decimal(1)},  # another run, its id sharing a prefix
        {"pk": "CAMPAIGN#spring", "sk": "SHARD#r1#0001", "queued": Decimal(7)},
        {"pk": "CAMPAIGN#autumn", "sk": "SHARD#r1#0001", "queued": Decimal(100)},  # another campaign's run r1
        {"pk": "REQUEST#k", "sk": "SEND"},
    ]

    runs = {(campaign, run): int(item["queued"]) for campaign, run, item in runs_with_shards_still_reading(items)}

    assert runs == {("spring", "r1"): 12, ("spring", "r1#x"): 1}
