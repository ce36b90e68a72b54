"""The operator's daily commands (opt-outs, dead-letter queues, simulate inbound) against emulated AWS:
moto for SNS, SQS, DynamoDB, STS and Scheduler, the End User Messaging emulator for the opt-out list,
and the stack's outputs through test_cli's CloudFormation stub."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.integration.test_cli import ACCOUNT, World
from two_way_sms import metric_names
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.dead_letters import DeadLetterQueue
from two_way_sms.conversations.router import Router
from two_way_sms.handlers.inbound import make_handler
from two_way_sms.inbound import parse_inbound
from two_way_sms.responder import ConsentChange
from two_way_sms.settings import InboundSettings
from two_way_sms_client import cli
from two_way_sms_local.clients import emulated_clients
from two_way_sms_local.emulation import REGION, FakeLambdaContext, capture_logs, create_conversations_table
from two_way_sms_local.sms_emulator import SimulatedClock, SmsEmulator

OUR_NUMBER = "+12125550101"
CUSTOMER = "+12065550142"
CALLER = f"arn:aws:sts::{ACCOUNT}:user/moto"  # moto's GetCallerIdentity
CONFIG: dict[str, Any] = {
    "help_reply": "Example Clinic: help at +1 206 555 0100. Reply STOP to cancel.",
    "stop_reply": "Example Clinic: you are unsubscribed and will receive no more messages.",
    "opt_in_reply": "Example Clinic: you are subscribed again. Reply STOP to cancel.",
    "default_reply": "Example Clinic: thanks! Reply HELP for help.",
    "keywords": [{"keyword": "HOURS", "reply": "Open Mon-Fri 8-18.", "action": "AUTOMATIC_RESPONSE"}],
}


class OperateWorld(World):
    """test_cli's world plus what the daily commands read: the inbound topic and queue (SNS envelopes),
    every dead-letter queue, the ledger and conversations tables, and the End User Messaging emulator."""

    def __init__(self, tmp_path: Any) -> None:
        super().__init__(tmp_path)
        self.sns = boto3.client("sns", region_name=REGION)
        self.topic_arn = self.sns.create_topic(Name="inbound")["TopicArn"]
        self.inbound_url = self.sqs.create_queue(QueueName="inbound")["QueueUrl"]
        self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=self.arn(self.inbound_url))
        self.dead_letters = {
            label: self.sqs.create_queue(QueueName=name)["QueueUrl"]
            for label, name in (
                ("inbound", "inbound-dead-letters"),
                ("outbound", "outbound-dead-letters"),
                ("events", "events-dead-letters"),
                ("delivery-rule", "rule-dead-letters"),
                ("schedules", "schedule-dead-letters"),
            )
        }
        self.dynamodb = boto3.resource("dynamodb", region_name=REGION)
        self.ledger = self.dynamodb.Table("ledger")  # create_tables made it with the contacts table
        self.conversations = create_conversations_table(self.dynamodb)
        self.clock = SimulatedClock()
        self.sms = SmsEmulator(clock=self.clock)
        self.clients["pinpoint-sms-voice-v2"] = self.sms
        self.outputs.update(
            {
                "PhoneNumber": OUR_NUMBER,
                "OptOutListName": "opt-outs",
                "InboundTopicArn": self.topic_arn,
                "InboundQueueUrl": self.inbound_url,
                "InboundDeadLetterQueueUrl": self.dead_letters["inbound"],
                "OutboundDeadLetterQueueUrl": self.dead_letters["outbound"],
                "EventsDeadLetterQueueUrl": self.dead_letters["events"],
                "DeliveryEventRuleDeadLetterQueueUrl": self.dead_letters["delivery-rule"],
                "LedgerTableName": "ledger",
                "ConversationsTableName": "conversations",
            }
        )
        self._inbound_handler: Any = None

    def arn(self, queue_url: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def operate(self, *argv: str) -> tuple[int, str, str]:
        return self.run("--stack", "TwoWaySms", *argv)

    def count(self, queue_url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def proofs(self, number: str) -> list[dict[str, Any]]:
        return self.contacts.query(
            KeyConditionExpression="phone_number = :n AND begins_with(#r, :p)",
            ExpressionAttributeNames={"#r": "record"},
            ExpressionAttributeValues={":n": number, ":p": "CONSENT#"},
            ConsistentRead=True,
        )["Items"]

    # -- the inbound function, on what the topic delivered -------------------------------------------
    def inbound_handler(self) -> Any:
        """The inbound function wired as the construct wires it (AWS-managed opt-outs), on this world."""
        if self._inbound_handler is None:
            from two_way_sms_cdk.config import parse_config  # the same validation the synth runs

            settings = {
                "RESPONDER_SETTINGS": parse_config(CONFIG).responder.to_json(),
                "CONTACTS_TABLE": "contacts",
                "LEDGER_TABLE": "ledger",
                "CONFIGURATION_SET": "replies",
                "OPT_OUT_LIST": "opt-outs",
                "MESSAGE_TYPE": "TRANSACTIONAL",
                "REPLY_MAX_PRICE": "0.05",
                "REPLY_TIME_TO_LIVE": "3600",
                "OUR_NUMBERS": OUR_NUMBER,
                "MAX_RECEIVE_COUNT": "5",
                "DEAD_LETTER_QUEUE_URL": self.dead_letters["inbound"],
            }
            capture_logs(metric_names.SERVICE)
            self._inbound_handler = make_handler(
                InboundSettings.from_environment(settings),
                emulated_clients(sms=self.sms, dynamodb=self.dynamodb, sqs=self.sqs),
                router=Router(),
            )
        return self._inbound_handler

    def deliver_inbound(self) -> int:
        """Plays the SQS event source mapping once: the inbound queue's messages to the function; returns how many."""
        received = self.sqs.receive_message(
            QueueUrl=self.inbound_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            return 0
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m["Attributes"],
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.arn(self.inbound_url),
                    "awsRegion": REGION,
                }
                for m in received
            ]
        }
        result = self.inbound_handler()(event, FakeLambdaContext())
        assert result["batchItemFailures"] == []
        for m in received:
            self.sqs.delete_message(QueueUrl=self.inbound_url, ReceiptHandle=m["ReceiptHandle"])
        return len(received)


