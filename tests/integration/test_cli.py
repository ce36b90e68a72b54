"""The operator CLI (``python -m two_way_sms_client.cli``) against emulated AWS (moto; CloudFormation stubbed)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from two_way_sms.adapters.campaign_runs import CampaignRuns
from two_way_sms.outbound.campaign import Campaign
from two_way_sms.outbound.request import parse_send_request
from two_way_sms_client import cli
from two_way_sms_local.emulation import REGION, create_outbound_table, create_tables

ACCOUNT = "123456789012"
TEMPLATES = {
    "spring": {"body": "Hi {first_name}, {discount} off at Example Shop.", "messageType": "PROMOTIONAL"},
    "closure": {"body": "Example Clinic is closed on {day} – call us to rebook.", "messageType": "TRANSACTIONAL"},
}


class World:
    """moto's SQS, S3, DynamoDB and Scheduler, and a CloudFormation stack whose outputs point at them."""

    def __init__(self, tmp_path: Path) -> None:
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue_url = self.sqs.create_queue(QueueName="outbound")["QueueUrl"]
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        self.contacts = create_tables(dynamodb)
        self.outbound = create_outbound_table(dynamodb)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket="audiences")
        self.scheduler = boto3.client("scheduler", region_name=REGION)
        self.scheduler.create_schedule_group(Name="two-way-sms")
        self.templates_file = tmp_path / "templates.json"
        self.templates_file.write_text(json.dumps(TEMPLATES))
        self.tmp_path = tmp_path
        self.stack_reads = 0
        self.sessions = 0  # boto3 sessions the command made: 0 when it stopped before any AWS call
        self.clients: dict[str, Any] = {}  # service name -> a fake client (the End User Messaging emulator)
        self.outputs = {
            "OutboundQueueUrl": self.queue_url,
            "OutboundTableName": "outbound",
            "ContactsTableName": "contacts",
            "CampaignsFunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:campaigns",
            "SchedulerRoleArn": f"arn:aws:iam::{ACCOUNT}:role/scheduler",
            "ScheduleGroupName": "two-way-sms",
            "ScheduleDeadLetterQueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:schedule-dead-letters",
            "AudienceBucketName": "audiences",
        }

    def session(self, **kwargs: Any) -> Any:
        world = self
        world.sessions += 1

        class StackSession:
            """boto3's session, but CloudFormation answers from a Stubber (checked against its model)."""

            def __init__(self) -> None:
                self._session = boto3.Session(region_name=kwargs.get("region_name", REGION))

            def client(self, name: str) -> Any:
                if name in world.clients:
                    return world.clients[name]
                if name != "cloudformation":
                    return self._session.client(name)
                client = self._session.client("cloudformation")
                stubber = Stubber(client)
                stubber.add_response(
                    "describe_stacks",
                    {
                        "Stacks": [
                            {
                                "StackName": "TwoWaySms",
                                "CreationTime": datetime(2026, 3, 1, tzinfo=timezone.utc),
                                "StackStatus": "CREATE_COMPLETE",
                                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in world.outputs.items()],
                            }
                        ]
                    },
                    {"StackName": "TwoWaySms"},
                )
                stubber.activate()
                world.stack_reads += 1
                return client

            def resource(self, name: str) -> Any:
                return self._session.resource(name)

        return StackSession()

    def run(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(list(argv), out=out, err=err, session=self.session)
        return code, out.getvalue(), err.getvalue()

    def queued(self) -> list:
        requests = []
        while messages := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages"):
            requests += [parse_send_request(m["Body"]) for m in messages]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
            )
        return requests

    def schedules(self) -> dict[str, dict]:
        names = [s["Name"] for s in self.scheduler.list_schedules(GroupName="two-way-sms")["Schedules"]]
        return {n: self.scheduler.get_schedule(Name=n, GroupName="two-way-sms") for n in names}


@pytest.fixture
def world(emulated_aws, monkeypatch, tmp_path):
    for name in (cli.QUEUE_URL_VARIABLE, cli.STACK_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./cdk.json unless a test writes one: the templates' default
    yield World(tmp_path)


# -- send -----------------------------------------------------------------------------------------------
def test_send_prints_the_idempotency_key_and_the_bodys_encoding_and_parts(world):
    code, out, err = world.run(
        "send", "--to", "+14255550182", "--body", "Your order has shipped.", "--queue-url", world.queue_url
    )
    assert (code, err) == (0, "")
    [request] = world.queued()
    assert f"idempotency key: {request.idempotency_key}" in out
    assert "body: GSM-7, 23 characters, 1 part" in out
    assert "+14255550182" not in out and "+1425*****82" in out


def test_send_takes_the_queue_from_the_environment_or_the_stack(world, monkeypatch):
    monkeypatch.setenv(cli.QUEUE_URL_VARIABLE, world.queue_url)
    assert world.run("send", "--to", "+14255550182", "--body", "one")[0] == 0
    monkeypatch.delenv(cli.QUEUE_URL_VARIABLE)
    assert world.run("--stack", "TwoWaySms", "send", "--to", "+14255550182", "--body", "two", "--key", "k-2")[0] == 0
    assert [r.body for r in world.queued()] == ["one", "two"] and world.stack_reads == 1


def test_send_with_a_template_renders_it_to_show_its_size_when_the_templates_are_given(world):
    code, out, _ = world.run(
        "send",
        "--to",
        "+14255550182",
        "--template",
        "closure",
        "--var",
        "day=Monday",
        "--templates",
        str(world.templates_file),
        "--queue-url",
        world.queue_url,
        "--key",
        "closure-1",
        "--context",
        "batch=7",
        "--after",
        "2026-03-02T17:00:00Z",
    )
    assert code == 0
    assert "body: UCS-2 (because of '–'), 55 characters, 1 part" in out
    [request] = world.queued()
    assert (request.template_id, dict(request.variables), request.idempotency_key) == (
        "closure",
        {"day": "Monday"},
        "closure-1",
    )
    assert dict(request.context) == {"batch": "7"}
    assert request.send_after == datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)


