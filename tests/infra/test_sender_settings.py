"""The sender function's settings contract: what ``OutboundSender`` sets is what the handler reads.

The contract's own checks run without a synth; the last tests read every synthesized variant's
sender environment (tests/infra/conftest.py) and give it to ``SenderFunctionSettings``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.infra.synth import Synthesized
from tests.infra.test_outbound import environment
from tests.infra.test_protection import built
from two_way_sms.outbound.budget import SpendBudget
from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.outbound.templates import Template, templates_to_json
from two_way_sms.settings.sender import OPTIONAL, REQUIRED, SenderFunctionSettings

IDENTITY = "+18445550100"
MINIMAL = {
    "OUTBOUND_QUEUE_URL": "https://sqs/outbound",
    "OUTBOUND_TABLE": "outbound",
    "CONTACTS_TABLE": "contacts",
    "LEDGER_TABLE": "ledger",
    "LEDGER_RETENTION_DAYS": "400",
    "CONFIGURATION_SET": "outbound",
    "SENDER_SETTINGS": SenderSettings(IDENTITY, mps=3.0).to_json(),
    "TEMPLATES": templates_to_json([Template("reminder", "See you {when}.")]),
    "SCHEDULE_GROUP": "two-way-sms",
    "RELEASE_TARGET_ARN": "arn:aws:lambda:us-east-1:123456789012:function:campaigns",
    "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler",
    "SCHEDULE_DEAD_LETTER_QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:schedule-dead-letters",
}
FULL = {
    **MINIMAL,
    "DEAD_LETTER_QUEUE_URL": "https://sqs/dead-letters",
    "MONTHLY_BUDGET_USD": "250",
    "BUDGET_HARD_STOP": "true",
    "FLOWS_PARAMETER": "/two-way-sms/flows",
    "FLOWS_DIGEST": "0123456789abcdef",
    "CONVERSATIONS_TABLE": "conversations",
    "CODES_KEY_ID": "key-1",
    "MAX_RECEIVE_COUNT": "5",
}
# Powertools reads these; the construct sets them on every function.
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}


# -- the contract --------------------------------------------------------------------------------------
def test_every_variable_of_the_contract_reads_back_as_it_was_set():
    settings = SenderFunctionSettings.from_environment(FULL)

    assert settings.to_environment() == FULL
    assert set(FULL) == set(REQUIRED) | set(OPTIONAL)
    assert settings.sender == SenderSettings(IDENTITY, mps=3.0) and list(settings.templates) == ["reminder"]
    assert settings.budget == SpendBudget(Decimal("250"), hard_stop=True) and settings.ledger_retention_days == 400


def test_the_optional_settings_are_off_when_unset():
    settings = SenderFunctionSettings.from_environment(MINIMAL)

    assert settings.budget is None and settings.dead_letter_queue_url is None
    assert settings.conversations_table is None and settings.codes_key_id is None
    assert settings.max_receive_count is None
    assert settings.to_environment() == MINIMAL


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"OUTBOUND_TABLE": None, "SCHEDULE_DEAD_LETTER_QUEUE_ARN": ""},
            "missing environment variables ['OUTBOUND_TABLE', 'SCHEDULE_DEAD_LETTER_QUEUE_ARN']",
        ),
        ({"FLOWS_PARAMETER": "/flows"}, "needs all of ['FLOWS_PARAMETER', 'CONVERSATIONS_TABLE']"),
        ({"LEDGER_RETENTION_DAYS": "a year"}, "LEDGER_RETENTION_DAYS 'a year' must be a whole number"),
        ({"MAX_RECEIVE_COUNT": "five"}, "MAX_RECEIVE_COUNT 'five' must be a whole number"),
        ({"SENDER_SETTINGS": "{}"}, "SENDER_SETTINGS are invalid"),
        (
            {"SENDER_SETTINGS": json.dumps({"origination_identity": IDENTITY, "mps": 0})},
            "mps 0 must be a positive number",
        ),
        ({"TEMPLATES": "[]"}, "TEMPLATES are invalid: templates must be a JSON object"),
        ({"MONTHLY_BUDGET_USD": "lots"}, "MONTHLY_BUDGET_USD 'lots' must be a number of dollars"),
        ({"BUDGET_HARD_STOP": "true"}, "a hard stop needs a budget"),
    ],
)
def test_a_missing_or_bad_variable_fails_naming_it(changes, message):
    environment = {name: value for name, value in {**MINIMAL, **changes}.items() if value is not None}

    with pytest.raises(RuntimeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        SenderFunctionSettings.from_environment(environment)


# -- every synthesized variant ---------------------------------------------------------------------------
def resolved(value: Any) -> str:
    """A variable as the function gets it, with what CloudFormation fills in (a Ref, a GetAtt) as a placeholder."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return str(delimiter).join(resolved(part) for part in parts)
    return "resolved-at-deploy"


def sender_environment(synth: Synthesized) -> dict[str, Any]:
    return environment(synth, built(synth).outbound_sender.function)


def test_every_variant_gives_the_sender_an_environment_its_handler_accepts(any_variant):
    env = sender_environment(any_variant)

    settings = SenderFunctionSettings.from_environment({name: resolved(value) for name, value in env.items()})

    assert set(env) <= set(REQUIRED) | set(OPTIONAL) | POWERTOOLS  # nothing the handler does not read
    assert settings.dead_letter_queue_url and settings.sender.origination_identity
    assert dict(settings.templates) == dict(any_variant.config.outbound.templates)


def test_the_sender_is_told_the_budget_it_stops_at(default, toll_free_self_managed):
    assert SenderFunctionSettings.from_environment(
        {name: resolved(value) for name, value in sender_environment(default).items()}
    ).budget == SpendBudget(Decimal("100"))
    stops = SenderFunctionSettings.from_environment(
        {name: resolved(value) for name, value in sender_environment(toll_free_self_managed).items()}
    ).budget
    assert stops == SpendBudget(Decimal("250"), hard_stop=True)
