"""What the contacts table knows about a destination, as the send policy and the limits read it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class ContactState:
    """What the contacts table knows about the destination."""

    opted_out: bool = False
    opted_in: bool = False  # a recorded opt-in (import with proof, or START keyword)
    recent_promotional: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # idempotency key -> epoch seconds sent, last 7 days
    campaign_sends: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # "<campaign_id>/<run_id>" -> messages sent in that run
    promotional_subjects: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # idempotency key -> subject ("campaign:<id>", "template:<id>") of a recent promotional send;
    # a key of recent_promotional without one (no campaign nor template, or stored before
    # subjects were) counts against every subject
