"""A planned send at its slot: sent at most once (``services.sending``), then what became of it recorded.

After ``SendTextMessage`` accepted a text: the conversation it opens is stored, the ledger
and the contact's promotional sends are written, and the outcome is recorded ``SENT``, all in
one transaction with the claim's completion (``adapters.sent_records``). When that is refused
or fails, they are written one at a time, the outcome last (so a failure before it retries the
bookkeeping, never the text). A refusal is recorded
with its reason; an opt-out the number's list knew better is learnt. A throttle, a send in
flight elsewhere or the account's spend limit set the request aside (``send_holds``).
"""

from __future__ import annotations

from typing import Any

from two_way_sms import metric_names
from two_way_sms.adapters.conversations import ConversationMoved
from two_way_sms.adapters.request_outcomes import HELD, SENT, UNKNOWN, attempt_token
from two_way_sms.adapters.sms import RetryableSendError
from two_way_sms.conversations.engine import Conversation, sent_at
from two_way_sms.instants import utc_moment
from two_way_sms.outbound.budget import ACCOUNT_SPEND_LIMIT
from two_way_sms.outbound.contact_state import PromotionalCount
from two_way_sms.outbound.limits import promotional_subject
from two_way_sms.outbound.policy import OPTED_OUT, SenderSettings
from two_way_sms.outbound.request import PROMOTIONAL
from two_way_sms.responder import ConsentChange
from two_way_sms.services.budget_holds import BudgetHolds
from two_way_sms.services.send_batch import Batch
from two_way_sms.services.send_holds import SetAside
from two_way_sms.services.sender_ports import Clock, Contacts, Conversations, Log, Outcomes
from two_way_sms.services.sending import (
    AccountSpendLimitReached,
    Delivered,
    OnceOnlySender,
    Send,
    SendInFlight,
    sent_text,
)
from two_way_sms.services.shared_ports import Ledger
from two_way_sms.services.slot_booking import PlannedSend

IN_PROGRESS_RETRY_SECONDS = 10  # another invocation is sending this very request


