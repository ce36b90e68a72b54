"""Declarative conversation flows: steps, the answers each accepts, what each answer does.

A flow is plain data from the config, checked when it is loaded (at synth, and again when
the function starts), so a typo fails ``cdk synth`` with a message that names the flow,
the step and the field::

    {"timeout_seconds": 172800, "start": "confirm",
     "steps": {"confirm": {
         "prompt": "Hi {first_name}, your visit is {when}. Reply 1 to confirm or 2 to cancel.",
         "answers": [
             {"match": "1|YES|Y|CONFIRM", "emit": "appointment.confirmed", "reply": "Thanks!", "close": true},
             {"match": "2|NO|N", "emit": "appointment.cancelled", "goto": "offer_slots"}],
         "otherwise": "Please reply 1 to confirm or 2 to cancel."}, ...}}

An answer's ``match`` lists alternatives separated by ``|``; a message matches when it
*begins* with one as whole words (after upper-casing and folding accents: "yes please"
matches YES). Two placeholders make an alternative special:

- ``{slot}``: the letter of one of the slots offered with the prompt (A, B, C, ...);
- ``{code}``: the conversation's one-use code ("YES {code}"), checked by deriving it again.

What an answer does: ``reply`` (a template over the conversation's variables), ``emit``
(a business event type), ``goto`` (another step, whose prompt is sent) or ``close``, and
``handler`` (a Python handler registered with ``two_way_sms.conversations.router``).
Words that STOP or HELP a number are never answers: opt-out and HELP win in every step.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from two_way_sms.keywords import AWS_DEFAULT_OPT_OUT_WORDS, DEFAULT_OPT_IN_WORDS, EXTRA_OPT_OUT_WORDS, HELP_WORDS
from two_way_sms.keywords import normalise as normalise_text
from two_way_sms.languages import OTHER_LANGUAGE_WORDS
from two_way_sms.outbound.templates import TemplateError, parse_template

EVENT_TYPES = (
    "reply.received",
    "appointment.confirmed",
    "appointment.cancelled",
    "appointment.rebooked",
    "transaction.approved",
    "transaction.declined",
    "support.requested",
    "optout.recorded",
    "optin.recorded",
    "verification.locked",  # the engine's: too many wrong one-use codes closed the conversation
)
# With the Spanish and French consent and help words (two_way_sms.languages), which win over a flow too.
RESERVED_WORDS = (
    frozenset(AWS_DEFAULT_OPT_OUT_WORDS + EXTRA_OPT_OUT_WORDS + DEFAULT_OPT_IN_WORDS + HELP_WORDS)
    | OTHER_LANGUAGE_WORDS
)
SLOT = "{slot}"
CODE = "{code}"
ANY = "*"  # any message at all (a support conversation's free text)
MAX_SLOTS = 9  # A-I: every letter stays one character and clear of Y and N
SLOT_LETTERS = "ABCDEFGHI"
MAX_TIMEOUT_SECONDS = 30 * 86400
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ALTERNATIVE = re.compile(r"[A-Z0-9]+( [A-Z0-9]+)*( \{code\})?|\{slot\}|\*")


# The keys a flow, a step and an answer (or action) may have: the README's table of flow keys lists them.
FLOW_KEYS = frozenset({"start", "steps", "timeout_seconds", "start_words", "on_start_word", "description"})
STEP_KEYS = frozenset({"prompt", "answers", "otherwise", "without_slots"})
ANSWER_KEYS = frozenset({"match", "reply", "emit", "goto", "close", "handler"})


class FlowError(ValueError):
    """A flow that cannot be loaded; the message names the flow, the step and the field."""


@dataclass(frozen=True)
class Action:
    reply: str | None = None  # a template over the conversation's variables
    emit: str | None = None  # one of EVENT_TYPES
    goto: str | None = None  # the next step (its prompt is sent after the reply)
    close: bool = False
    handler: str | None = None  # a registered handler's name: it may add a reply, events, a step


@dataclass(frozen=True)
class Answer:
    alternatives: tuple[str, ...]  # normalised: "1", "YES", "YES {code}", "{slot}", "*"
    action: Action

    @property
    def takes_a_slot(self) -> bool:
        return SLOT in self.alternatives

    @property
    def takes_a_code(self) -> bool:
        return any(alternative.endswith(CODE) for alternative in self.alternatives)


@dataclass(frozen=True)
class Step:
    name: str
    prompt: str | None  # sent when the conversation enters the step (None: the step waits silently)
    answers: tuple[Answer, ...]
    otherwise: str | None = None  # the reply to anything that matches no answer
    without_slots: Action | None = None  # a slot step entered with no slots offered does this instead

    @property
    def offers_slots(self) -> bool:
        return any(answer.takes_a_slot for answer in self.answers)


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    steps: Mapping[str, Step]
    timeout_seconds: int
    start_words: tuple[str, ...] = ()  # inbound words that open this flow (support: AGENT)
    on_start_word: Action | None = None  # done when a start word opens it, before the start step's prompt
    description: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # as configured, for JSON

    @property
    def needs_a_code(self) -> bool:
        return any(answer.takes_a_code for step in self.steps.values() for answer in step.answers)


def parse_flows(config: Mapping[str, Any]) -> dict[str, Flow]:
    """``{"<flow name>": {...}}`` from the config; raises FlowError naming what is wrong."""
    if not isinstance(config, Mapping):
        raise FlowError(f"flows must be an object by flow name, not {type(config).__name__}")
    flows = {name: parse_flow(name, spec) for name, spec in config.items()}
    owners: dict[str, str] = {}
    for flow in flows.values():
        for word in flow.start_words:
            if word in owners:
                raise FlowError(f"flow {flow.name}: start word {word} also starts flow {owners[word]}")
            owners[word] = flow.name
    return flows


def parse_flow(name: str, spec: Any) -> Flow:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise FlowError(f"flow name {name!r} must be 1-40 characters of a-z, 0-9 and _, starting with a letter")
    where = f"flow {name}"
    _only(spec, FLOW_KEYS, where)
    steps_spec = spec.get("steps")
    if not isinstance(steps_spec, Mapping) or not steps_spec:
        raise FlowError(f"{where}: steps must be a non-empty object by step name")
    steps = {step_name: _parse_step(name, step_name, step_spec) for step_name, step_spec in steps_spec.items()}
    start = spec.get("start")
    if start not in steps:
        raise FlowError(f"{where}: start {start!r} is not one of its steps ({', '.join(steps)})")
    timeout = spec.get("timeout_seconds")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 60 <= timeout <= MAX_TIMEOUT_SECONDS:
        raise FlowError(f"{where}: timeout_seconds {timeout!r} must be a whole number from 60 to {MAX_TIMEOUT_SECONDS}")
    for step in steps.values():
        for field_name, text in step_texts(step):
            if field_name != "prompt" or step.name != start:
                if text is not None and CODE in text:
                    raise FlowError(
                        f"{where}, step {step.name}: {field_name} uses {CODE}; only the start step's "
                        "prompt may (the code is never kept once it is sent)"
                    )
    start_words = tuple(_word(word, f"{where}: start word") for word in spec.get("start_words", ()))
    on_start_word = _parse_action(f"{where}, on_start_word", spec["on_start_word"]) if "on_start_word" in spec else None
    if on_start_word is not None and not start_words:
        raise FlowError(f"{where}: on_start_word needs start_words")
    for step in steps.values():
        for action in [answer.action for answer in step.answers] + ([step.without_slots] if step.without_slots else []):
            if action.goto is not None and action.goto not in steps:
                raise FlowError(f"{where}, step {step.name}: goto {action.goto!r} is not one of its steps")

    return Flow(
        name=name,
        start=start,
        steps=steps,
        timeout_seconds=timeout,
        start_words=start_words,
        on_start_word=on_start_word,
        description=str(spec.get("description", "")),
        raw=dict(spec),
    )


DIGEST_CHARACTERS = 16  # 64 bits of SHA-256: the functions' environment has little room to spare


def flows_digest(flows_json: str) -> str:
    """What ``FLOWS_DIGEST`` holds for these flows: the construct and the functions agree on it."""
    return hashlib.sha256(flows_json.encode()).hexdigest()[:DIGEST_CHARACTERS]


def flows_to_json(flows: Mapping[str, Flow]) -> str:
    """The flows parameter's value: the flows as configured (parsed again by the function)."""
    return json.dumps(
        {name: dict(flow.raw) for name, flow in flows.items()},
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    )


