"""The Python client applications use: queue texts, schedule campaigns, read their reports, import contacts.

Everything is validated here, before anything is sent to AWS, with the same code the
functions run (``two_way_sms.outbound``): a request the sender would reject as malformed
raises :class:`InvalidSendRequest` in the caller's process instead of dying in a queue.

    client = OutboundClient(queue_url)
    key = client.send("+14255550182", body="Your code is 123456")
    key = client.send("+14255550182", template_id="appointment",
                      variables={"first_name": "Ana", "when": "Tue 10:00"})

    campaigns = CampaignClient(function_arn=..., scheduler_role_arn=..., schedule_group=...,
                               dead_letter_queue_arn=..., templates=templates_from_json(...))
    run_id = campaigns.schedule(Campaign(...), at=datetime(2026, 3, 2, 15, tzinfo=timezone.utc))
    print(campaigns.report(outbound_table, campaign.campaign_id, run_id))

boto3 clients are created only when none is passed in (tests and callers with their own
sessions pass theirs).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

from two_way_sms.adapters.campaign_runs import CampaignReport, CampaignRuns
from two_way_sms.adapters.outbound_queue import EnqueueResult, OutboundQueue
from two_way_sms.adapters.schedules import create_one_time_schedule, schedule_name
from two_way_sms.outbound.campaign import AudienceCsv, Campaign, InvalidCampaign
from two_way_sms.outbound.contacts_import import ContactImport, ImportRowError, read_contacts_csv
from two_way_sms.outbound.request import (
    RUN_ID_PATTERN,
    InvalidSendRequest,
    SendRequest,
    parse_send_request,
)
from two_way_sms.outbound.templates import Template

__all__ = [
    "CampaignClient",
    "ContactsImporter",
    "EnqueueResult",
    "ImportSummary",
    "InvalidCampaign",
    "InvalidSendRequest",
    "OutboundClient",
    "OutboundQueueError",
    "create_one_time_schedule",
    "schedule_name",
]

# A one-time schedule must lie ahead of the moment the service receives it: "now" means a minute from now.
SOONEST_SECONDS = 60


class OutboundQueueError(RuntimeError):
    """SQS did not take a request after the queue adapter's retries."""

    def __init__(self, failed: tuple[tuple[str, str], ...]) -> None:
        codes = sorted({code for _, code in failed})
        super().__init__(f"{len(failed)} request(s) not queued (SQS: {', '.join(codes)})")
        self.failed = failed


# -- texts --------------------------------------------------------------------------------------------
class OutboundClient:
    """Puts send requests on the outbound queue; the sender does the rest (consent, quiet hours, pacing)."""

    def __init__(self, queue_url: str, *, sqs_client: Any = None) -> None:
        if not isinstance(queue_url, str) or not queue_url.startswith("https://"):
            raise ValueError(f"queue url {queue_url!r} must be the queue's https:// URL")
        self._queue = OutboundQueue(sqs_client or _boto3_client("sqs"), queue_url)

    def send(
        self,
        destination: str,
        *,
        body: str | None = None,
        template_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        message_type: str = "TRANSACTIONAL",
        send_after: datetime | str | None = None,
        idempotency_key: str | None = None,
        context: Mapping[str, str] | None = None,
    ) -> str:
        """Queues one text; returns its idempotency key (a new UUID unless given).

        Sending again with the same key sends nothing more. Raises InvalidSendRequest (nothing
        queued) for a request the sender would refuse as malformed, OutboundQueueError when
        SQS did not take it.
        """
        request = build_send_request(
            destination,
            body=body,
            template_id=template_id,
            variables=variables,
            message_type=message_type,
            send_after=send_after,
            idempotency_key=idempotency_key,
            context=context,
        )
        result = self._queue.enqueue([request])
        if result.failed:
            raise OutboundQueueError(result.failed)
        return request.idempotency_key

    def send_many(self, requests: Iterable[SendRequest | Mapping[str, Any]]) -> EnqueueResult:
        """Queues many requests (``SendRequest`` or the wire format), ten per SQS call.

        All are validated first: one invalid request raises InvalidSendRequest (naming its
        position) and nothing is queued. The result lists the keys SQS did not take.
        """
        checked = []
        for position, request in enumerate(requests):
            try:
                checked.append(request if isinstance(request, SendRequest) else parse_send_request(request))
            except InvalidSendRequest as error:
                raise InvalidSendRequest(f"request {position}: {error.reason}") from None
        return self._queue.enqueue(checked)


