"""The conversation engine: open a conversation, match a reply to it, take one step.

Pure: no AWS, no clock, no randomness (the caller passes ``now`` and the one-use code),
so every branch is a unit test. The inbound handler keeps conversations in DynamoDB and
does what a ``Turn`` says: send its replies, put its events on the bus, call its handler.

Precedence, every step: opt-out, opt-in and HELP are decided before a flow sees a message
(``responder.decide``); an opt-out closes the number's open conversations
(``closed_by_opt_out``). A closed or expired conversation takes no answer, so a late or
replayed answer never acts twice.

One-use codes are never stored, not even hashed (a table reader would recover a 6-digit
code from its hash in milliseconds): the caller passes ``code_for``, which derives the
conversation's code again (an HMAC in KMS), and it is called only for a message that
answers with a code. After ``MAX_WRONG_CODES`` wrong codes the conversation closes with a
``verification.locked`` event and no reply, so guessing buys nothing and costs us nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from two_way_sms.conversations.flows import ANY, CODE, MAX_SLOTS, SLOT, SLOT_LETTERS, Action, Answer, Flow, Step
from two_way_sms.conversations.flows import normalise as normalise_answer
from two_way_sms.outbound.templates import TemplateError, parse_template, render

OPEN = "OPEN"
CLOSED = "CLOSED"
ENGINE_VARIABLES = ("code", "slot_choices", "slot_list", "chosen_slot")
MAX_WRONG_CODES = 3
LOCKED_EVENT = "verification.locked"
CodeFor = Callable[[str], str]  # conversation id -> its one-use code


class ConversationError(ValueError):
    """A conversation that cannot be opened as asked (a missing variable, too many slots...)."""


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    flow: str
    step: str
    customer_number: str
    our_number: str
    opened_at: float  # epoch seconds
    expires_at: float
    reference: str | None = None  # the business's: an appointment or transaction id
    variables: Mapping[str, str] = field(default_factory=dict)  # for the flow's templates
    slots: tuple[str, ...] = ()  # offered times, in letter order (A, B, ...)
    takes_code: bool = False  # its answers carry a one-use code (derived again to check, never stored)
    wrong_codes: int = 0  # answers with a wrong code so far
    status: str = OPEN
    prompt_message_ids: tuple[str, ...] = ()  # what we sent: replies quote these as previousPublishedMessageId
    chosen_slot: str | None = None

    def is_open(self, now: float) -> bool:
        return self.status == OPEN and now < self.expires_at


@dataclass(frozen=True)
class BusinessEvent:
    detail_type: str  # one of flows.EVENT_TYPES
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class Turn:
    conversation: Conversation  # as it is after this message
    replies: tuple[str, ...] = ()  # to send, in order: the answer's reply, then the next step's prompt
    events: tuple[BusinessEvent, ...] = ()
    handler: str | None = None  # a registered handler to call with this message
    matched: str | None = None  # the alternative the message matched; None: the step's otherwise


def open_conversation(
    flow: Flow,
    *,
    conversation_id: str,
    customer_number: str,
    our_number: str,
    now: float,
    reference: str | None = None,
    variables: Mapping[str, str] | None = None,
    slots: Iterable[str] = (),
    code: str | None = None,
) -> tuple[Conversation, str | None]:
    """A new conversation at the flow's start step and the prompt to send (None: a silent step).

    ``code`` is the one-use code for a flow whose answers take one (derived from the
    conversation id by ``adapters.one_use_codes``); it goes into the prompt and is not kept.
    """
    offered = tuple(slots)
    if len(offered) > MAX_SLOTS:
        raise ConversationError(f"{len(offered)} slots offered; at most {MAX_SLOTS} (letters A-I)")
    if flow.needs_a_code and not (code and code.isdigit() and 4 <= len(code) <= 10):
        raise ConversationError(f"flow {flow.name} needs a one-use code of 4-10 digits")
    values = dict(variables or {})
    clash = sorted(set(values) & set(ENGINE_VARIABLES))
    if clash:
        raise ConversationError(f"variables {', '.join(clash)} are the engine's to fill in")
    conversation = Conversation(
        conversation_id=conversation_id,
        flow=flow.name,
        step=flow.start,
        customer_number=customer_number,
        our_number=our_number,
        opened_at=now,
        expires_at=now + flow.timeout_seconds,
        reference=reference,
        variables=values,
        slots=offered,
        takes_code=code is not None,
    )
    step = flow.steps[flow.start]
    prompt = _render(step.prompt, conversation, extra={"code": code} if code else {}) if step.prompt else None
    return conversation, prompt


def sent_at(conversation: Conversation, *, message_id: str, at: float) -> Conversation:
    """The conversation as its prompt went out: timed from the send (a held or paced prompt goes
    later than it was opened), with the prompt's message id for replies to quote."""
    shift = at - conversation.opened_at
    return replace(
        conversation,
        opened_at=at,
        expires_at=conversation.expires_at + shift,
        prompt_message_ids=conversation.prompt_message_ids + (message_id,),
    )


