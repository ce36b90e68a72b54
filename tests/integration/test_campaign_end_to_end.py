"""A whole campaign end to end: contacts imported, the audience fanned out by the campaigns function,
every request sent by the sender through the SMS emulator on a simulated clock.

Everything AWS is moto (S3, SQS, DynamoDB, EventBridge Scheduler) in one ``mock_aws``
context; End User Messaging is ``tests.integration.sms_emulator`` (it throttles like the
service when a number's MPS is exceeded). The queue between the two functions is moto's
outbound queue, drained the way the event source mapping does it: batches of ten, a
delayed (deferred) message coming back only once the simulated clock passed its delay.

moto's SQS and DynamoDB get slower with every message and item they hold, so the
campaign runs one page per invocation (its continuation scheduled as in production) and
the queue is drained between pages.

Scale: moto answers a DynamoDB call in ~5-10 ms and a Query in time proportional to the
table, and the sender makes ~11 calls per text, so 10,000 recipients take hours here,
not seconds. The suite runs the same scenario with ``TWO_WAY_SMS_CAMPAIGN_SCALE``
recipients (default 200, ~40 s); set it to 10000 to run the full size.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.integration.conftest import capture_logs
from tests.integration.emulation import REGION, FakeLambdaContext, create_outbound_table, create_tables
from tests.integration.sms_emulator import SimulatedClock, SmsEmulator
from tests.integration.test_campaigns import BUCKET, GROUP, TimedContext, campaigns_environment
from two_way_sms.adapters.audience import AudienceReader
from two_way_sms.adapters.sms import SmsGateway
from two_way_sms.client import ContactsImporter
from two_way_sms.outbound.campaign import AudienceCsv, Campaign
from two_way_sms.outbound.policy import OPT_OUT_INSTRUCTION, SenderSettings
from two_way_sms.responder import ConsentChange

RECIPIENTS = int(os.environ.get("TWO_WAY_SMS_CAMPAIGN_SCALE", "200"))
OUR_NUMBER = "+18445550100"  # toll-free
MPS = 3.0  # toll-free default: 10,000 one-part texts take 55 simulated minutes
# Wednesday 2026-03-04 18:00 UTC: 13:00 in New York, 10:00 in Los Angeles: nobody's quiet hours, for an hour.
START = datetime(2026, 3, 4, 18, 0, tzinfo=timezone.utc).timestamp()
# Recipients per campaigns invocation: keeps moto's queue short, and makes at least four invocations.
PAGE = min(200, max(25, RECIPIENTS // 4))
# Mainland area codes, stricter states included (CT, FL, NJ, OK, RI, TX): all inside their window at START.
AREA_CODES = ("206", "212", "305", "312", "405", "415", "512", "617", "702", "860", "401", "973")
TEMPLATES = {"spring": {"body": "Hi {first_name}, 20% off everything at Example Shop this week!",
                        "messageType": "PROMOTIONAL"}}


@dataclass
class Pending:
    message: dict
    visible_at: float  # on the simulated clock
    receive_count: int = 0


class OutboundQueueOnTheSimulatedClock:
    """moto's outbound queue as the sender's event source mapping sees it.

    The sender's own SendMessageBatch calls come through here: moto takes them with no
    delay and the delay is kept on the simulated clock instead (moto would wait real
    seconds). ``drain`` receives what is in the queue, invokes the sender with batches of
    ten that are due, deletes what it processed, and moves the clock on to the next
    delayed message when nothing is due.
    """

    VISIBILITY_TIMEOUT = 180.0

    def __init__(self, sender: Any, sqs: Any, queue_url: str, clock: SimulatedClock) -> None:
        self.sender, self.sqs, self.queue_url, self.clock = sender, sqs, queue_url, clock
        self.arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._delayed_until: dict[str, float] = {}
        self._pool: dict[str, Pending] = {}
        self.invocations = 0
        self.failed_records = 0

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict]) -> dict:
        response = self.sqs.send_message_batch(QueueUrl=QueueUrl, Entries=[{**e, "DelaySeconds": 0} for e in Entries])
        delays = {entry["Id"]: entry.get("DelaySeconds", 0) for entry in Entries}
        for success in response.get("Successful", []):
            self._delayed_until[success["MessageId"]] = self.clock.now() + delays[success["Id"]]
        return response

    def drain(self) -> None:
        while True:
            self._receive()
            due = sorted((p for p in self._pool.values() if p.visible_at <= self.clock.now()),
                         key=lambda p: p.visible_at)[:10]
            if not due:
                if not self._pool:
                    return
                self.clock.set(min(p.visible_at for p in self._pool.values()))  # past the next delay
                continue
            self._invoke(due)

    def _receive(self) -> None:
        while messages := self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=43200,
                MessageSystemAttributeNames=["All"]).get("Messages", []):
            for message in messages:
                visible_at = self._delayed_until.pop(message["MessageId"], self.clock.now())
                self._pool[message["MessageId"]] = Pending(message, visible_at)

    def _invoke(self, due: list[Pending]) -> None:
        records = []
        for pending in due:
            pending.receive_count += 1
            m = pending.message
            records.append({
                "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                "attributes": {**m["Attributes"], "ApproximateReceiveCount": str(pending.receive_count)},
                "messageAttributes": {}, "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs",
                "eventSourceARN": self.arn, "awsRegion": REGION,
            })
        result = self.sender.handler({"Records": records}, FakeLambdaContext(function_name="sender"))
        self.invocations += 1
        failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
        self.failed_records += len(failed)
        done = [p for p in due if p.message["MessageId"] not in failed]
        for pending in due:
            if pending.message["MessageId"] in failed:
                pending.visible_at = self.clock.now() + self.VISIBILITY_TIMEOUT
                assert pending.receive_count < 5, "a request would have reached the dead-letter queue"
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": p.message["ReceiptHandle"]} for n, p in enumerate(done)])
            for pending in done:
                del self._pool[pending.message["MessageId"]]


def audience(count: int) -> list[str]:
    """``count`` distinct valid US numbers, spread over the area codes."""
    return [f"+1{AREA_CODES[n % len(AREA_CODES)]}555{n // len(AREA_CODES):04d}" for n in range(count)]


@pytest.mark.skipif(RECIPIENTS < 100, reason="the scenario needs at least 100 recipients (TWO_WAY_SMS_CAMPAIGN_SCALE)")
def test_a_whole_campaign_sends_each_eligible_recipient_exactly_one_text_and_never_draws_a_throttle(monkeypatch):
    started = time.monotonic()
    numbers = audience(RECIPIENTS)
    opted_out = set(numbers[7::50])  # 2 %: opted in once, then texted STOP
    without_opt_in = set(numbers[11::40])  # 2.5 %: imported with attributes only
    eligible = [n for n in numbers if n not in opted_out and n not in without_opt_in]
    settings = SenderSettings(origination_identity=OUR_NUMBER, mps=MPS)

    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="outbound")["QueueUrl"]
        env = campaigns_environment(queue_url, SENDER_SETTINGS=settings.to_json(), TEMPLATES=json.dumps(TEMPLATES))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        contacts_table = create_tables(dynamodb)
        create_outbound_table(dynamodb)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        scheduler = boto3.client("scheduler", region_name=REGION)
        scheduler.create_schedule_group(Name=GROUP)
        for module in ("campaigns.app", "sender.app"):
            sys.modules.pop(module, None)
        campaigns = importlib.import_module("campaigns.app")
        sender = importlib.import_module("sender.app")

        clock = SimulatedClock(START)
        sms = SmsEmulator(clock=clock, mps=MPS)
        queue = OutboundQueueOnTheSimulatedClock(sender, sqs, queue_url, clock)
        monkeypatch.setattr(sender, "clock", clock)
        monkeypatch.setattr(sender, "gateway", SmsGateway(sms, configuration_set="outbound"))
        monkeypatch.setattr(sender.queue, "_sqs", queue)  # the sender's deferrals: DelaySeconds on the simulated clock
        monkeypatch.setattr(campaigns, "clock", lambda: datetime.fromtimestamp(clock.now(), timezone.utc))
        monkeypatch.setattr(campaigns, "audience_reader", AudienceReader(
            s3_client=s3, contacts_table=dynamodb.Table("contacts"), page_size=PAGE))
        capture_logs("two-way-sms")  # (the functions' log lines go to a buffer, not the terminal)

        # -- the contacts: imported from a CSV with proof of opt-in; some without; some opt out later
        rows = ["phone_number,opt_in_source,opt_in_at,first_name"] + [
            f"{n},,,Guest{i}" if n in without_opt_in else f"{n},web-form,2026-01-10T12:00:00Z,Guest{i}"
            for i, n in enumerate(numbers)]
        summary = ContactsImporter(contacts_table).import_csv(line + "\n" for line in rows)
        assert (summary.imported, summary.without_opt_in, summary.rejected) == (RECIPIENTS, len(without_opt_in), ())
        for number in opted_out:
            sender.contacts.record_consent(number=number, change=ConsentChange.OPTED_OUT, at_ms=int(START * 1000) - 1,
                                           message_id=f"stop-{number}", keyword="STOP", our_number=OUR_NUMBER)
        imported_at = time.monotonic()

        # -- the audience: every number once, one duplicate row, one invalid row
        csv_rows = ["phone_number,first_name"] + [f"{n},Friend{i}" for i, n in enumerate(numbers)]
        csv_rows.insert(RECIPIENTS // 2, f"{numbers[3]},Duplicate")
        csv_rows.insert(RECIPIENTS // 3, "12345,Invalid")
        s3.put_object(Bucket=BUCKET, Key="spring.csv", Body=("\n".join(csv_rows) + "\n").encode())
        campaign = Campaign("spring-sale", "spring", "PROMOTIONAL", AudienceCsv(BUCKET, "spring.csv"))

        # -- fan out one page per invocation, draining the queue through the sender in between
        event: dict | None = {"kind": "campaign", "campaign": campaign.to_dict(), "runId": "r1"}
        invocations = 0
        while event is not None:
            result = campaigns.handler(event, TimedContext(remaining_ms=1_000))  # low on time after every page
            invocations += 1
            if invocations == 2:  # EventBridge Scheduler delivers at least once: the first page comes again
                campaigns.handler({"kind": "campaign", "campaign": campaign.to_dict(), "runId": "r1"},
                                  TimedContext(remaining_ms=[1_000]))
            queue.drain()
            event = None
            if result["status"] == "CONTINUED":
                name = f"campaign-spring-sale-r1-{invocations}"
                event = json.loads(scheduler.get_schedule(Name=name, GroupName=GROUP)["Target"]["Input"])
                scheduler.delete_schedule(Name=name, GroupName=GROUP)  # ActionAfterCompletion=DELETE
        fanned_out_at = time.monotonic()

        report = campaigns.runs.read("spring-sale", "r1")

    # -- throughput: the number's MPS was never exceeded
    assert sms.throttles == 0 and queue.failed_records == 0
    # -- exactly once: every eligible recipient got one text, nobody else got any
    received = Counter(text.destination for text in sms.sent)
    assert set(received) == set(eligible)
    assert max(received.values()) == 1
    assert not set(received) & (opted_out | without_opt_in)
    assert all(text.body.endswith(OPT_OUT_INSTRUCTION) and text.message_type == "PROMOTIONAL" for text in sms.sent)
    assert {text.context["campaign"] for text in sms.sent} == {"spring-sale/r1"}
    # -- the run's counts add up: every row is queued or skipped, every queued request was sent
    assert report.status == "QUEUED_ALL"
    assert dict(report.skipped) == {"OPTED_OUT": len(opted_out), "NO_OPT_IN": len(without_opt_in),
                                    "DUPLICATE_ROW": 1, "INVALID_ROW": 1}
    assert report.queued == len(eligible) == report.sent and dict(report.refused) == {}
    assert report.recipients == RECIPIENTS + 2 and report.awaiting_send == 0
    # -- the simulated hour: paced at the number's MPS
    sent_times = [text.at for text in sms.sent]
    assert max(sent_times) - min(sent_times) >= (len(eligible) - 1) / MPS - 1
    print(f"\n{RECIPIENTS} recipients: import {imported_at - started:.1f}s, fan-out and send "
          f"{fanned_out_at - imported_at:.1f}s, {invocations} campaigns invocations, "
          f"{queue.invocations} sender invocations, {len(sms.sent)} texts")

