"""The sandbox's one clock, and moto reading it.

``SandboxClock`` is the SMS emulator's ``SimulatedClock`` (epoch seconds that move only when
told): the handlers read it (``clock=`` of each ``make_handler`` that takes one), the SMS
emulator meters throughput on it, and a function that waits for a booked slot ``sleep``s it
forward. ``moto_reads(clock)`` makes moto read it too, so SQS visibility timeouts and
``DelaySeconds``, SNS envelope ``Timestamp``s, Kinesis arrival times and EventBridge event
``time``s are sandbox times: hours of holds and retries pass in one ``advance``.

moto takes "now" from ``moto.core.utils.utcnow`` (``unix_time`` and the ISO formatters call it);
the Kinesis and Scheduler models imported their own name for it. All three are patched while
the sandbox runs and restored when it closes. The patch is process-wide: one sandbox at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timezone
from unittest import mock

from two_way_sms_local.sms_emulator import SimulatedClock

# One millisecond: moto shows a message when now > visible_at (strictly), in milliseconds.
EPSILON = 0.001


class SandboxClock(SimulatedClock):
    """Epoch seconds of the sandbox, sped up: moves on ``advance``/``set`` and when a function sleeps."""

    def moment(self) -> datetime:
        """Now, as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def naive_utc(self) -> datetime:
        """What moto's ``utcnow`` returns: a naive UTC datetime."""
        return self.moment().replace(tzinfo=None)

    def iso(self, epoch_seconds: float | None = None) -> str:
        return iso(self.now() if epoch_seconds is None else epoch_seconds)


def iso(epoch_seconds: float) -> str:
    """``2026-03-04T20:00:00.000Z``: the contract's times."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@contextlib.contextmanager
def moto_reads(clock: SandboxClock) -> Iterator[None]:
    """moto's "now" is the sandbox clock while this lasts."""
    import moto.core.utils
    import moto.kinesis.models
    import moto.scheduler.models

    with contextlib.ExitStack() as patches:
        for module in (moto.core.utils, moto.kinesis.models, moto.scheduler.models):
            patches.enter_context(mock.patch.object(module, "utcnow", clock.naive_utc))
        yield
