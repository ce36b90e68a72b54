"""What the contacts table knows about a destination, as the send policy and the limits read it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from two_way_sms.outbound.request import CampaignRef


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
    campaign_last_sent: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # "<campaign_id>/<run_id>" -> epoch seconds of that run's last send (a run quiet for 7 days is forgotten)
    promotional_version: int | None = None  # of the item these were read from; None: no item


@dataclass(frozen=True)
class PromotionalCount:
    """A promotional text to count on its recipient's recent sends, on top of ``read`` (the state
    its batch read: a write on top of it fails when the item moved since)."""

    number: str
    key: str  # the send's idempotency key
    campaign: CampaignRef | None
    subject: str | None  # ``limits.promotional_subject``
    read: ContactState
