"""A campaigns-function invocation that runs low on time continues in a new one: a one-time schedule of itself.

A page of the audience, or of held requests, takes a few seconds; when less than
``CONTINUE_BELOW_MS`` is left after one, the invocation schedules its continuation (named
after what it runs and its number, so a retried invocation creates it once) and stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from two_way_sms.adapters.schedules import schedule_name
from two_way_sms.services.campaign_ports import Invocation, ScheduleOnce

# Stop and continue in a new invocation when less than this is left: a page takes a few seconds.
CONTINUE_BELOW_MS = 20_000
CONTINUE_AFTER_SECONDS = 60  # a one-time schedule must lie ahead (60 s precision)


def running_low(invocation: Invocation) -> bool:
    """Too little time is left for another page."""
    return invocation.get_remaining_time_in_millis() < CONTINUE_BELOW_MS


def continue_later(
    schedule: ScheduleOnce, *, name: str, now: datetime, target_arn: str, payload: Mapping[str, Any]
) -> bool:
    """Schedules ``payload`` for ``target_arn`` a minute from ``now``; False when ``name`` was scheduled already."""
    return schedule(
        name=schedule_name(name),
        at=now + timedelta(seconds=CONTINUE_AFTER_SECONDS),
        target_arn=target_arn,
        payload=payload,
    )