def flows_from_json(text: str) -> dict[str, Flow]:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise FlowError(f"flows are not JSON ({error})") from None
    return parse_flows(data)


def normalise(body: str) -> str:
    """A message as answers are matched against it: upper case, accents folded, words single-spaced."""
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", normalise_text(body)).split())


# -- parsing pieces -----------------------------------------------------------------------------------
def _parse_step(flow: str, name: Any, spec: Any) -> Step:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise FlowError(f"flow {flow}: step name {name!r} must be 1-40 characters of a-z, 0-9 and _")
    where = f"flow {flow}, step {name}"
    _only(spec, STEP_KEYS, where)
    answers_spec = spec.get("answers")
    if not isinstance(answers_spec, list) or not answers_spec:
        raise FlowError(f"{where}: answers must be a non-empty list")
    answers = tuple(_parse_answer(f"{where}, answer {n + 1}", answer) for n, answer in enumerate(answers_spec))
    seen: dict[str, int] = {}
    for n, answer in enumerate(answers):
        for alternative in answer.alternatives:
            if alternative in seen:
                raise FlowError(f"{where}: {alternative} is in answers {seen[alternative] + 1} and {n + 1}")
            seen[alternative] = n
    if ANY in seen and seen[ANY] != len(answers) - 1:
        raise FlowError(f"{where}: the answer matching * must come last (it takes any message)")
    prompt = _template(spec.get("prompt"), f"{where}: prompt")
    otherwise = _template(spec.get("otherwise"), f"{where}: otherwise")
    without_slots = None
    if "without_slots" in spec:
        without_slots = _parse_action(f"{where}, without_slots", spec["without_slots"])
    step = Step(name=name, prompt=prompt, answers=answers, otherwise=otherwise, without_slots=without_slots)
    if step.offers_slots and without_slots is None:
        raise FlowError(f"{where}: a step that offers {{slot}} needs without_slots (what to do when none were given)")
    return step


