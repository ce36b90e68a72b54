"""Benchmark figures for conversations (printed by run.py, sections 12 and 13).

12. the in-process cost of one inbound reply inside a flow: ``responder.decide`` and
    ``conversations.inbound.route`` (correlation among the number's conversations, the
    step, the replies and events) for each step of the three ready flows, no AWS;
13. the AWS calls per inbound reply inside a flow, and per prompt the sender opens: the real
    handlers on the integration tests' emulated AWS (moto, the SMS emulator), every botocore
    request counted, and the handler's time per message there (moto's included).
"""

from __future__ import annotations

import io
import statistics
import time
import timeit
from collections import Counter
from contextlib import contextmanager, redirect_stdout
from dataclasses import replace
from typing import Any, Iterator

import botocore.client
import environment  # noqa: F401  (Powertools' settings, before any handler is imported)

from two_way_sms.conversations.engine import advance, open_conversation
from two_way_sms.conversations.flows import parse_flows
from two_way_sms.conversations.inbound import route
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms.responder import ResponderSettings, decide

REPEATS = 7
CUSTOMER, OURS = "+14255550182", "+18445550100"
NOW = 1_772_654_400.0
SETTINGS = ResponderSettings(
    help_reply="Help: call us.",
    stop_reply="Stopped.",
    opt_in_reply="Welcome back.",
    default_reply="Thanks for your message.",
)


def _median_microseconds(function) -> float:
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    return statistics.median(timer.repeat(repeat=REPEATS, number=max(1, number // 4))) / max(1, number // 4) * 1e6


def print_conversation_figures() -> None:
    flows = parse_flows(READY_FLOWS)
    appointment, _ = open_conversation(
        flows["appointment"],
        conversation_id="c-1",
        customer_number=CUSTOMER,
        our_number=OURS,
        now=NOW,
        variables={"first_name": "Ana", "when": "Mon 11:00"},
        slots=("Tue 10:00", "Wed 14:30", "Fri 09:00"),
    )
    appointment = replace(appointment, prompt_message_ids=("prompt-1",))
    rebook = advance(appointment, flows["appointment"], "2", now=NOW + 1, inbound_message_id="in-0").conversation
    verification, _ = open_conversation(
        flows["transaction"],
        conversation_id="t-1",
        customer_number=CUSTOMER,
        our_number=OURS,
        now=NOW,
        variables={"merchant": "Example", "amount": "$120.00", "card_last4": "4242"},
        code="482913",
    )
    others = [replace(appointment, conversation_id=f"old-{n}", opened_at=NOW - 100 - n) for n in range(4)]
    cases = (
        ("appointment: 2 (cancel; slots offered)", "2", [appointment, *others]),
        ("appointment: B (rebooked)", "B", [rebook, *others]),
        ("appointment: unknown answer", "maybe later", [appointment, *others]),
        ("transaction: YES <code>", "YES 482913", [verification]),
        ("support: AGENT (opens one)", "AGENT my card", []),
        ("STOP in a flow (closes 5)", "STOP", [appointment, *others]),
    )
    print(
        "12. One inbound reply inside a flow, in process: responder.decide + conversations.inbound.route\n"
        f"    (median of {REPEATS} timeit repeats; the number has the listed conversations; no AWS)"
    )
    print(f"    {'message':<40} {'path':<14} {'replies':>7} {'events':>6} {'per reply':>10}")
    for label, body, conversations in cases:

        def once(body=body, conversations=conversations):
            decision = decide(body, opted_out=False, settings=SETTINGS)
            return route(
                decision,
                body=body,
                customer_number=CUSTOMER,
                our_number=OURS,
                inbound_message_id="in-1",
                previous_message_id="prompt-1",
                now=NOW + 60,
                conversations=conversations,
                flows=flows,
                new_conversation_id="new-1",
                has_keyword_handler=False,
            )

        routed = once()
        print(
            f"    {label:<40} {routed.path:<14} {len(routed.replies):>7} {len(routed.events):>6} "
            f"{_median_microseconds(once):>7.1f} us"
        )
    print()


@contextmanager
def _counting_requests() -> Iterator[Counter]:
    """Counts every botocore request (moto answers below this level) by (service, operation)."""
    counted: Counter = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counting(client: Any, operation_name: str, api_params: Any) -> Any:
        counted[(client.meta.service_model.service_name, operation_name)] += 1
        return original(client, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        yield counted
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def _calls(counted: Counter, sms_sends: int) -> str:
    parts = [f"{operation} x{n}" if n > 1 else operation for (_, operation), n in sorted(counted.items())]
    if sms_sends:
        parts.append(f"SendTextMessage x{sms_sends}" if sms_sends > 1 else "SendTextMessage")
    return ", ".join(parts)


def print_conversation_call_figures() -> None:
    from two_way_sms_local.conversation_world import CHARGE, SLOTS, VISIT, conversation_world

    print(
        "13. AWS calls per conversation message, the real handlers on emulated AWS (moto + the SMS emulator)\n"
        "    (warm functions: the flows parameter is cached; time per message includes moto's own work)"
    )
    print(f"    {'message':<42} {'calls':>5}  {'ms':>5}  requests")
    with conversation_world() as world:
        with redirect_stdout(io.StringIO()):  # the first messages read the flows parameter, create clients
            world.text("warm-up: hello")
            world.remind("warm-up", "appointment", VISIT)

        def measure(label: str, action) -> None:
            sent_before = len(world.sms.sent)
            with _counting_requests() as counted, redirect_stdout(io.StringIO()):  # the handlers' EMF lines
                started = time.perf_counter()
                action()
                elapsed_ms = (time.perf_counter() - started) * 1000
            sms_sends = len(world.sms.sent) - sent_before
            total = sum(counted.values()) + sms_sends
            print(f"    {label:<42} {total:>5}  {elapsed_ms:>5.1f}  {_calls(counted, sms_sends)}")

        reminder = None

        def remind() -> None:
            nonlocal reminder
            reminder = world.remind("appt-1", "appointment", VISIT, reference="appt-1", slots=SLOTS)

        measure("sender: appointment reminder (opens one)", remind)
        measure("inbound: 2 (cancel; slots offered)", lambda: world.text("2", quoting=reminder.message_id))
        measure("inbound: B (rebooked)", lambda: world.text("B", quoting=world.sms.sent[-1].message_id))
        prompt = None

        def verify() -> None:
            nonlocal prompt
            prompt = world.remind("txn-1", "transaction", CHARGE, reference="txn-1")

        measure("sender: verification with a code", verify)
        code = prompt.body.split("Reply YES ")[1].split(" ")[0]
        measure("inbound: YES <code> (approved)", lambda: world.text(f"YES {code}", quoting=prompt.message_id))
        measure("inbound: AGENT (opens support)", lambda: world.text("AGENT my bill"))
        measure("inbound: free text in support", lambda: world.text("it says $40"))
        measure("inbound: hello (no conversation open)", lambda: world.text("hello", after=86400 * 2))
        with redirect_stdout(io.StringIO()):
            world.text("AGENT")  # a support conversation for the STOP to close
        measure("inbound: STOP in support (closes it)", lambda: world.text("STOP"))
    print(
        "    Per inbound reply in a flow: its conversations (one Query), the reply's claim (one UpdateItem\n"
        "    that also refuses an opted-out number: no read of consent before it), the turn's conditional\n"
        "    PutItem, PutEvents, the reply, then one TransactWriteItems that completes the claim and records\n"
        "    the reply in the ledger (issue 15 before: 8). The sender adds GenerateMac (codes only) and the\n"
        "    conversation's PutItem to an ordinary send.\n"
    )
