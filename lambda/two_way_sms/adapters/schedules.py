"""One-time EventBridge Scheduler schedules: the campaigns' next pages and the client's campaign runs."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

# EventBridge Scheduler: names of 1-64 characters of [0-9a-zA-Z-_.]; retry an invocation for up to 24 h.
SCHEDULE_NAME_LIMIT = 64
_SCHEDULE_NAME = re.compile(r"[0-9A-Za-z_.-]{1,64}")
RETRY_POLICY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}


def schedule_name(raw: str) -> str:
    """``raw`` when it is a valid schedule name; else a valid prefix and a digest of it (same raw, same name)."""
    if _SCHEDULE_NAME.fullmatch(raw):
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:16]
    prefix = re.sub(r"[^0-9A-Za-z_.-]", "-", raw)[: SCHEDULE_NAME_LIMIT - len(digest) - 1]
    return f"{prefix}-{digest}"


def create_one_time_schedule(
    scheduler: Any,
    *,
    name: str,
    at: datetime,
    group: str,
    target_arn: str,
    role_arn: str,
    dead_letter_queue_arn: str | None,
    payload: Mapping[str, Any],
) -> bool:
    """One invocation of ``target_arn`` with ``payload`` at ``at`` (UTC, whole seconds rounded up).

    The schedule deletes itself after it ran. False when a schedule of that name already
    exists (a repeat: what we wanted is already there).
    """
    if at.tzinfo is None:
        raise ValueError(f"at {at.isoformat()} must be timezone-aware")
    moment = at.astimezone(timezone.utc)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    target: dict[str, Any] = {
        "Arn": target_arn,
        "RoleArn": role_arn,
        "RetryPolicy": dict(RETRY_POLICY),
        "Input": json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False),
    }
    if dead_letter_queue_arn:
        target["DeadLetterConfig"] = {"Arn": dead_letter_queue_arn}
    try:
        scheduler.create_schedule(
            Name=name,
            GroupName=group,
            ScheduleExpression=f"at({moment:%Y-%m-%dT%H:%M:%S})",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target=target,
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConflictException":
            raise
        return False
    return True
