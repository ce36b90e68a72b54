"""How many promotional texts a recipient may get: the law's caps, the daily cap, the campaign cap.

All three count PROMOTIONAL sends only (transactional replies are not solicitations), in
a rolling window that ends now. A request whose idempotency key is already among the
contact's recent sends is a retry of a send that happened: it is never refused here, or a
retry after a crash (sent, but not yet acknowledged) would be counted against itself.

The law's caps come from the rules table (``two_way_sms.rules``): Florida, Oklahoma and
Maryland allow 3 solicitations per rolling 24 hours to one person on the same subject.
"Same subject" is read as the table's notes say: the same campaign id; without one, the
same template id; a send with neither counts against every promotional send to that
number, and so does a recent send whose subject is unknown (stored before subjects were).
The cap counts per recipient number, whichever of our numbers sent the texts, and is
independent of the configurable daily limit (both apply). The operator's rules
(``quiet_hours.QuietHoursRules``) may add a lower cap per jurisdiction, or lift the legal
one by a named waiver (``CAP``).

When several limits are exceeded the most specific reason wins, in this order:
OVER_STATE_LIMIT (the law), then OVER_DAILY_LIMIT (the sender's per-recipient policy),
then OVER_CAMPAIGN_LIMIT (one campaign run's cap).

The reason strings live here and are re-exported by ``policy`` (which uses this module);
both read the contact's state from ``contact_state``, so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.quiet_hours import CAP, QuietHoursRules

if TYPE_CHECKING:  # pragma: no cover
    from two_way_sms.outbound.request import CampaignRef, SendRequest

OVER_DAILY_LIMIT = "OVER_DAILY_LIMIT"
OVER_STATE_LIMIT = "OVER_STATE_LIMIT"  # a jurisdiction's cap in the rules table (FL, OK, MD: 3 per 24 h)
OVER_CAMPAIGN_LIMIT = "OVER_CAMPAIGN_LIMIT"

ROLLING_WINDOW_SECONDS = 86400
# How long the contact keeps its promotional sends (longer than any window above).
RETENTION_SECONDS = 7 * 86400
_TABLE_ONLY = QuietHoursRules()


@dataclass(frozen=True)
class LimitRefusal:
    """Which limit a request would exceed, and why in one line (no phone number)."""

    reason: str  # OVER_STATE_LIMIT, OVER_DAILY_LIMIT or OVER_CAMPAIGN_LIMIT
    detail: str


def promotional_subject(campaign: CampaignRef | None, template_id: str | None) -> str | None:
    """The "same subject" a send counts under: ``"campaign:<id>"``, else ``"template:<id>"``, else None."""
    if campaign is not None:
        return f"campaign:{campaign.campaign_id}"
    if template_id is not None:
        return f"template:{template_id}"
    return None


def limit_refusal(
    request: SendRequest,
    contact: ContactState,
    now: datetime,
    *,
    daily_limit: int | None,
    state: str | None,
    rules: QuietHoursRules | None = None,
) -> str | None:
    """The limit ``request`` would exceed (OVER_STATE_LIMIT, OVER_DAILY_LIMIT, OVER_CAMPAIGN_LIMIT) or None.

    ``state`` is the recipient's jurisdiction (``quiet_hours.locate(number).state``:
    ``"US-FL"``, ``"US"``, ``"CA"``, or None for a country without rules).
    """
    refusal = limit_check(request, contact, now, daily_limit=daily_limit, state=state, rules=rules)
    return refusal.reason if refusal is not None else None


def limit_check(
    request: SendRequest,
    contact: ContactState,
    now: datetime,
    *,
    daily_limit: int | None,
    state: str | None,
    rules: QuietHoursRules | None = None,
) -> LimitRefusal | None:
    """Like :func:`limit_refusal`, with the one-line detail (the jurisdiction and its rule).

    ``rules``: the operator's caps and waivers (None: the rules table as shipped).
    """
    if request.message_type != "PROMOTIONAL":
        return None
    if request.idempotency_key in contact.recent_promotional:
        return None  # a retry of a send that already happened
    rules = rules or _TABLE_ONLY
    if state is not None and state in rules.table.jurisdictions:
        subject = promotional_subject(request.campaign, request.template_id)
        for entry in rules.table.chain(state):
            legal = entry.frequency_cap
            hours = legal.hours if legal is not None else ROLLING_WINDOW_SECONDS // 3600
            # Oregon's cap counts every solicitation, the others those on the same subject (the table says which).
            same_subject = legal is None or legal.same_subject
            counted, on = (subject, " on the same subject") if same_subject else (None, "")
            caps = []
            if legal is not None and not rules.waived(entry.code, CAP):
                citations = "; ".join(source.citation for source in entry.sources)
                caps.append((legal.count, f"allows {legal.count} promotional texts per {hours} h", f" ({citations})"))
            if entry.code in rules.caps:
                count = rules.caps[entry.code]
                caps.append((count, f"is capped at {count} promotional texts per {hours} h", " by the operator"))
            for count, what, why in caps:
                if same_subject_sends(contact, counted, now, hours * 3600) >= count:
                    return LimitRefusal(OVER_STATE_LIMIT, f"{entry.code} ({entry.name}) {what}{on}{why}")
    in_window = sends_in_window(contact.recent_promotional, now)
    if daily_limit is not None and in_window >= daily_limit:
        return LimitRefusal(OVER_DAILY_LIMIT, f"promotional_daily_limit {daily_limit} per 24 h")
    campaign = request.campaign
    if campaign is not None and contact.campaign_sends.get(campaign.run_key, 0) >= campaign.max_per_recipient:
        return LimitRefusal(OVER_CAMPAIGN_LIMIT, f"max_per_recipient {campaign.max_per_recipient} in this run")
    return None


def same_subject_sends(contact: ContactState, subject: str | None, now: datetime, window_seconds: int) -> int:
    """How many of the contact's promotional sends in the ``window_seconds`` before ``now``
    count against ``subject``: those of the same subject and those of no known subject; every
    one of them when ``subject`` is None."""
    since = _epoch(now) - window_seconds
    subjects = contact.promotional_subjects
    return sum(
        1
        for key, sent_at in contact.recent_promotional.items()
        if sent_at > since and (subject is None or subjects.get(key) in (None, subject))
    )


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
