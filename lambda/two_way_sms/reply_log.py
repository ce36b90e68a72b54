"""The reply log: at most one text per inbound message and reply, and a cap on automatic replies.

Every reply the inbound handler sends is an entry of the customer's reply log, keyed by
``<inbound message id>#<reply index>``. The entry is *claimed* (``SENDING``) before
``SendTextMessage`` and *completed* after it (``SENT`` with the message id, or ``FAILED``,
``NOT_SENT``, ``SUPPRESSED``, ``UNKNOWN``), so a redelivered message finds what became of
each of its replies instead of sending them again.

``SendTextMessage`` has no client token: when its answer is lost (a read timeout, a crash
between the call and the completion) nobody knows whether the text went. The claim then
stays ``SENDING`` past the deadline of the invocation that took it, and the next delivery
decides by the kind of reply (``RESEND_WHEN_UNKNOWN``). A lost answer almost always means
the service had the request (a read timeout comes after the request was written; a failed
connection is known not to have sent and is simply retried), so the safe side is not to
send again, for every kind:

- an opt-out confirmation: the FCC allows one (47 CFR 64.1200(a)(10)); a second is a breach;
- a HELP answer: it most likely arrived, and a customer without it texts HELP again (the
  one kind worth flipping, if an operator prefers a rare duplicate to a rare silence);
- every other reply (an opt-in confirmation, a keyword's or the default reply, a
  conversation's step): a business text sent twice is the failure this package promises
  never to make, and the customer can always text again.
Either way the unknown outcome is recorded (``UNKNOWN``) and counted.

The same log caps automatic replies per customer number (``ReplyLimits``), so two
auto-responders cannot answer each other forever and a flood of texts cannot buy a flood
of replies: at most 5 replies in 10 minutes and 20 in a day, and never the same text twice
within 5 minutes. Consent confirmations are exempt (the law requires them). What a limit
suppresses is recorded (``SUPPRESSED`` with the limit) and counted.

Pure: the adapter (``adapters.reply_log``) reads and writes the entries; this module
decides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum

# How long an entry is kept: past the SQS retention (4 days) and the dead-letter queue's
# (14 days), so a message redriven by hand still finds the replies it already sent.
KEEP_SECONDS = 15 * 86400


class ReplyKind(str, Enum):
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"
    OPT_IN_CONFIRMATION = "opt_in_confirmation"
    HELP = "help"
    REPLY = "reply"  # a keyword's reply, the default reply, a conversation's step

    @property
    def is_consent_confirmation(self) -> bool:
        return self in (ReplyKind.OPT_OUT_CONFIRMATION, ReplyKind.OPT_IN_CONFIRMATION)


RESEND_WHEN_UNKNOWN = {
    ReplyKind.OPT_OUT_CONFIRMATION: False,
    ReplyKind.OPT_IN_CONFIRMATION: False,
    ReplyKind.HELP: False,
    ReplyKind.REPLY: False,
}


class Status(str, Enum):
    SENDING = "SENDING"  # claimed: a send is in flight, or its outcome was lost
    SENT = "SENT"
    NOT_SENT = "NOT_SENT"  # the send surely did not go (throttled, refused by a server error): try again
    FAILED = "FAILED"  # refused for good (validation, quota, opted out): never tried again
    SUPPRESSED = "SUPPRESSED"  # a reply limit held it back
    UNKNOWN = "UNKNOWN"  # the outcome was lost and this kind is not sent again


# Entries that may have reached the customer: they count towards the limits.
_MAY_HAVE_GONE = frozenset({Status.SENDING, Status.SENT, Status.UNKNOWN})


@dataclass(frozen=True)
class ReplyLimits:
    """Automatic replies one customer number can get (consent confirmations are exempt)."""

    per_window: int = 5
    window_seconds: int = 600
    per_day: int = 20
    same_text_seconds: int = 300

    def __post_init__(self) -> None:
        for name in ("per_window", "window_seconds", "per_day", "same_text_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"reply limit {name} {value!r} must be a whole number >= 0")
        if self.per_window > self.per_day:
            raise ValueError(f"reply limit per_window {self.per_window} must not exceed per_day {self.per_day}")

    def to_text(self) -> str:
        """``per_window/window_seconds/per_day/same_text_seconds``: the ``REPLY_LIMITS`` environment variable."""
        return f"{self.per_window}/{self.window_seconds}/{self.per_day}/{self.same_text_seconds}"

    @classmethod
    def from_text(cls, text: str) -> ReplyLimits:
        parts = text.split("/")
        if len(parts) != 4 or not all(part.isdigit() for part in parts):
            raise ValueError(f"REPLY_LIMITS {text!r} must be per_window/window_seconds/per_day/same_text_seconds")
        return cls(*(int(part) for part in parts))


@dataclass(frozen=True)
class Entry:
    status: Status
    at: float  # when it was claimed (epoch seconds)
    kind: ReplyKind
    text_hash: str
    until: float = 0.0  # SENDING: the deadline of the invocation holding the claim
    message_id: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        # Kept to the millisecond, as stored: an entry read back equals the one written.
        object.__setattr__(self, "at", round(self.at, 3))
        object.__setattr__(self, "until", round(self.until, 3))


class Verdict(str, Enum):
    SEND = "SEND"  # claim it and send
    DONE = "DONE"  # already sent, failed for good, suppressed or given up: nothing to do
    IN_FLIGHT = "IN_FLIGHT"  # another invocation is sending it now: try again later
    UNKNOWN = "UNKNOWN"  # a lost outcome of a kind that is not sent again: record it as such
    SUPPRESSED = "SUPPRESSED"  # a limit holds it back: record it as such


@dataclass(frozen=True)
class Plan:
    verdict: Verdict
    reason: str | None = None  # SUPPRESSED: the limit; DONE: the entry's status
    resent_after_unknown: bool = False  # SEND of a claim whose first outcome was lost


def entry_key(inbound_message_id: str, index: int) -> str:
    return f"{inbound_message_id}#{index}"


def text_hash(text: str) -> str:
    """A short digest of a reply's text: enough to see the same text twice, never the text."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan(
    entries: Mapping[str, Entry], key: str, *, kind: ReplyKind, digest: str, now: float, limits: ReplyLimits
) -> Plan:
    """What to do about reply ``key`` given the customer's log at ``now``."""
    existing = entries.get(key)
    if existing is not None:
        if existing.status is Status.SENDING:
            if now < existing.until:
                return Plan(Verdict.IN_FLIGHT)
            if RESEND_WHEN_UNKNOWN[kind]:
                return Plan(Verdict.SEND, resent_after_unknown=True)
            return Plan(Verdict.UNKNOWN)
        if existing.status is not Status.NOT_SENT:
            return Plan(Verdict.DONE, reason=existing.status.value)
    if kind.is_consent_confirmation:
        return Plan(Verdict.SEND)
    limited = _limit_reached(entries, key, digest=digest, now=now, limits=limits)
    return Plan(Verdict.SUPPRESSED, reason=limited) if limited else Plan(Verdict.SEND)


def _limit_reached(
    entries: Mapping[str, Entry], key: str, *, digest: str, now: float, limits: ReplyLimits
) -> str | None:
    counted = [
        entry
        for other, entry in entries.items()
        if other != key and entry.status in _MAY_HAVE_GONE and not entry.kind.is_consent_confirmation
    ]
    if any(entry.text_hash == digest and now - entry.at < limits.same_text_seconds for entry in counted):
        return "SAME_TEXT"
    if sum(now - entry.at < limits.window_seconds for entry in counted) >= limits.per_window:
        return "WINDOW"
    if sum(now - entry.at < 86400 for entry in counted) >= limits.per_day:
        return "DAY"
    return None


def claimed(kind: ReplyKind, digest: str, *, now: float, until: float) -> Entry:
    return Entry(Status.SENDING, at=now, kind=kind, text_hash=digest, until=until)


def finished(entry: Entry, status: Status, *, message_id: str | None = None, reason: str | None = None) -> Entry:
    return replace(entry, status=status, message_id=message_id, reason=reason, until=0.0)


def expired(entries: Mapping[str, Entry], now: float) -> list[str]:
    """Keys of entries old enough to forget."""
    return [key for key, entry in entries.items() if now - entry.at > KEEP_SECONDS]
