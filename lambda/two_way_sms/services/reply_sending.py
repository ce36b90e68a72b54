"""Every reply at most once: claimed in the customer's reply log before ``SendTextMessage``, completed after.

The retry-safety half of answering an inbound text (``services.answer_inbound`` decides what
to send; this sends it). A redelivered message finds its replies already claimed or sent and
sends nothing twice; a claim whose invocation died reads as an unknown outcome, which only
the kinds set to be sent again (``reply_log.RESEND_WHEN_UNKNOWN``) are.

A claim is one write with no read before it (``adapters.reply_log``): it is refused when the
reply is there already or, for a business reply, when the number is opted out, and it answers
with the log as it was, from which the limits are applied. So a business reply's first claim is
also the consent check: a number opted out by any means (its text, a carrier, the opt-out
list) gets nothing but HELP and its one confirmation. A claim can be held while the turn is
stored and its events are put (``inbound_conversations``): a verdict that holds the reply back
(a limit, the budget) is written after them, and a failure before the send releases the claim
(``NOT_SENT``, ``EVENTS_PENDING``), so the retry puts the events it owes and sends the reply.
A reply that went is completed and recorded in the ledger by one request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from two_way_sms import metric_names
from two_way_sms.adapters.batch_failures import error_code
from two_way_sms.adapters.ledger import SentText
from two_way_sms.adapters.reply_log import Claimed, InboundView, ReplyLogMoved, ReplyLogState
from two_way_sms.adapters.sms import RetryableSendError, SendOutcomeUnknown, SendRejected
from two_way_sms.encoding import analyse
from two_way_sms.outbound.budget import BUDGET_HARD_STOP
from two_way_sms.reply_log import (
    RESEND_WHEN_UNKNOWN,
    Entry,
    ReplyKind,
    ReplyLimits,
    Status,
    Verdict,
    claimed,
    entry_key,
    expired,
    finished,
    plan,
    text_hash,
)
from two_way_sms.responder import ConsentChange, Intent
from two_way_sms.services.inbound_ports import ReplyLog, Sms, Telemetry, Turn
from two_way_sms.services.shared_ports import Consent, Ledger

_T = TypeVar("_T")
# Two answers from one number racing each other: the loser reads again and decides again.
WRITE_ATTEMPTS = 3
# A claim released before its reply's turn was stored and its events put: the retry puts them.
EVENTS_PENDING = "EVENTS_PENDING"
# 47 CFR 64.1200(a)(10): one confirmation, within five minutes of the opt-out.
OPT_OUT_CONFIRMATION_SECONDS = 300
# Completing a claim is worth a few more tries (after botocore's own): see _complete.
COMPLETION_ATTEMPTS = 3
COMPLETION_BACKOFF_SECONDS = 0.2


class ReplyInFlight(RuntimeError):
    """Another invocation is sending this reply right now (a duplicate delivery): retry later."""


class NumberOptedOut(RuntimeError):
    """A business reply's claim found the number opted out: nothing but HELP and its confirmation goes to it."""


@dataclass(frozen=True)
class HeldReply:
    """A reply claimed (``SENDING``) and not sent yet."""

    key: str
    text: str
    kind: ReplyKind
    claim: Entry
    earlier: Entry | None  # what an earlier delivery left in its place (None: nothing)
    held_back: str | None = None  # a limit or the budget holds it back: written after the turn's events


