"""Where an inbound message goes: consent first, then a conversation, then the keyword rules.

``route`` is the inbound handler's whole decision once ``responder.decide`` has spoken:

1. an opt-out closes every open conversation with the number (``optout.recorded``);
   an opt-in is recorded (``optin.recorded``); HELP is answered as always. No flow sees them;
2. a reply to an open conversation (by ``previousPublishedMessageId``, else the number's
   most recent) takes the conversation's step;
3. a flow's start word (support's AGENT) opens a conversation;
4. a keyword with a registered handler goes to that handler;
5. anything else gets the responder's answer (keyword reply, default reply) and is put on
   the bus as ``reply.received``, so the user's systems hear every message.

A registered handler (``router``) named by a flow answer or owning a keyword runs after
``route``; ``with_handler_result`` folds what it returned into the routing.

Pure: the handler reads the number's conversations before, and writes what changed after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from two_way_sms.conversations.engine import (
    CLOSED,
    BusinessEvent,
    CodeFor,
    Conversation,
    advance,
    closed_by_opt_out,
    correlate,
    go_to,
    open_by_word,
    start_word,
)
from two_way_sms.conversations.flows import Flow
from two_way_sms.conversations.router import HandlerResult, Message
from two_way_sms.responder import ConsentChange, Decision, Intent


@dataclass(frozen=True)
class Routed:
    path: str  # "consent", "help", "conversation", "start_word", "keyword_handler", "responder"
    replies: tuple[str, ...] = ()  # besides the responder's (which the handler sends when path is "responder")
    events: tuple[BusinessEvent, ...] = ()
    changed: tuple[Conversation, ...] = ()  # conversations to write back (closed, moved, or new)
    created: Conversation | None = None  # of ``changed``: the one opened by this message
    handler: str | None = None  # a flow answer's registered handler to call
    conversation: Conversation | None = None  # the conversation the message belongs to, as it is now


def route(
    decision: Decision,
    *,
    body: str,
    customer_number: str,
    our_number: str,
    inbound_message_id: str,
    previous_message_id: str | None,
    now: float,
    conversations: Sequence[Conversation],
    flows: Mapping[str, Flow],
    new_conversation_id: str,
    has_keyword_handler: bool,
    code_for: CodeFor | None = None,
) -> Routed:
    if decision.consent_change is ConsentChange.OPTED_OUT:
        closing = tuple(closed_by_opt_out(c) for c in conversations if c.is_open(now))
        detail = _consent_detail(customer_number, our_number, inbound_message_id, decision, now)
        detail["closedConversations"] = [c.conversation_id for c in closing]
        return Routed("consent", events=(BusinessEvent("optout.recorded", detail),), changed=closing)
    if decision.consent_change is ConsentChange.OPTED_IN:
        detail = _consent_detail(customer_number, our_number, inbound_message_id, decision, now)
        return Routed("consent", events=(BusinessEvent("optin.recorded", detail),))
    if decision.intent is Intent.HELP:
        return Routed("help")

    current = correlate(conversations, previous_message_id=previous_message_id, now=now)
    if current is not None and current.flow in flows:
        # Replies go from the number the customer texted (a sender-opened conversation knows
        # only the origination identity it was sent from, which may be a pool).
        current = replace(current, our_number=our_number)
        turn = advance(
            current, flows[current.flow], body, now=now, inbound_message_id=inbound_message_id, code_for=code_for
        )
        events = turn.events
        if turn.matched is None and not events:  # no answer of the step: the business still hears what was said
            events = (
                BusinessEvent("reply.received", _unmatched_detail(current, body, inbound_message_id, decision, now)),
            )
        return Routed(
            "conversation",
            replies=turn.replies,
            events=events,
            changed=(turn.conversation,),
            handler=turn.handler,
            conversation=turn.conversation,
        )

    flow = start_word(flows, body)
    if flow is not None:
        turn = open_by_word(
            flow,
            conversation_id=new_conversation_id,
            customer_number=customer_number,
            our_number=our_number,
            now=now,
            inbound_message_id=inbound_message_id,
            body=body,
        )
        return Routed(
            "start_word",
            replies=turn.replies,
            events=turn.events,
            changed=(turn.conversation,),
            created=turn.conversation,
            handler=turn.handler,
            conversation=turn.conversation,
        )

    if has_keyword_handler:
        return Routed("keyword_handler")

    detail = {
        "customerNumber": customer_number,
        "ourNumber": our_number,
        "inboundMessageId": inbound_message_id,
        "intent": decision.intent.value,
        "keyword": decision.matched,
        "text": body,
        "occurredAt": now,
        "conversationId": None,
    }
    return Routed("responder", events=(BusinessEvent("reply.received", detail),))


def _unmatched_detail(
    conversation: Conversation, body: str, inbound_message_id: str, decision: Decision, now: float
) -> dict[str, Any]:
    return {
        "customerNumber": conversation.customer_number,
        "ourNumber": conversation.our_number,
        "inboundMessageId": inbound_message_id,
        "intent": decision.intent.value,
        "keyword": decision.matched,
        "text": body,
        "occurredAt": now,
        "conversationId": conversation.conversation_id,
        "flow": conversation.flow,
        "step": conversation.step,
        "reference": conversation.reference,
        "answer": None,
    }


def _consent_detail(
    customer_number: str, our_number: str, inbound_message_id: str, decision: Decision, now: float
) -> dict[str, Any]:
    return {
        "customerNumber": customer_number,
        "ourNumber": our_number,
        "inboundMessageId": inbound_message_id,
        "keyword": decision.matched,
        "occurredAt": now,
    }


def handler_message(
    routed: Routed, *, body: str, customer_number: str, our_number: str, inbound_message_id: str
) -> Message:
    """What a registered handler is given: the message and, in a conversation, where it stands."""
    conversation = routed.conversation
    return Message(
        text=body,
        customer_number=customer_number,
        our_number=our_number,
        inbound_message_id=inbound_message_id,
        conversation_id=conversation.conversation_id if conversation else None,
        flow=conversation.flow if conversation else None,
        step=conversation.step if conversation else None,
        reference=conversation.reference if conversation else None,
    )


def with_handler_result(
    routed: Routed, result: HandlerResult | None, *, flows: Mapping[str, Flow], message: Message, now: float
) -> Routed:
    """The routing with a handler's reply and events added, and its goto or close applied to the
    conversation (outside a conversation they mean nothing and are ignored)."""
    if result is None:
        return routed
    replies = routed.replies + ((result.reply,) if result.reply else ())
    base = {
        "customerNumber": message.customer_number,
        "ourNumber": message.our_number,
        "inboundMessageId": message.inbound_message_id,
        "conversationId": message.conversation_id,
        "flow": message.flow,
        "reference": message.reference,
        "occurredAt": now,
    }
    events = routed.events + tuple(
        BusinessEvent(detail_type, {**base, **detail}) for detail_type, detail in result.events
    )
    conversation = routed.conversation
    if conversation is not None and conversation.status != CLOSED:
        if result.close:
            conversation = replace(conversation, status=CLOSED)
        elif result.goto:
            conversation, prompts = go_to(
                flows[conversation.flow],
                conversation,
                result.goto,
                now=now,
                inbound_message_id=message.inbound_message_id,
                body=message.text,
            )
            replies += tuple(prompts)
    changed = (
        tuple(conversation if c.conversation_id == conversation.conversation_id else c for c in routed.changed)
        if conversation is not None
        else routed.changed
    )
    created = conversation if routed.created is not None and conversation is not None else routed.created
    return replace(routed, replies=replies, events=events, changed=changed, created=created, conversation=conversation)
