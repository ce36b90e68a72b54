"""Answer one inbound text: consent first, then HELP, then conversations and keywords.

The order is what makes every failure safe to retry (a record that fails is delivered
again by SQS, minutes later, up to its receive limit):

- **Opt-out**: a confirmation owed is noted in the reply log first; then the opt-out is
  recorded in the contacts table (from then on nothing but HELP reaches the number); then
  the confirmation goes (at most once); then the number goes on the opt-out list, in both
  opt-out modes (``PutOptedOutNumber`` is idempotent, and AWS's own keyword matching is
  narrower than ours). A confirmation that cannot go within the FCC's five minutes, or by
  the record's last receive, is given up (logged, counted) so the list is never left out.
- **Opt-in**: recorded, off the list, then the confirmation.
- A consent message older than the number's latest change (a late redelivery) is recorded
  as proof and changes nothing else.
- **HELP**: its answer.
- **Anything else** from an opted-out number gets no reply (the business still hears it
  as ``reply.received``); otherwise a conversation's turn is stored with what it decided
  (a conditional write on the version read), its events go on the bus, then its replies.

Every reply goes through the customer's reply log (``two_way_sms.reply_log``): claimed
before ``SendTextMessage``, completed after, capped per number. A redelivered message
finds its replies already sent and sends nothing twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from two_way_sms import metric_names
from two_way_sms.adapters.contacts import ConsentRecorded
from two_way_sms.adapters.conversations import ConversationMoved, Stored, TurnRecord
from two_way_sms.adapters.reply_log import InboundView, ReplyLogMoved, ReplyLogState
from two_way_sms.adapters.sms import RetryableSendError, SendOutcomeUnknown, SendRejected, SendResult
from two_way_sms.conversations.engine import CLOSED, BusinessEvent, CodeFor, Conversation, closed_by_opt_out
from two_way_sms.conversations.flows import Flow
from two_way_sms.conversations.inbound import Routed, handler_message, route, with_handler_result
from two_way_sms.conversations.router import Router
from two_way_sms.encoding import analyse
from two_way_sms.inbound import InboundMessage
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
from two_way_sms.responder import ConsentChange, Decision, Intent, ResponderSettings, decide

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


class ReplyLog(Protocol):
    """The customer's reply log and consent, read together (``adapters.reply_log.ReplyLogTable``)."""

    def view(self, number: str) -> InboundView: ...

    def read(self, number: str) -> ReplyLogState: ...

    def write(self, number: str, key: str, entry: Entry, *, read: ReplyLogState, now: float) -> ReplyLogState: ...

    def complete(self, number: str, key: str, claim: Entry, outcome: Entry) -> bool: ...


class Consent(Protocol):
    """Where consent changes and their proof are kept (``adapters.contacts.ContactsTable``)."""

    def record_consent(
        self,
        *,
        number: str,
        change: ConsentChange,
        at_ms: int,
        message_id: str,
        keyword: str,
        our_number: str,
        source: str = ...,
    ) -> ConsentRecorded: ...


class Sms(Protocol):
    """End User Messaging: replies and the opt-out list (``adapters.sms.SmsGateway``)."""

    def send_text(self, *, to: str, from_number: str, body: str, context: dict[str, str]) -> SendResult: ...

    def put_opted_out(self, number: str) -> None: ...

    def delete_opted_out(self, number: str) -> None: ...


class Telemetry(Protocol):
    """Where the service reports: one log line per fact, one metric per count."""

    def info(self, message: str, **fields: Any) -> None: ...

    def warning(self, message: str, **fields: Any) -> None: ...

    def count(self, metric: str, value: int = 1) -> None: ...


@dataclass(frozen=True)
class Delivery:
    """How this delivery of the message came: when the customer sent it and how long we may take."""

    sent_at_ms: int  # the service's time for the customer's message (SNS), not our receipt
    remaining_seconds: float  # what is left of the invocation: a claim held past it is stale
    last_attempt: bool = False  # the record's last receive: what fails now goes to the dead-letter queue


@dataclass(frozen=True)
class Answer:
    intent: str
    path: str
    reply_message_id: str | None = None