def _parse_answer(where: str, spec: Any) -> Answer:
    _only(spec, ANSWER_KEYS, where)
    match = spec.get("match")
    if not isinstance(match, str) or not match.strip():
        raise FlowError(f'{where}: match must be words separated by |, such as "1|YES|Y"')
    alternatives = []
    for raw in match.split("|"):
        alternative = raw.strip() if raw.strip() in (SLOT, ANY) else _normalise_alternative(raw)
        braces = raw.replace(CODE, "") if alternative.endswith(CODE) else raw
        if not _ALTERNATIVE.fullmatch(alternative) or (alternative != SLOT and ("{" in braces or "}" in braces)):
            raise FlowError(f"{where}: {raw.strip()!r} is not an answer: words, or words then {CODE}, or {SLOT}, or *")
        first = alternative.split(" ")[0]
        if first in RESERVED_WORDS:
            raise FlowError(f"{where}: {first} is reserved: opt-out, opt-in and HELP words always win over a flow")
        alternatives.append(alternative)
    return Answer(tuple(alternatives), _parse_action(where, spec))


def _parse_action(where: str, spec: Any) -> Action:
    if not isinstance(spec, Mapping):
        raise FlowError(f"{where} must be an object")
    _only(spec, ANSWER_KEYS, where)
    emit = spec.get("emit")
    if emit is not None and emit not in EVENT_TYPES:
        raise FlowError(f"{where}: emit {emit!r} must be one of {', '.join(EVENT_TYPES)}")
    close = spec.get("close", False)
    if not isinstance(close, bool):
        raise FlowError(f"{where}: close must be true or false")
    goto = spec.get("goto")
    if goto is not None and close:
        raise FlowError(f"{where}: goto and close cannot both be set")
    handler = spec.get("handler")
    if handler is not None and (not isinstance(handler, str) or not NAME.fullmatch(handler)):
        raise FlowError(f"{where}: handler {handler!r} must be a name of a-z, 0-9 and _")
    action = Action(
        reply=_template(spec.get("reply"), f"{where}: reply"), emit=emit, goto=goto, close=close, handler=handler
    )
    if not (action.reply or action.emit or action.goto or action.close or action.handler):
        raise FlowError(f"{where} does nothing: give it a reply, emit, goto, close or handler")
    return action


def step_texts(step: Step) -> list[tuple[str, str | None]]:
    """Every text the step can send, by the field that holds it (prompt, otherwise, reply)."""
    actions = [answer.action for answer in step.answers] + ([step.without_slots] if step.without_slots else [])
    return [("prompt", step.prompt), ("otherwise", step.otherwise)] + [("reply", action.reply) for action in actions]


def _normalise_alternative(raw: str) -> str:
    text = raw.strip()
    if text.upper().endswith(CODE.upper()):
        return (normalise(text[: -len(CODE)]) + " " + CODE).strip()
    return normalise(text)


def _template(text: Any, where: str) -> str | None:
    if text is None:
        return None
    try:
        parse_template("flow", text)
    except TemplateError as error:
        raise FlowError(f"{where}: {str(error).removeprefix('template flow: ')}") from None
    return str(text)


def _word(word: Any, where: str) -> str:
    normalised = normalise(word) if isinstance(word, str) else ""
    if not normalised or " " in normalised:
        raise FlowError(f"{where} {word!r} must be one word")
    if normalised in RESERVED_WORDS:
        raise FlowError(f"{where} {normalised} is reserved: opt-out, opt-in and HELP words always win over a flow")
    return normalised


def _only(spec: Any, allowed: frozenset[str], where: str) -> None:
    if not isinstance(spec, Mapping):
        raise FlowError(f"{where} must be an object")
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise FlowError(f"{where} has unknown fields: {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
