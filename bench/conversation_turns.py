"""Benchmark figures for conversations (printed by run.py, section 12).

12. the in-process cost of one inbound reply inside a flow: ``responder.decide`` and
    ``conversations.inbound.route`` (correlation among the number's conversations, the
    step, the replies and events) for each step of the three ready flows, no AWS. The AWS
    calls per reply come with the inbound handler's conversation wiring.
"""

from __future__ import annotations

import statistics
import timeit
from dataclasses import replace

from two_way_sms.conversations.engine import advance, open_conversation
from two_way_sms.conversations.flows import parse_flows
from two_way_sms.conversations.inbound import route
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms.responder import ResponderSettings, decide

REPEATS = 7
CUSTOMER, OURS = "+14255550182", "+18445550100"
NOW = 1_772_654_400.0
SETTINGS = ResponderSettings(help_reply="Help: call us.", stop_reply="Stopped.", opt_in_reply="Welcome back.",
                             default_reply="Thanks for your message.")


def _median_microseconds(function) -> float:
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    return statistics.median(timer.repeat(repeat=REPEATS, number=max(1, number // 4))) / max(1, number // 4) * 1e6


def print_conversation_figures() -> None:
    flows = parse_flows(READY_FLOWS)
    appointment, _ = open_conversation(
        flows["appointment"], conversation_id="c-1", customer_number=CUSTOMER, our_number=OURS, now=NOW,
        variables={"first_name": "Ana", "when": "Mon 11:00"}, slots=("Tue 10:00", "Wed 14:30", "Fri 09:00"))
    appointment = replace(appointment, prompt_message_ids=("prompt-1",))
    rebook = advance(appointment, flows["appointment"], "2", now=NOW + 1, inbound_message_id="in-0").conversation
    verification, _ = open_conversation(
        flows["transaction"], conversation_id="t-1", customer_number=CUSTOMER, our_number=OURS, now=NOW,
        variables={"merchant": "Example", "amount": "$120.00", "card_last4": "4242"}, code="482913")
    others = [replace(appointment, conversation_id=f"old-{n}", opened_at=NOW - 100 - n) for n in range(4)]
    cases = (
        ("appointment: 2 (cancel; slots offered)", "2", [appointment, *others]),
        ("appointment: B (rebooked)", "B", [rebook, *others]),
        ("appointment: unknown answer", "maybe later", [appointment, *others]),
        ("transaction: YES <code>", "YES 482913", [verification]),
        ("support: AGENT (opens one)", "AGENT my card", []),
        ("STOP in a flow (closes 5)", "STOP", [appointment, *others]),
    )
    print("12. One inbound reply inside a flow, in process: responder.decide + conversations.inbound.route\n"
          f"    (median of {REPEATS} timeit repeats; the number has the listed conversations; no AWS)")
    print(f"    {'message':<40} {'path':<14} {'replies':>7} {'events':>6} {'per reply':>10}")
    for label, body, conversations in cases:
        def once(body=body, conversations=conversations):
            decision = decide(body, opted_out=False, settings=SETTINGS)
            return route(decision, body=body, customer_number=CUSTOMER, our_number=OURS, inbound_message_id="in-1",
                         previous_message_id="prompt-1", now=NOW + 60, conversations=conversations, flows=flows,
                         new_conversation_id="new-1", has_keyword_handler=False)
        routed = once()
        print(f"    {label:<40} {routed.path:<14} {len(routed.replies):>7} {len(routed.events):>6} "
              f"{_median_microseconds(once):>7.1f} us")
    print("    The AWS calls per reply (the conversation's read and conditional write, the events' PutEvents,\n"
          "    the reply) are counted once the inbound handler runs flows.\n")
