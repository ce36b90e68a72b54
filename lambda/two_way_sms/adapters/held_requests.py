"""Requests held longer than SQS can delay a message (15 min): stored by release minute.

Item: ``pk = "HOLD#<release minute, UTC, YYYY-MM-DDTHH:MM>"``, ``sk = <idempotency key>``,
``request`` (the queue JSON). The release minute is the hold's end rounded *up* to the
minute, so a request never comes back before it may be sent. For every minute that holds
something there is one EventBridge Scheduler one-time schedule, ``release-YYYYMMDDTHHMM``,
that invokes the campaigns function with ``{"kind": "release", "minute": ...}``; it moves
the minute's requests back into the outbound queue (``take``), where the sender plans them
again (quiet hours are checked again then).

Both writes are safe to repeat: the item's key is the request's, and a schedule that
already exists (another request of the same minute created it) is what we wanted.

Requests held for the month's budget (``outbound.budget``) wait for no minute: they are
parked under ``pk = "HOLD#<reason>"`` (BUDGET_REACHED, BUDGET_HARD_STOP) until the budget
allows them again. The campaigns function's recurring budget check puts one of each back
on the queue now and then (``{"kind": "check-budget"}``); when the sender finds the budget
allows a request it had held, it schedules ``release-budget-YYYYMMDDTHHMM``, which puts
them all back (``{"kind": "release-budget"}``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

from two_way_sms.outbound.budget import BUDGET_HOLD_REASONS
from two_way_sms.outbound.request import SendRequest, parse_send_request

PREFIX = "HOLD#"
MINUTE_FORMAT = "%Y-%m-%dT%H:%M"
# A held request the release never picked up (the schedule's retries and DLQ both failed)
# is cleaned up this long after its minute.
KEEP_AFTER_RELEASE = timedelta(days=30)
# A request parked for the budget comes back by the next month at the latest; one a release
# never picked up is cleaned up after two months.
KEEP_PARKED = timedelta(days=62)
BUDGET_RELEASE_KIND = "release-budget"
# EventBridge Scheduler's own limits (and defaults): retry the invocation for up to 24 h.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}


def release_minute(release_at: datetime) -> datetime:
    """``release_at`` rounded up to the whole minute (UTC)."""
    if release_at.tzinfo is None:
        raise ValueError(f"release_at {release_at.isoformat()} must be timezone-aware")
    moment = release_at.astimezone(timezone.utc)
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


def minute_text(minute: datetime | str) -> str:
    """``YYYY-MM-DDTHH:MM`` (UTC) for a minute given as a datetime or already as text."""
    if isinstance(minute, str):
        parsed = datetime.strptime(minute, MINUTE_FORMAT)  # raises ValueError naming the text
        return parsed.strftime(MINUTE_FORMAT)
    return release_minute(minute).strftime(MINUTE_FORMAT)


def schedule_name(minute: datetime | str) -> str:
    return "release-" + minute_text(minute).replace("-", "").replace(":", "")


class HeldRequests:
    def __init__(
        self,
        table: Any,
        scheduler: Any = None,
        group: str | None = None,
        target_arn: str | None = None,
        role_arn: str | None = None,
        *,
        dead_letter_arn: str | None = None,
    ) -> None:
        self._table = table  # a boto3 DynamoDB Table resource (the outbound table)
        self._scheduler = scheduler  # a boto3 "scheduler" client; only hold() needs it
        self._group = group
        self._target_arn = target_arn
        self._role_arn = role_arn
        self._dead_letter_arn = dead_letter_arn

    def hold(self, request: SendRequest, release_at: datetime) -> str:
        """Stores ``request`` until ``release_at`` (rounded up to the minute); returns the minute."""
        if not (self._scheduler and self._group and self._target_arn and self._role_arn):
            raise ValueError("holding requests needs a scheduler client, group, target ARN and role ARN")
        minute = release_minute(release_at)
        text = minute.strftime(MINUTE_FORMAT)
        self._table.put_item(
            Item={
                "pk": PREFIX + text,
                "sk": request.idempotency_key,
                "request": request.to_json(),
                "expires_at": int((minute + KEEP_AFTER_RELEASE).timestamp()),
            }
        )
        self._ensure_release_schedule(minute)
        return text

    def park(self, request: SendRequest, reason: str, at: datetime) -> None:
        """Keeps ``request`` until the budget allows it again (``reason``: BUDGET_REACHED or BUDGET_HARD_STOP)."""
        if reason not in BUDGET_HOLD_REASONS:
            raise ValueError(f"reason {reason!r} must be one of {', '.join(BUDGET_HOLD_REASONS)}")
        if at.tzinfo is None:
            raise ValueError(f"at {at.isoformat()} must be timezone-aware")
        self._table.put_item(
            Item={
                "pk": PREFIX + reason,
                "sk": request.idempotency_key,
                "request": request.to_json(),
                "expires_at": int((at + KEEP_PARKED).timestamp()),
            }
        )

    def peek_parked(self, reason: str, limit: int = 100) -> tuple[list[tuple[str, SendRequest]], bool]:
        """Up to ``limit`` (idempotency key, request) pairs parked for ``reason``, without deleting them."""
        if reason not in BUDGET_HOLD_REASONS:
            raise ValueError(f"reason {reason!r} must be one of {', '.join(BUDGET_HOLD_REASONS)}")
        return self._peek(PREFIX + reason, limit)

    def remove_parked(self, reason: str, keys: list[str]) -> None:
        if reason not in BUDGET_HOLD_REASONS:
            raise ValueError(f"reason {reason!r} must be one of {', '.join(BUDGET_HOLD_REASONS)}")
        self._remove(PREFIX + reason, keys)

    def schedule_budget_release(self, after: datetime) -> str:
        """Schedules the release of every parked request at the first whole minute past ``after``
        (a minute at least 30 s ahead); returns the schedule's name. A repeat in the same minute is harmless."""
        if not (self._scheduler and self._group and self._target_arn and self._role_arn):
            raise ValueError("scheduling a release needs a scheduler client, group, target ARN and role ARN")
        minute = release_minute(after + timedelta(seconds=30))
        name = f"{BUDGET_RELEASE_KIND}-{minute.strftime('%Y%m%dT%H%M')}"
        self._create_schedule(name, minute, {"kind": BUDGET_RELEASE_KIND})
        return name

    def take(self, minute: datetime | str, limit: int = 100) -> tuple[list[SendRequest], bool]:
        """Reads and deletes up to ``limit`` requests held for ``minute``; ``more`` is True when
        others remain (call again). The caller must enqueue what it took: use ``peek`` and
        ``remove`` instead to delete only after the requests are safely in the queue."""
        entries, more = self.peek(minute, limit)
        self.remove(minute, [key for key, _ in entries])
        return [request for _, request in entries], more

    def peek(self, minute: datetime | str, limit: int = 100) -> tuple[list[tuple[str, SendRequest]], bool]:
        """Up to ``limit`` (idempotency key, request) pairs held for ``minute``, without deleting them."""
        return self._peek(PREFIX + minute_text(minute), limit)

    def remove(self, minute: datetime | str, keys: list[str]) -> None:
        self._remove(PREFIX + minute_text(minute), keys)

    def _peek(self, pk: str, limit: int) -> tuple[list[tuple[str, SendRequest]], bool]:
        if limit < 1:
            raise ValueError(f"limit {limit} must be at least 1")
        response = self._table.query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": pk},
            Limit=limit,
            ConsistentRead=True,
        )
        entries = [(item["sk"], parse_send_request(item["request"])) for item in response.get("Items", [])]
        return entries, "LastEvaluatedKey" in response

    def _remove(self, pk: str, keys: list[str]) -> None:
        with self._table.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key={"pk": pk, "sk": key})

    def _ensure_release_schedule(self, minute: datetime) -> None:
        self._create_schedule(
            schedule_name(minute), minute, {"kind": "release", "minute": minute.strftime(MINUTE_FORMAT)}
        )

    def _create_schedule(self, name: str, minute: datetime, payload: dict[str, Any]) -> None:
        target: dict[str, Any] = {
            "Arn": self._target_arn,
            "RoleArn": self._role_arn,
            "RetryPolicy": RETRY_POLICY,
            "Input": json.dumps(payload),
        }
        if self._dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self._dead_letter_arn}
        try:
            self._scheduler.create_schedule(
                Name=name,
                GroupName=self._group,
                ScheduleExpression=f"at({minute.strftime('%Y-%m-%dT%H:%M:%S')})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target=target,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConflictException":
                raise  # ConflictException: this minute's release is already scheduled
