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
  as ``reply.received``); otherwise its first reply is claimed (the claim is the consent
  check: refused for an opted-out number), a conversation's turn is stored with what it
  decided (a conditional write on the version read), its events go on the bus, then its
  replies.

Every reply goes through the customer's reply log (``two_way_sms.reply_log``): claimed
before ``SendTextMessage``, completed after, capped per number. A redelivered message
finds its replies already sent and sends nothing twice. Only consent changes read the
number first; a keyword's or the default reply costs the claim, the send and one write
that completes it and records it in the ledger.

This module decides; the steps live beside it: ``inbound_consent`` (opt-out, opt-in),
``inbound_conversations`` (conversations and keywords), ``reply_sending`` (claim, send,
complete) and ``inbound_ports`` (what the use case is given and answers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from two_way_sms import metric_names
from two_way_sms.adapters.reply_log import ReplyLogState
from two_way_sms.conversations.engine import CodeFor
from two_way_sms.conversations.flows import Flow
from two_way_sms.conversations.router import Router
from two_way_sms.inbound import InboundMessage
from two_way_sms.reply_log import ReplyKind, ReplyLimits
from two_way_sms.responder import ConsentChange, Intent, ResponderSettings, decide
from two_way_sms.services.inbound_consent import ConsentAnswers
from two_way_sms.services.inbound_conversations import ConversationTurns
from two_way_sms.services.inbound_ports import Answer, Delivery, ReplyLog, Sms, Telemetry, Turn
from two_way_sms.services.reply_sending import ReplyInFlight, ReplySender
from two_way_sms.services.shared_ports import Consent, Ledger

# What the handler, the record adapter and tests import from here, some of it defined beside it.
__all__ = ["Answer", "Delivery", "InboundAnswerer", "ReplyInFlight"]


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
        ledger: Ledger | None = None,
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
        self._telemetry = telemetry
        self._clock = clock
        self._replies = ReplySender(
            reply_log=reply_log,
            contacts=contacts,
            gateway=gateway,
            telemetry=telemetry,
            ledger=ledger,
            limits=limits,
            message_type=message_type,
            hard_stopped=hard_stopped,
            clock=clock,
            sleep=sleep,
        )
        self._turns = ConversationTurns(
            replies=self._replies,
            telemetry=telemetry,
            conversations=conversations,
            bus=bus,
            flows=flows,
            router=router,
            code_for=code_for,
        )
        self._consent = ConsentAnswers(
            responder=responder,
            contacts=contacts,
            gateway=gateway,
            telemetry=telemetry,
            replies=self._replies,
            turns=self._turns,
            flows=flows,
            clock=clock,
        )

    def answer(self, inbound: InboundMessage, delivery: Delivery) -> Answer:
        """Decides what the text asks, then answers it: consent, HELP, silence to an opted-out number, or a turn.

        Only a consent change reads the number's consent and reply log first (its reply depends on
        the state it changes); any other text is decided as if from a number that has not opted
        out, and its first business reply's claim refuses an opted-out one (``reply_sending``)."""
        decision = decide(inbound.body, opted_out=False, settings=self._responder)
        deadline = self._clock() + delivery.remaining_seconds
        turn = Turn(inbound, decision, delivery, ReplyLogState(), deadline=deadline, log_read=False)
        if decision.consent_change is not None:
            view = self._reply_log.view(inbound.customer_number)
            decision = decide(inbound.body, opted_out=view.opted_out, settings=self._responder)
            turn = Turn(inbound, decision, delivery, view.log, deadline=deadline)
            turn.opted_out, turn.consent_message_id = view.opted_out, view.consent_message_id
        self._telemetry.info(
            "decided",
            intent=decision.intent.value,
            matched=decision.matched,
            language=decision.language,
            replies=decision.reply is not None,
        )
        self._telemetry.count(metric_names.INBOUND_BY_INTENT[decision.intent.value])
        if decision.consent_change is ConsentChange.OPTED_OUT:
            return self._consent.opt_out(turn)
        if decision.consent_change is ConsentChange.OPTED_IN:
            return self._consent.opt_in(turn)
        if decision.intent is Intent.HELP:
            reply_id = self._replies.send(turn, 0, decision.reply, ReplyKind.HELP)
            return Answer(decision.intent.value, "help", reply_id)
        return self._turns.converse(turn)
