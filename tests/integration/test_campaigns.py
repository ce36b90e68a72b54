"""The campaigns function against emulated AWS (moto: S3, SQS, DynamoDB, EventBridge Scheduler).

It fans an audience out into the outbound queue, counts what it queued and skipped on the
campaign run exactly once per page, continues itself in a new invocation when its time
runs low, and moves held requests back into the queue when their minute comes. Bad input
is parked in its dead-letter queue at once, with its reason, and its run marked FAILED.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.integration.conftest import capture_logs
from two_way_sms.adapters.audience import AudienceReader, read_csv_from
from two_way_sms.adapters.campaign_runs import FAILED, QUEUED_ALL, CampaignRuns
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.held_requests import HeldRequests
from two_way_sms.handlers import campaigns as campaigns_function
from two_way_sms.outbound.campaign import (
    AudienceCsv,
    AudienceQuery,
    AudienceRow,
    AudienceRowError,
    Campaign,
    read_audience_csv,
)
from two_way_sms.outbound.campaign_shards import SHARD_BYTES
from two_way_sms.outbound.contacts_import import ContactImport
from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.outbound.request import SendRequest, parse_send_request
from two_way_sms.outbound.templates import parse_template, templates_to_json
from two_way_sms.responder import ConsentChange
from two_way_sms.services.run_campaign_page import PAGE_SIZE
from two_way_sms.settings import campaigns as campaigns_contract
from two_way_sms.settings.campaigns import CampaignsSettings
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.emulation import REGION, create_outbound_table, create_tables

ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:campaigns"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/scheduler"
SCHEDULE_DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:schedule-dead-letters"
DEAD_LETTERS = "campaign-dead-letters"
DEAD_LETTER_QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{DEAD_LETTERS}"
GROUP = "two-way-sms"
BUCKET = "audiences"
ORIGINATION = "+18885550100"
# Tuesday 2026-03-03 17:00 UTC: noon in New York, 9:00 in Los Angeles: no quiet hours on the mainland.
NOON_EASTERN = datetime(2026, 3, 3, 17, 0, tzinfo=timezone.utc)
OPTED_IN_AT = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)

TEMPLATES = {
    "spring": parse_template(
        "spring", "Hi {first_name}, {discount} off everything at Example Shop this week!", "PROMOTIONAL"
    ),
    "spring-stop": parse_template(
        "spring-stop", "Hi {first_name}, spring sale at Example Shop. Reply STOP to opt out", "PROMOTIONAL"
    ),
    "closure": parse_template("closure", "Example Clinic is closed on {day}. Call us to rebook."),
}
SETTINGS = SenderSettings(origination_identity=ORIGINATION, mps=100.0, promotional_daily_limit=2)


def campaigns_environment(outbound_queue_url: str, **overrides: str) -> dict[str, str]:
    """What the campaigns function (and the sender) read at import, with fake credentials."""
    return {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "OUTBOUND_QUEUE_URL": outbound_queue_url,
        "OUTBOUND_TABLE": "outbound",
        "CONTACTS_TABLE": "contacts",
        "LEDGER_TABLE": "ledger",
        "LEDGER_RETENTION_DAYS": "400",
        "CONFIGURATION_SET": "outbound",
        "TEMPLATES": templates_to_json(TEMPLATES),
        "SENDER_SETTINGS": SETTINGS.to_json(),
        "SCHEDULE_GROUP": GROUP,
        "SCHEDULER_ROLE_ARN": ROLE_ARN,
        "RELEASE_TARGET_ARN": FUNCTION_ARN,
        "SCHEDULE_DEAD_LETTER_QUEUE_ARN": SCHEDULE_DLQ_ARN,
        "DEAD_LETTER_QUEUE_URL": DEAD_LETTER_QUEUE_URL,
        "POWERTOOLS_SERVICE_NAME": "two-way-sms",
        "POWERTOOLS_METRICS_NAMESPACE": "TwoWaySmsTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **overrides,
    }


@dataclass
class TimedContext:
    """A Lambda context whose remaining time the test sets (``remaining_ms``, or a list used up one per call)."""

    remaining_ms: Any = 300_000
    function_name: str = "campaigns"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = FUNCTION_ARN
    aws_request_id: str = "request-1"
    calls: int = 0

    def get_remaining_time_in_millis(self) -> int:
        self.calls += 1
        if isinstance(self.remaining_ms, list):
            return self.remaining_ms.pop(0) if self.remaining_ms else 300_000
        return self.remaining_ms


@dataclass
class CampaignWorld:
    """The campaigns function wired to emulated AWS, with helpers to set the scene and read the outcome.

    The function has DynamoDB and SQS clients of its own (``function_dynamodb``, ``function_sqs``), so a
    fault injected on them never reaches the scene's own calls.
    """

    settings: CampaignsSettings
    sqs: Any
    queue_url: str
    s3: Any
    scheduler: Any
    dynamodb: Any
    function_dynamodb: Any
    logs: io.StringIO
    now: list[datetime] = field(default_factory=lambda: [NOON_EASTERN])
    handler: Any = None

    def wire(
        self, *, audience_page_size: int = PAGE_SIZE, sqs: Any = None, audience_shard_bytes: int = SHARD_BYTES
    ) -> None:
        """(Re)builds the function: ``audience_page_size`` recipients a page, ``sqs`` instead of moto's client,
        audiences over ``audience_shard_bytes`` read in shards."""
        clients = emulated_clients(
            dynamodb=self.function_dynamodb, sqs=sqs or self.sqs, s3=self.s3, scheduler=self.scheduler
        )
        self.handler = campaigns_function.make_handler(
            self.settings,
            clients,
            clock=lambda: self.now[0],
            audience_page_size=audience_page_size,
            audience_shard_bytes=audience_shard_bytes,
        )

    @property
    def contacts(self) -> ContactsTable:
        return ContactsTable(self.dynamodb.Table("contacts"))

    @property
    def runs(self) -> CampaignRuns:
        return CampaignRuns(self.dynamodb.Table("outbound"))

    def held(self) -> HeldRequests:
        return HeldRequests(
            self.dynamodb.Table("outbound"),
            self.scheduler,
            GROUP,
            FUNCTION_ARN,
            ROLE_ARN,
            dead_letter_arn=SCHEDULE_DLQ_ARN,
        )

    # -- the scene --------------------------------------------------------------------------
    def put_csv(self, text: str, key: str = "spring.csv") -> AudienceCsv:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=text.encode("utf-8"))
        return AudienceCsv(BUCKET, key)

    def add_contact(
        self, number: str, *, opted_in: bool = True, opted_out: bool = False, attributes: dict[str, str] | None = None
    ) -> None:
        contact = (
            ContactImport(number, "web-form", OPTED_IN_AT, attributes or {})
            if opted_in
            else ContactImport(number, attributes=attributes or {"source": "import"})
        )
        self.contacts.import_contact(contact)
        if opted_out:
            self.contacts.record_consent(
                number=number,
                change=ConsentChange.OPTED_OUT,
                at_ms=int(OPTED_IN_AT.timestamp() * 1000) + 86_400_000,
                message_id=f"stop-{number}",
                keyword="STOP",
                our_number=ORIGINATION,
            )

    # -- running ----------------------------------------------------------------------------
    def run(
        self, campaign: Campaign, run_id: str = "r1", context: TimedContext | None = None, **extra: Any
    ) -> dict[str, Any]:
        return self.invoke({"kind": "campaign", "campaign": campaign.to_dict(), "runId": run_id, **extra}, context)

    def invoke(self, event: dict[str, Any], context: TimedContext | None = None) -> dict[str, Any]:
        return self.handler(event, context or TimedContext())

    # -- the outcome ------------------------------------------------------------------------
    def queued(self) -> list[SendRequest]:
        """Every request on the outbound queue (taken off it)."""
        requests = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return requests
            requests += [parse_send_request(m["Body"]) for m in messages]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
            )

    def schedules(self) -> dict[str, dict[str, Any]]:
        """The group's schedules by name, each as GetSchedule returns it."""
        names = [s["Name"] for s in self.scheduler.list_schedules(GroupName=GROUP)["Schedules"]]
        return {name: self.scheduler.get_schedule(Name=name, GroupName=GROUP) for name in names}

    def continuation_event(self, name: str) -> dict[str, Any]:
        return json.loads(self.schedules()[name]["Target"]["Input"])

    def parked(self) -> list[tuple[dict[str, Any], dict[str, str]]]:
        """The dead-letter queue's messages (taken off it): each body and its message attributes."""
        url = self.sqs.get_queue_url(QueueName=DEAD_LETTERS)["QueueUrl"]
        found = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return found
            found += [
                (
                    json.loads(m["Body"]),
                    {name: value["StringValue"] for name, value in m.get("MessageAttributes", {}).items()},
                )
                for m in messages
            ]
            self.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
            )


