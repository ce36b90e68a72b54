"""Consent: an opt-out or opt-in recorded, the opt-out list kept in step, its one confirmation sent.

The order makes every failure safe to retry (``services.answer_inbound`` says why): an
opt-out notes the confirmation it owes in the reply log, records the opt-out, sends the
confirmation (at most once), then lists the number; its last receive only records and
lists. A consent message older than the number's latest change is kept as proof only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from two_way_sms import metric_names
from two_way_sms.conversations.flows import Flow
from two_way_sms.reply_log import Entry, ReplyKind, Status, entry_key, text_hash
from two_way_sms.responder import ConsentChange, ResponderSettings
from two_way_sms.services.inbound_conversations import ConversationTurns
from two_way_sms.services.inbound_ports import Answer, Sms, Telemetry, Turn
from two_way_sms.services.reply_sending import ReplySender
from two_way_sms.services.shared_ports import Consent


class ConsentAnswers:
    """Answers opt-outs and opt-ins with the collaborators it is given."""

    def __init__(
        self,
        *,
        responder: ResponderSettings,
        contacts: Consent,
        gateway: Sms,
        telemetry: Telemetry,
        replies: ReplySender,
        turns: ConversationTurns,
        flows: Callable[[], Mapping[str, Flow]] = dict,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._responder = responder
        self._contacts = contacts
        self._gateway = gateway
        self._telemetry = telemetry
        self._replies = replies
        self._turns = turns
        self._flows = flows
        self._clock = clock

    def opt_out(self, turn: Turn) -> Answer:
        inbound = turn.inbound
        if turn.delivery.last_attempt:
            return self._opt_out_at_last(turn)
        key = entry_key(inbound.inbound_message_id, 0)
        owed = self._confirmation_owed(turn)
        if owed and key not in turn.log.entries:  # noted first: once the opt-out is recorded, decide() says none is
            turn.log = self._replies.write_log(
                turn,
                key,
                Entry(
                    Status.NOT_SENT,
                    at=self._clock(),
                    kind=ReplyKind.OPT_OUT_CONFIRMATION,
                    text_hash=text_hash(self._confirmation(turn)),
                ),
            )
        if not self._replies.retried(lambda: self._record_consent(turn)):
            return Answer(turn.decision.intent.value, "consent_superseded")
        reply_id = (
            self._replies.send(turn, 0, self._confirmation(turn), ReplyKind.OPT_OUT_CONFIRMATION) if owed else None
        )
        self._replies.retried(lambda: self._gateway.put_opted_out(inbound.customer_number))
        self._consent_events(turn)
        return Answer(turn.decision.intent.value, "consent", reply_id)

    def _opt_out_at_last(self, turn: Turn) -> Answer:
        """The record's last receive: what fails now goes to the dead-letter queue, so only what
        the opt-out cannot do without is done (recorded, listed). A confirmation not sent yet is
        given up (once listed it could not go), and the events are put if they can be."""
        if not self._replies.retried(lambda: self._record_consent(turn)):
            return Answer(turn.decision.intent.value, "consent_superseded")
        entry = turn.log.entries.get(entry_key(turn.inbound.inbound_message_id, 0))
        if self._confirmation_owed(turn) and (entry is None or entry.status is not Status.SENT):
            self._telemetry.warning(
                "confirmation given up: it could not go in time; the opt-out stands",
                reply=entry_key(turn.inbound.inbound_message_id, 0),
            )
            self._telemetry.count(metric_names.CONFIRMATIONS_GIVEN_UP)
        self._replies.retried(lambda: self._gateway.put_opted_out(turn.inbound.customer_number))
        try:
            self._consent_events(turn)
        except Exception as error:
            self._telemetry.warning("opt-out events not put; the opt-out stands", error=type(error).__name__)
        return Answer(turn.decision.intent.value, "consent")

    def _confirmation(self, turn: Turn) -> str:
        """The STOP confirmation in the language of the customer's word (English when not configured).

        From the decision's language, not its reply: a redelivered message's decision has no reply
        (the opt-out is recorded by then) and still owes the confirmation noted in the log."""
        return self._responder.replies_in(turn.decision.language).stop_reply

    @staticmethod
    def _confirmation_owed(turn: Turn) -> bool:
        """This opt-out is owed its one confirmation: decided on first sight and noted in the reply log."""
        return turn.decision.reply is not None or entry_key(turn.inbound.inbound_message_id, 0) in turn.log.entries

    def opt_in(self, turn: Turn) -> Answer:
        if not self._replies.retried(lambda: self._record_consent(turn)):
            return Answer(turn.decision.intent.value, "consent_superseded")
        if turn.decision.update_opt_out_list:
            self._gateway.delete_opted_out(turn.inbound.customer_number)
        reply_id = self._replies.send(turn, 0, turn.decision.reply, ReplyKind.OPT_IN_CONFIRMATION)
        self._consent_events(turn)
        return Answer(turn.decision.intent.value, "consent", reply_id)

    def _record_consent(self, turn: Turn) -> bool:
        """Records the change; False when a newer one (by the customer's own message) stands, and
        then this late message changes nothing else either: no list, no confirmation, no event."""
        inbound, decision = turn.inbound, turn.decision
        assert decision.consent_change is not None
        if self._recorded_before(turn):
            return True
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

    @staticmethod
    def _recorded_before(turn: Turn) -> bool:
        """This very message's change already stands (an earlier receive recorded it): recording
        again would change nothing, and a retry then needs one fewer write to reach the opt-out
        list, which is what a last receive under a failing table is left needing."""
        opting_out = turn.decision.consent_change is ConsentChange.OPTED_OUT
        return (
            turn.log_read
            and turn.consent_message_id == turn.inbound.inbound_message_id
            and turn.opted_out == opting_out
        )

    def _consent_events(self, turn: Turn) -> None:
        """An opt-out closes the number's open conversations; both changes go on the bus."""
        stored = self._turns.read(turn.inbound.customer_number)
        routed = self._turns.routed(turn, stored, flows=self._flows(), has_keyword_handler=False)
        self._turns.close_all(routed.changed, stored)
        self._turns.put_events(routed.events)