def start_word(flows: Mapping[str, Flow], body: str) -> Flow | None:
    """The flow a message opens by its first word (support's AGENT), or None."""
    first = normalise_answer(body).split(" ")[0] if body.strip() else ""
    return next((flow for flow in flows.values() if first in flow.start_words), None)


def open_by_word(
    flow: Flow,
    *,
    conversation_id: str,
    customer_number: str,
    our_number: str,
    now: float,
    inbound_message_id: str,
    body: str,
) -> Turn:
    """A conversation a customer opened with a start word: the flow's on_start_word, then the prompt."""
    conversation, prompt = open_conversation(
        flow, conversation_id=conversation_id, customer_number=customer_number, our_number=our_number, now=now
    )
    turn = Turn(conversation, replies=(prompt,) if prompt else ())
    if flow.on_start_word is None:
        return turn
    done = _do(flow.on_start_word, flow, conversation, now, inbound_message_id, body, answer=None)
    return Turn(
        done.conversation,
        replies=done.replies + turn.replies,
        events=done.events,
        handler=done.handler,
        matched=normalise_answer(body).split(" ")[0],
    )


def correlate(
    conversations: Iterable[Conversation], *, previous_message_id: str | None, now: float
) -> Conversation | None:
    """The open conversation a reply belongs to: the one whose prompt it quotes
    (``previousPublishedMessageId``), else the number's most recently opened one."""
    live = [c for c in conversations if c.is_open(now)]
    if previous_message_id:
        quoted = [c for c in live if previous_message_id in c.prompt_message_ids]
        if quoted:
            return quoted[0]
    return max(live, key=lambda c: (c.opened_at, c.conversation_id), default=None)


def advance(
    conversation: Conversation,
    flow: Flow,
    body: str,
    *,
    now: float,
    inbound_message_id: str,
    code_for: CodeFor | None = None,
) -> Turn:
    """One message in ``conversation`` (open, of ``flow``): what to reply, emit and become.

    ``code_for`` derives the conversation's one-use code; without it no code answer matches.
    """
    if not conversation.is_open(now):
        raise ConversationError(f"conversation {conversation.conversation_id} is closed or expired")
    step = flow.steps[conversation.step]
    text = normalise_answer(body)
    found = _match(step, conversation, text, code_for)
    if found is None:
        if _answers_with_a_code(step, text):
            conversation = replace(conversation, wrong_codes=conversation.wrong_codes + 1)
            if conversation.wrong_codes >= MAX_WRONG_CODES:  # guessing: close, and spend nothing on a reply
                locked = replace(conversation, status=CLOSED)
                return Turn(locked, events=(_event(LOCKED_EVENT, locked, now, inbound_message_id, body, None),))
        reply = _render(step.otherwise, conversation) if step.otherwise else None
        return Turn(conversation, replies=(reply,) if reply else ())
    answer, alternative, slot = found
    if slot is not None:
        conversation = replace(conversation, chosen_slot=slot)
    turn = _do(answer.action, flow, conversation, now, inbound_message_id, body, answer=alternative)
    return replace(turn, matched=alternative)


def go_to(
    flow: Flow, conversation: Conversation, step_name: str, *, now: float, inbound_message_id: str, body: str
) -> tuple[Conversation, list[str]]:
    """Moves the conversation to another of its flow's steps (a handler's ``goto``): the
    conversation there and the prompts to send."""
    if step_name not in flow.steps:
        raise ConversationError(f"flow {flow.name} has no step {step_name!r}")
    return _enter(flow, conversation, step_name, now, inbound_message_id, body)


def closed_by_opt_out(conversation: Conversation) -> Conversation:
    """An opt-out ends every open conversation with the number: no further prompt may go."""
    return replace(conversation, status=CLOSED)


def slot_letter(index: int) -> str:
    return SLOT_LETTERS[index]


# -- the pieces --------------------------------------------------------------------------------------
def _answers_with_a_code(step: Step, text: str) -> bool:
    """The message is a code answer's words followed by something (a code that did not match)."""
    return any(
        _begins_with(text, alternative[: -len(CODE)].strip()) and text != alternative[: -len(CODE)].strip()
        for answer in step.answers
        for alternative in answer.alternatives
        if alternative.endswith(CODE)
    )


