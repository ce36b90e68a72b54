"""How many promotional texts a recipient may get: Oklahoma's law, the daily cap, the campaign cap.

All three count PROMOTIONAL sends only (transactional replies are not solicitations), in
a rolling window that ends now. A request whose idempotency key is already among the
contact's recent sends is a retry of a send that happened: it is never refused here, or a
retry after a crash (sent, but not yet acknowledged) would be counted against itself.

When several limits are exceeded the most specific reason wins, in this order:
OVER_STATE_LIMIT (the law), then OVER_DAILY_LIMIT (the sender's per-recipient policy),
then OVER_CAMPAIGN_LIMIT (one campaign run's cap).

The reason strings live here and are re-exported by ``policy`` (which uses this module);
both read the contact's state from ``contact_state``, so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from two_way_sms.outbound.contact_state import ContactState

if TYPE_CHECKING:  # pragma: no cover
    from two_way_sms.outbound.request import SendRequest

OVER_DAILY_LIMIT = "OVER_DAILY_LIMIT"
OVER_STATE_LIMIT = "OVER_STATE_LIMIT"  # Oklahoma: <= 3 promotional messages per rolling 24 h
OVER_CAMPAIGN_LIMIT = "OVER_CAMPAIGN_LIMIT"

OKLAHOMA = "OK"
OKLAHOMA_LIMIT = 3
ROLLING_WINDOW_SECONDS = 86400
# How long the contact keeps its promotional sends (longer than any window above).
RETENTION_SECONDS = 7 * 86400


def limit_refusal(
    request: SendRequest,
    contact: ContactState,
    now: datetime,
    *,
    daily_limit: int | None,
    state: str | None,
) -> str | None:
    """The limit ``request`` would exceed (OVER_STATE_LIMIT, OVER_DAILY_LIMIT, OVER_CAMPAIGN_LIMIT) or None.

    ``state`` is the recipient's presumed state (``quiet_hours.locate(number).state``).
    """
    if request.message_type != "PROMOTIONAL":
        return None
    if request.idempotency_key in contact.recent_promotional:
        return None  # a retry of a send that already happened
    in_window = sends_in_window(contact.recent_promotional, now)
    if state == OKLAHOMA and in_window >= OKLAHOMA_LIMIT:
        return OVER_STATE_LIMIT
    if daily_limit is not None and in_window >= daily_limit:
        return OVER_DAILY_LIMIT
    campaign = request.campaign
    if campaign is not None and contact.campaign_sends.get(campaign.run_key, 0) >= campaign.max_per_recipient:
        return OVER_CAMPAIGN_LIMIT
    return None


def sends_in_window(recent: Mapping[str, float], now: datetime, window_seconds: int = ROLLING_WINDOW_SECONDS) -> int:
    """How many of ``recent`` (key -> epoch seconds sent) fall in the ``window_seconds`` before ``now``.

    A send exactly ``window_seconds`` ago has left the window.
    """
    since = _epoch(now) - window_seconds
    return sum(1 for sent_at in recent.values() if sent_at > since)


def prune(recent: Mapping[str, float], now: datetime) -> dict[str, float]:
    """``recent`` without the entries older than 7 days (they can no longer count against anything)."""
    since = _epoch(now) - RETENTION_SECONDS
    return {key: sent_at for key, sent_at in recent.items() if sent_at >= since}


def _epoch(now: datetime) -> float:
    if now.tzinfo is None:
        raise ValueError(f"now {now.isoformat()} must be timezone-aware")
    return now.timestamp()