@contextmanager
def campaign_world(**env_overrides: str) -> Iterator[CampaignWorld]:
    """Emulated AWS and the campaigns function wired to it; ``env_overrides`` change its environment
    (an empty value leaves the variable out)."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="outbound")["QueueUrl"]
        sqs.create_queue(QueueName=DEAD_LETTERS)
        environment = {
            name: value for name, value in campaigns_environment(queue_url, **env_overrides).items() if value
        }
        settings = CampaignsSettings.from_environment(environment)
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        create_tables(dynamodb)
        create_outbound_table(dynamodb)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        scheduler = boto3.client("scheduler", region_name=REGION)
        scheduler.create_schedule_group(Name=GROUP)
        world = CampaignWorld(
            settings,
            sqs,
            queue_url,
            s3,
            scheduler,
            dynamodb,
            boto3.resource("dynamodb", region_name=REGION),
            capture_logs("two-way-sms"),
        )
        world.wire()
        yield world


@pytest.fixture
def world():
    with campaign_world() as scene:
        yield scene


def fail_calls(
    client: Any,
    operation: str,
    error: Callable[[], Exception],
    *,
    when: Callable[[dict[str, Any]], bool] = lambda params: True,
) -> None:
    """The client's ``operation`` calls whose parameters ``when`` accepts raise ``error()``, as a failure
    that outlasted botocore's retries would."""

    def fail(params: dict[str, Any], **_: Any) -> None:
        if when(params):
            raise error()

    client.meta.events.register(
        f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}.{operation}", fail
    )


