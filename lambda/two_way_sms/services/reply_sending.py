"""Every reply at most once: claimed in the customer's reply log before ``SendTextMessage``, completed after.

The retry-safety half of answering an inbound text (``services.answer_inbound`` decides what
to send; this sends it). A redelivered message finds its replies already claimed or sent and
sends nothing twice; a claim whose invocation died reads as an unknown outcome, which only
the kinds set to be sent again (``reply_log.RESEND_WHEN_UNKNOWN``) are. Writes that race
another answer from the same number read the log again and decide again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from two_way_sms import metric_names
from two_way_sms.adapters.batch_failures import error_code
from two_way_sms.adapters.ledger import SentText
from two_way_sms.adapters.reply_log import ReplyLogMoved, ReplyLogState
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
# 47 CFR 64.1200(a)(10): one confirmation, within five minutes of the opt-out.
OPT_OUT_CONFIRMATION_SECONDS = 300
# Completing a claim is worth a few more tries (after botocore's own): see _complete.
COMPLETION_ATTEMPTS = 3
COMPLETION_BACKOFF_SECONDS = 0.2


class ReplyInFlight(RuntimeError):
    """Another invocation is sending this reply right now (a duplicate delivery): retry later."""


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

    def send(self, turn: Turn, index: int, text: str | None, kind: ReplyKind) -> str | None:
        """Sends reply ``index`` of the message at most once; its message id, or None when it did
        not go (already sent, suppressed, refused, given up)."""
        if text is None:
            return None
        key = entry_key(turn.inbound.inbound_message_id, index)
        digest = text_hash(text)
        if self._held_by_the_budget(turn, key, kind, digest):
            return None
        claim = self._claim(turn, key, kind, digest)
        if claim is None:
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
        self._complete(turn, key, claim, Status.SENT, message_id=result.message_id)
        self._telemetry.count(metric_names.REPLIES_SENT)
        self._record_in_ledger(turn, text, result.message_id, context)
        return result.message_id

    def _held_by_the_budget(self, turn: Turn, key: str, kind: ReplyKind, digest: str) -> bool:
        """A hard stop at the month's budget holds every reply but consent confirmations and HELP
        (which the law and the carriers require); what it holds back is recorded and counted."""
        if self._hard_stopped is None or kind is not ReplyKind.REPLY or key in turn.log.entries:
            return False
        now = self._clock()
        if not self._hard_stopped(now):
            return False
        self._telemetry.warning("reply held back: the month's budget is reached and set to stop", reply=key)
        self._telemetry.count(metric_names.REPLIES_SUPPRESSED)
        entry = Entry(Status.SUPPRESSED, at=now, kind=kind, text_hash=digest, reason=BUDGET_HARD_STOP)
        turn.log = self.write_log(turn, key, entry)
        return True

    def _claim(self, turn: Turn, key: str, kind: ReplyKind, digest: str) -> Entry | None:
        """Claims reply ``key`` in the log; None when it must not be sent (now or ever)."""
        for _ in range(WRITE_ATTEMPTS):
            now = self._clock()
            verdict = plan(turn.log.entries, key, kind=kind, digest=digest, now=now, limits=self._limits)
            try:
                if verdict.verdict is Verdict.SEND:
                    if verdict.resent_after_unknown:
                        self._telemetry.count(metric_names.REPLIES_OUTCOME_UNKNOWN)
                        self._telemetry.warning("reply outcome unknown; this kind is sent again", reply=key)
                    claim = claimed(kind, digest, now=now, until=turn.deadline)
                    turn.log = self._write_claim(turn, key, claim, now)
                    return claim
                if verdict.verdict is Verdict.IN_FLIGHT:
                    raise ReplyInFlight(f"reply {key} is being sent by another invocation")
                if verdict.verdict is Verdict.UNKNOWN:
                    self._telemetry.warning("reply outcome unknown; not sent again", reply=key)
                    self._telemetry.count(metric_names.REPLIES_OUTCOME_UNKNOWN)
                    self._complete(turn, key, turn.log.entries[key], Status.UNKNOWN, reason="CLAIM_EXPIRED")
                elif verdict.verdict is Verdict.SUPPRESSED:
                    self._telemetry.warning("reply suppressed by the reply limits", limit=verdict.reason, reply=key)
                    self._telemetry.count(metric_names.REPLIES_SUPPRESSED)
                    entry = Entry(Status.SUPPRESSED, at=now, kind=kind, text_hash=digest, reason=verdict.reason)
                    turn.log = self._reply_log.write(turn.inbound.customer_number, key, entry, read=turn.log, now=now)
                return None
            except ReplyLogMoved:
                turn.log = self._reply_log.read(turn.inbound.customer_number)
        raise ReplyLogMoved(f"the reply log kept moving for {WRITE_ATTEMPTS} attempts")

    def _write_claim(self, turn: Turn, key: str, claim: Entry, now: float) -> ReplyLogState:
        """Writes the claim; when the write's answer is lost, reads the log to see whether it is ours
        (left unsent, a claim of ours would pass for an unknown outcome on the next delivery)."""
        try:
            return self._reply_log.write(turn.inbound.customer_number, key, claim, read=turn.log, now=now)
        except ReplyLogMoved:
            raise
        except Exception:
            state = self.retried(lambda: self._reply_log.read(turn.inbound.customer_number))
            if state.entries.get(key) != claim:
                raise
            self._telemetry.info("claim written though its answer was lost; sending", reply=key)
            return state

    def write_log(self, turn: Turn, key: str, entry: Entry) -> ReplyLogState:
        for _ in range(WRITE_ATTEMPTS):
            try:
                return self._reply_log.write(turn.inbound.customer_number, key, entry, read=turn.log, now=self._clock())
            except ReplyLogMoved:
                turn.log = self._reply_log.read(turn.inbound.customer_number)
                if key in turn.log.entries:
                    return turn.log
        raise ReplyLogMoved(f"the reply log kept moving for {WRITE_ATTEMPTS} attempts")

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
                self._reply_log.complete(turn.inbound.customer_number, key, claim, outcome)
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

    def _record_in_ledger(self, turn: Turn, text: str, message_id: str, context: dict[str, str]) -> None:
        """The reply is in the ledger (SENT) from now until its delivery events arrive.

        A failed write is logged, not raised: raising would retry the record for a reply that
        went, and the reply's delivery events create its ledger item anyway.
        """
        if self._ledger is None:
            return
        inbound = turn.inbound
        try:
            self._ledger.record_sent(
                SentText(
                    message_id=message_id,
                    destination=inbound.customer_number,
                    origination=inbound.our_number,
                    context=context,
                    sent_at_ms=int(self._clock() * 1000),
                    message_type=self._message_type,
                    estimated_parts=analyse(text).parts,
                    sent_by="inbound",
                )
            )
        except Exception as error:
            self._telemetry.warning(
                "reply sent but not recorded in the ledger; its delivery events will record it",
                error=type(error).__name__,
                code=error_code(error),
                message_id=message_id,
            )
            self._telemetry.count(metric_names.LEDGER_WRITES_FAILED)
