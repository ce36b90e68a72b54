"""The operator's command line: queue a text, schedule a campaign, read its report, import contacts.

    two-way-sms send --to +14255550182 --body "Your order shipped" --stack TwoWaySms
    two-way-sms send --to +14255550182 --template appointment --var when="Tue 10:00"
    two-way-sms campaign schedule --id spring-sale --template spring --csv s3://bucket/spring.csv \\
        --var discount=20% --at 2026-03-02T15:00:00Z --stack TwoWaySms
    two-way-sms campaign report --id spring-sale --run 20260302T1500Z-3f9a1c --stack TwoWaySms
    two-way-sms contacts import contacts.csv --stack TwoWaySms

Where things are: ``--stack NAME`` reads the deployed stack's outputs (``OutboundQueueUrl``,
``OutboundTableName``, ``ContactsTableName``, ``CampaignsFunctionArn``, ``SchedulerRoleArn``,
``ScheduleGroupName``, ``ScheduleDeadLetterQueueArn``, ``AudienceBucketName``); explicit
options win over them; ``TWO_WAY_SMS_OUTBOUND_QUEUE_URL`` and ``TWO_WAY_SMS_STACK`` are the
defaults of ``--queue-url`` and ``--stack``.

Exit codes: 0 done; 2 invalid input (one line on stderr, nothing sent); 1 AWS refused or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

from two_way_sms.encoding import analyse
from two_way_sms.instants import parse_instant
from two_way_sms.outbound.campaign import AudienceCsv, AudienceQuery, Campaign, InvalidCampaign
from two_way_sms.outbound.request import MESSAGE_TYPES, InvalidSendRequest
from two_way_sms.outbound.templates import Template, TemplateError, render, templates_from_json
from two_way_sms.phone import mask

QUEUE_URL_VARIABLE = "TWO_WAY_SMS_OUTBOUND_QUEUE_URL"
STACK_VARIABLE = "TWO_WAY_SMS_STACK"


class InvalidInput(ValueError):
    """A command line that cannot be carried out as given (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit code 2), not the whole usage text."""

    def error(self, message: str) -> NoReturn:
        raise InvalidInput(f"{self.prog}: {message}")


# -- the commands --------------------------------------------------------------------------------------
def _send(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms_client.client import OutboundClient

    if args.body is None and args.template is None:
        raise InvalidInput("send needs --body TEXT or --template ID")
    if args.body is not None and args.variables:
        raise InvalidInput("--var goes with --template, not --body")
    queue_url = args.queue_url or os.environ.get(QUEUE_URL_VARIABLE) or aws.output("OutboundQueueUrl")
    templates = _templates(args.templates)
    body = args.body
    if args.template is not None and templates is not None:
        template = templates.get(args.template)
        if template is None:
            raise InvalidInput(f"no template {args.template} in {args.templates}")
        body = render(template, args.variables)  # TemplateError names the missing variables
    client = OutboundClient(queue_url, sqs_client=aws.client("sqs"))
    key = client.send(
        args.to,
        body=args.body,
        template_id=args.template,
        variables=args.variables or None,
        message_type=args.type,
        send_after=args.after,
        idempotency_key=args.key,
        context=args.context or None,
    )
    print(f"queued for {mask(args.to)}", file=out)
    print(f"idempotency key: {key}", file=out)
    if body is not None:
        print(
            f"body: {analyse(body).describe()}"
            + (" before the footer and look-alike replacement" if args.type == "PROMOTIONAL" else ""),
            file=out,
        )
    else:
        print(
            f"body: template {args.template}, rendered by the sender (pass --templates FILE to see its size)", file=out
        )
    return 0


def _campaign_schedule(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms_client.client import CampaignClient

    campaign = _campaign_from(args, aws)
    client = CampaignClient(
        function_arn=args.function_arn or aws.output("CampaignsFunctionArn"),
        scheduler_role_arn=args.scheduler_role_arn or aws.output("SchedulerRoleArn"),
        schedule_group=args.schedule_group or aws.output("ScheduleGroupName"),
        dead_letter_queue_arn=args.dead_letter_queue_arn or aws.output("ScheduleDeadLetterQueueArn"),
        templates=_templates(args.templates),
        scheduler_client=aws.client("scheduler"),
        s3_client=aws.client("s3") if isinstance(campaign.audience, AudienceCsv) else None,
    )
    run_id = client.schedule(campaign, at=_instant(args.at, "--at"), run_id=args.run_id)
    print(f"scheduled campaign {campaign.campaign_id} run {run_id}", file=out)
    print(f"report: two-way-sms campaign report --id {campaign.campaign_id} --run {run_id}", file=out)
    return 0


def _campaign_from(args: argparse.Namespace, aws: Aws) -> Campaign:
    if args.file:
        if any((args.id, args.template, args.csv, args.where)):
            raise InvalidInput("--file holds the whole campaign: leave out --id, --template, --csv and --where")
        return Campaign.from_json(_read_text(args.file))
    if not args.id or not args.template:
        raise InvalidInput("campaign schedule needs --file FILE, or --id and --template")
    if bool(args.csv) == bool(args.where):
        raise InvalidInput("the audience is either --csv (s3://bucket/key or a local file) or --where name=value")
    audience: AudienceCsv | AudienceQuery
    if args.where:
        audience = AudienceQuery(args.where)
    elif args.csv.startswith("s3://"):
        bucket, _, key = args.csv.removeprefix("s3://").partition("/")
        audience = AudienceCsv(bucket, key)
    else:
        path = Path(args.csv)
        if not path.is_file():
            raise InvalidInput(f"audience file {args.csv} does not exist")
        bucket = args.bucket or aws.output("AudienceBucketName")
        key = f"audiences/{args.id}/{path.name}"
        aws.client("s3").upload_file(str(path), bucket, key)
        audience = AudienceCsv(bucket, key)
    return Campaign(
        campaign_id=args.id,
        template_id=args.template,
        message_type=args.type or "PROMOTIONAL",
        audience=audience,
        variables=args.variables,
        local_time=args.local_time,
        max_per_recipient=args.max_per_recipient,
        mps=args.mps,
    )


def _campaign_report(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms.adapters.campaign_runs import CampaignRuns

    table = aws.resource("dynamodb").Table(args.table or aws.output("OutboundTableName"))
    report = CampaignRuns(table).read(args.id, args.run)
    if report is None:
        raise InvalidInput(f"campaign {args.id} has no run {args.run} (not started yet?)")
    print(json.dumps(report.to_dict(), indent=2), file=out)
    return 0


def _contacts_import(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms_client.client import ContactsImporter

    text = _read_text(args.file)
    table = aws.resource("dynamodb").Table(args.table or aws.output("ContactsTableName"))
    summary = ContactsImporter(table).import_csv(text.splitlines(keepends=True))
    print(
        f"imported {summary.imported} contact(s); {summary.without_opt_in} without opt-in (no promotional texts); "
        f"{summary.new_opt_ins} new opt-in(s) recorded; {len(summary.rejected)} row(s) rejected",
        file=out,
    )
    for row, reason in summary.rejected:
        print(f"  rejected {reason}" if reason.startswith("row ") else f"  rejected row {row}: {reason}", file=out)
    return 0


# -- the parser --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    # --region and --stack go before or after the command; given after it, they win.
    where = _Parser(add_help=False)
    where.add_argument("--region", default=argparse.SUPPRESS, help="AWS region (default: your AWS configuration's)")
    where.add_argument(
        "--stack",
        default=argparse.SUPPRESS,
        help=f"the deployed stack whose outputs say where things are (default ${STACK_VARIABLE})",
    )
    parser = _Parser(
        prog="two-way-sms", description="Operate the two-way SMS stack's outbound messaging.", parents=[where]
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    send = commands.add_parser("send", help="queue one text", parents=[where])
    send.add_argument("--to", required=True, help="the destination, E.164 (+14255550182)")
    send.add_argument("--body", help="the text")
    send.add_argument("--template", help="a template id (instead of --body)")
    send.add_argument(
        "--var",
        dest="variables",
        action="append",
        type=_pair,
        default=[],
        metavar="NAME=VALUE",
        help="a template variable (repeat)",
    )
    send.add_argument("--type", choices=MESSAGE_TYPES, default="TRANSACTIONAL")
    send.add_argument("--after", help="send no earlier than this (ISO 8601 with an offset)")
    send.add_argument("--key", help="the idempotency key (default: a new UUID)")
    send.add_argument(
        "--context",
        action="append",
        type=_pair,
        default=[],
        metavar="NAME=VALUE",
        help="echoed in the delivery events (repeat; at most 3)",
    )
    send.add_argument("--queue-url", help=f"the outbound queue (default ${QUEUE_URL_VARIABLE} or the stack's)")
    send.add_argument("--templates", help="the templates JSON, to show the rendered text's size")
    send.set_defaults(handler=_send)

    campaign = commands.add_parser("campaign", help="schedule a campaign run or read its report")
    campaign_commands = campaign.add_subparsers(dest="campaign_command", required=True, parser_class=_Parser)
    schedule = campaign_commands.add_parser("schedule", help="schedule one run of a campaign", parents=[where])
    schedule.add_argument("--file", help="the campaign as JSON (instead of the options below)")
    schedule.add_argument("--id", help="the campaign id")
    schedule.add_argument("--template", help="the template id")
    schedule.add_argument("--type", choices=MESSAGE_TYPES, help="default PROMOTIONAL")
    schedule.add_argument("--csv", help="the audience: s3://bucket/key, or a local CSV uploaded to the audience bucket")
    schedule.add_argument("--bucket", help="where a local --csv goes (default: the stack's audience bucket)")
    schedule.add_argument(
        "--where",
        action="append",
        type=_pair,
        default=[],
        metavar="NAME=VALUE",
        help="the audience: contacts with this attribute (repeat: all must match)",
    )
    schedule.add_argument(
        "--var",
        dest="variables",
        action="append",
        type=_pair,
        default=[],
        metavar="NAME=VALUE",
        help="a template variable for every recipient (CSV columns override)",
    )
    schedule.add_argument("--local-time", help="HH:MM: send at this time in each recipient's zone")
    schedule.add_argument("--max-per-recipient", type=int, default=1)
    schedule.add_argument("--mps", type=float, help="cap the campaign's parts per second")
    schedule.add_argument("--at", help="when the run starts (ISO 8601 with an offset; default: in a minute)")
    schedule.add_argument("--run-id", help="default: the start time and a random suffix")
    schedule.add_argument("--templates", help="the templates JSON, to check the template and its variables first")
    schedule.add_argument("--function-arn")
    schedule.add_argument("--scheduler-role-arn")
    schedule.add_argument("--schedule-group")
    schedule.add_argument("--dead-letter-queue-arn")
    schedule.set_defaults(handler=_campaign_schedule)
    report = campaign_commands.add_parser(
        "report", help="what a run queued, skipped, sent, refused, delivered", parents=[where]
    )
    report.add_argument("--id", required=True, help="the campaign id")
    report.add_argument("--run", required=True, help="the run id")
    report.add_argument("--table", help="the outbound table (default: the stack's)")
    report.set_defaults(handler=_campaign_report)

    contacts = commands.add_parser("contacts", help="manage contacts")
    contacts_commands = contacts.add_subparsers(dest="contacts_command", required=True, parser_class=_Parser)
    importer = contacts_commands.add_parser(
        "import", help="import a contacts CSV (opt-in proof, attributes)", parents=[where]
    )
    importer.add_argument("file", help="phone_number, opt_in_source, opt_in_at and attribute columns")
    importer.add_argument("--table", help="the contacts table (default: the stack's)")
    importer.set_defaults(handler=_contacts_import)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    session: Callable[..., Any] | None = None,
) -> int:
    """Runs one command; returns the exit code (``session``: a boto3.Session factory, for tests)."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        for name in ("variables", "context", "where"):  # NAME=VALUE options, repeated
            if hasattr(args, name):
                setattr(args, name, dict(getattr(args, name)))
        aws = Aws(
            getattr(args, "region", None), getattr(args, "stack", None) or os.environ.get(STACK_VARIABLE), session
        )
        return int(args.handler(args, aws, out))
    except (InvalidInput, InvalidSendRequest, InvalidCampaign, TemplateError, ValueError) as error:
        print(f"error: {_one_line(error)}", file=err)
        return 2
    except Exception as error:  # AWS said no, or is unreachable: one line, never a traceback
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(error, ClientError):
            details = error.response.get("Error", {})
            print(
                f"error: AWS refused: {details.get('Code', 'Unknown')}: {_one_line(details.get('Message', ''))}",
                file=err,
            )
            return 1
        if isinstance(error, (BotoCoreError, OSError)) or type(error).__name__ == "OutboundQueueError":
            print(f"error: {_one_line(error)}", file=err)
            return 1
        raise
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)