class SqsLosing:
    """The SQS client, except that ``SendMessageBatch`` never takes the request with idempotency key ``key``:
    it answers with that entry failed (``InternalError``), as SQS reports a partial failure."""

    def __init__(self, sqs: Any, key: str) -> None:
        self._sqs, self._key = sqs, key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        lost = [e for e in Entries if json.loads(e["MessageBody"])["idempotencyKey"] == self._key]
        kept = [e for e in Entries if e not in lost]
        response = self._sqs.send_message_batch(QueueUrl=QueueUrl, Entries=kept) if kept else {"Successful": []}
        return {
            **response,
            "Failed": response.get("Failed", [])
            + [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected"} for e in lost],
        }


def spring_campaign(audience: Any, **changes: Any) -> Campaign:
    values = {
        "campaign_id": "spring-sale",
        "template_id": "spring",
        "audience": audience,
        "variables": {"discount": "20%", "first_name": "friend"},
    }
    return Campaign(**{**values, **changes})


def emf(capsys) -> list[dict]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    return [{k: v[0] if isinstance(v, list) else v for k, v in line.items()} for line in lines]


# -- a CSV audience -------------------------------------------------------------------------------------
AUDIENCE_CSV = (
    "phone_number,first_name\n"
    "+12065550101,Ana\n"  # opted in
    "(206) 555-0102,Ben\n"  # opted in, written the way people write numbers
    "+12065550103,Cy\n"  # opted out
    "+12065550104,Di\n"  # imported without opt-in
    "+12065550105,\n"  # never imported: no opt-in; no first name: the campaign's default
    "not a number,Eve\n"  # invalid
    "+12065550101,Ana again\n"  # duplicate
)


def _scene(world: CampaignWorld) -> AudienceCsv:
    world.add_contact("+12065550101")
    world.add_contact("+12065550102")
    world.add_contact("+12065550103", opted_out=True)
    world.add_contact("+12065550104", opted_in=False)
    return world.put_csv(AUDIENCE_CSV)


def test_a_csv_campaign_queues_one_request_per_eligible_recipient_and_counts_the_rest_by_reason(world):
    result = world.run(spring_campaign(_scene(world)))
    assert result["status"] == QUEUED_ALL
    queued = {request.destination: request for request in world.queued()}
    assert set(queued) == {"+12065550101", "+12065550102"}
    ana = queued["+12065550101"]
    assert ana.idempotency_key == "spring-sale:r1:+12065550101"
    assert ana.template_id == "spring" and ana.body is None  # the sender renders and adds the footer
    assert dict(ana.variables) == {"discount": "20%", "first_name": "Ana"}  # the CSV column overrides the default
    assert ana.message_type == "PROMOTIONAL" and ana.campaign.run_key == "spring-sale/r1"
    report = world.runs.read("spring-sale", "r1")
    assert report.status == QUEUED_ALL and report.queued == 2
    assert dict(report.skipped) == {"DUPLICATE_ROW": 1, "INVALID_ROW": 1, "NO_OPT_IN": 2, "OPTED_OUT": 1}
    assert report.recipients == 7  # every data row is either queued or skipped


def test_a_retried_invocation_queues_the_same_requests_again_but_counts_them_once(world):
    campaign = spring_campaign(_scene(world))
    world.run(campaign)
    first = world.queued()
    world.run(campaign)  # Lambda retries an asynchronous invocation that failed late
    again = world.queued()
    assert sorted(r.idempotency_key for r in again) == sorted(r.idempotency_key for r in first)  # the sender dedups
    report = world.runs.read("spring-sale", "r1")
    assert report.queued == 2 and report.skipped_total == 5


def test_a_transactional_campaign_needs_no_opt_in_but_still_skips_opted_out_recipients(world):
    audience = _scene(world)
    world.run(Campaign("closure", "closure", "TRANSACTIONAL", audience, {"day": "Monday"}))
    assert {r.destination for r in world.queued()} == {"+12065550101", "+12065550102", "+12065550104", "+12065550105"}
    assert dict(world.runs.read("closure", "r1").skipped) == {"DUPLICATE_ROW": 1, "INVALID_ROW": 1, "OPTED_OUT": 1}


def test_recipients_whose_row_lacks_a_template_variable_are_skipped(world):
    world.add_contact("+12065550101")
    world.add_contact("+12065550102")
    audience = world.put_csv("phone_number,first_name\n+12065550101,Ana\n+12065550102,\n")
    world.run(spring_campaign(audience, variables={"discount": "20%"}))  # no default first name
    assert [r.destination for r in world.queued()] == ["+12065550101"]
    assert dict(world.runs.read("spring-sale", "r1").skipped) == {"MISSING_VARIABLES": 1}


def test_recipients_over_a_promotional_limit_are_skipped_and_a_retry_of_a_sent_request_is_not(world):
    oklahoma, seattle, boston = "+14055550101", "+12065550101", "+16175550101"
    for number in (oklahoma, seattle, boston):
        world.add_contact(number)
    for n in range(3):
        world.contacts.record_promotional_send(oklahoma, f"other:{n}", None, NOON_EASTERN - timedelta(hours=n + 1))
    for n in range(2):
        world.contacts.record_promotional_send(seattle, f"other:{n}", None, NOON_EASTERN - timedelta(hours=n + 1))
    # Boston already got this run's text (the first attempt of this invocation queued it and it went out).
    world.contacts.record_promotional_send(boston, "spring-sale:r1:+16175550101", None, NOON_EASTERN)
    world.contacts.record_promotional_send(boston, "other:1", None, NOON_EASTERN - timedelta(hours=1))
    audience = world.put_csv(f"phone_number\n{oklahoma}\n{seattle}\n{boston}\n")
    world.run(spring_campaign(audience))
    assert [r.destination for r in world.queued()] == [boston]
    assert dict(world.runs.read("spring-sale", "r1").skipped) == {"OVER_DAILY_LIMIT": 1, "OVER_STATE_LIMIT": 1}


def test_limits_are_checked_at_the_recipients_local_send_time(world):
    seattle = "+12065550101"
    world.add_contact(seattle)
    for n in range(2):  # two texts yesterday before 10:00 local: over the daily limit now, not at 10:00 today
        world.contacts.record_promotional_send(
            seattle, f"other:{n}", None, NOON_EASTERN - timedelta(hours=23, minutes=30 * n)
        )
    audience = world.put_csv(f"phone_number\n{seattle}\n")
    world.run(spring_campaign(audience, local_time="10:00"))
    [request] = world.queued()
    assert request.send_after == datetime(2026, 3, 3, 18, 0, tzinfo=timezone.utc)  # 10:00 PST, an hour after now
    world.run(spring_campaign(audience), run_id="r2")  # the same campaign sent now is over the limit
    assert world.queued() == []


def test_the_run_says_whether_the_template_lacks_an_opt_out_instruction(world):
    audience = _scene(world)
    world.run(spring_campaign(audience))
    world.run(spring_campaign(audience, template_id="spring-stop"), run_id="r2")
    assert world.runs.read("spring-sale", "r1").template_lacks_opt_out_instruction is True
    assert world.runs.read("spring-sale", "r2").template_lacks_opt_out_instruction is False
    assert "the sender appends one to every text" in world.logs.getvalue()


def test_an_empty_audience_finishes_the_run_with_nothing_queued(world):
    world.run(spring_campaign(world.put_csv("phone_number,first_name\n")))
    report = world.runs.read("spring-sale", "r1")
    assert report.status == QUEUED_ALL and report.recipients == 0


# -- continuing in a new invocation ------------------------------------------------------------------------
def _numbers(count: int, area: str = "206") -> list[str]:
    return [f"+1{area}555{n:04d}" for n in range(count)]


def test_when_time_runs_low_the_run_schedules_its_continuation_from_the_next_row(world):
    world.wire(audience_page_size=4)
    numbers = _numbers(10)
    for number in numbers:
        world.add_contact(number)
    campaign = spring_campaign(world.put_csv("phone_number\n" + "\n".join(numbers) + "\n"))
    # Plenty of time after the first page, too little after the second.
    result = world.run(campaign, context=TimedContext(remaining_ms=[60_000, 5_000]))
    assert result["status"] == "CONTINUED"
    assert len(world.queued()) == 8
    report = world.runs.read("spring-sale", "r1")
    assert report.status == "RUNNING" and report.queued == 8

    [(name, schedule)] = world.schedules().items()
    assert name == "campaign-spring-sale-r1-1"
    assert schedule["ScheduleExpression"] == "at(2026-03-03T17:01:00)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC" and schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert (target["Arn"], target["RoleArn"]) == (FUNCTION_ARN, ROLE_ARN)
    assert target["DeadLetterConfig"] == {"Arn": SCHEDULE_DLQ_ARN} and target["RetryPolicy"]["MaximumRetryAttempts"]
    event = json.loads(target["Input"])
    assert (event["kind"], event["runId"], event["cursor"], event["continuation"]) == ("campaign", "r1", "8", 1)

    world.now[0] = NOON_EASTERN + timedelta(minutes=1)
    assert world.invoke(event)["status"] == QUEUED_ALL
    assert {r.destination for r in world.queued()} == set(numbers[8:])
    report = world.runs.read("spring-sale", "r1")
    assert report.status == QUEUED_ALL and report.queued == 10


def test_a_continuation_that_runs_twice_counts_its_pages_once(world):
    world.wire(audience_page_size=3)
    numbers = _numbers(7)
    for number in numbers:
        world.add_contact(number)
    campaign = spring_campaign(world.put_csv("phone_number\n" + "\n".join(numbers) + "\n"))
    world.run(campaign, context=TimedContext(remaining_ms=[1_000]))
    event = world.continuation_event("campaign-spring-sale-r1-1")
    world.invoke(event)
    world.invoke(event)  # EventBridge Scheduler delivers at least once
    world.run(campaign)  # and the first invocation is retried from the start
    report = world.runs.read("spring-sale", "r1")
    assert report.queued == 7 and report.status == QUEUED_ALL


def test_a_contacts_query_audience_reaches_every_matching_contact_across_pages_and_invocations(world):
    world.wire(audience_page_size=5)
    vips = _numbers(12, "312")
    for n, number in enumerate(vips):
        world.add_contact(number, attributes={"tier": "vip", "first_name": f"Vip{n}"})
    for number in _numbers(6, "415"):
        world.add_contact(number, attributes={"tier": "basic", "first_name": "Basic"})
    world.add_contact("+13125559999", opted_out=True, attributes={"tier": "vip", "first_name": "Gone"})
    campaign = spring_campaign(AudienceQuery({"tier": "vip"}))
    result = world.run(campaign, context=TimedContext(remaining_ms=[60_000, 1_000]))
    assert result["status"] == "CONTINUED"
    event = world.continuation_event("campaign-spring-sale-r1-1")
    assert json.loads(event["cursor"])  # the scan's LastEvaluatedKey
    world.invoke(event)
    queued = world.queued()
    assert sorted(r.destination for r in queued) == sorted(vips)
    assert {r.variables["first_name"] for r in queued} == {f"Vip{n}" for n in range(12)}
    report = world.runs.read("spring-sale", "r1")
    assert report.status == QUEUED_ALL and report.queued == 12 and dict(report.skipped) == {"OPTED_OUT": 1}


# -- bad input: parked at once with its reason, the run marked FAILED --------------------------------------
def test_a_campaign_whose_template_is_not_deployed_fails_the_run_and_is_parked_with_the_reason(world):
    event = {
        "kind": "campaign",
        "campaign": spring_campaign(_scene(world), template_id="gone").to_dict(),
        "runId": "r1",
    }
    result = world.invoke(event)
    assert result == {"status": "FAILED", "reason": "no template gone is deployed"}
    report = world.runs.read("spring-sale", "r1")
    assert report.status == FAILED and report.failure == "no template gone is deployed"
    assert world.queued() == []
    [(body, attributes)] = world.parked()
    assert body["event"] == event and body["reason"] == "no template gone is deployed"
    assert attributes["reason"] == "no template gone is deployed" and attributes["source"] == "campaigns-function"
    assert (attributes["campaignId"], attributes["runId"]) == ("spring-sale", "r1")
    assert "campaign run failed" in world.logs.getvalue()


def test_a_missing_audience_file_fails_the_run(world):
    result = world.run(spring_campaign(AudienceCsv(BUCKET, "nope.csv")))
    assert result["status"] == FAILED and "NoSuchKey" in result["reason"]
    assert world.runs.read("spring-sale", "r1").status == FAILED
    assert [body["reason"] for body, _ in world.parked()] == ["the audience cannot be read (NoSuchKey)"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"number,first_name\n+12065550101,Ana\n", "no phone_number column"),
        (b"phone_\xffnumber,first_name\n+12065550101,Ana\n", "header is not valid UTF-8"),
    ],
)
def test_an_audience_file_without_a_usable_header_fails_the_run(world, content, fragment):
    world.s3.put_object(Bucket=BUCKET, Key="spring.csv", Body=content)
    result = world.run(spring_campaign(AudienceCsv(BUCKET, "spring.csv")))
    assert result["status"] == FAILED and fragment in result["reason"]
    report = world.runs.read("spring-sale", "r1")
    assert report.status == FAILED and fragment in report.failure
    [(body, _)] = world.parked()
    assert fragment in body["reason"]