class SendAndRecord:
    """Sends planned requests and records their outcomes with the collaborators it is given."""

    def __init__(
        self,
        *,
        settings: SenderSettings,
        sender: OnceOnlySender,
        set_aside: SetAside,
        contacts: Contacts,
        outcomes: Outcomes,
        budget: BudgetHolds,
        ledger: Ledger,
        log: Log,
        clock: Clock,
        conversations: Conversations | None = None,
    ) -> None:
        self._settings = settings
        self._sender = sender
        self._set_aside = set_aside
        self._contacts = contacts
        self._outcomes = outcomes
        self._budget = budget
        self._ledger = ledger
        self._log = log
        self._clock = clock
        self._conversations = conversations

    def send(self, batch: Batch, item: PlannedSend) -> None:
        request, plan = item.request, item.plan
        assert plan.body is not None  # a SEND plan carries its final text
        # The conversation the text opens and its promotional count go in the same write as its outcome
        # (a refused one: one write at a time, the conversation before the outcome).
        send = Send(
            request, plan.body, plan.parts, item.message_type, self._promotional_count(batch, item), item.conversation
        )
        try:
            delivered = self._sender.deliver(send, deadline=batch.deadline)
        except RetryableSendError as error:
            self._set_aside.back_off(batch, request, plan.parts, error)
            return
        except SendInFlight:
            self._set_aside.defer(
                batch, request, IN_PROGRESS_RETRY_SECONDS, why="another invocation is sending this request"
            )
            return
        except AccountSpendLimitReached:
            self._set_aside.hold_for_budget(batch, request, ACCOUNT_SPEND_LIMIT, self._clock.now())
            return
        self._set_aside.sent()
        self._record_result(batch, item, delivered)

    @staticmethod
    def _promotional_count(batch: Batch, item: PlannedSend) -> PromotionalCount | None:
        """A promotional text's count on top of what its batch read of the recipient (None when the
        batch read nothing of it: the count is then read and written on its own)."""
        request = item.request
        read = batch.contacts.get(request.destination)
        if item.message_type != PROMOTIONAL or read is None:
            return None
        subject = promotional_subject(request.campaign, request.template_id)
        return PromotionalCount(request.destination, request.idempotency_key, request.campaign, subject, read)

    def _record_result(self, batch: Batch, item: PlannedSend, delivered: Delivered) -> None:
        result = delivered.result
        request, at = item.request, float(result["at"])
        if result["status"] == UNKNOWN:
            if self._outcomes.record(request.idempotency_key, UNKNOWN, reason="ANSWER_LOST", at=utc_moment(at)):
                batch.counts[metric_names.OUTBOUND_OUTCOME_UNKNOWN] += 1
                if request.campaign is not None:  # the run's counts still add up: sent, unknown, refused
                    batch.count_on_run(request.campaign, "unknown")
            return
        if result["status"] != SENT:
            if result["reason"] == OPTED_OUT:
                # The number's opt-out list knows better than our table: learn it.
                self._contacts.record_consent(
                    number=request.destination,
                    change=ConsentChange.OPTED_OUT,
                    at_ms=int(at * 1000),
                    message_id=request.idempotency_key,
                    keyword="OPT_OUT_LIST",
                    our_number=self._settings.origination_identity,
                    source="OPT_OUT_LIST",
                )
            self._set_aside.refuse(batch, request, result["reason"], at, code=result.get("code"))
            return
        message_id = result["message_id"]
        previous = batch.outcomes.get(request.idempotency_key)
        if previous is not None and previous.status == HELD and previous.reason == ACCOUNT_SPEND_LIMIT:
            self._budget.release_all(at)  # the account's limit lets texts through again
        if delivered.recorded or self._record_sent(item, result, delivered.claimed_at):
            batch.counts[metric_names.OUTBOUND_SENT] += 1
            batch.counts[metric_names.OUTBOUND_PARTS_SENT] += item.plan.parts
            if request.campaign is not None:
                batch.count_on_run(request.campaign, "sent")
        self._log.info(
            "sent",
            message_id=message_id,
            parts=item.plan.parts,
            encoding=item.plan.encoding,
            message_type=item.message_type,
        )

    def _record_sent(self, item: PlannedSend, result: dict[str, Any], claimed_at: float | None) -> bool:
        """The bookkeeping of a sent text, one write at a time, its outcome SENT last; True when the
        outcome changed (this attempt counts the send)."""
        request, message_id, at = item.request, result["message_id"], float(result["at"])
        if item.conversation is not None:
            self._store_conversation(item.conversation, message_id, at)
        self._ledger.record_sent(
            sent_text(
                request,
                self._settings.origination_identity,
                result,
                message_type=item.message_type,
                parts=item.plan.parts,
            )
        )
        if item.message_type == PROMOTIONAL:
            self._contacts.record_promotional_send(
                request.destination,
                request.idempotency_key,
                request.campaign,
                utc_moment(at),
                subject=promotional_subject(request.campaign, request.template_id),
            )
        # This attempt's token: its own one write may have stored the outcome and lost the answer.
        written_by = attempt_token(claimed_at) if claimed_at is not None else None
        return self._outcomes.record(
            request.idempotency_key, SENT, message_id=message_id, at=utc_moment(at), written_by=written_by
        )

    def _store_conversation(self, conversation: Conversation, message_id: str, at: float) -> None:
        """Before the outcome is recorded SENT: a failure here fails the record, and its retry (which
        does not text again) stores the conversation then."""
        assert self._conversations is not None  # a conversation is only opened when the store exists
        try:
            self._conversations.create(sent_at(conversation, message_id=message_id, at=at))
        except ConversationMoved:
            self._log.info("conversation already stored", conversation_id=conversation.conversation_id)
            return
        self._log.info("conversation opened", flow=conversation.flow, conversation_id=conversation.conversation_id)