def _match(
    step: Step, conversation: Conversation, text: str, code_for: CodeFor | None
) -> tuple[Answer, str, str | None] | None:
    """(answer, the alternative matched, the chosen slot) or None."""
    for answer in step.answers:
        for alternative in answer.alternatives:
            if alternative == ANY:
                return answer, ANY, None
            if alternative == SLOT:
                letter = text.split(" ")[0] if text else ""
                offered = SLOT_LETTERS[: len(conversation.slots)]
                if len(letter) == 1 and letter in offered:
                    return answer, SLOT, conversation.slots[offered.index(letter)]
            elif alternative.endswith(CODE):
                words = alternative[: -len(CODE)].strip()
                if _begins_with(text, words) and _code_matches(conversation, text[len(words) :].strip(), code_for):
                    return answer, alternative, None
            elif _begins_with(text, alternative):
                return answer, alternative, None
    return None


def _begins_with(text: str, words: str) -> bool:
    return text == words or text.startswith(words + " ")


def _code_matches(conversation: Conversation, rest: str, code_for: CodeFor | None) -> bool:
    given = rest.split(" ")[0] if rest else ""
    if not given or not given.isdigit() or not conversation.takes_code or code_for is None:
        return False
    return hmac.compare_digest(code_for(conversation.conversation_id).encode(), given.encode())


def _do(
    action: Action,
    flow: Flow,
    conversation: Conversation,
    now: float,
    inbound_message_id: str,
    body: str,
    *,
    answer: str | None,
) -> Turn:
    replies = []
    if action.reply:
        replies.append(_render(action.reply, conversation))
    events = []
    if action.emit:
        events.append(_event(action.emit, conversation, now, inbound_message_id, body, answer))
    if action.close:
        conversation = replace(conversation, status=CLOSED)
    elif action.goto:
        conversation, prompts = _enter(flow, conversation, action.goto, now, inbound_message_id, body)
        replies += prompts
    return Turn(conversation, replies=tuple(replies), events=tuple(events), handler=action.handler)


def _enter(
    flow: Flow, conversation: Conversation, step_name: str, now: float, inbound_message_id: str, body: str
) -> tuple[Conversation, list[str]]:
    """Moves to ``step_name`` (a fresh time-out) and returns its prompt; a slot step with no
    slots offered does its ``without_slots`` instead."""
    step = flow.steps[step_name]
    if step.offers_slots and not conversation.slots:
        assert step.without_slots is not None  # flows.parse_flow requires it
        done = _do(step.without_slots, flow, conversation, now, inbound_message_id, body, answer=None)
        return done.conversation, list(done.replies)
    moved = replace(conversation, step=step_name, expires_at=now + flow.timeout_seconds)
    return moved, [_render(step.prompt, moved)] if step.prompt else []


def _event(
    detail_type: str, conversation: Conversation, now: float, inbound_message_id: str, body: str, answer: str | None
) -> BusinessEvent:
    detail: dict[str, Any] = {
        "conversationId": conversation.conversation_id,
        "flow": conversation.flow,
        "step": conversation.step,
        "reference": conversation.reference,
        "customerNumber": conversation.customer_number,
        "ourNumber": conversation.our_number,
        "inboundMessageId": inbound_message_id,
        "answer": answer,
        "occurredAt": now,
    }
    if conversation.chosen_slot is not None:
        detail["slot"] = conversation.chosen_slot
    if detail_type in ("reply.received", "support.requested"):
        detail["text"] = body  # for the agent desk: the customer's own words
    return BusinessEvent(detail_type, detail)


def _render(text: str, conversation: Conversation, *, extra: Mapping[str, str] | None = None) -> str:
    letters = SLOT_LETTERS[: len(conversation.slots)]
    values = {
        **conversation.variables,
        "slot_choices": _either(list(letters)),
        "slot_list": ", ".join(f"{letter}) {slot}" for letter, slot in zip(letters, conversation.slots)),
        "chosen_slot": conversation.chosen_slot or "",
        **(extra or {}),
    }
    try:
        return render(parse_template(conversation.flow, text), values)
    except TemplateError as error:
        raise ConversationError(f"flow {conversation.flow}, step {conversation.step}: {error}") from None


def _either(choices: list[str]) -> str:
    if len(choices) <= 1:
        return "".join(choices)
    return ", ".join(choices[:-1]) + " or " + choices[-1]
