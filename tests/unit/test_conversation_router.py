"""The router: your handlers for keywords and flow answers, registered without forking."""

from __future__ import annotations

import pytest

from two_way_sms.conversations.router import HandlerResult, Message, Router


def test_a_keyword_handler_answers_messages_that_begin_with_its_word():
    router = Router()

    @router.keyword("hours")
    def hours(message: Message) -> HandlerResult:
        return HandlerResult(reply=f"Open 9-5 ({message.text})")

    handler = router.for_keyword("Hours today?")
    assert handler is hours
    assert handler(Message("Hours today?", "+14255550182", "+18445550100", "in-1")).reply == "Open 9-5 (Hours today?)"
    assert router.for_keyword("opening hours") is None


def test_a_named_handler_is_found_by_the_name_a_flow_answer_gives():
    router = Router()

    @router.handler("support_bot")
    def bot(message: Message) -> HandlerResult:
        return HandlerResult(close=True)

    assert router.named("support_bot") is bot and router.handler_names == {"support_bot"}
    with pytest.raises(LookupError, match="no handler named billing_bot is registered"):
        router.named("billing_bot")


def test_opt_out_opt_in_and_help_words_cannot_be_taken():
    router = Router()
    for word in ("STOP", "unstop", "help", "Cancel"):
        with pytest.raises(ValueError, match="reserved"):
            router.keyword(word)


def test_one_handler_per_keyword_and_per_name():
    router = Router()
    router.keyword("HOURS")(lambda message: None)
    router.handler("bot")(lambda message: None)

    with pytest.raises(ValueError, match="keyword HOURS already has a handler"):
        router.keyword("hours")(lambda message: None)
    with pytest.raises(ValueError, match="handler bot is already registered"):
        router.handler("bot")(lambda message: None)


def test_a_result_names_only_known_events_and_one_way_on():
    with pytest.raises(ValueError, match="event type 'order.shipped' must be one of"):
        HandlerResult(events=(("order.shipped", {}),))
    with pytest.raises(ValueError, match="goto and close cannot both be set"):
        HandlerResult(goto="next", close=True)