def build_send_request(
    destination: str,
    *,
    body: str | None = None,
    template_id: str | None = None,
    variables: Mapping[str, str] | None = None,
    message_type: str = "TRANSACTIONAL",
    send_after: datetime | str | None = None,
    idempotency_key: str | None = None,
    context: Mapping[str, str] | None = None,
) -> SendRequest:
    """The request, through the same wire-format parser the sender uses (raises InvalidSendRequest)."""
    wire: dict[str, Any] = {
        "destination": destination,
        "messageType": message_type,
        "idempotencyKey": str(uuid.uuid4()) if idempotency_key is None else idempotency_key,
        "body": body,
        "templateId": template_id,
        "variables": dict(variables) if variables is not None else None,
        "sendAfter": send_after.isoformat() if isinstance(send_after, datetime) else send_after,
        "context": dict(context) if context is not None else None,
    }
    return parse_send_request({name: value for name, value in wire.items() if value is not None})


# -- campaigns ----------------------------------------------------------------------------------------
class CampaignClient:
    """Schedules campaign runs (one-time EventBridge Scheduler schedules) and reads their reports."""

    def __init__(
        self,
        *,
        function_arn: str,
        scheduler_role_arn: str,
        schedule_group: str,
        dead_letter_queue_arn: str,
        templates: Mapping[str, Template] | None = None,
        scheduler_client: Any = None,
        s3_client: Any = None,
        clock: Any = None,
    ) -> None:
        for name, value in (
            ("function_arn", function_arn),
            ("scheduler_role_arn", scheduler_role_arn),
            ("dead_letter_queue_arn", dead_letter_queue_arn),
        ):
            if not isinstance(value, str) or not value.startswith("arn:"):
                raise ValueError(f"{name} {value!r} must be an ARN")
        if not isinstance(schedule_group, str) or not schedule_group:
            raise ValueError(f"schedule_group {schedule_group!r} must be a schedule group name")
        self._function_arn = function_arn
        self._role_arn = scheduler_role_arn
        self._group = schedule_group
        self._dead_letter_arn = dead_letter_queue_arn
        self._templates = templates
        self._scheduler = scheduler_client
        self._s3 = s3_client  # optional: lets schedule() check a CSV audience's columns
        self._clock = clock or (lambda: datetime.now(timezone.utc))

    def schedule(self, campaign: Campaign, *, at: datetime | None = None, run_id: str | None = None) -> str:
        """Creates the run's one-time schedule ``campaign-<id>-<run>``; returns the run id.

        ``at`` (timezone-aware) defaults to a minute from now. Scheduling the same run
        again is harmless (the schedule exists: success). Raises InvalidCampaign when the
        campaign cannot run as given (no such template, variables its template needs and
        nobody provides, a time in the past).
        """
        if not isinstance(campaign, Campaign):
            raise InvalidCampaign(f"campaign {type(campaign).__name__} must be a Campaign")
        now = self._clock()
        run_id = run_id or new_run_id(now)
        if not RUN_ID_PATTERN.fullmatch(run_id):
            raise InvalidCampaign(f"run id {run_id[:70]!r} must be 1-64 characters of [A-Za-z0-9_.:#@+=-]")
        soonest = now + timedelta(seconds=SOONEST_SECONDS)
        if at is None:
            at = soonest
        elif at.tzinfo is None:
            raise InvalidCampaign(f"at {at.isoformat()} must carry a UTC offset")
        elif at < now:
            raise InvalidCampaign(f"at {at.isoformat()} is in the past")
        self.check(campaign)
        create_one_time_schedule(
            self._scheduler_client(),
            name=schedule_name(f"campaign-{campaign.campaign_id}-{run_id}"),
            at=max(at, soonest),
            group=self._group,
            target_arn=self._function_arn,
            role_arn=self._role_arn,
            dead_letter_queue_arn=self._dead_letter_arn,
            payload={"kind": "campaign", "campaign": campaign.to_dict(), "runId": run_id},
        )
        return run_id

    def check(self, campaign: Campaign) -> None:
        """What schedule() checks before it schedules anything (InvalidCampaign naming the problem)."""
        if self._templates is None:
            return
        template = self._templates.get(campaign.template_id)
        if template is None:
            known = ", ".join(sorted(self._templates)[:10]) or "none"
            raise InvalidCampaign(
                f"campaign {campaign.campaign_id}: no template {campaign.template_id} (templates: {known})"
            )
        if template.message_type == "PROMOTIONAL" and campaign.message_type != "PROMOTIONAL":
            raise InvalidCampaign(
                f"campaign {campaign.campaign_id}: template {template.template_id} is PROMOTIONAL; "
                "the campaign must be too"
            )
        uncovered = template.placeholders - set(campaign.variables)
        if not uncovered or not isinstance(campaign.audience, AudienceCsv):
            return  # a contacts query fills variables from each contact's attributes: known per recipient only
        if self._s3 is None:
            return  # the CSV's columns are unknown here: the campaigns function skips rows that miss one
        columns = set(csv_columns(self._s3, campaign.audience))
        missing = sorted(uncovered - columns)
        if missing:
            raise InvalidCampaign(
                f"campaign {campaign.campaign_id}: template {template.template_id} needs {', '.join(missing)}: "
                "set them in the campaign's variables or as columns of the audience csv"
            )

    def report(self, table: Any, campaign_id: str, run_id: str) -> CampaignReport | None:
        """The run's counters (``table``: the outbound table, a boto3 Table or its name); None before it starts."""
        if isinstance(table, str):
            table = _boto3_resource("dynamodb").Table(table)
        return CampaignRuns(table).read(campaign_id, run_id)

    def _scheduler_client(self) -> Any:
        if self._scheduler is None:
            self._scheduler = _boto3_client("scheduler")
        return self._scheduler


