"""A whole campaign end to end: contacts imported, the audience fanned out by the campaigns function,
every request sent by the sender through the SMS emulator on a simulated clock.

The full size of the requirement: 10,000 recipients complete with no throttling error and
each eligible recipient gets the text exactly once (``TWO_WAY_SMS_CAMPAIGN_SCALE`` scales it
down or up). What makes that feasible in the default suite (~90 s here) is where the calls go:

- DynamoDB and SQS are the in-memory fakes ``tests.integration.fake_dynamodb`` and
  ``tests.integration.fake_sqs``, attached to the boto3 default session, so the functions'
  own clients use them: boto3 still validates and serializes every request and parses every
  answer, but a call costs ~0.6 ms, most of it boto3's own work, where moto takes 3 ms and
  more (~20 ms for the ledger's 13-assignment update, and a Query sorts the whole table):
  with ~100,000 calls for 10,000 recipients, moto alone would take over ten minutes.
  ``test_fake_dynamodb`` and ``test_fake_sqs`` check the fakes against moto, call by call.
- The outbound queue keeps its delays on the simulated clock (SQS ``DelaySeconds`` would
  be real seconds), and ``EventSourceMapping`` drains it as Lambda's event source mapping
  does: a ReceiveMessage of up to ten visible messages per invocation, failed records left
  to come back after the visibility timeout, the rest deleted; when nothing is visible, the
  clock moves on to the next delayed message. Each step costs the same however long the
  queue is.
- S3 and EventBridge Scheduler, a few calls per page, stay in moto.
- End User Messaging is ``two_way_sms_local.sms_emulator``: it throttles like the service
  when the number's MPS is exceeded.

The campaign runs one page per invocation (its continuation scheduled as in production),
and the queue is drained between pages, as the sender would drain it meanwhile.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.integration.conftest import capture_logs
from tests.integration.fake_dynamodb import FakeDynamoDb
from tests.integration.fake_sqs import FakeSqs
from tests.integration.test_campaigns import BUCKET, GROUP, TimedContext, campaigns_environment
from two_way_sms.adapters.audience import AudienceReader
from two_way_sms.adapters.sms import SmsGateway
from two_way_sms.outbound.campaign import AudienceCsv, Campaign
from two_way_sms.outbound.policy import OPT_OUT_INSTRUCTION, SenderSettings
from two_way_sms.responder import ConsentChange
from two_way_sms_client.client import ContactsImporter
from two_way_sms_local.emulation import REGION, FakeLambdaContext, create_outbound_table, create_tables
from two_way_sms_local.sms_emulator import SimulatedClock, SmsEmulator

RECIPIENTS = int(os.environ.get("TWO_WAY_SMS_CAMPAIGN_SCALE", "10000"))
OUR_NUMBER = "+18445550100"  # toll-free
MPS = 3.0  # toll-free default: 10,000 one-part texts take 55 simulated minutes
# Wednesday 2026-03-04 18:00 UTC: 13:00 in New York, 10:00 in Los Angeles: nobody's quiet hours, for an hour.
START = datetime(2026, 3, 4, 18, 0, tzinfo=timezone.utc).timestamp()
# Recipients per campaigns invocation: the function's own page size, and at least four invocations.
PAGE = min(500, max(25, RECIPIENTS // 4))
# The outbound queue as the sender construct makes it: six times the 60 s timeout, and a
# dead-letter queue after five receives.
VISIBILITY_TIMEOUT = 360
MAX_RECEIVE_COUNT = 5
# Mainland area codes, stricter states included (CT, FL, NJ, OK, RI, TX): all inside their window at START.
AREA_CODES = ("206", "212", "305", "312", "405", "415", "512", "617", "702", "860", "401", "973")
TEMPLATES = {"spring": {"body": "Hi {first_name}, 20% off everything at Example Shop this week!",
                        "messageType": "PROMOTIONAL"}}


class EventSourceMapping:
    """The sender's SQS event source mapping, on the simulated clock.

    ``drain`` receives up to ten visible messages, invokes the sender with them, deletes
    the records it did not report as failed (the failed ones come back after the
    visibility timeout, and go to the dead-letter queue after ``MAX_RECEIVE_COUNT``
    receives), and, when nothing is visible, moves the clock on to the next delayed message.
    """

    def __init__(self, sender: Any, sqs: Any, queue: FakeSqs, queue_url: str, clock: SimulatedClock) -> None:
        self.sender, self.sqs, self.queue, self.queue_url, self.clock = sender, sqs, queue, queue_url, clock
        self.arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.invocations = 0
        self.failed_records = 0

    def drain(self) -> None:
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                                MessageSystemAttributeNames=["All"]).get("Messages", [])
            if messages:
                self._invoke(messages)
                continue
            next_visible_at = self.queue.next_visible_at(self.queue_url)
            if next_visible_at is None:
                return  # the queue is empty
            self.clock.set(max(next_visible_at, self.clock.now()))

    def _invoke(self, messages: list[dict]) -> None:
        records = [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs", "eventSourceARN": self.arn, "awsRegion": REGION,
        } for m in messages]
        result = self.sender.handler({"Records": records}, FakeLambdaContext(function_name="sender"))
        self.invocations += 1
        failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
        self.failed_records += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            response = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)])
            assert not response.get("Failed"), response["Failed"]


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

    clock = SimulatedClock(START)
    with mock_aws():  # S3 and EventBridge Scheduler; DynamoDB and SQS are the fakes, on every default-session client
        outbound_sqs = FakeSqs(clock, region=REGION)
        session = outbound_sqs.attach(FakeDynamoDb(region=REGION).attach(boto3.Session(region_name=REGION)))
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
        sqs = boto3.client("sqs")
        dead_letters_url = sqs.create_queue(QueueName="outbound-dead-letters")["QueueUrl"]
        dead_letters_arn = sqs.get_queue_attributes(
            QueueUrl=dead_letters_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = {"deadLetterTargetArn": dead_letters_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
        queue_url = sqs.create_queue(QueueName="outbound", Attributes={
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT), "RedrivePolicy": json.dumps(redrive)})["QueueUrl"]
        env = campaigns_environment(queue_url, SENDER_SETTINGS=settings.to_json(), TEMPLATES=json.dumps(TEMPLATES))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        dynamodb = boto3.resource("dynamodb")
        contacts_table = create_tables(dynamodb)
        create_outbound_table(dynamodb)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        scheduler = boto3.client("scheduler")
        scheduler.create_schedule_group(Name=GROUP)
        for module in ("two_way_sms.handlers.campaigns", "two_way_sms.handlers.sender"):
            sys.modules.pop(module, None)
        campaigns = importlib.import_module("two_way_sms.handlers.campaigns")
        sender = importlib.import_module("two_way_sms.handlers.sender")

        sms = SmsEmulator(clock=clock, mps=MPS)
        mapping = EventSourceMapping(sender, sqs, outbound_sqs, queue_url, clock)
        monkeypatch.setattr(sender, "clock", clock)
        monkeypatch.setattr(sender, "gateway", SmsGateway(sms, configuration_set="outbound"))
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
            mapping.drain()
            event = None
            if result["status"] == "CONTINUED":
                name = f"campaign-spring-sale-r1-{invocations}"
                event = json.loads(scheduler.get_schedule(Name=name, GroupName=GROUP)["Target"]["Input"])
                scheduler.delete_schedule(Name=name, GroupName=GROUP)  # ActionAfterCompletion=DELETE
        fanned_out_at = time.monotonic()

        report = campaigns.runs.read("spring-sale", "r1")

    # -- throughput: the number's MPS was never exceeded
    assert sms.throttles == 0 and mapping.failed_records == 0
    assert outbound_sqs.message_count(dead_letters_url) == 0
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
          f"{mapping.invocations} sender invocations, {len(sms.sent)} texts")

