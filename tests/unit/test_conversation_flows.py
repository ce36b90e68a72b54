"""Loading declarative flows: the ready ones load, and every mistake names the flow, step and field."""

from __future__ import annotations

import copy
import re

import pytest

from two_way_sms.conversations.flows import FlowError, flows_from_json, flows_to_json, normalise, parse_flows
from two_way_sms.conversations.ready_flows import APPOINTMENT, READY_FLOWS


def flow_with(**changes):
    spec = copy.deepcopy(APPOINTMENT)
    spec.update(changes)
    return spec


def test_the_ready_flows_load_and_survive_the_environment_variable():
    flows = parse_flows(READY_FLOWS)

    assert set(flows) == {"appointment", "transaction", "support"}
    assert flows["transaction"].needs_a_code and not flows["appointment"].needs_a_code
    assert flows["support"].start_words == ("AGENT", "SUPPORT")
    again = flows_from_json(flows_to_json(flows))
    assert {name: (f.start, tuple(f.steps)) for name, f in again.items()} == {
        name: (f.start, tuple(f.steps)) for name, f in flows.items()
    }


def test_answers_are_normalised_words_and_placeholders():
    confirm = parse_flows({"appointment": APPOINTMENT})["appointment"].steps["confirm"]

    assert confirm.answers[0].alternatives == ("1", "YES", "Y", "CONFIRM")
    assert normalise("  yés, please!! ") == "YES PLEASE"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (flow_with(start="nowhere"), "flow appointment: start 'nowhere' is not one of its steps (confirm, rebook)"),
        (flow_with(timeout_seconds=10), "flow appointment: timeout_seconds 10 must be a whole number from 60"),
        (flow_with(steps={}), "flow appointment: steps must be a non-empty object"),
        (flow_with(colour="blue"), "flow appointment has unknown fields: colour"),
        (flow_with(start_words=["STOP"]), "flow appointment: start word STOP is reserved"),
    ],
)
def test_a_flow_mistake_fails_naming_the_flow_and_the_field(spec, message):
    with pytest.raises(FlowError, match=re.escape(message)):
        parse_flows({"appointment": spec})


def mutated_step(step: str, **changes):
    spec = copy.deepcopy(APPOINTMENT)
    spec["steps"][step].update(changes)
    return spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            mutated_step("confirm", answers=[{"match": "CANCEL", "emit": "appointment.cancelled"}]),
            "flow appointment, step confirm, answer 1: CANCEL is reserved: opt-out, opt-in and HELP words always win",
        ),
        (mutated_step("confirm", answers=[{"match": "HELP ME", "reply": "hi"}]), "HELP is reserved"),
        (
            mutated_step("confirm", answers=[{"match": "1", "emit": "appointment.moved"}]),
            "flow appointment, step confirm, answer 1: emit 'appointment.moved' must be one of reply.received",
        ),
        (
            mutated_step("confirm", answers=[{"match": "1", "goto": "later"}]),
            "flow appointment, step confirm: goto 'later' is not one of its steps",
        ),
        (
            mutated_step("confirm", answers=[{"match": "1"}]),
            "flow appointment, step confirm, answer 1 does nothing: give it a reply, emit, goto, close or handler",
        ),
        (
            mutated_step("confirm", answers=[{"match": "1", "reply": "a"}, {"match": "YES|1", "reply": "b"}]),
            "flow appointment, step confirm: 1 is in answers 1 and 2",
        ),
        (
            mutated_step("confirm", answers=[{"match": "*", "reply": "a"}, {"match": "1", "reply": "b"}]),
            "the answer matching * must come last",
        ),
        (
            mutated_step("confirm", answers=[{"match": "1", "goto": "rebook", "close": True}]),
            "goto and close cannot both be set",
        ),
        (mutated_step("confirm", prompt="Hi {first_name"), "flow appointment, step confirm: prompt"),
        (
            mutated_step("confirm", otherwise="Reply YES {code}"),
            "flow appointment, step confirm: otherwise uses {code}; only the start step's prompt may",
        ),
        (mutated_step("confirm", answers=[{"match": "YES {slot}", "reply": "x"}]), "'YES {slot}' is not an answer"),
    ],
)
def test_a_step_mistake_fails_naming_the_step_and_the_answer(spec, message):
    with pytest.raises(FlowError, match=re.escape(message)):
        parse_flows({"appointment": spec})


def test_a_step_offering_slots_says_what_to_do_when_none_were_given():
    spec = copy.deepcopy(APPOINTMENT)
    del spec["steps"]["rebook"]["without_slots"]

    with pytest.raises(
        FlowError, match=re.escape("flow appointment, step rebook: a step that offers {slot} needs without_slots")
    ):
        parse_flows({"appointment": spec})


def test_two_flows_cannot_share_a_start_word():
    other = copy.deepcopy(READY_FLOWS["support"])

    with pytest.raises(FlowError, match="flow helpdesk: start word AGENT also starts flow support"):
        parse_flows({"support": READY_FLOWS["support"], "helpdesk": other})


def test_flow_names_are_plain():
    with pytest.raises(FlowError, match="flow name 'Appointment!' must be"):
        parse_flows({"Appointment!": APPOINTMENT})