def new_run_id(now: datetime) -> str:
    """``20260302T1500Z-3f9a1c``: sorts by time, unique for runs scheduled in the same minute."""
    return now.astimezone(timezone.utc).strftime("%Y%m%dT%H%MZ") + "-" + secrets.token_hex(3)


def csv_columns(s3_client: Any, audience: AudienceCsv) -> list[str]:
    """The header of an audience CSV (the first 64 KiB are plenty for a header line)."""
    import csv
    import io

    try:
        response = s3_client.get_object(Bucket=audience.bucket, Key=audience.key, Range="bytes=0-65535")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "NoSuchBucket"):
            raise
        raise InvalidCampaign(f"audience csv s3://{audience.bucket}/{audience.key} does not exist") from None
    body = response["Body"].read()
    first = next(csv.reader(io.StringIO(body.decode("utf-8-sig", errors="replace"))), [])
    return [name.strip() for name in first if name.strip()]


# -- contacts -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportSummary:
    imported: int = 0  # rows written (with or without an opt-in)
    without_opt_in: int = 0  # of those, rows with no opt-in proof: they get no PROMOTIONAL texts
    new_opt_ins: int = 0  # opt-in proofs recorded for the first time (a re-import records none)
    rejected: tuple[tuple[int, str], ...] = field(default=())  # (row number, reason with the number masked)

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "withoutOptIn": self.without_opt_in,
            "newOptIns": self.new_opt_ins,
            "rejected": [{"row": row, "reason": reason} for row, reason in self.rejected],
        }


class ContactsImporter:
    """Imports a contacts CSV (phone_number, opt_in_source, opt_in_at, attribute columns) into the contacts table."""

    def __init__(self, contacts: Any) -> None:
        from two_way_sms.adapters.contacts import ContactsTable

        if isinstance(contacts, str):
            contacts = _boto3_resource("dynamodb").Table(contacts)
        self._contacts = contacts if isinstance(contacts, ContactsTable) else ContactsTable(contacts)

    def import_csv(self, lines: Iterable[str]) -> ImportSummary:
        """Imports every valid row; a bad row is listed with its reason and the others go on.

        Raises InvalidContactsFile when the file has no usable header. Safe to repeat.
        """
        imported = without_opt_in = new_opt_ins = 0
        rejected: list[tuple[int, str]] = []
        for entry in read_contacts_csv(lines):
            if isinstance(entry, ImportRowError):
                rejected.append((entry.row_number, entry.reason))
                continue
            assert isinstance(entry, ContactImport)
            if self._contacts.import_contact(entry):
                new_opt_ins += 1
            imported += 1
            if not entry.opted_in:
                without_opt_in += 1
        return ImportSummary(imported, without_opt_in, new_opt_ins, tuple(rejected))


def _boto3_client(name: str) -> Any:
    import boto3

    return boto3.client(name)


def _boto3_resource(name: str) -> Any:
    import boto3

    return boto3.resource(name)