def test_a_run_id_too_long_for_the_idempotency_key_fails_the_run_without_a_retry(world):
    campaign = spring_campaign(_scene(world), campaign_id="c" * 64)
    result = world.run(campaign, run_id="r" * 50)
    assert result["status"] == "PARKED" and "114 characters together" in result["reason"]
    report = world.runs.read("c" * 64, "r" * 50)
    assert report.status == FAILED and "idempotency key" in report.failure
    assert world.queued() == [] and len(world.parked()) == 1


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ({"kind": "party"}, "event kind 'party' must be one of"),
        ({"kind": "campaign", "campaign": "{not json", "runId": "r1"}, "campaign is not JSON"),
        ({"kind": "release", "minute": "soon"}, "release minute 'soon'"),
    ],
)
def test_an_event_that_can_never_run_is_parked_with_its_reason_and_the_invocation_succeeds(world, event, fragment):
    result = world.invoke(event)
    assert result["status"] == "PARKED" and fragment in result["reason"]
    [(body, attributes)] = world.parked()
    assert body["event"] == event and fragment in attributes["reason"] and body["requestId"] == "request-1"
    line = [json.loads(text) for text in world.logs.getvalue().splitlines() if "parked" in text][-1]
    assert line["level"] == "ERROR" and fragment in line["reason"]