def operate_world(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> OperateWorld:
    """A fresh world inside ``emulated_aws``, run from an empty directory (no ./cdk.json unless a test writes one)."""
    for name in (cli.QUEUE_URL_VARIABLE, cli.STACK_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return OperateWorld(tmp_path)


@pytest.fixture
def operate(emulated_aws, monkeypatch, tmp_path) -> Iterator[OperateWorld]:
    yield operate_world(monkeypatch, tmp_path)


def one_error_line(code: int, out: str, err: str) -> str:
    assert code == 2, (code, out, err)
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


# -- opt-outs -------------------------------------------------------------------------------------------
def test_add_records_the_operators_opt_out_with_who_and_why_and_lists_the_number(operate):
    code, out, err = operate.operate("opt-outs", "add", CUSTOMER, "--note", "asked by phone, ticket 4711")
    assert (code, err) == (0, "")
    assert f"{CUSTOMER}: opted out by {CALLER}" in out and "on opt-out list opt-outs" in out
    assert CUSTOMER in operate.sms.opted_out
    [proof] = operate.proofs(CUSTOMER)
    assert (proof["change"], proof["source"], proof["operator"], proof["note"]) == (
        "OPTED_OUT",
        "OPERATOR",
        CALLER,
        "asked by phone, ticket 4711",
    )
    assert proof["message_id"].startswith("operator-") and proof["message_id"] in out
    assert ContactsTable(operate.contacts).is_opted_out(CUSTOMER)


def test_check_prints_the_state_the_list_and_the_whole_history(operate):
    contacts = ContactsTable(operate.contacts)
    contacts.record_consent(
        number=CUSTOMER,
        change=ConsentChange.OPTED_OUT,
        at_ms=1_790_000_000_000,
        message_id="in-stop-1",
        keyword="STOP",
        our_number=OUR_NUMBER,
    )
    operate.sms.put_opted_out_number(OptOutListName="opt-outs", OptedOutNumber=CUSTOMER)
    code, out, _ = operate.operate("opt-outs", "check", CUSTOMER)
    assert code == 0
    assert f"{CUSTOMER}: opted out since 2026-09-21T14:13:20.000+00:00 (proof in-stop-1)" in out
    assert "on opt-out list opt-outs since" in out and "(by the API)" in out
    assert "history (1 change(s), oldest first):" in out
    assert "2026-09-21T14:13:20.000+00:00  OPTED_OUT  INBOUND         proof in-stop-1  keyword STOP" in out
    code, out, _ = operate.operate("opt-outs", "check", CUSTOMER, "--json")
    data = json.loads(out)
    assert (data["optedOut"], data["onOptOutList"], data["history"][0]["message_id"]) == (True, True, "in-stop-1")


def test_check_says_when_the_table_and_the_list_disagree(operate):
    ContactsTable(operate.contacts).record_consent(
        number=CUSTOMER, change=ConsentChange.OPTED_OUT, at_ms=1, message_id="m1", keyword="STOP", our_number=""
    )
    code, out, _ = operate.operate("opt-outs", "check", CUSTOMER)
    assert code == 0 and "not on opt-out list opt-outs" in out and "the table and the list disagree" in out


def test_list_pages_through_the_whole_list_with_the_tables_state_beside_each_number(operate):
    numbers = [f"+1206555{n:04d}" for n in range(105)]  # more than one page of 100
    operate.sms.opted_out.update(numbers)
    ContactsTable(operate.contacts).record_consent(
        number=numbers[0], change=ConsentChange.OPTED_OUT, at_ms=1, message_id="m1", keyword="STOP", our_number=""
    )
    code, out, _ = operate.operate("opt-outs", "list")
    assert code == 0
    assert out.startswith("105 number(s) on opt-out list opt-outs\n")
    assert f"  {numbers[0]}  since " in out and "by the customer  table: opted out" in out
    assert out.count("table: NOT opted out") == 104
    code, out, _ = operate.operate("opt-outs", "list", "--json")
    data = json.loads(out)
    assert len(data["numbers"]) == 105 and data["numbers"][0] == {
        "number": numbers[0],
        "since": data["numbers"][0]["since"],
        "byCustomer": True,
        "tableOptedOut": True,
    }


def test_remove_is_refused_without_the_customers_own_later_opt_in(operate):
    assert operate.operate("opt-outs", "add", CUSTOMER)[0] == 0
    err = one_error_line(*operate.operate("opt-outs", "remove", CUSTOMER))
    assert "refused: the latest opt-out" in err and "OPERATOR" in err and "only they can opt back in" in err
    assert CUSTOMER in operate.sms.opted_out and len(operate.proofs(CUSTOMER)) == 1
    # An opt-in recorded before the opt-out, or an import's, is not the customer's later word either.
    ContactsTable(operate.contacts).record_consent(
        number=CUSTOMER, change=ConsentChange.OPTED_IN, at_ms=1, message_id="old-start", keyword="START", our_number=""
    )
    one_error_line(*operate.operate("opt-outs", "remove", CUSTOMER))
    assert CUSTOMER in operate.sms.opted_out


def test_remove_after_the_customers_start_records_the_removal_and_takes_the_number_off_the_list(operate):
    assert operate.operate("opt-outs", "add", CUSTOMER)[0] == 0
    ContactsTable(operate.contacts).record_consent(
        number=CUSTOMER,
        change=ConsentChange.OPTED_IN,
        at_ms=int(time.time() * 1000) + 1,  # the customer's START, after the operator's opt-out
        message_id="in-start-1",
        keyword="START",
        our_number=OUR_NUMBER,
    )
    code, out, err = operate.operate("opt-outs", "remove", CUSTOMER, "--note", "customer texted START")
    assert (code, err) == (0, ""), err
    assert "removal recorded by" in out and "off opt-out list opt-outs" in out
    assert CUSTOMER not in operate.sms.opted_out
    removal = [p for p in operate.proofs(CUSTOMER) if p["source"] == "OPERATOR" and p["change"] == "OPTED_IN"]
    assert len(removal) == 1 and removal[0]["note"] == "customer texted START"


def test_the_round_trip_stop_check_refused_start_allowed_with_the_real_inbound_function(operate):
    # 1. The customer texts STOP (published as End User Messaging would), the inbound function records it.
    code, out, _ = operate.operate("simulate", "inbound", "--from", CUSTOMER, "--body", "STOP")
    assert code == 0 and "published inbound text" in out
    assert operate.deliver_inbound() == 1
    assert CUSTOMER in operate.sms.opted_out  # the function put it on the list too
    # 2. check shows it, with the STOP's proof.
    code, out, _ = operate.operate("opt-outs", "check", CUSTOMER)
    assert code == 0 and f"{CUSTOMER}: opted out since" in out
    assert "OPTED_OUT  INBOUND" in out and "keyword STOP" in out
    # 3. An operator may not take the number off the list for the customer.
    one_error_line(*operate.operate("opt-outs", "remove", CUSTOMER))
    assert CUSTOMER in operate.sms.opted_out
    # 4. The customer texts START: recorded by the function (AWS would take the number off the list;
    #    a published message bypasses the number, so the emulated list still holds it).
    assert operate.operate("simulate", "inbound", "--from", CUSTOMER, "--body", "START")[0] == 0
    assert operate.deliver_inbound() == 1
    assert not ContactsTable(operate.contacts).is_opted_out(CUSTOMER)
    # 5. Now the removal is allowed, and recorded.
    code, out, err = operate.operate("opt-outs", "remove", CUSTOMER)
    assert (code, err) == (0, "")
    assert CUSTOMER not in operate.sms.opted_out
    code, out, _ = operate.operate("opt-outs", "check", CUSTOMER, "--json")
    history = json.loads(out)["history"]
    assert [(p["change"], p["source"], p["keyword"]) for p in history] == [
        ("OPTED_OUT", "INBOUND", "STOP"),
        ("OPTED_IN", "INBOUND", "START"),
        ("OPTED_IN", "OPERATOR", ""),
    ]
    assert history[2]["operator"] == CALLER


# -- simulate inbound -------------------------------------------------------------------------------------
def test_simulate_inbound_publishes_the_documented_json_with_a_fresh_message_id_each_time(operate):
    for _ in range(2):
        code, _, err = operate.operate("simulate", "inbound", "--from", CUSTOMER, "--body", "HOURS")
        assert (code, err) == (0, "")
    envelopes = [
        json.loads(m["Body"])
        for m in operate.sqs.receive_message(QueueUrl=operate.inbound_url, MaxNumberOfMessages=10)["Messages"]
    ]
    messages = [json.loads(e["Message"]) for e in envelopes]
    assert {e["Type"] for e in envelopes} == {"Notification"}
    assert len({m["inboundMessageId"] for m in messages}) == 2
    assert messages[0] == {
        "originationNumber": CUSTOMER,
        "destinationNumber": OUR_NUMBER,
        "messageKeyword": f"KEYWORD_{ACCOUNT}",
        "messageBody": "HOURS",
        "inboundMessageId": messages[0]["inboundMessageId"],
        "previousPublishedMessageId": "",
    }
    parsed = parse_inbound(envelopes[0])  # what the function reads
    assert (parsed.customer_number, parsed.our_number, parsed.body) == (CUSTOMER, OUR_NUMBER, "HOURS")


def test_simulate_inbound_may_publish_as_the_test_publisher_role_with_a_chosen_id(operate):
    code, out, _ = operate.operate(
        "simulate",
        "inbound",
        "--from",
        CUSTOMER,
        "--body",
        "HELP",
        "--id",
        "test-0001",
        "--role-arn",
        f"arn:aws:iam::{ACCOUNT}:role/test-publisher",
        "--json",
    )
    assert code == 0 and json.loads(out)["inboundMessageId"] == "test-0001"
    [message] = operate.sqs.receive_message(QueueUrl=operate.inbound_url)["Messages"]
    assert json.loads(json.loads(message["Body"])["Message"])["inboundMessageId"] == "test-0001"


# -- dead-letter queues -----------------------------------------------------------------------------------
def park_examples(operate: OperateWorld) -> None:
    inbound = DeadLetterQueue(operate.sqs, operate.dead_letters["inbound"])
    envelope = {
        "Type": "Notification",
        "MessageId": "sns-1",
        "Message": json.dumps(
            {
                "originationNumber": CUSTOMER,
                "destinationNumber": "+12125550199",
                "messageBody": "my secret appointment details",
                "inboundMessageId": "in-9",
            }
        ),
    }
    reason = "sent to a number this stack does not answer: +12125550199"
    inbound.park(json.dumps(envelope), reason=reason, source="inbound")
    inbound.park("not json at all, from +14255550182", reason="body is not JSON (JSONDecodeError)", source="inbound")
    outbound = DeadLetterQueue(operate.sqs, operate.dead_letters["outbound"])
    outbound.park(
        json.dumps({"destination": CUSTOMER, "messageType": "TRANSACTIONAL", "body": "Your code is 4815", "x": 1}),
        reason="unknown field: x",
        source="sender",
        attributes={"sqs_message_id": "abc"},
    )


def test_dlq_list_counts_each_queue_and_names_the_ones_not_in_the_stack(operate):
    park_examples(operate)
    code, out, _ = operate.operate("dlq", "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert lines["inbound"].split()[1] == "2" and lines["outbound"].split()[1] == "1"
    assert lines["events"].split()[1] == "0"
    assert "not in this stack (ScheduleDeadLetterQueueArn)" not in out  # the ARN output resolves to its queue
    del operate.outputs["DeliveryEventRuleDeadLetterQueueUrl"]
    operate.stack_reads = 0
    code, out, _ = operate.operate("dlq", "list", "--json")
    rows = {row["queue"]: row for row in json.loads(out)["queues"]}
    assert "visible" not in rows["delivery-rule"] and rows["schedules"]["visible"] == 0


def test_dlq_show_peeks_with_reasons_and_masked_previews_and_deletes_nothing(operate):
    park_examples(operate)
    code, out, _ = operate.operate("dlq", "show", "inbound")
    assert code == 0 and "inbound: 2 message(s) shown (peeked, not deleted)" in out
    assert "reason: sent to a number this stack does not answer: +1212*****99" in out
    assert "source: inbound" in out
    assert "SNS notification with destinationNumber, inboundMessageId, messageBody, originationNumber" in out
    assert "originationNumber=+1206*****42" in out and "body: 34 characters, not JSON" in out
    for secret in (CUSTOMER, "+12125550199", "+14255550182", "secret appointment"):
        assert secret not in out
    assert operate.count(operate.dead_letters["inbound"]) == 2
    assert operate.operate("dlq", "show", "inbound")[1].count("\n- ") == 2  # visible again at once
    code, out, _ = operate.operate("dlq", "show", "OutboundDeadLetterQueueUrl", "--json")
    [message] = json.loads(out)["messages"]
    assert (message["reason"], message["source"], message["attributes"]) == (
        "unknown field: x",
        "sender",
        {"sqs_message_id": "abc"},
    )
    assert "messageType=TRANSACTIONAL" in message["preview"] and "4815" not in out and CUSTOMER not in out


def test_dlq_redrive_moves_the_messages_back_to_their_source_queue(operate):
    park_examples(operate)
    code, out, _ = operate.operate("dlq", "redrive", "inbound", "--max", "1")
    assert code == 0 and "moved 1 message(s) from the inbound dead-letter queue back to InboundQueueUrl" in out
    code, out, _ = operate.operate("dlq", "redrive", "inbound")
    assert code == 0 and "moved 1 message(s)" in out
    assert operate.count(operate.dead_letters["inbound"]) == 0
    received = operate.sqs.receive_message(QueueUrl=operate.inbound_url, MaxNumberOfMessages=10)["Messages"]
    bodies = [m["Body"] for m in received]
    assert "not json at all, from +14255550182" in bodies and len(bodies) == 2  # bodies unchanged


def test_dlq_redrive_of_a_queue_without_a_source_queue_is_refused(operate):
    operate.sqs.send_message(QueueUrl=operate.dead_letters["events"], MessageBody="{}")
    err = one_error_line(*operate.operate("dlq", "redrive", "events"))
    assert "dlq events has no source queue" in err and "dlq show events" in err
    assert operate.sessions == 0 and operate.count(operate.dead_letters["events"]) == 1


# -- input checked before any AWS call -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["opt-outs", "check", "12"], "not a possible phone number"),
        (["opt-outs", "add", "14255550182"], "is not E.164: write it as +1425*****82"),
        (["opt-outs", "add", "+14255550182", "--note", "two\nlines"], "must be one line"),
        (["opt-outs", "remove", "(425) 555-0182"], "is not E.164"),
        (["opt-outs"], "required"),
        (["dlq", "show", "inbox"], "'inbox' is not a dead-letter queue: one of inbound, outbound, events"),
        (["dlq", "redrive", "nowhere"], "is not a dead-letter queue"),
        (["dlq", "show", "inbound", "--max", "500"], "500 is not between 1 and 100"),
        (["simulate", "inbound", "--from", "+1206", "--body", "STOP"], "not a possible phone number"),
        (["simulate", "inbound", "--from", CUSTOMER, "--body", ""], "an inbound text has 1-1,600"),
        (["simulate", "inbound", "--from", CUSTOMER, "--body", "x" * 1601], "1,601 characters"),
        (["simulate", "inbound", "--from", CUSTOMER, "--body", "HI", "--id", "a b"], "is not an inbound message id"),
        (["simulate", "inbound", "--from", CUSTOMER, "--body", "HI", "--role-arn", "admin"], "is not an IAM role ARN"),
        (["simulate", "inbound", "--body", "HI"], "the following arguments are required: --from"),
    ],
)
def test_invalid_input_exits_2_with_one_line_before_any_aws_call(operate, argv, message):
    err = one_error_line(*operate.operate(*argv))
    assert message in err
    assert operate.sessions == 0 and operate.stack_reads == 0


def test_without_a_stack_the_commands_say_how_to_name_one(operate):
    err = one_error_line(*operate.run("dlq", "list"))
    assert "pass --stack NAME" in err
    err = one_error_line(*operate.run("opt-outs", "check", CUSTOMER))
    assert "OptOutListName" in err and "--stack NAME" in err


def test_an_aws_failure_exits_1_with_one_line(operate):
    operate.outputs["ContactsTableName"] = "missing-table"
    code, out, err = operate.operate("opt-outs", "add", CUSTOMER)
    assert code == 1 and err.startswith("error: AWS refused: ResourceNotFoundException") and err.count("\n") == 1
    assert CUSTOMER not in operate.sms.opted_out


def test_remove_goes_ahead_when_the_customers_start_is_stamped_after_the_operators_clock(operate):
    """The customer's START carries the service's time; when it is ahead of ours, the removal's proof is
    older than the opt-in it follows, and the number still leaves the list: the state is the customer's."""
    assert operate.operate("opt-outs", "add", CUSTOMER)[0] == 0
    ContactsTable(operate.contacts).record_consent(
        number=CUSTOMER,
        change=ConsentChange.OPTED_IN,
        at_ms=int(time.time() * 1000) + 3_600_000,  # an hour ahead
        message_id="in-start-ahead",
        keyword="START",
        our_number=OUR_NUMBER,
    )
    code, _, err = operate.operate("opt-outs", "remove", CUSTOMER)
    assert (code, err) == (0, "")
    assert CUSTOMER not in operate.sms.opted_out and len(operate.proofs(CUSTOMER)) == 3


# -- the emulator's DescribeOptedOutNumbers, as the service model says ----------------------------------------
def test_the_emulator_describes_the_list_with_filters_pages_and_the_models_checks(operate):
    from botocore.exceptions import ClientError, ParamValidationError

    sms = operate.sms
    sms.put_opted_out_number(OptOutListName="opt-outs", OptedOutNumber="+12065550100")
    sms.opted_out.add("+12065550101")  # as if the customer texted STOP at the number
    by_customer = sms.describe_opted_out_numbers(
        OptOutListName="opt-outs", Filters=[{"Name": "end-user-opted-out", "Values": ["true"]}]
    )["OptedOutNumbers"]
    assert [(n["OptedOutNumber"], n["EndUserOptedOut"]) for n in by_customer] == [("+12065550101", True)]
    first = sms.describe_opted_out_numbers(OptOutListName="opt-outs", MaxResults=1)
    second = sms.describe_opted_out_numbers(OptOutListName="opt-outs", MaxResults=1, NextToken=first["NextToken"])
    assert [first["OptedOutNumbers"][0]["OptedOutNumber"], second["OptedOutNumbers"][0]["OptedOutNumber"]] == [
        "+12065550100",
        "+12065550101",
    ]
    assert "NextToken" not in second
    with pytest.raises(ParamValidationError):
        sms.describe_opted_out_numbers(OptOutListName="opt-outs", MaxResults="10")
    with pytest.raises(ClientError, match="ValidationException"):
        sms.describe_opted_out_numbers(OptOutListName="opt-outs", OptedOutNumbers=["not-a-number"])
    with pytest.raises(ClientError, match="ValidationException"):
        sms.describe_opted_out_numbers(OptOutListName="opt-outs", NextToken="99")


def test_a_redrive_the_source_queue_refuses_stops_and_exits_1(operate):
    park_examples(operate)
    operate.outputs["InboundQueueUrl"] = operate.inbound_url.replace("inbound", "gone")
    code, out, err = operate.operate("dlq", "redrive", "inbound")
    assert code == 1 and err.startswith("error: AWS refused: ") and err.count("\n") == 1
    assert operate.count(operate.dead_letters["inbound"]) == 2
    assert operate.operate("dlq", "show", "inbound")[1].count("\n- ") == 2  # visible again at once
