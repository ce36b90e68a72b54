"""The campaigns and delivery events functions' settings contracts against what the constructs synthesize.

Every variant's environment for each function is one its handler accepts
(``CampaignsSettings`` / ``EventsSettings.from_environment``, the same code the handler runs
when it is wired), and holds nothing the handler does not read. The constructs run the same
check at synth.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from tests.infra.synth import FEATURE_FLAGS, Synthesized
from tests.infra.test_outbound import environment
from two_way_sms.settings import campaigns as campaigns_contract
from two_way_sms.settings import events as events_contract
from two_way_sms.settings.campaigns import CampaignsSettings
from two_way_sms.settings.events import EventsSettings
from two_way_sms_cdk.constructs.campaigns import Campaigns
from two_way_sms_cdk.constructs.delivery_events import DeliveryEvents
from two_way_sms_cdk.constructs.message_ledger import MessageLedger

POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}  # every function's, from handler_function
FILLED_IN = "resolved-at-deploy"  # what CloudFormation fills in (a Ref, a GetAtt) stands in as this


def resolved(env: dict[str, Any]) -> dict[str, str]:
    """The environment as the function would see it, each value CloudFormation fills in as a placeholder."""
    return {name: _text(value) for name, value in env.items()}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:  # e.g. the sender settings around the number's id
        delimiter, parts = value["Fn::Join"]
        return delimiter.join(_text(part) for part in parts)
    return FILLED_IN


def built(synth: Synthesized) -> Any:
    return synth.stack.two_way_sms


# -- the synthesized variants --------------------------------------------------------------------------
def test_every_variant_gives_the_campaigns_function_an_environment_its_handler_accepts(any_variant):
    env = environment(any_variant, built(any_variant).campaigns.function)

    settings = CampaignsSettings.from_environment(resolved(env))

    assert set(env) <= set(campaigns_contract.REQUIRED) | set(campaigns_contract.OPTIONAL) | POWERTOOLS
    outbound = any_variant.config.outbound
    assert set(settings.templates) == set(outbound.templates)
    assert settings.sender_settings is not None
    assert settings.promotional_daily_limit == outbound.promotional_daily_limit
    assert settings.dead_letter_queue_url == FILLED_IN and settings.schedule_group == env["SCHEDULE_GROUP"]


def test_every_variant_gives_the_events_function_an_environment_its_handler_accepts(any_variant):
    env = environment(any_variant, built(any_variant).delivery_events.function)

    settings = EventsSettings.from_environment(resolved(env))

    assert set(env) <= set(events_contract.REQUIRED) | set(events_contract.OPTIONAL) | POWERTOOLS
    assert settings.ledger_retention_days == built(any_variant).ledger.retention_days
    assert settings.outbound_table == FILLED_IN  # campaign outcomes are counted: the outbound feature is on


# -- the constructs check their environment with the same contract at synth ----------------------------
def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(context=FEATURE_FLAGS), "ContractsTest")


def function_environment(stack: cdk.Stack, function: Any) -> dict[str, Any]:
    logical_id = stack.resolve(function.node.default_child.logical_id)
    variables: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"][logical_id]["Properties"][
        "Environment"
    ]["Variables"]
    return variables


def test_the_campaigns_construct_checks_the_environment_it_sets_with_the_handlers_contract():
    stack = _stack()
    table = dynamodb.Table(
        stack, "Table", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    )
    with mock.patch.object(CampaignsSettings, "from_environment", wraps=CampaignsSettings.from_environment) as contract:
        construct = Campaigns(
            stack,
            "Campaigns",
            outbound_queue=sqs.Queue(stack, "Queue"),
            outbound_table=table,
            contacts_table=table,
            encryption_key=kms.Key(stack, "Key"),
        )

    (checked,), _ = contract.call_args
    function = function_environment(stack, construct.function)
    assert set(checked) == set(function) - POWERTOOLS


def test_the_delivery_events_construct_checks_the_environment_it_sets_with_the_handlers_contract():
    stack = _stack()
    contacts = dynamodb.Table.from_table_name(stack, "Contacts", "contacts")
    with mock.patch.object(EventsSettings, "from_environment", wraps=EventsSettings.from_environment) as contract:
        construct = DeliveryEvents(
            stack, "DeliveryEvents", ledger=MessageLedger(stack, "Ledger"), contacts_table=contacts
        )

    (checked,), _ = contract.call_args
    function = function_environment(stack, construct.function)
    assert set(checked) == set(function) - POWERTOOLS
    assert checked["LEDGER_RETENTION_DAYS"] == "400" and "OUTBOUND_TABLE" not in checked