def test_a_campaign_event_with_a_bad_field_fails_the_run_it_names(world):
    campaign = {**spring_campaign(AudienceCsv(BUCKET, "spring.csv")).to_dict(), "sendNow": True}
    result = world.invoke({"kind": "campaign", "campaign": campaign, "runId": "r1"})
    assert result["status"] == "PARKED"
    report = world.runs.read("spring-sale", "r1")
    assert report.status == FAILED and report.failure == "campaign has unknown fields: sendNow"


def test_a_passing_failure_is_logged_once_with_its_reason_and_raised_for_lambdas_retry(world):
    audience = _scene(world)
    # The run's counters cannot be written (CampaignRuns.add_counts: an UpdateItem that ADDs).
    fail_calls(
        world.function_dynamodb.meta.client,
        "UpdateItem",
        lambda: RuntimeError("ProvisionedThroughputExceededException"),
        when=lambda params: str(params.get("UpdateExpression", "")).startswith("ADD"),
    )
    with pytest.raises(RuntimeError, match="ProvisionedThroughput"):
        world.run(spring_campaign(audience))
    [line] = [json.loads(text) for text in world.logs.getvalue().splitlines() if "invocation failed" in text]
    assert line["reason"] == "RuntimeError: ProvisionedThroughputExceededException"
    assert world.parked() == [] and world.runs.read("spring-sale", "r1").status == "RUNNING"