def test_a_promotional_send_says_the_footer_is_not_counted_yet(world):
    code, out, _ = world.run(
        "send",
        "--to",
        "+14255550182",
        "--body",
        "Spring sale!",
        "--type",
        "PROMOTIONAL",
        "--queue-url",
        world.queue_url,
    )
    assert code == 0 and "before the footer" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["send", "--to", "12", "--body", "hi"], "not a possible phone number"),
        (["send", "--to", "+14255550182"], "--body TEXT or --template ID"),
        (["send", "--to", "+14255550182", "--template", "closure", "--var", "day"], "'day' must be NAME=VALUE"),
        (["send", "--to", "+14255550182", "--body", "hi", "--var", "a=b"], "--var goes with --template"),
        (["send", "--to", "+14255550182", "--body", "hi", "--type", "SPAM"], "invalid choice: 'SPAM'"),
        (["send", "--to", "+14255550182", "--body", "hi", "--after", "noon"], "sendAfter 'noon'"),
        (
            ["send", "--to", "+14255550182", "--template", "closure", "--templates", "TEMPLATES"],
            "missing variables: day",
        ),
        (["send", "--to", "+14255550182", "--template", "nope", "--templates", "TEMPLATES"], "no template nope"),
        (["send", "--to", "+14255550182", "--body", "hi"], "pass its option or --stack"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["campaign"], "required"),
    ],
)
def test_invalid_input_exits_2_with_one_line_and_sends_nothing(world, argv, message):
    argv = [str(world.templates_file) if a == "TEMPLATES" else a for a in argv]
    if "--queue-url" not in argv and "pass its option" not in message:
        argv += ["--queue-url", world.queue_url] if argv[0] == "send" else []
    code, out, err = world.run(*argv)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert "Traceback" not in err and out == ""
    assert world.queued() == []


def test_an_aws_failure_exits_1_with_one_line(world):
    missing = world.queue_url.replace("outbound", "missing")
    code, _, err = world.run("send", "--to", "+14255550182", "--body", "hi", "--queue-url", missing)
    assert code == 1 and err.startswith("error: AWS refused: ") and err.count("\n") == 1


def test_help_exits_0(world):
    assert world.run("--help")[0] == 0


# -- campaigns ----------------------------------------------------------------------------------------------
def test_campaign_schedule_from_options_uploads_a_local_csv_and_schedules_the_run(world):
    audience = world.tmp_path / "spring.csv"
    audience.write_text("phone_number,first_name\n+14255550182,Ana\n")
    code, out, err = world.run(
        "--stack",
        "TwoWaySms",
        "campaign",
        "schedule",
        "--id",
        "spring-sale",
        "--template",
        "spring",
        "--csv",
        str(audience),
        "--var",
        "discount=20%",
        "--local-time",
        "10:00",
        "--at",
        "2099-03-02T15:00:00Z",
        "--run-id",
        "r1",
        "--templates",
        str(world.templates_file),
    )
    assert (code, err) == (0, "")
    assert "scheduled campaign spring-sale run r1" in out
    schedule = world.schedules()["campaign-spring-sale-r1"]
    assert schedule["ScheduleExpression"] == "at(2099-03-02T15:00:00)"
    event = json.loads(schedule["Target"]["Input"])
    campaign = Campaign.from_json(event["campaign"])
    assert (campaign.audience.bucket, campaign.audience.key) == ("audiences", "audiences/spring-sale/spring.csv")
    assert (campaign.local_time, dict(campaign.variables), campaign.message_type) == (
        "10:00",
        {"discount": "20%"},
        "PROMOTIONAL",
    )
    assert world.s3.get_object(Bucket="audiences", Key="audiences/spring-sale/spring.csv")["Body"].read()


