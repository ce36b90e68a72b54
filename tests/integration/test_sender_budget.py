"""The monthly budget that stops sends, end to end: the sender and the campaigns function on moto,
End User Messaging on the SMS emulator, a simulated clock.

Once the month's counted spend (the ledger's ``SPEND#<yyyy-mm>``) reaches the budget,
promotional and campaign texts are parked with their reason (transactional ones too under a
hard stop); the recurring budget check puts one back for the sender to try, and when the
budget allows it again (raised, or a new month) the sender schedules the release of them all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.test_campaigns import campaigns_environment
from tests.integration.test_sender import NOON_IN_SEATTLE, SEATTLE, SenderHarness, build_harness, send_request
from two_way_sms.handlers import campaigns as campaigns_function
from two_way_sms.settings.campaigns import CampaignsSettings
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.emulation import FakeLambdaContext

CAMPAIGNS_CONTEXT = FakeLambdaContext(
    function_name="campaigns", invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:campaigns"
)
PORTLAND = "+15035550123"  # Pacific time, like Seattle
BOISE = "+12085550123"  # Mountain time


@dataclass
class BudgetWorld:
    """The sender harness, the campaigns function beside it, and helpers to read what the budget did."""

    sender: SenderHarness
    campaigns: Any

    def spend(self, month: str, usd: str) -> None:
        """What the events handler has counted for ``month`` so far."""
        self.sender.dynamodb.Table("ledger").put_item(Item={"message_id": f"SPEND#{month}", "spend_usd": Decimal(usd)})

    def invoke_campaigns(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.campaigns.handler(event, CAMPAIGNS_CONTEXT)

    def parked(self, reason: str = "BUDGET_REACHED") -> list[str]:
        return sorted(item["sk"] for item in self.sender.outbound_items(f"HOLD#{reason}"))

    def release_schedules(self) -> dict[str, dict[str, Any]]:
        scheduler = self.sender.scheduler
        names = [s["Name"] for s in scheduler.list_schedules(GroupName="two-way-sms")["Schedules"]]
        return {
            name: json.loads(scheduler.get_schedule(Name=name, GroupName="two-way-sms")["Target"]["Input"])
            for name in names
            if name.startswith("release-budget-")
        }

    def sent_keys(self) -> list[str]:
        return [text.context["sendKey"] for text in self.sender.sms.sent]


@dataclass(frozen=True)
class CampaignsApp:
    handler: Any


@contextmanager
def budget_world(
    monkeypatch: pytest.MonkeyPatch, *, budget: str = "10", hard_stop: str = "false", start: float = NOON_IN_SEATTLE
) -> Iterator[BudgetWorld]:
    budget_environment = {"MONTHLY_BUDGET_USD": budget, "BUDGET_HARD_STOP": hard_stop}
    with build_harness(monkeypatch, start=start, environment=budget_environment) as sender:
        sender.sqs.create_queue(QueueName="campaign-dead-letters")
        settings = CampaignsSettings.from_environment(campaigns_environment(sender.queue_url))
        campaigns = CampaignsApp(
            campaigns_function.make_handler(
                settings,
                emulated_clients(sqs=sender.recording),  # into the harness's queue, on its clock
                clock=lambda: datetime.fromtimestamp(sender.clock.now(), timezone.utc),
            )
        )
        yield BudgetWorld(sender, campaigns)


@pytest.fixture
def world(monkeypatch):
    with budget_world(monkeypatch) as built:
        yield built


def promo(key: str, destination: str = SEATTLE) -> dict[str, Any]:
    return send_request(key, destination=destination, message_type="PROMOTIONAL", body="Spring sale")


def test_over_the_budget_promotional_and_campaign_texts_wait_with_their_reason_and_transactional_ones_go(world):
    h = world.sender
    world.spend("2026-03", "10.00")
    h.opt_in(SEATTLE)
    closure = send_request("closure:r1:+12065550123", campaign={"campaignId": "closure", "runId": "r1"})
    h.submit(promo("promo-1"), send_request("otp-1"), closure)

    h.drain()

    assert world.sent_keys() == ["otp-1"]
    for key in ("promo-1", "closure:r1:+12065550123"):
        outcome = h.outcome(key)
        assert (outcome.status, outcome.reason) == ("HELD", "BUDGET_REACHED")
    assert world.parked() == ["closure:r1:+12065550123", "promo-1"] and h.pending() == []
    assert world.release_schedules() == {}
    held = [json.loads(line) for line in h.logs.getvalue().splitlines() if "reached the budget" in line]
    assert len(held) == 2 and held[0]["spend_usd"] == "10.00" and held[0]["budget_usd"] == "10"
    assert held[0]["month"] == "2026-03" and SEATTLE not in h.logs.getvalue()


def test_held_texts_are_sent_once_the_operator_raises_the_budget(world, monkeypatch):
    h = world.sender
    world.spend("2026-03", "10.00")
    for number in (SEATTLE, PORTLAND, BOISE):
        h.opt_in(number)
    h.submit(promo("promo-1"), promo("promo-2", PORTLAND), promo("promo-3", BOISE))
    h.drain()
    assert world.parked() == ["promo-1", "promo-2", "promo-3"]

    # The recurring check while the budget is still reached: one goes back, and is parked again.
    assert world.invoke_campaigns({"kind": "check-budget"}) == {"status": "CHECKED", "requeued": 1}
    h.drain()
    assert h.sms.sent == [] and world.parked() == ["promo-1", "promo-2", "promo-3"]
    assert world.release_schedules() == {}

    # The operator raises the budget: a deploy gives the sender its new MONTHLY_BUDGET_USD.
    h.redeploy(MONTHLY_BUDGET_USD="50")
    h.clock.advance(900)
    assert world.invoke_campaigns({"kind": "check-budget"}) == {"status": "CHECKED", "requeued": 1}
    h.drain()
    assert len(h.sms.sent) == 1  # the request the check put back
    [(name, event)] = world.release_schedules().items()
    assert event == {"kind": "release-budget"} and name.startswith("release-budget-20260304T")

    assert world.invoke_campaigns(event) == {"status": "RELEASED", "released": 2}
    h.drain()
    assert sorted(world.sent_keys()) == ["promo-1", "promo-2", "promo-3"]
    assert world.parked() == [] and all(h.outcome(f"promo-{n}").status == "SENT" for n in (1, 2, 3))
    assert all(text.body.endswith("Reply STOP to opt out") for text in h.sms.sent)


def test_held_texts_are_sent_when_the_utc_month_turns(monkeypatch):
    march_31 = datetime(2026, 3, 31, 23, 50, tzinfo=timezone.utc).timestamp()  # 16:50 in Seattle
    with budget_world(monkeypatch, start=march_31) as world:
        h = world.sender
        world.spend("2026-03", "10.00")
        h.opt_in(SEATTLE)
        h.opt_in(PORTLAND)
        h.submit(promo("promo-1"), promo("promo-2", PORTLAND))
        h.drain()
        assert world.parked() == ["promo-1", "promo-2"]
        assert h.outcome("promo-1").at.startswith("2026-03-31T23:50")

        h.clock.set(datetime(2026, 4, 1, 0, 5, tzinfo=timezone.utc).timestamp())  # April's spend starts at zero
        world.invoke_campaigns({"kind": "check-budget"})
        h.drain()
        [event] = world.release_schedules().values()
        world.invoke_campaigns(event)
        h.drain()

        assert sorted(world.sent_keys()) == ["promo-1", "promo-2"] and world.parked() == []


def test_a_hard_stop_holds_transactional_texts_too_and_the_check_tries_each_reason(monkeypatch):
    with budget_world(monkeypatch, hard_stop="true") as world:
        h = world.sender
        world.spend("2026-03", "12.00")
        h.opt_in(SEATTLE)
        h.submit(send_request("otp-1"), promo("promo-1"))
        h.drain()

        assert h.sms.sent == []
        assert (h.outcome("otp-1").status, h.outcome("otp-1").reason) == ("HELD", "BUDGET_HARD_STOP")
        assert world.parked("BUDGET_HARD_STOP") == ["otp-1"] and world.parked() == ["promo-1"]
        assert world.invoke_campaigns({"kind": "check-budget"}) == {"status": "CHECKED", "requeued": 2}
        h.drain()
        assert h.sms.sent == [] and world.parked("BUDGET_HARD_STOP") == ["otp-1"]


def spend_reads(harness: SenderHarness) -> list[str]:
    """The months whose spend the function reads from the ledger, one entry per read, from now on."""
    reads: list[str] = []

    def read(params: dict[str, Any]) -> None:
        key = params["Key"].get("message_id", {}).get("S", "")
        if params["TableName"] == "ledger" and key.startswith("SPEND#"):
            reads.append(key.removeprefix("SPEND#"))

    harness.on_call("GetItem", read)
    return reads


def test_the_months_spend_is_read_once_per_batch_and_cached_across_batches(world, monkeypatch):
    h = world.sender
    world.spend("2026-03", "1.00")
    reads = spend_reads(h)
    h.submit(*[send_request(f"otp-{n}", destination=f"+1206555{n:04d}") for n in range(10)])
    h.invoke_once()
    assert reads == ["2026-03"] and len(h.sms.sent) == 10  # one read for ten texts
    h.submit(send_request("otp-10"))
    h.invoke_once()
    assert len(reads) == 1  # the next batch, seconds later: from the cache
    h.clock.advance(60)
    h.submit(send_request("otp-11"))
    h.invoke_once()
    assert len(reads) == 2


def test_below_the_budget_nothing_waits(world):
    h = world.sender
    world.spend("2026-03", "9.99")
    h.opt_in(SEATTLE)
    h.submit(promo("promo-1"))
    h.drain()
    assert world.sent_keys() == ["promo-1"] and world.parked() == []


def test_a_check_with_nothing_parked_puts_nothing_back(world):
    assert world.invoke_campaigns({"kind": "check-budget"}) == {"status": "CHECKED", "requeued": 0}
    assert world.invoke_campaigns({"kind": "release-budget"}) == {"status": "RELEASED", "released": 0}


def test_a_send_the_accounts_spend_limit_stopped_waits_and_goes_once_the_limit_lets_texts_through(world):
    h = world.sender
    h.sms.fail_next("ServiceQuotaExceededException", reason="MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT", times=2)
    h.submit(send_request("otp-1"), send_request("otp-2", destination=PORTLAND))
    h.drain()

    assert h.sms.sent == [] and h.batch_failures == 0  # not refused, not retried: parked
    assert (h.outcome("otp-1").status, h.outcome("otp-1").reason) == ("HELD", "ACCOUNT_SPEND_LIMIT")
    assert world.parked("ACCOUNT_SPEND_LIMIT") == ["otp-1", "otp-2"]
    assert "the account's monthly SMS spend limit is reached" in h.logs.getvalue()

    # The limit was raised (SetTextMessageSpendLimitOverride): the check's request goes, and brings the rest.
    assert world.invoke_campaigns({"kind": "check-budget"}) == {"status": "CHECKED", "requeued": 1}
    h.drain()
    assert len(h.sms.sent) == 1
    [event] = world.release_schedules().values()
    world.invoke_campaigns(event)
    h.drain()
    assert sorted(world.sent_keys()) == ["otp-1", "otp-2"] and world.parked("ACCOUNT_SPEND_LIMIT") == []


def test_when_the_months_spend_cannot_be_read_every_record_fails_and_is_logged_with_why(world, monkeypatch):
    h = world.sender

    def ledger_down(params: dict[str, Any]) -> None:
        if params["TableName"] == "ledger" and params["Key"]["message_id"]["S"].startswith("SPEND#"):
            raise RuntimeError("ProvisionedThroughputExceededException")

    h.on_call("GetItem", ledger_down)  # the function's reads of the month's spend fail
    h.submit(send_request("otp-1"), send_request("otp-2", destination=PORTLAND))

    result = h.invoke_once()

    assert len(result["batchItemFailures"]) == 2 and h.sms.sent == []  # retried by SQS, nothing sent blind
    lines = [json.loads(line) for line in h.logs.getvalue().splitlines() if "reads failed" in line]
    assert sorted(line["sqs_message_id"] for line in lines) == sorted(
        f["itemIdentifier"] for f in result["batchItemFailures"]
    )
    assert {line["reason"] for line in lines} == {"RuntimeError: ProvisionedThroughputExceededException"}