# -- bad rows never fail their page ------------------------------------------------------------------------------
def test_bad_rows_are_counted_and_kept_with_their_row_number_and_reason_and_the_page_goes_on(world):
    for number in ("+12065550101", "+12065550102", "+12065550103"):
        world.add_contact(number)
    big = "x" * 2000
    content = (
        b"phone_number,first_name\n+12065550101,Ana\n+12065550102,Z\xfcrich\n+12065550103,"
        + big.encode()
        + b"\nnot a number,Cy\n+12065550103,Di\n"
    )
    world.s3.put_object(Bucket=BUCKET, Key="spring.csv", Body=content)
    result = world.run(spring_campaign(AudienceCsv(BUCKET, "spring.csv")))
    assert result["status"] == QUEUED_ALL
    assert sorted(r.destination for r in world.queued()) == ["+12065550101", "+12065550103"]
    report = world.runs.read("spring-sale", "r1")
    assert report.status == QUEUED_ALL and report.queued == 2 and dict(report.skipped) == {"INVALID_ROW": 3}
    errors = world.runs.row_errors("spring-sale", "r1")
    assert [(e.row_number, e.reason) for e in errors] == [
        (2, "row 2: column 'first_name' is not valid UTF-8"),
        (3, "row 3: column 'first_name' has 2,000 characters; at most 1,600 are allowed"),
        (4, "row 4: not a possible phone number: not a*****er"),
    ]
    assert world.parked() == []


def test_row_errors_of_a_retried_page_are_kept_once_and_another_runs_are_apart(world):
    audience = world.put_csv("phone_number\nnope\n+12065550101\n")
    world.add_contact("+12065550101")
    world.run(spring_campaign(audience))
    world.run(spring_campaign(audience))  # the invocation retried
    world.run(spring_campaign(audience), run_id="r1#2")  # a run whose id starts like this one's
    assert [e.row_number for e in world.runs.row_errors("spring-sale", "r1")] == [1]
    assert world.runs.read("spring-sale", "r1").skipped == {"INVALID_ROW": 1}


