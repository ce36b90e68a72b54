"""Conversations: the table, the flows parameter, the business event bus and its archive, the codes key.

Template checks run against the shared session synth (tests/infra/conftest.py): the
default variant (cdk.json: the appointment and support flows, a new bus), ``coded``
(``toll_free_self_managed``: the three ready flows, the transaction's codes too) and
``existing_bus_no_codes`` (an existing bus, no flow that takes a code). Construct checks build a small stack of
their own, without the rule packs.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from tests.infra.synth import EXISTING_EVENT_BUS_NAME, FEATURE_FLAGS, Synthesized
from tests.infra.test_outbound import granting, props, role_statements
from tests.infra.test_template import arn_of, as_list
from two_way_sms.adapters.business_events import SOURCE as BUSINESS_EVENT_SOURCE
from two_way_sms.conversations.flows import flows_digest, flows_from_json, parse_flows
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms_cdk.constructs.conversations import ADVANCED_PARAMETER_BYTES, Conversations

INBOUND_ENVIRONMENT = {"FLOWS_PARAMETER", "FLOWS_DIGEST", "CONVERSATIONS_TABLE", "EVENT_BUS_NAME"}
SENDER_ENVIRONMENT = {"FLOWS_PARAMETER", "FLOWS_DIGEST", "CONVERSATIONS_TABLE"}
OUTPUTS = ("ConversationsTableName", "EventBusName", "EventBusArn")
EVENTS = "events.amazonaws.com"


# -- helpers ----------------------------------------------------------------------------------
@pytest.fixture
def coded(toll_free_self_managed: Synthesized) -> Synthesized:
    """A variant with every ready flow on: the transaction flow takes one-use codes."""
    return toll_free_self_managed


def built(synth: Synthesized) -> Conversations:
    return synth.stack.two_way_sms.conversations


def inbound(synth: Synthesized):
    return synth.stack.two_way_sms.inbound_processor


def sender(synth: Synthesized):
    return synth.stack.two_way_sms.outbound_sender


def environment(synth: Synthesized, function: Any) -> dict[str, Any]:
    return props(synth, function)["Environment"]["Variables"]


def statements_for(synth: Synthesized, function: Any, action: str) -> list[dict[str, Any]]:
    return granting(role_statements(synth, function.role), action)


def resources_granted(synth: Synthesized, function: Any, action: str) -> list[Any]:
    return [resource for s in statements_for(synth, function, action) for resource in as_list(s["Resource"])]


def key_statements(synth: Synthesized, key: kms.IKey) -> list[dict[str, Any]]:
    return synth.resources[synth.logical_id(key)]["Properties"]["KeyPolicy"]["Statement"]


def existing_bus_arn() -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":events:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":event-bus/{EXISTING_EVENT_BUS_NAME}",
            ],
        ]
    }


# -- the table ---------------------------------------------------------------------------------
def test_table_keys_conversations_by_customer_number_and_conversation_id(default):
    table = props(default, built(default).table)
    assert table["KeySchema"] == [
        {"AttributeName": "customer_number", "KeyType": "HASH"},
        {"AttributeName": "conversation_id", "KeyType": "RANGE"},
    ]
    assert table["AttributeDefinitions"] == [
        {"AttributeName": "customer_number", "AttributeType": "S"},
        {"AttributeName": "conversation_id", "AttributeType": "S"},
    ]


def test_table_expires_conversations_by_ttl_on_delete_at(default):
    assert props(default, built(default).table)["TimeToLiveSpecification"] == {
        "AttributeName": "delete_at",
        "Enabled": True,
    }


def test_table_is_on_demand_with_point_in_time_recovery_and_the_events_key(default):
    table = props(default, built(default).table)
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {
        "KMSMasterKeyId": arn_of(default.logical_id(default.stack.two_way_sms.events_key)),
        "SSEEnabled": True,
        "SSEType": "KMS",
    }


def test_table_follows_the_deletion_protection_setting(default):
    """cdk.json: deletion_protection false, so the table of conversations in progress goes with the stack."""
    table = default.resources[default.logical_id(built(default).table)]
    assert "DeletionProtectionEnabled" not in table["Properties"]
    assert table["DeletionPolicy"] == "Delete"


# -- the flows parameter -------------------------------------------------------------------------
def test_parameter_holds_the_configured_flows_as_json(coded):
    parameter = props(coded, built(coded).flows_parameter)
    assert parameter["Type"] == "String"
    assert "Name" not in parameter  # a generated name
    assert flows_from_json(parameter["Value"]) == parse_flows(READY_FLOWS)


def test_parameter_is_in_the_standard_tier_when_the_flows_fit_in_4_kb(default):
    assert props(default, built(default).flows_parameter)["Tier"] == "Standard"


def test_parameter_holds_only_the_flows_switched_on(existing_bus_no_codes):
    value = props(existing_bus_no_codes, built(existing_bus_no_codes).flows_parameter)["Value"]
    assert sorted(json.loads(value)) == ["appointment", "support"]


@pytest.mark.parametrize("function", [inbound, sender])
def test_both_functions_get_the_digest_of_the_flows_the_stack_deployed(default, function):
    value = props(default, built(default).flows_parameter)["Value"]

    assert environment(default, function(default).function)["FLOWS_DIGEST"] == flows_digest(value)


def test_a_refused_flows_parameter_raises_an_alarm(default):
    alarm = default.resources[default.logical_id(default.stack.two_way_sms.monitoring.alarms["flows-not-as-deployed"])]

    assert alarm["Properties"]["Metrics"][0]["MetricStat"]["Metric"]["MetricName"] == "FlowsNotAsDeployed"


# -- the event bus and its archive --------------------------------------------------------------
def test_new_bus_is_encrypted_with_the_events_key(default):
    bus = props(default, built(default).event_bus)
    assert bus["KmsKeyIdentifier"] == arn_of(default.logical_id(default.stack.two_way_sms.events_key))


def test_events_key_lets_eventbridge_use_it_for_the_bus_and_its_archive_only(default):
    bus_name = props(default, built(default).event_bus)["Name"]
    bus_arn = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":events:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":event-bus/{bus_name}",
            ],
        ]
    }
    statements = [
        s
        for s in key_statements(default, default.stack.two_way_sms.events_key)
        if s["Principal"] == {"Service": EVENTS}
    ]
    data_key_statements = [
        s
        for s in statements
        if "kms:GenerateDataKey" in as_list(s["Action"]) and "aws:events:event-bus:arn" in json.dumps(s["Condition"])
    ]
    assert data_key_statements, "no statement lets EventBridge encrypt the bus"
    for statement in data_key_statements:
        assert statement["Condition"]["StringEquals"]["kms:EncryptionContext:aws:events:event-bus:arn"] == bus_arn
    (archive,) = [s for s in statements if s.get("Sid") == "AllowEventBridgeArchive"]
    assert set(archive["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt", "kms:ReEncrypt*"}
    for statement in statements:  # every EventBridge statement has a condition: no other account's bus
        assert statement.get("Condition"), statement


def test_archive_keeps_every_event_of_the_bus_30_days_encrypted_with_the_events_key(default):
    archive = props(default, built(default).archive)
    assert archive["SourceArn"] == arn_of(default.logical_id(built(default).event_bus))
    assert archive["RetentionDays"] == 30
    assert "EventPattern" not in archive
    assert archive["KmsKeyIdentifier"] == arn_of(default.logical_id(default.stack.two_way_sms.events_key))


def test_existing_bus_is_used_as_it_is_with_no_bus_or_archive_created(existing_bus_no_codes):
    synth = existing_bus_no_codes
    assert synth.of_type("AWS::Events::EventBus") == {}
    assert synth.of_type("AWS::Events::Archive") == {}
    assert built(synth).archive is None
    assert environment(synth, inbound(synth).function)["EVENT_BUS_NAME"] == EXISTING_EVENT_BUS_NAME


def test_inbound_function_may_put_events_on_the_existing_bus(existing_bus_no_codes):
    synth = existing_bus_no_codes
    assert resources_granted(synth, inbound(synth).function, "events:PutEvents") == [existing_bus_arn()]


# -- the codes key -------------------------------------------------------------------------------
def test_codes_key_is_an_hmac_key_kept_on_delete_when_a_flow_takes_a_code(coded):
    key = coded.resources[coded.logical_id(built(coded).codes_key)]
    assert (key["Properties"]["KeySpec"], key["Properties"]["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    assert key["DeletionPolicy"] == "Retain"


def test_no_codes_key_without_a_flow_that_takes_a_code(existing_bus_no_codes):
    synth = existing_bus_no_codes
    assert built(synth).codes_key is None
    assert not [k for k in synth.of_type("AWS::KMS::Key").values() if k["Properties"].get("KeySpec") == "HMAC_256"]
    for function in (sender(synth).function, inbound(synth).function):
        assert "CODES_KEY_ID" not in environment(synth, function)
        assert statements_for(synth, function, "kms:GenerateMac") == []


def test_the_sender_and_the_inbound_function_may_generate_macs_with_the_codes_key(coded):
    """The sender derives a code to send it, the inbound function derives it again to check an answer."""
    key_arn = arn_of(coded.logical_id(built(coded).codes_key))
    assert resources_granted(coded, sender(coded).function, "kms:GenerateMac") == [key_arn]
    assert resources_granted(coded, inbound(coded).function, "kms:GenerateMac") == [key_arn]
    for function in (sender(coded).function, inbound(coded).function):
        assert statements_for(coded, function, "kms:VerifyMac") == []


def test_the_codes_key_policy_denies_macs_to_every_principal_but_those_two_roles(coded):
    denied = [s for s in key_statements(coded, built(coded).codes_key) if s["Effect"] == "Deny"]
    assert denied == [
        {
            "Sid": "DenyCodesButToTheirFunctions",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ["kms:GenerateMac", "kms:VerifyMac"],
            "Resource": "*",
            "Condition": {
                "ArnNotEquals": {"aws:PrincipalArn": denied[0]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]}
            },
        }
    ]
    exempt = denied[0]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    assert sorted(map(json.dumps, exempt)) == sorted(
        json.dumps(arn_of(coded.logical_id(function.role)))
        for function in (sender(coded).function, inbound(coded).function)
    )


# -- the functions' environment and grants ---------------------------------------------------------
def test_inbound_function_names_the_flows_parameter_table_and_bus(coded):
    env = environment(coded, inbound(coded).function)
    assert INBOUND_ENVIRONMENT <= set(env)
    assert env["FLOWS_PARAMETER"] == {"Ref": coded.logical_id(built(coded).flows_parameter)}
    assert env["CONVERSATIONS_TABLE"] == {"Ref": coded.logical_id(built(coded).table)}
    assert env["EVENT_BUS_NAME"] == {"Ref": coded.logical_id(built(coded).event_bus)}
    assert env["CODES_KEY_ID"] == {"Ref": coded.logical_id(built(coded).codes_key)}


def test_sender_names_the_flows_parameter_table_and_codes_key(coded):
    env = environment(coded, sender(coded).function)
    assert SENDER_ENVIRONMENT <= set(env)
    assert env["FLOWS_PARAMETER"] == {"Ref": coded.logical_id(built(coded).flows_parameter)}
    assert env["CONVERSATIONS_TABLE"] == {"Ref": coded.logical_id(built(coded).table)}
    assert env["CODES_KEY_ID"] == {"Ref": coded.logical_id(built(coded).codes_key)}
    assert "EVENT_BUS_NAME" not in env


def test_inbound_function_may_put_events_on_the_bus_and_the_sender_may_not(default):
    bus_arn = arn_of(default.logical_id(built(default).event_bus))
    assert resources_granted(default, inbound(default).function, "events:PutEvents") == [bus_arn]
    assert statements_for(default, sender(default).function, "events:PutEvents") == []


def test_the_bus_policy_denies_the_packages_events_to_every_principal_but_the_inbound_role(default):
    bus = default.resources[default.logical_id(built(default).event_bus)]["Properties"]
    assert bus["Policy"]["Version"] == "2012-10-17"
    (statement,) = bus["Policy"]["Statement"]
    assert statement == {
        "Sid": "OnlyTheStackPublishesItsEvents",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "events:PutEvents",
        "Resource": statement["Resource"],
        "Condition": {
            "StringEquals": {"events:source": BUSINESS_EVENT_SOURCE},
            "ArnNotEquals": {"aws:PrincipalArn": [arn_of(default.logical_id(inbound(default).function.role))]},
        },
    }
    bus_name = bus["Name"]
    assert statement["Resource"]["Fn::Join"][1][-1] == f":event-bus/{bus_name}"  # this bus, by name: no cycle
    assert default.of_type("AWS::Events::EventBusPolicy") == {}


def test_an_existing_bus_gets_no_policy_from_the_stack(existing_bus_no_codes):
    assert existing_bus_no_codes.of_type("AWS::Events::EventBus") == {}
    assert existing_bus_no_codes.of_type("AWS::Events::EventBusPolicy") == {}


def test_inbound_function_reads_and_writes_conversations_and_the_sender_only_puts_them(default):
    table_arn = arn_of(default.logical_id(built(default).table))
    for action in ("dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem"):
        assert table_arn in resources_granted(default, inbound(default).function, action), action
    assert table_arn in resources_granted(default, sender(default).function, "dynamodb:PutItem")
    for action in ("dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
        assert table_arn not in resources_granted(default, sender(default).function, action), action


def test_both_functions_may_read_the_flows_parameter(default):
    parameter = default.logical_id(built(default).flows_parameter)
    for function in (inbound(default).function, sender(default).function):
        resources = json.dumps(resources_granted(default, function, "ssm:GetParameter"))
        assert json.dumps({"Ref": parameter}) in resources, function.node.path


@pytest.mark.parametrize("name", OUTPUTS)
def test_stack_outputs_the_conversations_table_and_the_bus(default, name):
    assert name in default.template.to_json()["Outputs"]


def test_stack_outputs_the_existing_bus(existing_bus_no_codes):
    outputs = existing_bus_no_codes.template.to_json()["Outputs"]
    assert outputs["EventBusName"]["Value"] == EXISTING_EVENT_BUS_NAME
    assert outputs["EventBusArn"]["Value"] == existing_bus_arn()


# -- the construct on its own (no rule packs) ------------------------------------------------------
def _stack() -> tuple[cdk.Stack, kms.Key]:
    stack = cdk.Stack(cdk.App(context=FEATURE_FLAGS), "ConversationsTest")
    return stack, kms.Key(stack, "Key", enable_key_rotation=True)


def test_existing_event_bus_and_event_bus_props_together_are_refused():
    stack, key = _stack()
    with pytest.raises(ValueError, match="existing_event_bus and event_bus_props are exclusive"):
        Conversations(
            stack,
            "Conversations",
            flows={},
            encryption_key=key,
            existing_event_bus=events.EventBus.from_event_bus_name(stack, "Bus", "orders"),
            event_bus_props=events.EventBusProps(description="mine"),
        )


def test_the_bus_its_archive_and_an_empty_parameter_exist_with_no_flow():
    stack, key = _stack()
    conversations = Conversations(stack, "Conversations", flows={}, encryption_key=key)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Events::EventBus", 1)
    template.resource_count_is("AWS::Events::Archive", 1)
    template.has_resource_properties("AWS::SSM::Parameter", {"Value": "{}", "Tier": "Standard"})
    assert conversations.codes_key is None
    assert set(conversations.inbound_environment()) == INBOUND_ENVIRONMENT
    assert set(conversations.sender_environment()) == SENDER_ENVIRONMENT


def test_event_bus_props_shape_the_new_bus_and_archive_retention_none_leaves_out_the_archive():
    stack, key = _stack()
    Conversations(
        stack,
        "Conversations",
        flows={},
        encryption_key=key,
        archive_retention=None,
        event_bus_props=events.EventBusProps(description="Clinic events"),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Events::EventBus", {"Description": "Clinic events"})
    template.resource_count_is("AWS::Events::Archive", 0)


def test_flows_over_4_kb_take_the_advanced_tier_and_over_8_kb_fail_naming_the_size():
    def flows(count: int) -> dict[str, Any]:  # 1,000-character prompts: about 1.1 KB of JSON a flow
        return parse_flows(
            {
                f"f{i}": {
                    "start": "ask",
                    "timeout_seconds": 3600,
                    "steps": {"ask": {"prompt": "x" * 1000, "answers": [{"match": "1", "close": True}]}},
                }
                for i in range(count)
            }
        )

    stack, key = _stack()
    Conversations(stack, "Conversations", flows=MappingProxyType(flows(5)), encryption_key=key)
    Template.from_stack(stack).has_resource_properties("AWS::SSM::Parameter", {"Tier": "Advanced"})

    stack, key = _stack()
    with pytest.raises(
        ValueError,
        match=rf"the flows take \d+ bytes of JSON, "
        rf"more than the {ADVANCED_PARAMETER_BYTES}",
    ):
        Conversations(stack, "Conversations", flows=flows(8), encryption_key=key)


def test_grants_reach_any_grantee():
    stack, key = _stack()
    conversations = Conversations(stack, "Conversations", flows=parse_flows(READY_FLOWS), encryption_key=key)
    role = iam.Role(stack, "App", assumed_by=iam.AccountRootPrincipal())
    conversations.grant_open(role)
    statements = Template.from_stack(stack).to_json()["Resources"]
    policy = next(r for r in statements.values() if r["Type"] == "AWS::IAM::Policy")
    actions = {a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in as_list(s["Action"])}
    assert {"dynamodb:PutItem", "kms:GenerateMac", "ssm:GetParameter"} <= actions
    assert "events:PutEvents" not in actions


def test_archive_retention_shorter_than_a_day_is_refused():
    stack, key = _stack()
    with pytest.raises(Exception, match="day"):
        Conversations(stack, "Conversations", flows={}, encryption_key=key, archive_retention=Duration.hours(5))


# -- your own handlers -----------------------------------------------------------------------------
def test_extensions_are_a_layer_of_the_inbound_function_which_imports_their_module(existing_bus_no_codes):
    function = props(existing_bus_no_codes, inbound(existing_bus_no_codes).function)
    layer = existing_bus_no_codes.stack.two_way_sms.extensions

    assert function["Environment"]["Variables"]["EXTENSIONS_MODULE"] == "clinic_handlers"
    assert {"Ref": existing_bus_no_codes.logical_id(layer)} in function["Layers"]


def test_without_extensions_there_is_no_layer_and_no_module_to_import(default):
    assert default.stack.two_way_sms.extensions is None
    assert "EXTENSIONS_MODULE" not in environment(default, inbound(default).function)