class InboundAnswerer:
    """Answers inbound texts with the collaborators it is given (adapters in Lambda, fakes in tests)."""

    def __init__(
        self,
        *,
        responder: ResponderSettings,
        reply_log: ReplyLog,
        contacts: Consent,
        gateway: Sms,
        telemetry: Telemetry,
        ledger: Any = None,
        conversations: Any = None,
        bus: Any = None,
        flows: Callable[[], Mapping[str, Flow]] = dict,
        router: Router | None = None,
        limits: ReplyLimits = ReplyLimits(),
        message_type: str = "TRANSACTIONAL",
        code_for: CodeFor | None = None,
        hard_stopped: Callable[[float], bool] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._responder = responder
        self._reply_log = reply_log
        self._contacts = contacts
        self._gateway = gateway
        self._telemetry = telemetry
        self._ledger = ledger
        self._conversations = conversations
        self._bus = bus
        self._flows = flows
        self._router = router
        self._limits = limits
        self._message_type = message_type
        self._code_for = code_for
        self._hard_stopped = hard_stopped  # the month's budget is reached and set to stop every text
        self._clock = clock
        self._sleep = sleep

    def answer(self, inbound: InboundMessage, delivery: Delivery) -> Answer:
        view = self._reply_log.view(inbound.customer_number)
        decision = decide(inbound.body, opted_out=view.opted_out, settings=self._responder)
        self._telemetry.info(
            "decided", intent=decision.intent.value, matched=decision.matched, replies=decision.reply is not None
        )
        self._telemetry.count(metric_names.INBOUND_BY_INTENT[decision.intent.value])
        turn = _Turn(inbound, decision, delivery, view.log, deadline=self._clock() + delivery.remaining_seconds)
        if decision.consent_change is ConsentChange.OPTED_OUT:
            return self._opt_out(turn)
        if decision.consent_change is ConsentChange.OPTED_IN:
            return self._opt_in(turn)
        if decision.intent is Intent.HELP:
            reply_id = self._send(turn, 0, decision.reply, ReplyKind.HELP)
            return Answer(decision.intent.value, "help", reply_id)
        if view.opted_out:
            # Nothing but HELP and the one confirmation reaches an opted-out number; the
            # business still hears what it said.
            self._telemetry.info("not answered: the number opted out")
            routed = self._routed(turn, (), flows={}, has_keyword_handler=False)
            self._put_events(routed.events)
            return Answer(decision.intent.value, "opted_out")
        return self._converse(turn)

    # -- consent ------------------------------------------------------------------------------
    def _opt_out(self, turn: _Turn) -> Answer:
        inbound = turn.inbound
        if turn.delivery.last_attempt:
            return self._opt_out_at_last(turn)
        key = entry_key(inbound.inbound_message_id, 0)
        owed = self._confirmation_owed(turn)
        if owed and key not in turn.log.entries:  # noted first: once the opt-out is recorded, decide() says none is
            turn.log = self._write_log(
                turn,
                key,
                Entry(
                    Status.NOT_SENT,
                    at=self._clock(),
                    kind=ReplyKind.OPT_OUT_CONFIRMATION,
                    text_hash=text_hash(self._responder.stop_reply),
                ),
            )
        if not self._retried(lambda: self._record_consent(turn)):
            return Answer(turn.decision.intent.value, "consent_superseded")
        reply_id = self._send(turn, 0, self._responder.stop_reply, ReplyKind.OPT_OUT_CONFIRMATION) if owed else None
        self._retried(lambda: self._gateway.put_opted_out(inbound.customer_number))
        self._consent_events(turn)
        return Answer(turn.decision.intent.value, "consent", reply_id)

    def _opt_out_at_last(self, turn: _Turn) -> Answer:
        """The record's last receive: what fails now goes to the dead-letter queue, so only what
        the opt-out cannot do without is done (recorded, listed). A confirmation not sent yet is
        given up (once listed it could not go), and the events are put if they can be."""
        if not self._retried(lambda: self._record_consent(turn)):
            return Answer(turn.decision.intent.value, "consent_superseded")
        entry = turn.log.entries.get(entry_key(turn.inbound.inbound_message_id, 0))
        if self._confirmation_owed(turn) and (entry is None or entry.status is not Status.SENT):
            self._telemetry.warning(
                "confirmation given up: it could not go in time; the opt-out stands",
                reply=entry_key(turn.inbound.inbound_message_id, 0),
            )
            self._telemetry.count(metric_names.CONFIRMATIONS_GIVEN_UP)
        self._retried(lambda: self._gateway.put_opted_out(turn.inbound.customer_number))
        try:
            self._consent_events(turn)
        except Exception as error:
            self._telemetry.warning("opt-out events not put; the opt-out stands", error=type(error).__name__)
        return Answer(turn.decision.intent.value, "consent")

    @staticmethod
    def _confirmation_owed(turn: _Turn) -> bool:
        """This opt-out is owed its one confirmation: decided on first sight and noted in the reply log."""
        return turn.decision.reply is not None or entry_key(turn.inbound.inbound_message_id, 0) in turn.log.entries

    def _opt_in(self, turn: _Turn) -> Answer:
        if not self._retried(lambda: self._record_consent(turn)):
            return Answer(turn.decision.intent.value, "consent_superseded")
        if turn.decision.update_opt_out_list:
            self._gateway.delete_opted_out(turn.inbound.customer_number)
        reply_id = self._send(turn, 0, turn.decision.reply, ReplyKind.OPT_IN_CONFIRMATION)
        self._consent_events(turn)
        return Answer(turn.decision.intent.value, "consent", reply_id)

    def _record_consent(self, turn: _Turn) -> bool:
        """Records the change; False when a newer one (by the customer's own message) stands, and
        then this late message changes nothing else either: no list, no confirmation, no event."""
        inbound, decision = turn.inbound, turn.decision
        assert decision.consent_change is not None
        recorded = self._contacts.record_consent(
            number=inbound.customer_number,
            change=decision.consent_change,
            at_ms=turn.delivery.sent_at_ms,
            message_id=inbound.inbound_message_id,
            keyword=decision.matched or "",
            our_number=inbound.our_number,
        )
        if recorded:
            opted_out = decision.consent_change is ConsentChange.OPTED_OUT
            self._telemetry.count(metric_names.OPT_OUTS_RECORDED if opted_out else metric_names.OPT_INS_RECORDED)
        if not recorded.current:
            self._telemetry.info("a newer consent change stands; this message changes nothing")
        return recorded.current

    def _consent_events(self, turn: _Turn) -> None:
        """An opt-out closes the number's open conversations; both changes go on the bus."""
        stored = self._read_conversations(turn.inbound.customer_number)
        routed = self._routed(turn, stored, flows=self._flows(), has_keyword_handler=False)
        self._close_all(routed.changed, stored)
        self._put_events(routed.events)

    # -- conversations and keywords -----------------------------------------------------------
    def _converse(self, turn: _Turn) -> Answer:
        inbound, decision = turn.inbound, turn.decision
        flows = self._flows()
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            stored = self._read_conversations(inbound.customer_number)
            done = next(
                (
                    item.last_turn
                    for item in stored
                    if item.last_turn is not None and item.last_turn.inbound_message_id == inbound.inbound_message_id
                ),
                None,
            )
            if done is not None:  # a retry: do what the stored turn decided, do not decide again
                self._telemetry.info("turn already taken; repeating what it decided")
                return self._deliver(turn, done.replies, done.events, path="conversation")
            has_handler = self._router is not None and self._router.for_keyword(inbound.body) is not None
            routed = self._with_registered_handler(
                self._routed(turn, stored, flows=flows, has_keyword_handler=has_handler), turn, flows
            )
            try:
                self._store_turn(routed, stored, inbound.inbound_message_id)
                break
            except ConversationMoved:
                if attempt == WRITE_ATTEMPTS:
                    raise
                self._telemetry.info("conversation moved meanwhile; reading it again", attempt=attempt)
        replies = ((decision.reply,) if decision.reply else ()) if routed.path == "responder" else routed.replies
        if routed.conversation is not None:
            self._telemetry.info(
                "conversation turn",
                flow=routed.conversation.flow,
                step=routed.conversation.step,
                status=routed.conversation.status,
                path=routed.path,
            )
            self._telemetry.count(metric_names.CONVERSATION_TURNS)
        return self._deliver(turn, replies, routed.events, path=routed.path)

    def _routed(
        self, turn: _Turn, stored: Sequence[Stored], *, flows: Mapping[str, Flow], has_keyword_handler: bool
    ) -> Routed:
        inbound = turn.inbound
        return route(
            turn.decision,
            body=inbound.body,
            customer_number=inbound.customer_number,
            our_number=inbound.our_number,
            inbound_message_id=inbound.inbound_message_id,
            previous_message_id=inbound.previous_published_message_id,
            now=turn.delivery.sent_at_ms / 1000,
            conversations=[item.conversation for item in stored],
            flows=flows,
            new_conversation_id=inbound.inbound_message_id,
            has_keyword_handler=has_keyword_handler,
            code_for=self._code_for,
        )

    def _read_conversations(self, customer_number: str) -> list[Stored]:
        return self._conversations.for_number(customer_number) if self._conversations is not None else []

    def _with_registered_handler(self, routed: Routed, turn: _Turn, flows: Mapping[str, Flow]) -> Routed:
        """Calls the user's handler the routing names (a flow answer's, or a keyword's) and folds in its result."""
        if self._router is None:
            return routed
        inbound = turn.inbound
        if routed.handler is not None:
            function = self._router.named(routed.handler)
        elif routed.path == "keyword_handler":
            found = self._router.for_keyword(inbound.body)
            if found is None:
                return routed
            function = found
        else:
            return routed
        message = handler_message(
            routed,
            body=inbound.body,
            customer_number=inbound.customer_number,
            our_number=inbound.our_number,
            inbound_message_id=inbound.inbound_message_id,
        )
        return with_handler_result(
            routed, function(message), flows=flows, message=message, now=turn.delivery.sent_at_ms / 1000
        )

    def _store_turn(self, routed: Routed, stored: Sequence[Stored], inbound_message_id: str) -> None:
        """Writes the conversation this message moved (or opened), with the turn it took. Raises
        ConversationMoved when another write came first."""
        if routed.conversation is None:
            return
        assert self._conversations is not None  # a conversation was only routed to when the store exists
        conversation = routed.conversation
        turn = TurnRecord(inbound_message_id, routed.replies, routed.events)
        if routed.created is not None:
            self._conversations.create(conversation, turn=turn)
            self._telemetry.count(metric_names.CONVERSATIONS_OPENED)
            return
        version = next(
            item.version for item in stored if item.conversation.conversation_id == conversation.conversation_id
        )
        self._conversations.save(conversation, read_at=version, turn=turn)

    def _close_all(self, closing: Sequence[Conversation], stored: Sequence[Stored]) -> None:
        """Closes each conversation at the version just read; one another write moved meanwhile is
        read again and closed if it is still open (closing twice is harmless)."""
        read = {item.conversation.conversation_id: item for item in stored}
        for conversation in closing:
            current: Stored | None = read[conversation.conversation_id]  # as read, still open
            for _ in range(WRITE_ATTEMPTS):
                if current is None or current.conversation.status == CLOSED:
                    break
                try:
                    self._conversations.save(closed_by_opt_out(current.conversation), read_at=current.version)
                    break
                except ConversationMoved:
                    current = self._conversations.get(conversation.customer_number, conversation.conversation_id)

    def _deliver(self, turn: _Turn, replies: Sequence[str], events: Sequence[BusinessEvent], *, path: str) -> Answer:
        """Events first, then replies: a reply that cannot go yet fails the record, and the reply
        log keeps its retry from texting the replies that did go a second time. A first reply
        already in the log means the events went before it: a redelivery does not put them again."""
        if not (replies and entry_key(turn.inbound.inbound_message_id, 0) in turn.log.entries):
            self._put_events(events)
        reply_ids = [self._send(turn, index, text, ReplyKind.REPLY) for index, text in enumerate(replies)]
        return Answer(turn.decision.intent.value, path, next((i for i in reply_ids if i), None))

    def _put_events(self, events: Sequence[BusinessEvent]) -> None:
        if self._bus is None or not events:
            return
        self._bus.put(events)
        self._telemetry.count(metric_names.BUSINESS_EVENTS_PUT, len(events))

    # -- replies ------------------------------------------------------------------------------
    def _send(self, turn: _Turn, index: int, text: str | None, kind: ReplyKind) -> str | None:
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

    def _held_by_the_budget(self, turn: _Turn, key: str, kind: ReplyKind, digest: str) -> bool:
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
        turn.log = self._write_log(turn, key, entry)
        return True

    def _claim(self, turn: _Turn, key: str, kind: ReplyKind, digest: str) -> Entry | None:
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

    def _write_claim(self, turn: _Turn, key: str, claim: Entry, now: float) -> ReplyLogState:
        """Writes the claim; when the write's answer is lost, reads the log to see whether it is ours
        (left unsent, a claim of ours would pass for an unknown outcome on the next delivery)."""
        try:
            return self._reply_log.write(turn.inbound.customer_number, key, claim, read=turn.log, now=now)
        except ReplyLogMoved:
            raise
        except Exception:
            state = self._retried(lambda: self._reply_log.read(turn.inbound.customer_number))
            if state.entries.get(key) != claim:
                raise
            self._telemetry.info("claim written though its answer was lost; sending", reply=key)
            return state

    def _write_log(self, turn: _Turn, key: str, entry: Entry) -> ReplyLogState:
        for _ in range(WRITE_ATTEMPTS):
            try:
                return self._reply_log.write(turn.inbound.customer_number, key, entry, read=turn.log, now=self._clock())
            except ReplyLogMoved:
                turn.log = self._reply_log.read(turn.inbound.customer_number)
                if key in turn.log.entries:
                    return turn.log
        raise ReplyLogMoved(f"the reply log kept moving for {WRITE_ATTEMPTS} attempts")

    def _retried(self, action: Callable[[], _T]) -> _T:
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
        turn: _Turn,
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

    def _gives_up(self, turn: _Turn, kind: ReplyKind) -> bool:
        """An opt-out confirmation that cannot go yet is given up once it is too late to send one,
        so the number reaches the opt-out list (the last receive gives it up too: _opt_out_at_last)."""
        if kind is not ReplyKind.OPT_OUT_CONFIRMATION:
            return False
        return self._clock() - turn.delivery.sent_at_ms / 1000 > OPT_OUT_CONFIRMATION_SECONDS

    def _learn_opt_out(self, turn: _Turn) -> None:
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

    def _record_in_ledger(self, turn: _Turn, text: str, message_id: str, context: dict[str, str]) -> None:
        """The reply is in the ledger (SENT) from now until its delivery events arrive.

        A failed write is logged, not raised: raising would retry the record for a reply that
        went, and the reply's delivery events create its ledger item anyway.
        """
        if self._ledger is None:
            return
        inbound = turn.inbound
        try:
            self._ledger.record_sent(
                message_id=message_id,
                destination=inbound.customer_number,
                origination=inbound.our_number,
                context=context,
                sent_at_ms=int(self._clock() * 1000),
                message_type=self._message_type,
                estimated_parts=analyse(text).parts,
                sent_by="inbound",
            )
        except Exception as error:
            self._telemetry.warning(
                "reply sent but not recorded in the ledger; its delivery events will record it",
                error=type(error).__name__,
                code=_error_code(error),
                message_id=message_id,
            )
            self._telemetry.count(metric_names.LEDGER_WRITES_FAILED)


class _Turn:
    """One message's answer in progress: what was decided, and the reply log as last read."""

    def __init__(
        self, inbound: InboundMessage, decision: Decision, delivery: Delivery, log: ReplyLogState, *, deadline: float
    ) -> None:
        self.inbound = inbound
        self.decision = decision
        self.delivery = delivery
        self.log = log
        self.deadline = deadline  # epoch seconds, on the service's clock


def _error_code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None