def test_the_function_refuses_to_start_without_its_settings():
    with pytest.raises(RuntimeError, match="SCHEDULE_DEAD_LETTER_QUEUE_ARN"):
        with campaign_world(SCHEDULE_DEAD_LETTER_QUEUE_ARN=""):
            pass


def test_the_lambda_entry_point_reads_its_settings_when_first_invoked_and_refuses_without_them(monkeypatch):
    for name, value in campaigns_environment("https://sqs.example/outbound").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TEMPLATES")
    with pytest.raises(RuntimeError, match="TEMPLATES"):
        campaigns_function.handler({"kind": "check-budget"}, TimedContext())


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("TEMPLATES", "{not json", "templates are not JSON"),
        ("SENDER_SETTINGS", '{"mps": 3}', "origination_identity"),
    ],
)
def test_settings_that_do_not_parse_are_refused_naming_what_is_wrong(name, value, fragment):
    environment = campaigns_environment("https://sqs.example/outbound", **{name: value})
    with pytest.raises(RuntimeError, match=f"campaigns function settings are invalid: .*{fragment}"):
        CampaignsSettings.from_environment(environment)


def test_the_settings_are_the_environment_they_were_read_from():
    contract = {
        name: value
        for name, value in campaigns_environment("https://sqs.example/outbound").items()
        if name in campaigns_contract.REQUIRED + campaigns_contract.OPTIONAL
    }
    settings = CampaignsSettings.from_environment(contract)
    assert settings.to_environment() == contract and settings.promotional_daily_limit == 2
    assert CampaignsSettings.from_environment({**contract, "SENDER_SETTINGS": ""}).promotional_daily_limit is None


def test_logs_and_metrics_never_show_a_full_phone_number(world, capsys):
    world.run(spring_campaign(_scene(world)))
    output = world.logs.getvalue() + capsys.readouterr().out
    assert "+12065550101" not in output and "2065550101" not in output
    assert "(206) 555-0102" not in output


def test_the_fan_out_writes_queued_and_skipped_metrics(world, capsys):
    world.run(spring_campaign(_scene(world)))
    metrics = emf(capsys)[-1]
    assert metrics["CampaignRecipientsQueued"] == 2.0 and metrics["CampaignRecipientsSkipped"] == 5.0


# -- held requests --------------------------------------------------------------------------------------------
def _held_request(n: int) -> SendRequest:
    return SendRequest(
        destination=f"+1206555{n:04d}",
        message_type="PROMOTIONAL",
        idempotency_key=f"held-{n}",
        template_id="spring",
        variables={"first_name": "Ana", "discount": "10%"},
    )


def _hold_many(world: CampaignWorld, minute: str, count: int) -> None:
    """Held requests as the sender stores them (``HeldRequests.hold`` one by one is slow under moto)."""
    with world.dynamodb.Table("outbound").batch_writer() as batch:
        for n in range(count):
            request = _held_request(n)
            batch.put_item(Item={"pk": f"HOLD#{minute}", "sk": request.idempotency_key, "request": request.to_json()})


def test_a_release_moves_the_minutes_held_requests_back_into_the_queue(world, capsys):
    held = world.held()
    minute = NOON_EASTERN + timedelta(hours=2)
    held.hold(_held_request(0), minute - timedelta(seconds=30))  # rounded up to 19:00
    _hold_many(world, "2026-03-03T19:00", 130)  # more than one page
    held.hold(_held_request(999), minute + timedelta(minutes=5))  # another minute: stays
    result = world.invoke({"kind": "release", "minute": "2026-03-03T19:00"})
    assert result == {"status": "RELEASED", "released": 130}
    assert sorted(r.idempotency_key for r in world.queued()) == sorted(f"held-{n}" for n in range(130))
    assert held.peek("2026-03-03T19:00")[0] == []
    assert [key for key, _ in held.peek("2026-03-03T19:05")[0]] == ["held-999"]
    assert emf(capsys)[-1]["HeldRequestsReleased"] == 130.0


def test_a_release_that_runs_low_on_time_continues_in_a_new_invocation(world):
    _hold_many(world, "2026-03-03T19:00", 250)
    result = world.invoke({"kind": "release", "minute": "2026-03-03T19:00"}, TimedContext(remaining_ms=[1_000]))
    assert result == {"status": "CONTINUED", "released": 100}
    schedule = world.schedules()["release-20260303T1900-1"]
    event = json.loads(schedule["Target"]["Input"])
    assert event == {"kind": "release", "minute": "2026-03-03T19:00", "continuation": 1}
    assert schedule["Target"]["Arn"] == FUNCTION_ARN
    assert world.invoke(event) == {"status": "RELEASED", "released": 150}
    assert len({r.idempotency_key for r in world.queued()}) == 250


