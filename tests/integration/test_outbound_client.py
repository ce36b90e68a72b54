"""The Python client applications use, against emulated AWS (moto: SQS, S3, DynamoDB, EventBridge Scheduler)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from two_way_sms.adapters.campaign_runs import CampaignRuns
from two_way_sms.outbound.campaign import AudienceCsv, AudienceQuery, Campaign
from two_way_sms.outbound.contacts_import import InvalidContactsFile
from two_way_sms.outbound.request import SendRequest, parse_send_request
from two_way_sms.outbound.templates import parse_template
from two_way_sms_client.client import (
    CampaignClient,
    ContactsImporter,
    InvalidCampaign,
    InvalidSendRequest,
    OutboundClient,
    OutboundQueueError,
    schedule_name,
)
from two_way_sms_local.emulation import REGION, create_outbound_table, create_tables

ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:campaigns"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/scheduler"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:schedule-dead-letters"
GROUP = "two-way-sms"
NOW = datetime(2026, 3, 2, 14, 30, 15, 250000, tzinfo=timezone.utc)
TEMPLATES = {
    "spring": parse_template("spring", "Hi {first_name}, {discount} off at Example Shop.", "PROMOTIONAL"),
    "closure": parse_template("closure", "Example Clinic is closed on {day}."),
}


@pytest.fixture
def queue(emulated_aws):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="outbound")["QueueUrl"]
    return sqs, url


def received(sqs: Any, url: str) -> list[SendRequest]:
    requests = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        requests += [parse_send_request(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
        )
    return requests


# -- OutboundClient ----------------------------------------------------------------------------------
def test_send_queues_one_request_and_returns_a_new_idempotency_key(queue):
    sqs, url = queue
    key = OutboundClient(url, sqs_client=sqs).send("(425) 555-0182", body="Your code is 123456")
    assert uuid.UUID(key)
    [request] = received(sqs, url)
    assert (request.destination, request.body, request.idempotency_key) == ("+14255550182", "Your code is 123456", key)
    assert request.message_type == "TRANSACTIONAL" and request.send_after is None


def test_send_carries_template_variables_send_after_context_and_the_callers_key(queue):
    sqs, url = queue
    after = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=-8)))
    key = OutboundClient(url, sqs_client=sqs).send(
        "+14255550182",
        template_id="closure",
        variables={"day": "Monday"},
        message_type="TRANSACTIONAL",
        send_after=after,
        idempotency_key="order-1234:shipped",
        context={"orderId": "1234"},
    )
    assert key == "order-1234:shipped"
    [request] = received(sqs, url)
    assert (request.template_id, dict(request.variables), dict(request.context)) == (
        "closure",
        {"day": "Monday"},
        {"orderId": "1234"},
    )
    assert request.send_after == datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)


def test_send_after_may_be_given_as_iso_text(queue):
    sqs, url = queue
    OutboundClient(url, sqs_client=sqs).send("+14255550182", body="hi", send_after="2026-03-02T17:00:00Z")
    assert received(sqs, url)[0].send_after == datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"destination": "12", "body": "hi"}, "not a possible phone number"),
        ({"body": "hi", "template_id": "closure"}, "exactly one of body and templateId"),
        ({"body": "   "}, "only whitespace"),
        ({"body": "x" * 1601}, "1601 characters"),
        ({"body": "hi", "message_type": "MARKETING"}, "message type 'MARKETING'"),
        ({"body": "hi", "context": {"campaign": "mine"}}, "reserved"),
        ({"body": "hi", "send_after": "tomorrow"}, "sendAfter"),
        ({"body": "hi", "idempotency_key": "has spaces"}, "idempotency key"),
    ],
)
def test_an_invalid_request_raises_before_anything_is_queued(queue, arguments, message):
    sqs, url = queue
    arguments = {"destination": "+14255550182", **arguments}
    destination = arguments.pop("destination")
    with pytest.raises(InvalidSendRequest, match=message):
        OutboundClient(url, sqs_client=sqs).send(destination, **arguments)
    assert received(sqs, url) == []


def test_an_invalid_destination_is_masked_in_the_error(queue):
    sqs, url = queue
    with pytest.raises(InvalidSendRequest) as raised:
        OutboundClient(url, sqs_client=sqs).send("+1425555018212345", body="hi")
    assert "+1425555018212345" not in raised.value.reason


def test_send_many_queues_requests_and_wire_format_mappings_ten_per_call(queue):
    sqs, url = queue
    requests: list[Any] = [SendRequest(f"+1425555{n:04d}", "TRANSACTIONAL", f"k-{n}", body="hi") for n in range(12)]
    requests.append(
        {"destination": "+14255559999", "messageType": "TRANSACTIONAL", "idempotencyKey": "k-wire", "body": "hello"}
    )
    result = OutboundClient(url, sqs_client=sqs).send_many(requests)
    assert result.queued == 13 and result.failed == ()
    assert len(received(sqs, url)) == 13


def test_send_many_queues_nothing_when_one_request_is_invalid(queue):
    sqs, url = queue
    good = {"destination": "+14255550182", "messageType": "TRANSACTIONAL", "idempotencyKey": "k-1", "body": "hi"}
    bad = {**good, "idempotencyKey": "k-2", "sendafter": "2026-03-02T17:00:00Z"}  # a typo must not be dropped
    with pytest.raises(InvalidSendRequest, match="request 1: request has unknown fields: sendafter"):
        OutboundClient(url, sqs_client=sqs).send_many([good, bad])
    assert received(sqs, url) == []


class RefusingSqs:
    """An SQS client that takes nothing (every entry fails, as SendMessageBatch reports it)."""

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict]) -> dict:
        return {
            "Successful": [],
            "Failed": [{"Id": e["Id"], "Code": "KMS.ThrottlingException", "SenderFault": False} for e in Entries],
        }


def test_send_raises_when_sqs_does_not_take_the_request():
    client = OutboundClient("https://sqs.us-east-1.amazonaws.com/123456789012/outbound", sqs_client=RefusingSqs())
    with pytest.raises(OutboundQueueError, match="KMS.ThrottlingException"):
        client.send("+14255550182", body="hi")


def test_a_queue_url_that_is_not_one_is_refused():
    with pytest.raises(ValueError, match="queue url"):
        OutboundClient("outbound", sqs_client=RefusingSqs())


# -- CampaignClient --------------------------------------------------------------------------------------
@pytest.fixture
def campaigns(emulated_aws):
    scheduler = boto3.client("scheduler", region_name=REGION)
    scheduler.create_schedule_group(Name=GROUP)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="audiences")
    s3.put_object(Bucket="audiences", Key="spring.csv", Body=b"\xef\xbb\xbfphone_number,first_name\n+14255550182,Ana\n")

    def make(**overrides: Any) -> CampaignClient:
        arguments = {
            "function_arn": FUNCTION_ARN,
            "scheduler_role_arn": ROLE_ARN,
            "schedule_group": GROUP,
            "dead_letter_queue_arn": DLQ_ARN,
            "templates": TEMPLATES,
            "scheduler_client": scheduler,
            "s3_client": s3,
            "clock": lambda: NOW,
            **overrides,
        }
        return CampaignClient(**arguments)

    make.scheduler = scheduler  # type: ignore[attr-defined]
    return make


def spring(**changes: Any) -> Campaign:
    values = {
        "campaign_id": "spring-sale",
        "template_id": "spring",
        "audience": AudienceCsv("audiences", "spring.csv"),
        "variables": {"discount": "20%"},
    }
    return Campaign(**{**values, **changes})


def test_schedule_creates_the_runs_one_time_schedule_and_returns_its_run_id(campaigns):
    at = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
    run_id = campaigns().schedule(spring(), at=at, run_id="r1")
    assert run_id == "r1"
    schedule = campaigns.scheduler.get_schedule(Name="campaign-spring-sale-r1", GroupName=GROUP)
    assert schedule["ScheduleExpression"] == "at(2026-03-02T15:00:00)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE" and schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert (target["Arn"], target["RoleArn"], target["DeadLetterConfig"]) == (FUNCTION_ARN, ROLE_ARN, {"Arn": DLQ_ARN})
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    event = json.loads(target["Input"])
    assert (event["kind"], event["runId"]) == ("campaign", "r1")
    assert Campaign.from_json(event["campaign"]) == spring()


def test_schedule_without_a_time_starts_the_run_in_a_minute_with_a_new_run_id(campaigns):
    run_id = campaigns().schedule(spring())
    assert run_id.startswith("20260302T1430Z-") and len(run_id) == len("20260302T1430Z-") + 6
    schedule = campaigns.scheduler.get_schedule(Name=f"campaign-spring-sale-{run_id}", GroupName=GROUP)
    assert schedule["ScheduleExpression"] == "at(2026-03-02T14:31:16)"  # rounded up to the second


def test_scheduling_the_same_run_again_is_harmless(campaigns):
    client = campaigns()
    assert client.schedule(spring(), run_id="r1") == client.schedule(spring(), run_id="r1") == "r1"
    assert len(campaigns.scheduler.list_schedules(GroupName=GROUP)["Schedules"]) == 1


@pytest.mark.parametrize(
    ("campaign", "message"),
    [
        (spring(template_id="autumn"), "no template autumn"),
        (spring(message_type="TRANSACTIONAL"), "template spring is PROMOTIONAL"),
        (spring(variables={}), "needs discount"),
        (
            spring(audience=AudienceCsv("audiences", "other.csv"), variables={}),
            "s3://audiences/other.csv does not exist",
        ),
    ],
)
def test_schedule_refuses_a_campaign_that_cannot_run(campaigns, campaign, message):
    with pytest.raises(InvalidCampaign, match=message):
        campaigns().schedule(campaign)
    assert campaigns.scheduler.list_schedules(GroupName=GROUP)["Schedules"] == []


def test_csv_columns_count_as_variables_and_a_query_audience_is_checked_per_recipient(campaigns):
    client = campaigns()
    client.schedule(spring(), run_id="r1")  # first_name is a column of the CSV
    client.schedule(spring(audience=AudienceQuery({"tier": "vip"}), variables={}), run_id="r2")
    assert len(campaigns.scheduler.list_schedules(GroupName=GROUP)["Schedules"]) == 2


def test_without_templates_or_s3_schedule_checks_only_the_campaign_itself(campaigns):
    campaigns(templates=None, s3_client=None).schedule(spring(template_id="anything", variables={}), run_id="r1")
    assert campaigns.scheduler.get_schedule(Name="campaign-spring-sale-r1", GroupName=GROUP)


def test_a_time_in_the_past_or_without_an_offset_is_refused(campaigns):
    with pytest.raises(InvalidCampaign, match="in the past"):
        campaigns().schedule(spring(), at=NOW - timedelta(minutes=5))
    with pytest.raises(InvalidCampaign, match="UTC offset"):
        campaigns().schedule(spring(), at=datetime(2026, 3, 2, 15, 0))
    with pytest.raises(InvalidCampaign, match="run id"):
        campaigns().schedule(spring(), run_id="has/slash")


def test_long_or_odd_schedule_names_are_shortened_with_a_digest():
    long_name = "campaign-" + "c" * 64 + "-20260302T1430Z-abcdef"
    shortened = schedule_name(long_name)
    assert len(shortened) == 64 and shortened.startswith("campaign-ccc")
    assert schedule_name(long_name) == shortened and schedule_name(long_name + "x") != shortened
    assert schedule_name("campaign-spring-run:1") != "campaign-spring-run:1"
    assert schedule_name("campaign-spring-r1") == "campaign-spring-r1"


def test_report_reads_the_runs_counters_by_table_name(campaigns):
    table = create_outbound_table(boto3.resource("dynamodb", region_name=REGION))
    CampaignRuns(table).start("spring-sale", "r1", NOW)
    CampaignRuns(table).add_counts("spring-sale", "r1", {"queued": 3, "skipped_OPTED_OUT": 1, "sent": 2})
    report = campaigns().report("outbound", "spring-sale", "r1")
    assert (report.queued, dict(report.skipped), report.sent) == (3, {"OPTED_OUT": 1}, 2)
    assert campaigns().report(table, "spring-sale", "r2") is None


# -- ContactsImporter -------------------------------------------------------------------------------------
CONTACTS_CSV = """phone_number,opt_in_source,opt_in_at,first_name,tier
+14255550101,web-form,2026-01-10T12:00:00Z,Ana,vip
(425) 555-0102,store-42,2026-01-11T09:30:00-08:00,Ben,
+14255550103,,,Cy,basic
+14255550104,web-form,,Di,vip
not a number,web-form,2026-01-10T12:00:00Z,Eve,
"""


def test_a_contacts_csv_is_imported_with_opt_ins_attributes_and_rejected_rows(emulated_aws):
    contacts = create_tables(boto3.resource("dynamodb", region_name=REGION))
    summary = ContactsImporter("contacts").import_csv(CONTACTS_CSV.splitlines(keepends=True))
    assert (summary.imported, summary.without_opt_in, summary.new_opt_ins) == (3, 1, 2)
    assert [row for row, _ in summary.rejected] == [4, 5]
    assert "opt_in_source is set but opt_in_at is missing" in summary.rejected[0][1]
    ana = contacts.get_item(Key={"phone_number": "+14255550101", "record": "PROFILE"})["Item"]
    assert ana["opt_in_source"] == "web-form" and ana["attributes"] == {"first_name": "Ana", "tier": "vip"}
    cy = contacts.get_item(Key={"phone_number": "+14255550103", "record": "PROFILE"})["Item"]
    assert "opt_in_at" not in cy and cy["attributes"] == {"first_name": "Cy", "tier": "basic"}
    again = ContactsImporter(contacts).import_csv(CONTACTS_CSV.splitlines(keepends=True))
    assert (again.imported, again.new_opt_ins) == (3, 0)  # safe to repeat: no second proof


def test_a_contacts_file_without_a_phone_number_column_is_refused(emulated_aws):
    create_tables(boto3.resource("dynamodb", region_name=REGION))
    with pytest.raises(InvalidContactsFile, match="phone_number"):
        ContactsImporter("contacts").import_csv(["number,first_name\n", "+14255550101,Ana\n"])
