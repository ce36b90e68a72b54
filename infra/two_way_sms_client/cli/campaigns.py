"""``campaigns`` (alias ``campaign``): schedule a run, read its report, list, follow and cancel campaigns.

Where a campaign is: each run that started has an item in the outbound table
(``two_way_sms.adapters.campaign_runs``); a run not started yet, and a started run's next page,
is a one-time EventBridge Scheduler schedule in the stack's group whose input names the campaign
(``campaign-<id>-<run>``, ``campaign-<id>-<run>-<n>``). ``list`` scans the outbound table for run
items (a Scan: the table has no index by campaign) and lists the group's campaign schedules.

``cancel`` deletes the campaign's schedules: a run not started never starts, and a running run
stops at its next page (it is marked FAILED, "cancelled by <who>"). Requests already on the
outbound queue still go: the sender sends what is queued.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from two_way_sms.outbound.campaign import AudienceCsv, AudienceQuery, Campaign
from two_way_sms.outbound.request import CAMPAIGN_ID_PATTERN, MESSAGE_TYPES, RUN_ID_PATTERN
from two_way_sms_client.cli import config_files
from two_way_sms_client.cli.common import (
    Aws,
    InvalidInput,
    add_json_option,
    emit,
    instant,
    pair,
    pattern,
    read_text,
)

campaign_id = pattern(CAMPAIGN_ID_PATTERN.pattern, "a campaign id (1-64 characters of [A-Za-z0-9_-])")
run_id = pattern(RUN_ID_PATTERN.pattern, "a run id (1-64 characters of [A-Za-z0-9_.:#@+=-])")
SCHEDULE_PREFIX = "campaign-"


def register(commands: Any, where: argparse.ArgumentParser) -> None:
    campaigns = commands.add_parser(
        "campaigns", aliases=["campaign"], help="schedule, report, list, follow and cancel campaigns"
    )
    sub = campaigns.add_subparsers(dest="campaign_command", required=True, parser_class=type(campaigns))

    schedule = sub.add_parser("schedule", help="schedule one run of a campaign", parents=[where])
    schedule.add_argument("--file", help="the campaign as JSON (instead of the options below)")
    schedule.add_argument("--id", help="the campaign id")
    schedule.add_argument("--template", help="the template id")
    schedule.add_argument("--type", choices=MESSAGE_TYPES, help="default PROMOTIONAL")
    schedule.add_argument("--csv", help="the audience: s3://bucket/key, or a local CSV uploaded to the audience bucket")
    schedule.add_argument("--bucket", help="where a local --csv goes (default: the stack's audience bucket)")
    schedule.add_argument(
        "--where",
        action="append",
        type=pair,
        default=[],
        metavar="NAME=VALUE",
        help="the audience: contacts with this attribute (repeat: all must match)",
    )
    schedule.add_argument(
        "--var",
        dest="variables",
        action="append",
        type=pair,
        default=[],
        metavar="NAME=VALUE",
        help="a template variable for every recipient (CSV columns override)",
    )
    schedule.add_argument("--local-time", help="HH:MM: send at this time in each recipient's zone")
    schedule.add_argument("--max-per-recipient", type=int, default=1)
    schedule.add_argument("--mps", type=float, help="cap the campaign's parts per second")
    schedule.add_argument("--at", help="when the run starts (ISO 8601 with an offset; default: in a minute)")
    schedule.add_argument("--run-id", help="default: the start time and a random suffix")
    schedule.add_argument(
        "--templates",
        metavar="FILE",
        help="the templates, to check the template and its variables first: a config file, a cdk.json, the "
        "config's outbound.templates object or the functions' form (default: ./cdk.json's when it exists)",
    )
    schedule.add_argument("--function-arn")
    schedule.add_argument("--scheduler-role-arn")
    schedule.add_argument("--schedule-group")
    schedule.add_argument("--dead-letter-queue-arn")
    schedule.set_defaults(handler=schedule_run)

    report = sub.add_parser("report", help="what a run queued, skipped, sent, refused, delivered", parents=[where])
    report.add_argument("--id", required=True, type=campaign_id, help="the campaign id")
    report.add_argument("--run", required=True, type=run_id, help="the run id")
    report.add_argument("--table", help="the outbound table (default: the stack's)")
    report.set_defaults(handler=run_report)

    listing = sub.add_parser("list", help="every campaign run on record and every scheduled one", parents=[where])
    listing.add_argument("--table", help="the outbound table (default: the stack's)")
    listing.add_argument("--schedule-group", help="default: the stack's")
    add_json_option(listing)
    listing.set_defaults(handler=list_campaigns)

    status = sub.add_parser("status", help="one campaign's runs, counts and pending schedules", parents=[where])
    status.add_argument("id", type=campaign_id, help="the campaign id")
    status.add_argument("--table", help="the outbound table (default: the stack's)")
    status.add_argument("--schedule-group", help="default: the stack's")
    add_json_option(status)
    status.set_defaults(handler=campaign_status)

    cancel = sub.add_parser(
        "cancel",
        help="delete the campaign's schedules: runs not started never start, a running run stops",
        parents=[where],
    )
    cancel.add_argument("id", type=campaign_id, help="the campaign id")
    cancel.add_argument("--table", help="the outbound table (default: the stack's)")
    cancel.add_argument("--schedule-group", help="default: the stack's")
    cancel.set_defaults(handler=cancel_campaign)


# -- schedule and report (the client's own calls) ---------------------------------------------------
def schedule_run(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms_client.client import CampaignClient

    templates, source = config_files.templates(args.templates)
    at = instant(args.at, "--at")
    if at is not None and at < datetime.now(timezone.utc):
        raise InvalidInput(f"--at {args.at} is in the past")
    campaign, upload = _campaign_from(args)
    if templates is not None and campaign.template_id not in templates:
        known = ", ".join(sorted(templates)[:10]) or "none"
        raise InvalidInput(f"campaign {campaign.campaign_id}: no template {campaign.template_id} in {source} ({known})")
    if upload is not None:  # a local CSV goes to the audience bucket once everything else is checked
        bucket = args.bucket or aws.output("AudienceBucketName")
        key = f"audiences/{campaign.campaign_id}/{upload.name}"
        aws.client("s3").upload_file(str(upload), bucket, key)
        campaign = replace(campaign, audience=AudienceCsv(bucket, key))
    client = CampaignClient(
        function_arn=args.function_arn or aws.output("CampaignsFunctionArn"),
        scheduler_role_arn=args.scheduler_role_arn or aws.output("SchedulerRoleArn"),
        schedule_group=args.schedule_group or aws.output("ScheduleGroupName"),
        dead_letter_queue_arn=args.dead_letter_queue_arn or aws.output("ScheduleDeadLetterQueueArn"),
        templates=templates,
        scheduler_client=aws.client("scheduler"),
        s3_client=aws.client("s3") if isinstance(campaign.audience, AudienceCsv) else None,
    )
    run = client.schedule(campaign, at=at, run_id=args.run_id)
    print(f"scheduled campaign {campaign.campaign_id} run {run}", file=out)
    print(f"report: two-way-sms campaigns report --id {campaign.campaign_id} --run {run}", file=out)
    return 0


def _campaign_from(args: argparse.Namespace) -> tuple[Campaign, Path | None]:
    """The campaign the options or --file describe (InvalidCampaign: exit code 2), and a local CSV to upload."""
    if args.file:
        if any((args.id, args.template, args.csv, args.where)):
            raise InvalidInput("--file holds the whole campaign: leave out --id, --template, --csv and --where")
        return Campaign.from_json(read_text(args.file)), None
    if not args.id or not args.template:
        raise InvalidInput("campaign schedule needs --file FILE, or --id and --template")
    if bool(args.csv) == bool(args.where):
        raise InvalidInput("the audience is either --csv (s3://bucket/key or a local file) or --where name=value")
    audience: AudienceCsv | AudienceQuery
    upload: Path | None = None
    if args.where:
        audience = AudienceQuery(args.where)
    elif args.csv.startswith("s3://"):
        bucket, _, key = args.csv.removeprefix("s3://").partition("/")
        audience = AudienceCsv(bucket, key)
    else:
        upload = Path(args.csv)
        if not upload.is_file():
            raise InvalidInput(f"audience file {args.csv} does not exist")
        audience = AudienceCsv(args.bucket or "audience-bucket", f"audiences/{args.id}/{upload.name}")  # for now
    campaign = Campaign(
        campaign_id=args.id,
        template_id=args.template,
        message_type=args.type or "PROMOTIONAL",
        audience=audience,
        variables=args.variables,
        local_time=args.local_time,
        max_per_recipient=args.max_per_recipient,
        mps=args.mps,
    )
    return campaign, upload


def run_report(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms.adapters.campaign_runs import CampaignRuns

    report = CampaignRuns(aws.table(args.table, "OutboundTableName")).read(args.id, args.run)
    if report is None:
        raise InvalidInput(f"campaign {args.id} has no run {args.run} (not started yet?)")
    print(json.dumps(report.to_dict(), indent=2), file=out)
    return 0


# -- list, status, cancel -------------------------------------------------------------------------------
def list_campaigns(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms.adapters.campaign_runs import report_from_item, runs_with_shards_still_reading

    table = aws.table(args.table, "OutboundTableName")
    group = args.schedule_group or aws.output("ScheduleGroupName")
    runs = [report_from_item(*run) for run in runs_with_shards_still_reading(_scan_runs(table))]
    runs.sort(key=lambda report: (report.started_at or "", report.campaign_id, report.run_id))
    scheduled = [s for s in _campaign_schedules(aws.client("scheduler"), group) if s["continuation"] is None]
    data = {"runs": [r.to_dict() for r in runs], "scheduled": scheduled}
    lines = [f"{len(runs)} run(s) on record, {len(scheduled)} scheduled"]
    lines += [
        f"  {r.campaign_id}  run {r.run_id}  {r.status}  started {r.started_at or '-'}  queued {r.queued}  "
        f"sent {r.sent}  delivered {r.delivered}  failed {r.failed}"
        for r in runs
    ]
    lines += [f"  {s['campaignId']}  run {s['runId']}  SCHEDULED  at {s['at']}" for s in scheduled]
    emit(out, args, data, lines)
    return 0


def campaign_status(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms.adapters.campaign_runs import CampaignRuns

    table = aws.table(args.table, "OutboundTableName")
    group = args.schedule_group or aws.output("ScheduleGroupName")
    reports = CampaignRuns(table)  # a run read in shards: its shards still reading are added
    runs = [reports.report_of(args.id, item["sk"].removeprefix("RUN#"), item) for item in _query_runs(table, args.id)]
    pending = [s for s in _campaign_schedules(aws.client("scheduler"), group) if s["campaignId"] == args.id]
    if not runs and not pending:
        raise InvalidInput(f"campaign {args.id} has no run on record and none scheduled")
    invalid_rows = {
        r.run_id: len(CampaignRuns(table).row_errors(args.id, r.run_id)) for r in runs if r.skipped.get("INVALID_ROW")
    }
    data = {
        "campaignId": args.id,
        "runs": [{**r.to_dict(), "invalidRowsKept": invalid_rows.get(r.run_id, 0)} for r in runs],
        "scheduled": pending,
    }
    lines = [f"campaign {args.id}: {len(runs)} run(s) on record, {len(pending)} schedule(s) pending"]
    for r in runs:
        lines.append(f"  run {r.run_id}: {r.status}" + (f" ({r.failure})" if r.failure else ""))
        lines.append(
            f"    started {r.started_at or '-'}, all queued {r.queued_all_at or '-'}, template {r.template_id}"
        )
        lines.append(
            f"    recipients {r.recipients}: queued {r.queued}, skipped {r.skipped_total} {_reasons(r.skipped)}"
        )
        lines.append(
            f"    sent {r.sent}, refused {r.refused_total} {_reasons(r.refused)}, unknown {r.unknown}, "
            f"awaiting send {r.awaiting_send}, delivered {r.delivered}, failed {r.failed}"
        )
        if r.run_id in invalid_rows:
            lines.append(f"    invalid audience rows kept: {invalid_rows[r.run_id]}")
    for s in pending:
        what = "next page" if s["continuation"] is not None else "run start"
        lines.append(f"  scheduled: run {s['runId']} {what} at {s['at']} ({s['name']})")
    emit(out, args, data, lines)
    return 0


def cancel_campaign(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms.adapters.campaign_runs import CampaignRuns

    table = aws.table(args.table, "OutboundTableName")
    group = args.schedule_group or aws.output("ScheduleGroupName")
    scheduler = aws.client("scheduler")
    pending = [s for s in _campaign_schedules(scheduler, group) if s["campaignId"] == args.id]
    if not pending:
        raise InvalidInput(f"campaign {args.id} has no schedule pending: nothing to cancel")
    who = aws.caller()["Arn"]
    for schedule in pending:
        scheduler.delete_schedule(Name=schedule["name"], GroupName=group)
    stopped = sorted({s["runId"] for s in pending if s["continuation"] is not None})
    runs = CampaignRuns(table)
    for run in stopped:
        runs.fail(args.id, run, f"cancelled by {who}", datetime.now(timezone.utc))
    not_started = sorted({s["runId"] for s in pending if s["continuation"] is None})
    print(
        f"cancelled campaign {args.id}: {len(not_started)} scheduled run(s) deleted"
        + (f" ({', '.join(not_started)})" if not_started else "")
        + f"; {len(stopped)} running run(s) stopped at their next page"
        + (f" ({', '.join(stopped)})" if stopped else ""),
        file=out,
    )
    print("requests already on the outbound queue still go (the sender sends what is queued)", file=out)
    return 0


def _reasons(counts: Any) -> str:
    return "(" + ", ".join(f"{reason} {count}" for reason, count in counts.items()) + ")" if counts else ""


def _scan_runs(table: Any) -> Iterator[dict[str, Any]]:
    """Every campaign run's item, and the items of runs' shards (their counters until each shard is done)."""
    arguments: dict[str, Any] = {
        "FilterExpression": "begins_with(pk, :campaign) AND (begins_with(sk, :run) OR begins_with(sk, :shard))",
        "ExpressionAttributeValues": {":campaign": "CAMPAIGN#", ":run": "RUN#", ":shard": "SHARD#"},
    }
    while True:
        page = table.scan(**arguments)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _query_runs(table: Any, campaign: str) -> Iterator[dict[str, Any]]:
    from two_way_sms.adapters.campaign_runs import run_key

    arguments: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :run)",
        "ExpressionAttributeValues": {":pk": run_key(campaign, "-")["pk"], ":run": "RUN#"},
        "ConsistentRead": True,
    }
    while True:
        page = table.query(**arguments)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _campaign_schedules(scheduler: Any, group: str) -> list[dict[str, Any]]:
    """The group's campaign schedules, each with the campaign and run its input names."""
    found = []
    arguments: dict[str, Any] = {"GroupName": group, "NamePrefix": SCHEDULE_PREFIX}
    while True:
        page = scheduler.list_schedules(**arguments)
        for summary in page.get("Schedules", []):
            if not summary["Name"].startswith(SCHEDULE_PREFIX):
                continue
            schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=group)
            try:
                payload = json.loads(schedule["Target"].get("Input", "{}"))
            except ValueError:
                continue
            if not isinstance(payload, dict) or payload.get("kind") != "campaign":
                continue
            found.append(
                {
                    "name": summary["Name"],
                    "campaignId": (payload.get("campaign") or {}).get("campaignId"),
                    "runId": payload.get("runId"),
                    "continuation": payload.get("continuation"),
                    "at": str(schedule.get("ScheduleExpression", "")).removeprefix("at(").removesuffix(")"),
                }
            )
        if not page.get("NextToken"):
            return sorted(found, key=lambda s: (s["at"], s["name"]))
        arguments["NextToken"] = page["NextToken"]
