"""The inbound handler under the failures production has, asserted by the end state.

Each failure is injected outside botocore's retry loop (it outlasted every retry) or after a
call that succeeded (its answer was lost); the message is then delivered again the way SQS
does, minutes later, until its record succeeds or the redrive parks it. Whatever failed:
the customer who texted STOP ends opted out in the contacts table *and* on the number's
opt-out list, with at most one confirmation and one proof; a reply goes at most once.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import SETTINGS
from two_way_sms_local.faults import FaultInjector
from two_way_sms_local.inbound_world import VISIBILITY_SECONDS, inbound_world

CUSTOMER = "+14255550182"
STOP_REPLY = SETTINGS["stop_reply"]


def calls_of_a_clean_run(body: str, **settings) -> list[str]:
    with inbound_world(**settings) as world:
        assert world.process(world.publish(CUSTOMER, body, inbound_id="in-1")).receives == 1
        return list(world.faults.calls)


# Self-managed opt-outs: the handler confirms and lists the number itself (every call in play).
OPT_OUT_CALLS = [
    "dynamodb.GetItem",  # when the function starts: the reply log's layout note (none yet)
    "dynamodb.Scan",  # is the table empty? (then no item of the previous layout can matter)
    "dynamodb.PutItem",  # the note
    "dynamodb.Query",  # the number's consent and reply log
    "dynamodb.UpdateItem",  # a confirmation is owed
    "dynamodb.PutItem",  # the proof
    "dynamodb.UpdateItem",  # the state
    "dynamodb.UpdateItem",  # claim the confirmation
    "sms.SendTextMessage",
    "dynamodb.TransactWriteItems",  # the confirmation went, and the ledger records it
    "sms.PutOptedOutNumber",
    "dynamodb.Query",  # the number's conversations (an opt-out closes them)
    "events.PutEvents",  # optout.recorded
]


def test_the_opt_out_sequence_is_the_one_these_tests_break():
    assert calls_of_a_clean_run("STOP", self_managed_opt_outs=True) == OPT_OUT_CALLS


@pytest.mark.parametrize("kind", ["server", "lost"])
@pytest.mark.parametrize("failing", range(len(OPT_OUT_CALLS)), ids=lambda i: f"{i}-{OPT_OUT_CALLS[i]}")
def test_an_opt_out_survives_a_failure_at_any_call(failing, kind):
    faults = FaultInjector()
    faults.fail_call(failing, kind)
    with inbound_world(faults=faults, self_managed_opt_outs=True) as world:
        processed = world.process(world.publish(CUSTOMER, "STOP", inbound_id="in-1"))

        assert not processed.dead_lettered
        assert world.profile(CUSTOMER)["opted_out"] is True
        assert world.on_opt_out_list(CUSTOMER)
        assert len(world.proofs(CUSTOMER)) == 1
        assert world.replies_to(CUSTOMER) == [STOP_REPLY]  # exactly one, whatever failed


def test_an_opt_out_whose_confirmation_is_throttled_past_five_minutes_is_listed_without_it():
    faults = FaultInjector()
    with inbound_world(faults=faults, self_managed_opt_outs=True) as world:
        world.sms.fail_next("ThrottlingException", times=10)
        processed = world.process(world.publish(CUSTOMER, "STOP", inbound_id="in-1"))

        assert not processed.dead_lettered and processed.receives == 3  # 0 s, 180 s, then 360 s > 5 min
        assert world.replies_to(CUSTOMER) == []
        assert world.profile(CUSTOMER)["opted_out"] is True and world.on_opt_out_list(CUSTOMER)


@pytest.mark.parametrize("code", ["ServiceQuotaExceededException", "ValidationException", "AccessDeniedException"])
def test_an_opt_out_whose_confirmation_is_refused_for_good_is_still_recorded_and_listed(code):
    with inbound_world(self_managed_opt_outs=True) as world:
        world.sms.fail_next(code)
        processed = world.process(world.publish(CUSTOMER, "STOP", inbound_id="in-1"))

        assert processed.receives == 1 and world.replies_to(CUSTOMER) == []
        assert world.profile(CUSTOMER)["opted_out"] is True and world.on_opt_out_list(CUSTOMER)


def test_aws_managed_opt_outs_still_put_the_number_on_the_list():
    with inbound_world() as world:
        world.process(world.publish(CUSTOMER, "\u00a0Stop texting me", inbound_id="in-1"))

        assert world.on_opt_out_list(CUSTOMER)
        assert world.profile(CUSTOMER)["opted_out"] is True


# -- one reply per message --------------------------------------------------------------------------
KEYWORD_CALLS = [
    "dynamodb.GetItem",  # when the function starts: the reply log's layout note
    "dynamodb.Scan",
    "dynamodb.PutItem",
    "dynamodb.Query",  # the number's conversations
    "dynamodb.UpdateItem",  # claim the reply: refused if the number opted out
    "events.PutEvents",  # reply.received
    "sms.SendTextMessage",
    "dynamodb.TransactWriteItems",  # the reply went, and the ledger records it
]


def test_a_keyword_reply_takes_these_calls():
    assert calls_of_a_clean_run("HOURS") == KEYWORD_CALLS


@pytest.mark.parametrize("kind", ["throttle", "server", "connection", "lost"])
@pytest.mark.parametrize("failing", range(len(KEYWORD_CALLS)), ids=lambda i: f"{i}-{KEYWORD_CALLS[i]}")
def test_a_keyword_reply_goes_at_most_once_whatever_fails(failing, kind):
    faults = FaultInjector()
    faults.fail_call(failing, kind)
    with inbound_world(faults=faults) as world:
        processed = world.process(world.publish(CUSTOMER, "HOURS", inbound_id="in-1"))

        assert not processed.dead_lettered
        assert world.replies_to(CUSTOMER) == ["Open Mon-Fri 8-18."]  # exactly one, whatever failed


def test_a_message_delivered_twice_minutes_apart_is_answered_once():
    with inbound_world() as world:
        body = world.publish(CUSTOMER, "HOURS", inbound_id="in-1")
        world.process(body)
        world.clock.advance(7 * 60)
        world.process(body)

        assert world.replies_to(CUSTOMER) == ["Open Mon-Fri 8-18."]


def test_a_send_whose_answer_was_lost_is_not_sent_again_by_a_duplicate():
    with inbound_world() as world:
        body = world.publish(CUSTOMER, "HOURS", inbound_id="in-1")
        # Counted from now on: the function has started (the layout note's three calls are behind it).
        world.faults.fail_call(KEYWORD_CALLS.index("sms.SendTextMessage") - 3, "lost")
        assert world.receive(body) is True  # the first copy: it went, but its answer was lost
        world.clock.advance(5)
        assert world.receive(body, sqs_message_id="copy-2") is True  # the duplicate: nothing more to send

        assert world.replies_to(CUSTOMER) == ["Open Mon-Fri 8-18."]


def test_a_duplicate_arriving_while_the_first_copy_is_sending_is_retried_and_then_sends_nothing(monkeypatch):
    with inbound_world() as world:
        body = world.publish(CUSTOMER, "HOURS", inbound_id="in-1")
        send = world.sms.send_text_message
        duplicate_results = []

        def send_while_a_duplicate_arrives(**params):
            if not duplicate_results:  # SNS delivered the message twice: the copy runs in another function
                duplicate_results.append(world.receive(body, sqs_message_id="copy-2"))
            return send(**params)

        monkeypatch.setattr(world.sms, "send_text_message", send_while_a_duplicate_arrives)
        assert world.receive(body) is True

        assert duplicate_results == [False]  # the copy found the reply in flight and failed its record
        world.clock.advance(VISIBILITY_SECONDS)
        assert world.receive(body, receive_count=2, sqs_message_id="copy-2") is True  # SQS retries it: done
        assert world.replies_to(CUSTOMER) == ["Open Mon-Fri 8-18."]


# -- consent is ordered by the customer's message ------------------------------------------------------
def test_a_late_redelivered_stop_does_not_undo_a_newer_start():
    with inbound_world(self_managed_opt_outs=True) as world:
        stop = world.publish(CUSTOMER, "STOP", inbound_id="in-stop")
        world.process(stop)
        world.clock.advance(600)
        world.process(world.publish(CUSTOMER, "START", inbound_id="in-start"))
        world.clock.advance(3600)
        world.process(stop)  # SNS delivers the old STOP again, an hour later

        assert world.profile(CUSTOMER)["opted_out"] is False
        assert world.profile(CUSTOMER)["consent_message_id"] == "in-start"
        assert sorted(p["message_id"] for p in world.proofs(CUSTOMER)) == ["in-start", "in-stop"]
        assert world.replies_to(CUSTOMER).count(STOP_REPLY) == 1


def test_a_stop_published_again_after_a_newer_start_neither_lists_nor_confirms():
    with inbound_world(self_managed_opt_outs=True) as world:
        world.process(world.publish(CUSTOMER, "STOP", inbound_id="in-stop"))
        world.clock.advance(600)
        world.process(world.publish(CUSTOMER, "START", inbound_id="in-start"))
        world.clock.advance(600)
        world.process(world.publish(CUSTOMER, "STOP", inbound_id="in-stop"))  # published again, a new timestamp

        assert world.profile(CUSTOMER)["opted_out"] is False
        assert not world.on_opt_out_list(CUSTOMER)
        assert world.replies_to(CUSTOMER) == [STOP_REPLY, SETTINGS["opt_in_reply"]]


def test_one_stop_published_twice_is_one_proof_at_the_first_time():
    with inbound_world(self_managed_opt_outs=True) as world:
        first = world.publish(CUSTOMER, "STOP", inbound_id="in-stop")
        world.process(first)
        world.clock.advance(VISIBILITY_SECONDS)
        world.process(world.publish(CUSTOMER, "STOP", inbound_id="in-stop"))  # a second publish, a new time

        [proof] = world.proofs(CUSTOMER)
        assert proof["at"].startswith("2026-12-04T10:00:00")


# -- what an opted-out number gets ---------------------------------------------------------------------
@pytest.mark.parametrize("body", ["AGENT", "HOURS", "hello?", "1"])
def test_an_opted_out_number_gets_no_start_word_keyword_or_conversation_reply(body):
    with inbound_world() as world:
        world.process(world.publish(CUSTOMER, "STOP", inbound_id="in-stop"))
        world.process(world.publish(CUSTOMER, body))

        assert world.replies_to(CUSTOMER) == []


@pytest.mark.parametrize("source", ["DELIVERY_EVENT", "OPT_OUT_LIST", "INBOUND"])
@pytest.mark.parametrize("body", ["AGENT", "HOURS", "hello?"])
def test_a_number_opted_out_only_in_the_contacts_table_gets_nothing_though_the_list_would_let_it(body, source):
    # No read before the reply: its claim is refused for the opted-out number, whatever opted it out
    # (a carrier's report, the list, the previous release) and though the number is not on the list.
    from two_way_sms.adapters.contacts import ContactsTable
    from two_way_sms.responder import ConsentChange

    with inbound_world() as world:
        ContactsTable(world.dynamodb.Table("contacts")).record_consent(
            number=CUSTOMER,
            change=ConsentChange.OPTED_OUT,
            at_ms=1,
            message_id="carrier-1",
            keyword="TEXT_BLOCKED",
            our_number="",
            source=source,
        )
        assert not world.on_opt_out_list(CUSTOMER)
        processed = world.process(world.publish(CUSTOMER, body))

        assert processed.receives == 1 and world.replies_to(CUSTOMER) == []
        assert world.dynamodb.Table("conversations").scan()["Items"] == []  # AGENT opened nothing


def test_a_send_refused_because_the_number_is_on_the_list_is_recorded_as_an_opt_out_and_not_retried():
    with inbound_world() as world:
        world.sms.put_opted_out_number(OptOutListName="opt-outs", OptedOutNumber=CUSTOMER)  # listed, not recorded
        processed = world.process(world.publish(CUSTOMER, "HOURS", inbound_id="in-1"))
        world.process(world.publish(CUSTOMER, "hello?", inbound_id="in-2"))

        assert processed.receives == 1 and world.replies_to(CUSTOMER) == []
        assert world.profile(CUSTOMER)["opted_out"] is True  # learnt from the list: the next text is not tried
        assert [p["source"] for p in world.proofs(CUSTOMER)] == ["OPT_OUT_LIST"]


# -- the reply limits ----------------------------------------------------------------------------------
def test_a_flood_of_texts_buys_at_most_five_replies_in_ten_minutes():
    with inbound_world() as world:
        for i in range(12):
            world.process(world.publish(CUSTOMER, f"question {i}"))
            world.clock.advance(20)

        assert len(world.replies_to(CUSTOMER)) == 1  # the default reply, then the same text is suppressed


def test_another_bot_answering_our_replies_cannot_loop():
    with inbound_world() as world:
        for i in range(30):  # the other side answers every reply within seconds, for hours
            world.process(world.publish(CUSTOMER, f"Auto-reply {i}: we got your message"))
            world.clock.advance(400)

        replies = world.replies_to(CUSTOMER)
        assert len(replies) <= 20  # the day's cap


# -- a budget that stops -----------------------------------------------------------------------------
def test_a_hard_stop_at_the_budget_holds_replies_but_not_help_or_the_stop_confirmation():
    with inbound_world(
        self_managed_opt_outs=True, environment={"MONTHLY_BUDGET_USD": "100", "BUDGET_HARD_STOP": "true"}
    ) as world:
        world.dynamodb.Table("ledger").put_item(Item={"message_id": "SPEND#2026-12", "spend_usd": 100})
        for body in ("HOURS", "hello?", "HELP", "STOP"):
            world.process(world.publish(CUSTOMER, body))
            world.clock.advance(60)

        assert world.replies_to(CUSTOMER) == [SETTINGS["help_reply"], STOP_REPLY]


def test_without_a_hard_stop_replies_go_on_past_the_budget():
    with inbound_world(environment={"MONTHLY_BUDGET_USD": "100"}) as world:
        world.dynamodb.Table("ledger").put_item(Item={"message_id": "SPEND#2026-12", "spend_usd": 250})
        world.process(world.publish(CUSTOMER, "HOURS"))

        assert world.replies_to(CUSTOMER) == ["Open Mon-Fri 8-18."]
