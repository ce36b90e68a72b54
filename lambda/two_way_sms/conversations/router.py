"""Where your own Python plugs into the inbound handler, without forking it.

Register a function for a keyword (outside any flow) or by name for a flow answer's
``handler``; put the module that registers them next to the function's code (see the
README) and it is imported when the function starts::

    from two_way_sms.conversations.router import HandlerResult, router

    @router.keyword("HOURS")
    def hours(message):
        return HandlerResult(reply="We are open 9-5, Monday to Friday.")

    @router.handler("support_bot")
    def bot(message):
        if "password" in message.text.lower():
            return HandlerResult(reply="Reset it at example.com/reset.", close=True)
        return HandlerResult()  # nothing to add: the agent desk gets the message

A handler gets a ``Message`` and returns a ``HandlerResult`` (or None for nothing). It runs
after opt-out, opt-in and HELP were decided (it never sees those). What it returns is stored
with the conversation's turn and not asked again once stored; a failure before that (a race
with another answer, DynamoDB unavailable) calls it again, so a handler with side effects of
its own should key them on ``message.inbound_message_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from two_way_sms.conversations.flows import EVENT_TYPES, NAME, RESERVED_WORDS, normalise


@dataclass(frozen=True)
class Message:
    text: str
    customer_number: str
    our_number: str
    inbound_message_id: str
    conversation_id: str | None = None  # when the message is in a conversation
    flow: str | None = None
    step: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class HandlerResult:
    reply: str | None = None
    events: tuple[tuple[str, dict[str, Any]], ...] = ()  # (event type, detail) for the bus
    goto: str | None = None  # in a conversation: the next step
    close: bool = False  # in a conversation: end it

    def __post_init__(self) -> None:
        for detail_type, _ in self.events:
            if detail_type not in EVENT_TYPES:
                raise ValueError(f"event type {detail_type!r} must be one of {', '.join(EVENT_TYPES)}")
        if self.goto and self.close:
            raise ValueError("goto and close cannot both be set")


Handler = Callable[[Message], "HandlerResult | None"]


class Router:
    def __init__(self) -> None:
        self._by_keyword: dict[str, Handler] = {}
        self._by_name: dict[str, Handler] = {}

    def keyword(self, word: str) -> Callable[[Handler], Handler]:
        """Registers a handler for messages that begin with ``word`` (outside conversations)."""
        normalised = normalise(word)
        if not normalised or " " in normalised:
            raise ValueError(f"keyword {word!r} must be one word")
        if normalised in RESERVED_WORDS:
            raise ValueError(f"keyword {normalised} is reserved: opt-out, opt-in and HELP words are always ours")

        def register(function: Handler) -> Handler:
            if normalised in self._by_keyword:
                raise ValueError(f"keyword {normalised} already has a handler")
            self._by_keyword[normalised] = function
            return function

        return register

    def handler(self, name: str) -> Callable[[Handler], Handler]:
        """Registers a handler that flow answers name in ``handler``."""
        if not NAME.fullmatch(name):
            raise ValueError(f"handler name {name!r} must be 1-40 characters of a-z, 0-9 and _")

        def register(function: Handler) -> Handler:
            if name in self._by_name:
                raise ValueError(f"handler {name} is already registered")
            self._by_name[name] = function
            return function

        return register

    def for_keyword(self, text: str) -> Handler | None:
        first = normalise(text).split(" ")[0] if text.strip() else ""
        return self._by_keyword.get(first)

    def named(self, name: str) -> Handler:
        try:
            return self._by_name[name]
        except KeyError:
            raise LookupError(f"no handler named {name} is registered: a flow answer names it") from None

    @property
    def handler_names(self) -> frozenset[str]:
        return frozenset(self._by_name)


router = Router()  # the one the inbound function consults
