"""A message's turn in the number's conversations and keywords, and the delivery of what it decided.

The first reply is claimed first (its claim is the consent check: ``services.reply_sending``);
then the turn is stored with what it decided (a conditional write on the version read), so a
retry repeats the stored decision instead of deciding again; then its events go on the bus,
then its replies. A user's handler named by a flow's answer
or a keyword is called here, and its result folded into the turn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from two_way_sms import metric_names
from two_way_sms.adapters.conversations import ConversationMoved, Stored, TurnRecord
from two_way_sms.conversations.engine import CLOSED, BusinessEvent, CodeFor, Conversation, closed_by_opt_out
from two_way_sms.conversations.flows import Flow
from two_way_sms.conversations.inbound import Routed, handler_message, route, with_handler_result
from two_way_sms.conversations.router import Router
from two_way_sms.reply_log import ReplyKind
from two_way_sms.services.inbound_ports import Answer, Telemetry, Turn
from two_way_sms.services.reply_sending import WRITE_ATTEMPTS, NumberOptedOut, ReplySender


class ConversationTurns:
    """Routes a message through the number's conversations, stores the turn, puts its events and sends its replies."""

    def __init__(
        self,
        *,
        replies: ReplySender,
        telemetry: Telemetry,
        conversations: Any = None,
        bus: Any = None,
        flows: Callable[[], Mapping[str, Flow]] = dict,
        router: Router | None = None,
        code_for: CodeFor | None = None,
    ) -> None:
        self._replies = replies
        self._telemetry = telemetry
        self._conversations = conversations  # None: the responder alone answers
        self._bus = bus  # None: no business events
        self._flows = flows
        self._router = router
        self._code_for = code_for

    def converse(self, turn: Turn) -> Answer:
        """A keyword or any other text from a number not known to be opted out: its first reply's
        claim checks consent (``reply_sending``), so the turn is stored and its events put only
        once that claim is held; a turn that would call your handler, or has no reply to claim,
        reads consent first."""
        inbound, decision = turn.inbound, turn.decision
        flows = self._flows()
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            stored = self.read(inbound.customer_number)
            done = next(
                (
                    item.last_turn
                    for item in stored
                    if item.last_turn is not None and item.last_turn.inbound_message_id == inbound.inbound_message_id
                ),
                None,
            )
            try:
                if done is not None:  # a retry: do what the stored turn decided, do not decide again
                    self._telemetry.info("turn already taken; repeating what it decided")
                    return self.deliver(turn, done.replies, done.events, path="conversation")
                has_handler = self._router is not None and self._router.for_keyword(inbound.body) is not None
                routed = self.routed(turn, stored, flows=flows, has_keyword_handler=has_handler)
                calls_a_handler = routed.handler is not None or routed.path == "keyword_handler"
                if (calls_a_handler or (routed.path != "responder" and not routed.replies)) and self._opted_out(turn):
                    raise NumberOptedOut("the number is opted out")
                routed = self._with_registered_handler(routed, turn, flows)
                replies = (
                    ((decision.reply,) if decision.reply else ()) if routed.path == "responder" else routed.replies
                )
                return self.deliver(
                    turn,
                    replies,
                    routed.events,
                    path=routed.path,
                    store=lambda: self._store_turn(routed, stored, inbound.inbound_message_id),
                )
            except NumberOptedOut:
                return self.opted_out(turn)
            except ConversationMoved:
                if attempt == WRITE_ATTEMPTS:
                    raise
                self._telemetry.info("conversation moved meanwhile; reading it again", attempt=attempt)
        raise AssertionError("unreachable")  # the loop returns or raises

    def opted_out(self, turn: Turn) -> Answer:
        """Nothing but HELP and the one confirmation reaches an opted-out number; the business
        still hears what it said."""
        self._telemetry.info("not answered: the number opted out")
        routed = self.routed(turn, (), flows={}, has_keyword_handler=False)
        self.put_events(routed.events)
        return Answer(turn.decision.intent.value, "opted_out")

    def _opted_out(self, turn: Turn) -> bool:
        """The number's consent, read now unless it was read before answering (with its reply log)."""
        if not turn.log_read:
            view = self._replies.view(turn.inbound.customer_number)
            turn.log, turn.log_read = view.log, True
            turn.opted_out = view.opted_out
        return turn.opted_out

    def routed(
        self, turn: Turn, stored: Sequence[Stored], *, flows: Mapping[str, Flow], has_keyword_handler: bool
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

    def read(self, customer_number: str) -> list[Stored]:
        return self._conversations.for_number(customer_number) if self._conversations is not None else []

    def _with_registered_handler(self, routed: Routed, turn: Turn, flows: Mapping[str, Flow]) -> Routed:
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
        else:
            version = next(
                item.version for item in stored if item.conversation.conversation_id == conversation.conversation_id
            )
            self._conversations.save(conversation, read_at=version, turn=turn)
        self._telemetry.info(
            "conversation turn",
            flow=conversation.flow,
            step=conversation.step,
            status=conversation.status,
            path=routed.path,
        )
        self._telemetry.count(metric_names.CONVERSATION_TURNS)

    def close_all(self, closing: Sequence[Conversation], stored: Sequence[Stored]) -> None:
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

    def deliver(
        self,
        turn: Turn,
        replies: Sequence[str],
        events: Sequence[BusinessEvent],
        *,
        path: str,
        store: Callable[[], None] | None = None,
    ) -> Answer:
        """The first reply claimed (for a business reply, the consent check), then the turn stored,
        then its events, then the replies. A failure before the send gives the claim back, so the
        retry stores, puts and sends what this one could not; a reply that cannot go fails the
        record, and the reply log keeps its retry from texting the replies that did go a second
        time. Events an earlier delivery put (it held the first reply's claim after putting them)
        are not put again."""
        first = self._replies.claim(turn, 0, replies[0], ReplyKind.REPLY) if replies else None
        try:
            if store is not None:
                store()
            if not (replies and self._replies.events_went(turn, first)):
                self.put_events(events)
        except Exception:
            if first is not None:
                self._replies.release(turn, first)
            raise
        reply_ids = [self._replies.send_held(turn, first) if first is not None else None]
        for index, text in enumerate(replies[1:], start=1):
            try:
                reply_ids.append(self._replies.send(turn, index, text, ReplyKind.REPLY))
            except NumberOptedOut:  # opted out since the first reply went: nothing more goes
                break
        return Answer(turn.decision.intent.value, path, next((i for i in reply_ids if i), None))

    def put_events(self, events: Sequence[BusinessEvent]) -> None:
        if self._bus is None or not events:
            return
        self._bus.put(events)
        self._telemetry.count(metric_names.BUSINESS_EVENTS_PUT, len(events))