class Aws:
    """boto3 clients for one region, and the stack's outputs (read once, only when an option is missing)."""

    def __init__(self, region: str | None, stack: str | None, session: Callable[..., Any] | None = None) -> None:
        self._region, self._stack = region, stack
        self._session_factory = session
        self._session: Any = None
        self._outputs: dict[str, str] | None = None

    def _boto(self) -> Any:
        if self._session is None:
            if self._session_factory is None:
                import boto3

                self._session_factory = boto3.Session
            self._session = self._session_factory(region_name=self._region) if self._region else self._session_factory()
        return self._session

    def client(self, name: str) -> Any:
        return self._boto().client(name)

    def resource(self, name: str) -> Any:
        return self._boto().resource(name)

    def output(self, name: str) -> str:
        if not self._stack:
            raise InvalidInput(f"say where {name} is: pass its option or --stack NAME (or set ${STACK_VARIABLE})")
        if self._outputs is None:
            stacks = self.client("cloudformation").describe_stacks(StackName=self._stack)["Stacks"]
            self._outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        if name not in self._outputs:
            raise InvalidInput(f"stack {self._stack} has no output {name}")
        return self._outputs[name]


# -- helpers ------------------------------------------------------------------------------------------
def _pair(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"{text[:40]!r} must be NAME=VALUE")
    return name.strip(), value


def _templates(path: str | None) -> Mapping[str, Template] | None:
    return templates_from_json(_read_text(path)) if path else None


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput(f"file {path} does not exist") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"file {path} is not UTF-8 text") from None


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_instant(text, option)
    except ValueError as error:
        raise InvalidInput(str(error)) from None


def _one_line(error: object) -> str:
    text = getattr(error, "reason", None) or str(error)
    return " ".join(str(text).split())


if __name__ == "__main__":
    sys.exit(main())
