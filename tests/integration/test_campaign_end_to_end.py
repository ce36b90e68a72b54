"""A whole campaign end to end: the audience fanned out by the campaigns use case, every request sent by
the sender's through the SMS emulator, on a simulated clock.

The full size of the requirement: 10,000 recipients complete with no throttling error and
each eligible recipient gets the text exactly once (``TWO_WAY_SMS_CAMPAIGN_SCALE`` scales it
down or up). That case drives the two services themselves (``CampaignRunner`` and
``RequestSender``) on in-memory fakes of their ports (``tests/unit/fakes_campaigns.py``,
``tests/unit/fakes_outbound.py``): the outbound queue keeps its delays and visibility
timeouts on the simulated clock and is drained ten messages at a time, as Lambda's event
source mapping does; End User Messaging is the SMS emulator behind the real ``SmsGateway``,
throttling like the service when the number's MPS is exceeded. On moto, ~100,000 calls would
take over ten minutes.

A smaller campaign runs through both functions as deployed (``make_handler`` of each) on
moto: contacts imported from a CSV, the audience in S3, continuations through EventBridge
Scheduler, the sender's world from ``two_way_sms_local.sender_world``.

Either way the campaign runs one page per invocation (its continuation scheduled as in
production), and the queue is drained between pages, as the sender would drain it meanwhile.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest

from tests.integration.conftest import capture_logs
from tests.integration.test_campaigns import BUCKET, DEAD_LETTERS, GROUP, TimedContext, campaigns_environment
from tests.unit.fakes_campaigns import (
    Invocation,
    MemoryAudiences,
    MemoryDeadLetters,
    MemoryHeld,
    MemoryRuns,
    MemorySchedules,
    RecordingTelemetry,
    SimulatedQueue,
)
from tests.unit.fakes_outbound import (
    MemoryClaims,
    MemoryContacts,
    MemoryLedger,
    MemoryOutcomes,
    MemorySchedule,
)
from tests.unit.fakes_outbound import MemoryHeld as MemorySenderHeld
from two_way_sms.adapters.sms import SmsGateway
from two_way_sms.handlers import campaigns as campaigns_function
from two_way_sms.outbound.campaign import AudienceCsv, Campaign
from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.outbound.policy import OPT_OUT_INSTRUCTION, SenderSettings
from two_way_sms.outbound.templates import templates_from_json
from two_way_sms.services.budget_holds import BudgetHolds
from two_way_sms.services.run_campaign_page import CampaignRunner
from two_way_sms.services.send_requests import RequestSender
from two_way_sms.services.sending import OnceOnlySender
from two_way_sms.settings.campaigns import CampaignsSettings
from two_way_sms_client.client import ContactsImporter
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.sender_world import sender_world
from two_way_sms_local.sms_emulator import SimulatedClock, SmsEmulator

RECIPIENTS = int(os.environ.get("TWO_WAY_SMS_CAMPAIGN_SCALE", "10000"))
RECIPIENTS_ON_MOTO = 40
OUR_NUMBER = "+18445550100"  # toll-free
MPS = 3.0  # toll-free default: 10,000 one-part texts take 55 simulated minutes
# Wednesday 2026-03-04 18:00 UTC: 13:00 in New York, 10:00 in Los Angeles: nobody's quiet hours, for an hour.
START = datetime(2026, 3, 4, 18, 0, tzinfo=timezone.utc).timestamp()
# The outbound queue as the sender construct makes it: six times the 60 s timeout, and a
# dead-letter queue after five receives.
VISIBILITY_TIMEOUT = 360
MAX_RECEIVE_COUNT = 5
SENDER_SECONDS = 30.0  # what each sender invocation has left (FakeLambdaContext's)
# Mainland area codes, stricter states included (CT, FL, NJ, OK, RI, TX): all inside their window at START.
AREA_CODES = ("206", "212", "305", "312", "405", "415", "512", "617", "702", "860", "401", "973")
TEMPLATES = {
    "spring": {"body": "Hi {first_name}, 20% off everything at Example Shop this week!", "messageType": "PROMOTIONAL"}
}
AUDIENCE = AudienceCsv(BUCKET, "spring.csv")
CAMPAIGN = Campaign("spring-sale", "spring", "PROMOTIONAL", AUDIENCE)


def audience(count: int) -> list[str]:
    """``count`` distinct valid US numbers, spread over the area codes."""
    return [f"+1{AREA_CODES[n % len(AREA_CODES)]}555{n // len(AREA_CODES):04d}" for n in range(count)]


def audience_csv(numbers: list[str]) -> str:
    """Every number once, then one duplicate row and one invalid row inside."""
    rows = ["phone_number,first_name"] + [f"{n},Friend{i}" for i, n in enumerate(numbers)]
    rows.insert(len(numbers) // 2, f"{numbers[3]},Duplicate")
    rows.insert(len(numbers) // 3, "12345,Invalid")
    return "\n".join(rows) + "\n"


def page_size(recipients: int) -> int:
    """Recipients per campaigns invocation: the function's own page size, and at least four invocations."""
    return min(500, max(10, recipients // 4))


class Scene:
    """Who is in the audience: 2 % opted in once and texted STOP later, 2.5 % imported without opt-in."""

    def __init__(self, count: int) -> None:
        self.numbers = audience(count)
        self.opted_out = set(self.numbers[7::50])
        self.without_opt_in = set(self.numbers[11::40])
        self.eligible = [n for n in self.numbers if n not in self.opted_out and n not in self.without_opt_in]


def run_campaign(invoke: Any, drain: Any, continuation: Any) -> int:
    """Fans the campaign out one page per invocation, draining the queue in between; the invocations made.
    EventBridge Scheduler delivers at least once: the first page comes again after the second."""
    first = {"kind": "campaign", "campaign": CAMPAIGN.to_dict(), "runId": "r1"}
    event: dict[str, Any] | None = first
    invocations = 0
    while event is not None:
        result = invoke(event, [1_000])  # low on time after every page
        invocations += 1
        if invocations == 2:
            invoke(first, [1_000])
        drain()
        event = continuation(f"campaign-spring-sale-r1-{invocations}") if result["status"] == "CONTINUED" else None
    return invocations


def assert_each_eligible_recipient_got_one_text(scene: Scene, sms: SmsEmulator, report: Any) -> None:
    # -- exactly once: every eligible recipient got one text, nobody else got any
    received = Counter(text.destination for text in sms.sent)
    assert set(received) == set(scene.eligible)
    assert max(received.values()) == 1
    assert not set(received) & (scene.opted_out | scene.without_opt_in)
    assert all(text.body.endswith(OPT_OUT_INSTRUCTION) and text.message_type == "PROMOTIONAL" for text in sms.sent)
    assert {text.context["campaign"] for text in sms.sent} == {"spring-sale/r1"}
    # -- the run's counts add up: every row is queued or skipped, every queued request was sent
    assert report.status == "QUEUED_ALL"
    assert dict(report.skipped) == {
        "OPTED_OUT": len(scene.opted_out),
        "NO_OPT_IN": len(scene.without_opt_in),
        "DUPLICATE_ROW": 1,
        "INVALID_ROW": 1,
    }
    assert report.queued == len(scene.eligible) == report.sent and dict(report.refused) == {}
    assert report.recipients == len(scene.numbers) + 2 and report.awaiting_send == 0
    # -- paced at the number's MPS, never throttled
    assert sms.throttles == 0
    sent_times = [text.at for text in sms.sent]
    assert max(sent_times) - min(sent_times) >= (len(scene.eligible) - 1) / MPS - 1


# -- the full size, through the services ------------------------------------------------------------------
class EventSourceMapping:
    """The sender's SQS event source mapping on the simulated clock, invoking the sender's use case as its
    handler does: ten visible messages at a time, failed records left to come back, the rest deleted; when
    nothing is visible, the clock moves on to the next delayed message."""

    def __init__(self, sender: RequestSender, queue: SimulatedQueue, clock: SimulatedClock) -> None:
        self.sender, self.queue, self.clock = sender, queue, clock
        self.invocations = 0
        self.failed_records = 0

    def drain(self) -> None:
        while True:
            messages = self.queue.receive()
            if messages:
                self._invoke(messages)
                continue
            next_visible_at = self.queue.next_visible_at()
            if next_visible_at is None:
                return  # the queue is empty
            self.clock.set(max(next_visible_at, self.clock.now()))

    def _invoke(self, messages: list[Any]) -> None:
        records = self.queue.records(messages)
        self.invocations += 1
        try:
            batch = self.sender.start(records, remaining_seconds=SENDER_SECONDS)
        except Exception as error:
            failed = set(self.sender.reads_failed(records, error))
        else:
            failed = set()
            for record in records:
                try:
                    self.sender.plan(batch, record)
                except Exception:
                    failed.add(record.record_id)
            failed |= set(self.sender.send_planned(batch, remaining_seconds=SENDER_SECONDS))
            self.sender.finish(batch)
        self.failed_records += len(failed)
        self.queue.settle(messages, failed)


@pytest.mark.skipif(RECIPIENTS < 100, reason="the scenario needs at least 100 recipients (TWO_WAY_SMS_CAMPAIGN_SCALE)")
def test_a_whole_campaign_sends_each_eligible_recipient_exactly_one_text_and_never_draws_a_throttle():
    started = time.monotonic()
    scene = Scene(RECIPIENTS)
    settings = SenderSettings(origination_identity=OUR_NUMBER, mps=MPS)
    templates = templates_from_json(json.dumps(TEMPLATES))
    clock = SimulatedClock(START)
    contacts = MemoryContacts()  # the sender's and the campaigns use case's
    contacts.states.update(
        {
            number: ContactState(opted_in=number not in scene.without_opt_in, opted_out=number in scene.opted_out)
            for number in scene.numbers
        }
    )
    queue = SimulatedQueue(clock, visibility_timeout=VISIBILITY_TIMEOUT, max_receive_count=MAX_RECEIVE_COUNT)
    runs, schedules, telemetry = MemoryRuns(), MemorySchedules(), RecordingTelemetry()
    audiences = MemoryAudiences(page_size=page_size(RECIPIENTS))
    audiences.put_csv(AUDIENCE, audience_csv(scene.numbers))
    runner = CampaignRunner(
        templates=templates,
        audience=audiences,
        contacts=contacts,
        runs=runs,
        held=MemoryHeld(),
        queue=queue,
        dead_letters=MemoryDeadLetters(),
        schedule=schedules,
        telemetry=telemetry,
        clock=lambda: datetime.fromtimestamp(clock.now(), timezone.utc),
        daily_limit=settings.promotional_daily_limit,
    )
    sms = SmsEmulator(clock=clock, mps=MPS)
    held = MemorySenderHeld()
    sender = RequestSender(
        settings=settings,
        templates=templates,
        contacts=contacts,
        outcomes=MemoryOutcomes(),
        sender=OnceOnlySender(
            claims=MemoryClaims(),
            gateway=SmsGateway(sms, configuration_set="outbound"),
            settings=settings,
            clock=clock,
            log=telemetry,
        ),
        schedule=MemorySchedule(),
        held=held,
        budget=BudgetHolds(held=held, log=telemetry),
        queue=queue,
        campaign_runs=runs,
        ledger=MemoryLedger(),
        log=telemetry,
        counts=telemetry,
        clock=clock,
        dead_letters=MemoryDeadLetters(),
    )
    mapping = EventSourceMapping(sender, queue, clock)

    def continuation(name: str) -> dict[str, Any]:
        return schedules.created.pop(name)[2]  # the schedule deletes itself after it ran

    invocations = run_campaign(
        lambda event, remaining: runner.handle(event, Invocation(remaining)), mapping.drain, continuation
    )

    assert mapping.failed_records == 0 and queue.dead_letters == []
    assert_each_eligible_recipient_got_one_text(scene, sms, runs.read("spring-sale", "r1"))
    print(
        f"\n{RECIPIENTS} recipients: fan-out and send {time.monotonic() - started:.1f}s, {invocations} campaigns "
        f"invocations, {mapping.invocations} sender invocations, {len(sms.sent)} texts"
    )


# -- both functions as deployed, on moto --------------------------------------------------------------------
def test_a_campaign_through_both_functions_on_moto_sends_each_eligible_recipient_one_text():
    scene = Scene(RECIPIENTS_ON_MOTO)
    with sender_world(start=START, conversations=False, environment={"TEMPLATES": json.dumps(TEMPLATES)}) as sender:
        contacts_table = sender.dynamodb.Table("contacts")
        rows = ["phone_number,opt_in_source,opt_in_at,first_name"] + [
            f"{n},,,Guest{i}" if n in scene.without_opt_in else f"{n},web-form,2026-01-10T12:00:00Z,Guest{i}"
            for i, n in enumerate(scene.numbers)
        ]
        summary = ContactsImporter(contacts_table).import_csv(line + "\n" for line in rows)
        assert (summary.imported, summary.without_opt_in) == (len(scene.numbers), len(scene.without_opt_in))
        for number in scene.opted_out:
            sender.opt_out(number)

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=AUDIENCE.key, Body=audience_csv(scene.numbers).encode())
        sender.sqs.create_queue(QueueName=DEAD_LETTERS)
        settings = CampaignsSettings.from_environment(
            campaigns_environment(
                sender.queue_url, SENDER_SETTINGS=sender.environment["SENDER_SETTINGS"], TEMPLATES=json.dumps(TEMPLATES)
            )
        )
        # The campaigns function's requests go into the sender's queue (on the simulated clock).
        clients = emulated_clients(sqs=sender.recording, s3=s3, scheduler=sender.scheduler)
        campaigns = campaigns_function.make_handler(
            settings,
            clients,
            clock=lambda: datetime.fromtimestamp(sender.clock.now(), timezone.utc),
            audience_page_size=page_size(RECIPIENTS_ON_MOTO),
        )
        capture_logs("two-way-sms")

        def continuation(name: str) -> dict[str, Any]:
            event = json.loads(sender.scheduler.get_schedule(Name=name, GroupName=GROUP)["Target"]["Input"])
            sender.scheduler.delete_schedule(Name=name, GroupName=GROUP)  # ActionAfterCompletion=DELETE
            return event

        run_campaign(
            lambda event, remaining: campaigns(event, TimedContext(remaining_ms=remaining)), sender.drain, continuation
        )

        assert sender.batch_failures == 0 and sender.dead_letters == []
        assert_each_eligible_recipient_got_one_text(
            scene, sender.sms, sender.app.campaign_runs.read("spring-sale", "r1")
        )