def test_held_requests_sqs_did_not_take_stay_held_for_the_retry(world, capsys):
    _hold_many(world, "2026-03-03T19:00", 12)
    world.wire(sqs=SqsLosing(world.sqs, "held-0"))  # held-0 comes first: the page's first request
    with pytest.raises(RuntimeError, match="1 held request"):
        world.invoke({"kind": "release", "minute": "2026-03-03T19:00"})
    assert [key for key, _ in world.held().peek("2026-03-03T19:00")[0]] == ["held-0"]
    assert emf(capsys)[-1]["HeldRequestsReleased"] == 11.0


def test_a_release_of_an_empty_minute_releases_nothing(world):
    assert world.invoke({"kind": "release", "minute": "2026-03-03T19:00"}) == {"status": "RELEASED", "released": 0}


# -- resuming a CSV ----------------------------------------------------------------------------------------------
RAGGED_CSV = (
    "phone_number,first_name,note\n"
    "+12065550101,Ana,\n"
    "\n"
    ",,\n"
    '+12065550102,"Ben\nwith a newline",x\n'
    "nope,Cy,\n"
    '+12065550103,Di,"a, b"\n'
    "  ,  ,  \n"
    "+12065550104,Ed,,extra\n"
    "+12065550105,Flo,\n"
)


def _entries(entries) -> list[tuple]:
    return [
        (e.row_number, e.destination, dict(e.variables)) if isinstance(e, AudienceRow) else (e.row_number, e.reason)
        for e in entries
    ]


@pytest.mark.parametrize("cursor", range(0, 8))
def test_reading_a_csv_from_a_cursor_gives_the_rows_a_whole_read_gives_after_it(cursor):
    lines = RAGGED_CSV.splitlines(keepends=True)
    whole = _entries(read_audience_csv(lines))
    assert _entries(read_csv_from(iter(lines), cursor)) == [e for e in whole if e[0] > cursor]


def test_rows_are_numbered_like_the_whole_file_and_errors_name_them():
    whole = list(read_audience_csv(RAGGED_CSV.splitlines(keepends=True)))
    assert [e.row_number for e in whole] == [1, 2, 3, 4, 5, 6]
    assert isinstance(whole[2], AudienceRowError) and isinstance(whole[4], AudienceRowError)
    assert whole[1].variables["first_name"] == "Ben\nwith a newline"
    resumed = list(read_csv_from(iter(RAGGED_CSV.splitlines(keepends=True)), 4))
    assert resumed[0].row_number == 5 and resumed[0].reason.startswith("row 5 ")


def test_a_csv_in_s3_is_read_in_pages_with_a_bom_and_crlf_line_ends(world):
    text = "\ufeffphone_number,first_name\r\n" + "".join(f"+1206555{n:04d},N{n}\r\n" for n in range(7))
    audience = world.put_csv(text)
    reader = AudienceReader(s3_client=world.s3, page_size=3)
    pages = list(reader.pages(audience))
    assert [(p.start, len(p.entries), p.next_cursor, p.chunk_id) for p in pages] == [
        ("0", 3, "3", "start"),
        ("3", 3, "6", "row-3"),
        ("6", 1, None, "row-6"),
    ]
    assert pages[0].entries[0].variables == {"first_name": "N0"}
    assert [e.row_number for p in reader.pages(audience, "6") for e in p.entries] == [7]


def test_a_duplicate_row_is_left_out_even_when_its_first_row_was_read_by_an_earlier_invocation(world):
    world.wire(audience_page_size=2)
    numbers = _numbers(4)
    for number in numbers:
        world.add_contact(number)
    spelled = "(206) 555-0000"  # the first row spells the last one's number another way
    audience = world.put_csv("phone_number\n" + "\n".join([spelled] + numbers[1:]) + "\n" + numbers[0] + "\n")
    world.run(spring_campaign(audience), context=TimedContext(remaining_ms=[1_000]))
    world.invoke(world.continuation_event("campaign-spring-sale-r1-1"), TimedContext(remaining_ms=[1_000]))
    world.invoke(world.continuation_event("campaign-spring-sale-r1-2"))
    report = world.runs.read("spring-sale", "r1")
    assert report.queued == 4 and dict(report.skipped) == {"DUPLICATE_ROW": 1}
    assert len(world.queued()) == 4


def test_resuming_a_csv_collects_the_destinations_of_the_rows_before_the_cursor():
    earlier: set[str] = set()
    lines = RAGGED_CSV.splitlines(keepends=True)
    assert [e.row_number for e in read_csv_from(iter(lines), 4, earlier)] == [5, 6]
    assert earlier == {"+12065550101", "+12065550102", "+12065550103"}  # row 3 is not a number