def test_campaign_schedule_from_a_file_with_a_contacts_query(world):
    campaign_file = world.tmp_path / "campaign.json"
    campaign_file.write_text(
        json.dumps(
            {
                "campaignId": "vip-preview",
                "templateId": "spring",
                "audience": {"query": {"attributes": {"tier": "vip"}}},
                "variables": {"discount": "30%"},
            }
        )
    )
    code, out, _ = world.run(
        "--stack",
        "TwoWaySms",
        "campaign",
        "schedule",
        "--file",
        str(campaign_file),
        "--at",
        "2099-01-01T00:00:00+00:00",
    )
    assert code == 0
    [name] = world.schedules()
    assert name.startswith("campaign-vip-preview-2") and "run " in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            [
                "--id",
                "spring-sale",
                "--template",
                "spring",
                "--csv",
                "s3://audiences/x.csv",
                "--at",
                "2000-01-01T00:00:00Z",
            ],
            "in the past",
        ),
        (
            ["--id", "spring-sale", "--template", "spring", "--csv", "s3://audiences/x.csv", "--at", "tomorrow"],
            "--at 'tomorrow'",
        ),
        (["--id", "spring-sale", "--template", "spring"], "either --csv"),
        (
            ["--id", "spring-sale", "--template", "autumn", "--where", "tier=vip", "--templates", "TEMPLATES"],
            "no template autumn",
        ),
        (["--id", "spring sale", "--template", "spring", "--where", "tier=vip"], "campaign id 'spring sale'"),
        (["--id", "spring-sale", "--template", "spring", "--csv", "nowhere.csv"], "does not exist"),
    ],
)
def test_campaign_schedule_refuses_invalid_input_with_exit_code_2(world, extra, message):
    extra = [str(world.templates_file) if a == "TEMPLATES" else a for a in extra]
    code, _, err = world.run("--stack", "TwoWaySms", "campaign", "schedule", *extra)
    assert code == 2 and message in err and err.count("\n") == 1
    assert world.schedules() == {}


def test_campaign_report_prints_the_runs_counters_as_json(world):
    runs = CampaignRuns(world.outbound)
    runs.start("spring-sale", "r1", datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc))
    runs.add_counts("spring-sale", "r1", {"queued": 9, "skipped_OPTED_OUT": 1, "sent": 8, "refused_NO_OPT_IN": 1})
    code, out, _ = world.run("campaign", "report", "--id", "spring-sale", "--run", "r1", "--table", "outbound")
    assert code == 0
    report = json.loads(out)
    assert (report["queued"], report["skipped"], report["sent"], report["refused"]) == (
        9,
        {"OPTED_OUT": 1},
        8,
        {"NO_OPT_IN": 1},
    )
    code, _, err = world.run("campaign", "report", "--id", "spring-sale", "--run", "r2", "--table", "outbound")
    assert code == 2 and "no run r2" in err


# -- contacts --------------------------------------------------------------------------------------------
def test_contacts_import_reports_imported_without_opt_in_and_rejected_rows(world):
    contacts_file = world.tmp_path / "contacts.csv"
    contacts_file.write_text(
        "phone_number,opt_in_source,opt_in_at,tier\n"
        "+14255550101,web-form,2026-01-10T12:00:00Z,vip\n"
        "+14255550102,,,basic\n"
        "+14255550103,web-form,,vip\n"
    )
    code, out, _ = world.run("--stack", "TwoWaySms", "contacts", "import", str(contacts_file))
    assert code == 0
    assert "imported 2 contact(s); 1 without opt-in" in out and "1 row(s) rejected" in out
    assert "rejected row 3:" in out
    assert world.contacts.get_item(Key={"phone_number": "+14255550101", "record": "PROFILE"})["Item"]["opt_in_at"]


def test_contacts_import_of_a_file_without_a_phone_number_column_exits_2(world):
    contacts_file = world.tmp_path / "contacts.csv"
    contacts_file.write_text("number\n+14255550101\n")
    code, _, err = world.run("contacts", "import", str(contacts_file), "--table", "contacts")
    assert code == 2 and "phone_number" in err


# -- the module as a program ----------------------------------------------------------------------------------
def _program(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_DEFAULT_REGION": REGION}
    env.pop(cli.QUEUE_URL_VARIABLE, None)
    env.pop(cli.STACK_VARIABLE, None)
    command = Path(sys.executable).with_name("two-way-sms")  # the console script the install made
    return subprocess.run([str(command), *argv], capture_output=True, text=True, env=env, timeout=60)


def test_python_dash_m_runs_the_cli_and_invalid_input_never_shows_a_traceback():
    assert _program("--help").returncode == 0
    result = _program(
        "send", "--to", "12", "--body", "hi", "--queue-url", "https://sqs.us-east-1.amazonaws.com/123456789012/outbound"
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: destination: not a possible phone number")
    assert "Traceback" not in result.stderr


def test_the_stack_may_be_named_after_the_command_or_in_the_environment(world, monkeypatch):
    assert world.run("send", "--to", "+14255550182", "--body", "one", "--stack", "TwoWaySms")[0] == 0
    monkeypatch.setenv(cli.STACK_VARIABLE, "TwoWaySms")
    assert world.run("contacts", "import", str(world.templates_file))[0] == 2  # read the stack, then refused the file
    assert [r.body for r in world.queued()] == ["one"] and world.stack_reads == 2
