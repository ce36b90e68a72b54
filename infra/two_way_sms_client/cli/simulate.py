"""``simulate inbound``: publish the documented inbound JSON to the stack's topic, as End User Messaging would.

End User Messaging cannot simulate an inbound text. This builds the JSON it publishes
(``tests/fixtures/inbound-sns-message.json``) with a fresh ``inboundMessageId`` each time (a
message id is processed once within 14 days) and publishes it to ``InboundTopicArn``. The
topic lets only End User Messaging and ``inbound.test_publisher_role_arn`` publish: pass that
role with ``--role-arn`` (the command assumes it) or run as it.

A published message bypasses the number: AWS does not answer it or touch the opt-out list;
the inbound function does its part (records consent, replies through the configuration set).
"""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any, TextIO

from two_way_sms.inbound import MAX_BODY_CHARACTERS, parse_inbound
from two_way_sms_client.cli.common import Aws, add_json_option, e164, emit, pattern

inbound_id = pattern(r"[A-Za-z0-9_.:-]{1,128}", "an inbound message id (1-128 characters of [A-Za-z0-9_.:-])")
role_arn = pattern(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}", "an IAM role ARN")
topic_arn = pattern(r"arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}", "an SNS topic ARN")


def body_text(text: str) -> str:
    if not 1 <= len(text) <= MAX_BODY_CHARACTERS:
        raise argparse.ArgumentTypeError(f"has {len(text):,} characters; an inbound text has 1-{MAX_BODY_CHARACTERS:,}")
    return text


def register(commands: Any, where: argparse.ArgumentParser) -> None:
    simulate = commands.add_parser("simulate", help="act as End User Messaging for a test")
    sub = simulate.add_subparsers(dest="simulate_command", required=True, parser_class=type(simulate))
    inbound = sub.add_parser(
        "inbound", help="publish a customer's text to the inbound topic (a fresh message id)", parents=[where]
    )
    inbound.add_argument("--from", dest="customer", required=True, type=e164, help="the customer's number, E.164")
    inbound.add_argument("--body", required=True, type=body_text, help="what the customer texts (STOP, HOURS, ...)")
    inbound.add_argument("--to", type=e164, help="the number texted (default: the stack's PhoneNumber)")
    inbound.add_argument("--id", type=inbound_id, help="the inboundMessageId (default: a new UUID)")
    inbound.add_argument(
        "--keyword",
        type=pattern(r"[A-Za-z0-9_-]{1,64}", "a keyword (1-64 letters, digits, _ or -)"),
        help="messageKeyword (default: KEYWORD_<your account id>)",
    )
    inbound.add_argument("--topic-arn", type=topic_arn, help="default: the stack's InboundTopicArn")
    inbound.add_argument("--role-arn", type=role_arn, help="assume this role to publish (the test publisher role)")
    add_json_option(inbound)
    inbound.set_defaults(handler=simulate_inbound)


def simulate_inbound(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    topic = args.topic_arn or aws.output("InboundTopicArn")
    our_number = args.to or aws.output("PhoneNumber")
    message = {
        "originationNumber": args.customer,
        "destinationNumber": our_number,
        "messageKeyword": args.keyword or f"KEYWORD_{aws.caller()['Account']}",
        "messageBody": args.body,
        "inboundMessageId": args.id or str(uuid.uuid4()),
        "previousPublishedMessageId": "",
    }
    parse_inbound(message)  # the inbound function's own parse: what it would refuse is refused here (exit code 2)
    sns = _sns(aws, args.role_arn)
    published = sns.publish(TopicArn=topic, Message=json.dumps(message))
    data = {"inboundMessageId": message["inboundMessageId"], "snsMessageId": published["MessageId"], "topic": topic}
    emit(
        out,
        args,
        data,
        [
            f"published inbound text {message['inboundMessageId']} from {args.customer} to {our_number}",
            f"  SNS message {published['MessageId']} on {topic}",
            f"  then: two-way-sms opt-outs check {args.customer}   /   two-way-sms ledger number {args.customer}",
        ],
    )
    return 0


def _sns(aws: Aws, role: str | None) -> Any:
    if role is None:
        return aws.client("sns")
    credentials = aws.client("sts").assume_role(RoleArn=role, RoleSessionName="two-way-sms-simulate")["Credentials"]
    import boto3

    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=aws.client("sts").meta.region_name,
    ).client("sns")