class ReplySender:
    """Sends one message's replies through its reply log, with the collaborators it is given."""

    def __init__(
        self,
        *,
        reply_log: ReplyLog,
        contacts: Consent,
        gateway: Sms,
        telemetry: Telemetry,
        ledger: Ledger | None = None,
        limits: ReplyLimits = ReplyLimits(),
        message_type: str = "TRANSACTIONAL",
        hard_stopped: Callable[[float], bool] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._reply_log = reply_log
        self._contacts = contacts
        self._gateway = gateway
        self._telemetry = telemetry
        self._ledger = ledger
        self._limits = limits
        self._message_type = message_type
        self._hard_stopped = hard_stopped  # the month's budget is reached and set to stop every text
        self._clock = clock
        self._sleep = sleep

    def view(self, number: str) -> InboundView:
        """The number's consent and reply log, read now."""
        return self._reply_log.view(number)

    def send(self, turn: Turn, index: int, text: str | None, kind: ReplyKind) -> str | None:
        """Sends reply ``index`` of the message at most once; its message id, or None when it did
        not go (already sent, suppressed, refused, given up). Raises NumberOptedOut for a
        business reply to a number that opted out."""
        held = self.claim(turn, index, text, kind)
        return self.send_held(turn, held) if held is not None else None

    def claim(self, turn: Turn, index: int, text: str | None, kind: ReplyKind) -> HeldReply | None:
        """Claims reply ``index``; None when it must not be sent (now or ever: it went, or its
        outcome was lost). Raises ReplyInFlight, or NumberOptedOut for a business reply."""
        if text is None:
            return None
        key = entry_key(turn.inbound.inbound_message_id, index)
        digest = text_hash(text)
        needs_consent = kind is ReplyKind.REPLY
        replacing: Entry | None = None
        for _ in range(WRITE_ATTEMPTS):
            now = self._clock()
            claim = claimed(kind, digest, now=now, until=turn.deadline)
            result = self._write_claim(turn, key, claim, needs_consent=needs_consent, replacing=replacing)
            earlier = result.before.entries.get(key)
            verdict = plan(result.before.entries, key, kind=kind, digest=digest, now=now, limits=self._limits)
            if result.written:
                turn.log = ReplyLogState({**result.before.entries, key: claim})
                if verdict.verdict is Verdict.SUPPRESSED:
                    return HeldReply(key, text, kind, claim, earlier, held_back=verdict.reason)
                if verdict.resent_after_unknown:
                    self._telemetry.count(metric_names.REPLIES_OUTCOME_UNKNOWN)
                    self._telemetry.warning("reply outcome unknown; this kind is sent again", reply=key)
                if kind is ReplyKind.REPLY and earlier is None and self._budget_stopped(now):
                    return HeldReply(key, text, kind, claim, earlier, held_back=BUDGET_HARD_STOP)
                return HeldReply(key, text, kind, claim, earlier)
            turn.log = result.before
            if needs_consent and result.opted_out and (earlier is None or earlier.status is Status.NOT_SENT):
                raise NumberOptedOut("the number is opted out")
            if verdict.verdict is Verdict.SEND:  # an outcome lost, of a kind sent again: replace that claim
                replacing = earlier if earlier is not None and earlier.status is Status.SENDING else None
                continue
            if verdict.verdict is Verdict.IN_FLIGHT:
                raise ReplyInFlight(f"reply {key} is being sent by another invocation")
            if verdict.verdict is Verdict.UNKNOWN and earlier is not None:
                self._telemetry.warning("reply outcome unknown; not sent again", reply=key)
                self._telemetry.count(metric_names.REPLIES_OUTCOME_UNKNOWN)
                self._complete(turn, key, earlier, Status.UNKNOWN, reason="CLAIM_EXPIRED")
            return None
        raise ReplyLogMoved(f"reply {key} kept changing for {WRITE_ATTEMPTS} attempts")

    def _write_claim(
        self, turn: Turn, key: str, claim: Entry, *, needs_consent: bool, replacing: Entry | None
    ) -> Claimed:
        """Writes the claim; when the write's answer is lost, reads the log to see whether it is ours
        (left unsent, a claim of ours would pass for an unknown outcome on the next delivery)."""
        number = turn.inbound.customer_number
        try:
            return self._reply_log.claim(number, key, claim, needs_consent=needs_consent, replacing=replacing)
        except Exception:
            try:
                view = self.retried(lambda: self._reply_log.view(number))
            except Exception:
                # Whether the claim was written is unknown, and nothing was sent: give it back if it
                # is there, or the next delivery would take it for an unknown outcome and not send.
                self._complete(turn, key, claim, Status.NOT_SENT, reason=EVENTS_PENDING, must=True)
                raise
            if view.log.entries.get(key) != claim:
                raise
            self._telemetry.info("claim written though its answer was lost; sending", reply=key)
            others = {other: entry for other, entry in view.log.entries.items() if other != key}
            return Claimed(True, ReplyLogState(others), view.opted_out)

    def _budget_stopped(self, now: float) -> bool:
        return self._hard_stopped is not None and self._hard_stopped(now)

    @staticmethod
    def events_went(turn: Turn, first: HeldReply | None) -> bool:
        """Whether an earlier delivery put the message's events: it held the first reply's claim
        until they went, and gave it back as ``NOT_SENT``/``EVENTS_PENDING`` when they did not (the
        previous release put them before claiming). A claim left by a crash counts as gone."""
        key = entry_key(turn.inbound.inbound_message_id, 0)
        earlier = first.earlier if first is not None else turn.log.entries.get(key)
        return earlier is not None and not (earlier.status is Status.NOT_SENT and earlier.reason == EVENTS_PENDING)

    def release(self, turn: Turn, held: HeldReply) -> None:
        """Gives a held claim back (``NOT_SENT``): what had to come before the send failed."""
        self._complete(turn, held.key, held.claim, Status.NOT_SENT, reason=EVENTS_PENDING, must=True)

    def send_held(self, turn: Turn, held: HeldReply) -> str | None:
        """Sends a claimed reply (or writes the verdict that holds it back); its message id, or None."""
        key, kind, claim, text = held.key, held.kind, held.claim, held.text
        if held.held_back is not None:
            self._hold_back(turn, held)
            return None
        inbound = turn.inbound
        context = {"inboundMessageId": inbound.inbound_message_id, "intent": turn.decision.intent.value}
        try:
            result = self._gateway.send_text(
                to=inbound.customer_number, from_number=inbound.our_number, body=text, context=context
            )
        except RetryableSendError as error:
            if self._gives_up(turn, kind):
                self._complete(turn, key, claim, Status.FAILED, reason=f"GAVE_UP_{error.code}")
                self._telemetry.warning(
                    "confirmation given up: it could not go in time; the opt-out stands", code=error.code, reply=key
                )
                self._telemetry.count(metric_names.CONFIRMATIONS_GIVEN_UP)
                return None
            self._complete(turn, key, claim, Status.NOT_SENT, reason=error.code, must=True)
            self._telemetry.count(metric_names.REPLIES_THROTTLED)
            raise
        except SendOutcomeUnknown as error:
            self._telemetry.count(metric_names.REPLIES_OUTCOME_UNKNOWN)
            if RESEND_WHEN_UNKNOWN[kind] and not turn.delivery.last_attempt:
                self._telemetry.warning("reply outcome unknown; this kind is sent again", code=str(error), reply=key)
                self._complete(turn, key, claim, Status.NOT_SENT, reason=str(error), must=True)
                raise RetryableSendError(str(error)) from error
            self._telemetry.warning("reply outcome unknown; not sent again", code=str(error), reply=key)
            self._complete(turn, key, claim, Status.UNKNOWN, reason=str(error))
            return None
        except SendRejected as error:
            self._complete(turn, key, claim, Status.FAILED, reason=error.reason or error.code)
            self._telemetry.warning(
                "reply refused for good by End User Messaging", code=error.code, reason=error.reason, reply=key
            )
            self._telemetry.count(metric_names.REPLIES_REJECTED)
            return None
        if result.blocked_by_opt_out or result.message_id is None:
            self._complete(turn, key, claim, Status.FAILED, reason="OPTED_OUT")
            self._learn_opt_out(turn)
            return None
        self._telemetry.count(metric_names.REPLIES_SENT)
        self._complete_sent(turn, held, result.message_id, self._sent_text(turn, text, result.message_id, context))
        return result.message_id

    def _hold_back(self, turn: Turn, held: HeldReply) -> None:
        """Writes the verdict that holds a claimed reply back: a reply limit, or the month's budget
        at a hard stop (which holds every reply but consent confirmations and HELP)."""
        if held.held_back == BUDGET_HARD_STOP:
            self._telemetry.warning("reply held back: the month's budget is reached and set to stop", reply=held.key)
        else:
            self._telemetry.warning("reply suppressed by the reply limits", limit=held.held_back, reply=held.key)
        self._telemetry.count(metric_names.REPLIES_SUPPRESSED)
        self._complete(turn, held.key, held.claim, Status.SUPPRESSED, reason=held.held_back, must=True)

    def write_log(self, turn: Turn, key: str, entry: Entry) -> ReplyLogState:
        """Notes ``entry`` where reply ``key`` is not yet; the log as it is then."""
        number = turn.inbound.customer_number
        if self._reply_log.write(number, key, entry):
            turn.log = ReplyLogState({**turn.log.entries, key: entry})
        else:
            turn.log = self._reply_log.read(number)
        return turn.log

    def retried(self, action: Callable[[], _T]) -> _T:
        """A consent write or list call, tried a few times more (after botocore's own): what an
        opt-out cannot do without should not wait minutes for SQS to deliver the record again."""
        for attempt in range(1, COMPLETION_ATTEMPTS):
            try:
                return action()
            except SendRejected:
                raise  # refused for good: another try changes nothing
            except Exception:
                self._sleep(COMPLETION_BACKOFF_SECONDS * attempt)
        return action()

    def _complete(
        self,
        turn: Turn,
        key: str,
        claim: Entry,
        status: Status,
        *,
        message_id: str | None = None,
        reason: str | None = None,
        must: bool = False,
    ) -> None:
        """Records what became of a claimed reply, trying a few times: a claim left behind reads as
        an unknown outcome later, so a reply that surely did not go would never be sent. A failed
        write of a sent reply is only logged: the claim already keeps it from going twice."""
        outcome = finished(claim, status, message_id=message_id, reason=reason)
        for attempt in range(1, COMPLETION_ATTEMPTS + 1):
            try:
                self._reply_log.complete(
                    turn.inbound.customer_number, key, claim, outcome, forget=expired(turn.log.entries, self._clock())
                )
                return
            except Exception as error:
                if attempt < COMPLETION_ATTEMPTS:
                    self._sleep(COMPLETION_BACKOFF_SECONDS * attempt)
                    continue
                if must:
                    raise
                self._telemetry.warning(
                    "reply outcome not recorded; its claim keeps it from going twice",
                    reply=key,
                    status=status.value,
                    error=type(error).__name__,
                )
                self._telemetry.count(metric_names.REPLY_LOG_WRITES_FAILED)

    def _complete_sent(self, turn: Turn, held: HeldReply, message_id: str, sent: SentText) -> None:
        """A reply that went: completed and recorded in the ledger by one request; when that fails,
        each on its own (the completion tried a few times, the ledger's failure only logged)."""
        outcome = finished(held.claim, Status.SENT, message_id=message_id)
        try:
            done = self._reply_log.complete(
                turn.inbound.customer_number,
                held.key,
                held.claim,
                outcome,
                forget=expired(turn.log.entries, self._clock()),
                sent=sent if self._ledger is not None else None,
            )
        except Exception:
            self._complete(turn, held.key, held.claim, Status.SENT, message_id=message_id)
            self._record_in_ledger(sent)
            return
        if not done.recorded:
            self._record_in_ledger(sent)

    def _gives_up(self, turn: Turn, kind: ReplyKind) -> bool:
        """An opt-out confirmation that cannot go yet is given up once it is too late to send one,
        so the number reaches the opt-out list (the last receive gives it up too: ``inbound_consent``)."""
        if kind is not ReplyKind.OPT_OUT_CONFIRMATION:
            return False
        return self._clock() - turn.delivery.sent_at_ms / 1000 > OPT_OUT_CONFIRMATION_SECONDS

    def _learn_opt_out(self, turn: Turn) -> None:
        """The number's opt-out list knows better than our table: learn it, don't retry."""
        self._telemetry.warning("reply not sent: destination is on the opt-out list")
        self._telemetry.count(metric_names.REPLIES_BLOCKED_BY_OPT_OUT)
        if turn.decision.intent is not Intent.OPT_OUT:
            inbound = turn.inbound
            self._contacts.record_consent(
                number=inbound.customer_number,
                change=ConsentChange.OPTED_OUT,
                at_ms=turn.delivery.sent_at_ms,
                message_id=inbound.inbound_message_id,
                keyword="OPT_OUT_LIST",
                our_number=inbound.our_number,
                source="OPT_OUT_LIST",
            )

    def _sent_text(self, turn: Turn, text: str, message_id: str, context: dict[str, str]) -> SentText:
        inbound = turn.inbound
        return SentText(
            message_id=message_id,
            destination=inbound.customer_number,
            origination=inbound.our_number,
            context=context,
            sent_at_ms=int(self._clock() * 1000),
            message_type=self._message_type,
            estimated_parts=analyse(text).parts,
            sent_by="inbound",
        )

    def _record_in_ledger(self, sent: SentText) -> None:
        """The reply is in the ledger (SENT) from now until its delivery events arrive.

        A failed write is logged, not raised: raising would retry the record for a reply that
        went, and the reply's delivery events create its ledger item anyway.
        """
        if self._ledger is None:
            return
        try:
            self._ledger.record_sent(sent)
        except Exception as error:
            self._telemetry.warning(
                "reply sent but not recorded in the ledger; its delivery events will record it",
                error=type(error).__name__,
                code=error_code(error),
                message_id=sent.message_id,
            )
            self._telemetry.count(metric_names.LEDGER_WRITES_FAILED)
