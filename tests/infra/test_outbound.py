"""Outbound messaging: the sender, the campaigns, their IAM scoping, and the outbound config.

Template checks run against the shared session synth (tests/infra/conftest.py), the default
variant (a new SIMULATOR number) unless a test names another. Construct checks build a
small stack of their own; config checks call ``parse_config`` with no synth at all.
"""

from __future__ import annotations

import copy
import json
import re
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template

from tests.infra.synth import FAIL_SYNTH_ON_VALIDATION_ERRORS, FEATURE_FLAGS, Synthesized, read_findings
from tests.infra.test_config import config
from tests.infra.test_template import arn_of, as_list, logical_id_of_type, same_items
from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.outbound.templates import parse_template, templates_from_json
from two_way_sms_cdk.config import ConfigError, parse_config
from two_way_sms_cdk.constructs.campaigns import Campaigns
from two_way_sms_cdk.constructs.outbound_sender import MAX_SETTINGS_BYTES, OutboundSender, sized_max_concurrency
from two_way_sms_cdk.nag import register_rule_packs

SENDER_ENVIRONMENT = {
    "OUTBOUND_QUEUE_URL",
    "OUTBOUND_TABLE",
    "CONTACTS_TABLE",
    "LEDGER_TABLE",
    "LEDGER_RETENTION_DAYS",
    "CONFIGURATION_SET",
    "SENDER_SETTINGS",
    "TEMPLATES",
    "SCHEDULE_GROUP",
    "RELEASE_TARGET_ARN",
    "SCHEDULER_ROLE_ARN",
    "SCHEDULE_DEAD_LETTER_QUEUE_ARN",
    "DEAD_LETTER_QUEUE_URL",
    "MONTHLY_BUDGET_USD",
    "BUDGET_HARD_STOP",
}
CAMPAIGNS_ENVIRONMENT = {
    "OUTBOUND_QUEUE_URL",
    "OUTBOUND_TABLE",
    "CONTACTS_TABLE",
    "TEMPLATES",
    "SCHEDULE_GROUP",
    "SCHEDULER_ROLE_ARN",
    "SCHEDULE_DEAD_LETTER_QUEUE_ARN",
    "DEAD_LETTER_QUEUE_URL",
}
OUTPUTS = (
    "OutboundQueueUrl",
    "OutboundDeadLetterQueueUrl",
    "OutboundTableName",
    "SenderFunctionName",
    "CampaignsFunctionArn",
    "ScheduleGroupName",
    "SchedulerRoleArn",
    "ScheduleDeadLetterQueueArn",
    "AudienceBucketName",
)
PASSED_TO_SCHEDULER = {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


# -- helpers ----------------------------------------------------------------------------------
def sender(synth: Synthesized):
    return synth.stack.two_way_sms.outbound_sender


def campaigns(synth: Synthesized):
    return synth.stack.two_way_sms.campaigns


def props(synth: Synthesized, construct: Any) -> dict[str, Any]:
    return synth.resources[synth.logical_id(construct)]["Properties"]


def environment(synth: Synthesized, function: Any) -> dict[str, Any]:
    return props(synth, function)["Environment"]["Variables"]


def role_statements(synth: Synthesized, role: iam.IRole) -> list[dict[str, Any]]:
    """Every statement of the identity policies attached to ``role``."""
    role_ref = {"Ref": synth.logical_id(role)}
    found = []
    for resource in synth.resources.values():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and role_ref in resource[
            "Properties"
        ].get("Roles", []):
            found += resource["Properties"]["PolicyDocument"]["Statement"]
    return found


def granting(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [s for s in statements if action in as_list(s["Action"])]


def roles_granted(synth: Synthesized, action: str) -> set[str]:
    """Logical ids of the roles whose policies allow ``action``."""
    roles = set()
    for resource in synth.resources.values():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and granting(
            resource["Properties"]["PolicyDocument"]["Statement"], action
        ):
            roles |= {ref["Ref"] for ref in resource["Properties"].get("Roles", [])}
    return roles


def schedules_of_the_group(synth: Synthesized) -> dict[str, Any]:
    group_name = props(synth, campaigns(synth).schedule_group)["Name"]
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":scheduler:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":schedule/{group_name}/*",
            ],
        ]
    }


def settings_from(value: Any) -> tuple[SenderSettings, Any]:
    """The SenderSettings in an environment value, and what CloudFormation fills in as the identity."""
    if isinstance(value, str):
        return SenderSettings.from_json(value), value
    delimiter, parts = value["Fn::Join"]
    (identity,) = [part for part in parts if not isinstance(part, str)]
    text = delimiter.join(part if isinstance(part, str) else "IDENTITY" for part in parts)
    return SenderSettings.from_json(text), identity


# -- the outbound queue and its dead-letter queue ------------------------------------------------
def test_a_promotional_template_on_the_simulator_number_is_flagged_at_synth(
    default, existing_bus_no_codes, toll_free_self_managed
):
    def simulator_warnings(synthesized):
        return Annotations.from_stack(synthesized.stack).find_warning(
            "*", Match.string_like_regexp("PROMOTIONAL, and a SIMULATOR number")
        )

    assert len(simulator_warnings(existing_bus_no_codes)) == 1  # flu_shot_offer on the simulator
    assert simulator_warnings(toll_free_self_managed) == []  # the same offer on a toll-free number
    assert simulator_warnings(default) == []  # cdk.json has no promotional template: a clean first synth


def test_outbound_queues_are_encrypted_with_the_outbound_key(default):
    key = arn_of(default.logical_id(default.stack.two_way_sms.outbound_key))
    built = campaigns(default)
    for queue in (
        sender(default).queue,
        sender(default).dead_letter_queue,
        built.dead_letter_queue,
        built.schedule_dead_letter_queue,
    ):
        assert props(default, queue)["KmsMasterKeyId"] == key, queue.node.path


def test_outbound_queue_redrives_to_its_dead_letter_queue_after_five_receives(default):
    queue = props(default, sender(default).queue)
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": arn_of(default.logical_id(sender(default).dead_letter_queue)),
        "maxReceiveCount": 5,
    }


def test_dead_letter_queues_keep_messages_14_days(default):
    built = campaigns(default)
    for queue in (sender(default).dead_letter_queue, built.dead_letter_queue, built.schedule_dead_letter_queue):
        assert props(default, queue)["MessageRetentionPeriod"] == 14 * 86400, queue.node.path


def test_outbound_queue_visibility_timeout_is_six_times_the_sender_timeout(default):
    timeout = props(default, sender(default).function)["Timeout"]
    assert props(default, sender(default).queue)["VisibilityTimeout"] == 6 * timeout


# -- the outbound table ---------------------------------------------------------------------------
def test_outbound_table_has_the_contract_keys_ttl_and_recovery_and_is_kept(default):
    table_id = default.logical_id(sender(default).table)
    table = default.resources[table_id]
    properties = table["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert properties["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["KMSMasterKeyId"] == arn_of(
        default.logical_id(default.stack.two_way_sms.outbound_key)
    )
    assert properties["DeletionProtectionEnabled"] is True
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


# -- the sender function ----------------------------------------------------------------------------
def sender_mapping(synth: Synthesized) -> dict[str, Any]:
    return synth.resources[synth.logical_id(sender(synth).event_source_mapping)]["Properties"]


def test_sender_reads_the_outbound_queue_in_batches_of_ten_reporting_item_failures(default):
    mapping = sender_mapping(default)
    assert mapping["EventSourceArn"] == arn_of(default.logical_id(sender(default).queue))
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_sender_runs_at_most_two_batches_at_once_and_reserves_as_many(default):
    assert sender_mapping(default)["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert props(default, sender(default).function)["ReservedConcurrentExecutions"] == 2


@pytest.mark.parametrize(
    ("mps", "batches"), [(1, 2), (3, 2), (10, 2), (25, 2), (26, 3), (100, 8), (1000, 78), (20_000, 1000)]
)
def test_sender_concurrency_is_sized_from_the_mps_when_not_set(mps, batches):
    # ceil(mps x 0.07 s a text / 0.9 of the time sending): the default 1 MPS stack's 2, a short code's 8
    assert sized_max_concurrency(mps) == batches


def test_sender_environment_has_every_variable_of_the_contract(default):
    env = environment(default, sender(default).function)
    assert SENDER_ENVIRONMENT <= set(env)
    built = default.stack.two_way_sms
    assert env["OUTBOUND_QUEUE_URL"] == {"Ref": default.logical_id(sender(default).queue)}
    assert env["OUTBOUND_TABLE"] == {"Ref": default.logical_id(sender(default).table)}
    assert env["CONTACTS_TABLE"] == {"Ref": default.logical_id(built.inbound_processor.contacts_table)}
    assert "IDEMPOTENCY_TABLE" not in env  # each send is claimed in the outbound table instead
    assert env["LEDGER_TABLE"] == {"Ref": default.logical_id(built.ledger.table)}
    assert env["LEDGER_RETENTION_DAYS"] == "400"
    assert env["CONFIGURATION_SET"] == {"Ref": logical_id_of_type(default, "AWS::SMSVOICE::ConfigurationSet")}


def test_sender_releases_held_requests_through_the_campaigns_function_and_its_schedule_group(default):
    env = environment(default, sender(default).function)
    built = campaigns(default)
    assert env["RELEASE_TARGET_ARN"] == arn_of(default.logical_id(built.function))
    assert env["SCHEDULER_ROLE_ARN"] == arn_of(default.logical_id(built.scheduler_role))
    assert env["SCHEDULE_DEAD_LETTER_QUEUE_ARN"] == arn_of(default.logical_id(built.schedule_dead_letter_queue))
    assert env["SCHEDULE_GROUP"] == props(default, built.schedule_group)["Name"]


def test_sender_settings_are_the_configured_ones_sent_from_the_new_number(default):
    settings, identity = settings_from(environment(default, sender(default).function)["SENDER_SETTINGS"])
    assert identity == arn_of(logical_id_of_type(default, "AWS::SMSVOICE::PhoneNumber"))
    expected = default.config.outbound.sender_settings("IDENTITY")
    assert settings == expected
    assert settings.mps == 1.0  # a SIMULATOR number's throughput


def test_sender_sends_from_the_pool_of_an_existing_pool(existing_pool):
    _, identity = settings_from(environment(existing_pool, sender(existing_pool).function)["SENDER_SETTINGS"])
    assert identity == {
        "Fn::GetAtt": [logical_id_of_type(existing_pool, "Custom::TwoWaySmsOrigination"), "OriginationArn"]
    }


def test_a_toll_free_number_is_paced_at_three_parts_per_second(toll_free_self_managed):
    value = environment(toll_free_self_managed, sender(toll_free_self_managed).function)["SENDER_SETTINGS"]
    assert settings_from(value)[0].mps == 3.0


def test_both_functions_get_the_configured_templates(default):
    for function in (sender(default).function, campaigns(default).function):
        templates = templates_from_json(environment(default, function)["TEMPLATES"])
        assert templates == dict(default.config.outbound.templates), function.node.path


def test_sender_and_campaigns_environments_fit_in_lambdas_4_kb(default):
    for function in (sender(default).function, campaigns(default).function):
        env = environment(default, function)
        size = sum(len(name) + len(json.dumps(value)) for name, value in env.items())
        assert size < 4096 - 1024, function.node.path  # room for the values CloudFormation fills in


# -- the campaigns function -------------------------------------------------------------------------
def test_campaigns_environment_has_every_variable_of_the_contract_and_not_its_own_arn(default):
    built = campaigns(default)
    env = environment(default, built.function)
    assert CAMPAIGNS_ENVIRONMENT <= set(env)
    assert "SELF_ARN" not in env
    function_id = default.logical_id(built.function)
    assert function_id not in json.dumps(env)  # a function's environment cannot name its own ARN
    assert env["OUTBOUND_QUEUE_URL"] == {"Ref": default.logical_id(sender(default).queue)}
    assert env["OUTBOUND_TABLE"] == {"Ref": default.logical_id(sender(default).table)}
    assert env["SCHEDULE_GROUP"] == props(default, built.schedule_group)["Name"]


def test_campaigns_function_knows_the_senders_daily_limit(default):
    value = environment(default, campaigns(default).function)["SENDER_SETTINGS"]
    assert settings_from(value)[0].promotional_daily_limit == default.config.outbound.promotional_daily_limit


def test_both_functions_park_what_can_never_run_in_their_own_dead_letter_queue(default):
    for built in (sender(default), campaigns(default)):
        env = environment(default, built.function)
        assert env["DEAD_LETTER_QUEUE_URL"] == {"Ref": default.logical_id(built.dead_letter_queue)}
        dead_letters = arn_of(default.logical_id(built.dead_letter_queue))
        (statement,) = [
            s
            for s in granting(role_statements(default, built.function.role), "sqs:SendMessage")
            if dead_letters in as_list(s["Resource"])
        ]
        assert "sqs:ReceiveMessage" not in as_list(statement["Action"])  # it parks; it never reads them


def test_the_sender_stops_at_the_monthly_budget_and_reads_the_months_spend_from_the_ledger(default):
    env = environment(default, sender(default).function)
    assert (env["MONTHLY_BUDGET_USD"], env["BUDGET_HARD_STOP"]) == ("100", "false")
    ledger = arn_of(default.logical_id(default.stack.two_way_sms.ledger.table))
    reads = [
        s
        for s in granting(role_statements(default, sender(default).function.role), "dynamodb:GetItem")
        if ledger in as_list(s["Resource"])
    ]
    assert reads  # the SPEND#<yyyy-mm> item


def test_a_recurring_schedule_tries_the_budget_holds_every_quarter_hour(default):
    built = campaigns(default)
    (schedule,) = [r["Properties"] for r in default.of_type("AWS::Scheduler::Schedule").values()]
    assert schedule["ScheduleExpression"] == "rate(15 minutes)"
    assert schedule["GroupName"] == props(default, built.schedule_group)["Name"]
    (resource,) = default.of_type("AWS::Scheduler::Schedule").values()
    assert default.logical_id(built.schedule_group) in resource["DependsOn"]
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == arn_of(default.logical_id(built.function))
    assert target["RoleArn"] == arn_of(default.logical_id(built.scheduler_role))
    assert json.loads(target["Input"]) == {"kind": "check-budget"}
    assert target["DeadLetterConfig"] == {"Arn": arn_of(default.logical_id(built.schedule_dead_letter_queue))}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 900, "MaximumRetryAttempts": 2}


def test_campaigns_function_retries_twice_then_sends_the_event_to_its_dead_letter_queue(default):
    built = campaigns(default)
    (invoke_config,) = [
        r["Properties"]
        for r in default.of_type("AWS::Lambda::EventInvokeConfig").values()
        if r["Properties"]["FunctionName"] == {"Ref": default.logical_id(built.function)}
    ]
    assert invoke_config["MaximumRetryAttempts"] == 2
    assert invoke_config["MaximumEventAgeInSeconds"] == 6 * 3600
    assert invoke_config["DestinationConfig"] == {
        "OnFailure": {"Destination": arn_of(default.logical_id(built.dead_letter_queue))}
    }


# -- IAM --------------------------------------------------------------------------------------------
def test_sender_may_send_only_from_the_number_through_the_configuration_set(default):
    (statement,) = granting(role_statements(default, sender(default).function.role), "sms-voice:SendTextMessage")
    assert as_list(statement["Action"]) == ["sms-voice:SendTextMessage"]
    assert same_items(
        statement["Resource"],
        [
            arn_of(logical_id_of_type(default, "AWS::SMSVOICE::PhoneNumber")),
            arn_of(logical_id_of_type(default, "AWS::SMSVOICE::ConfigurationSet")),
            arn_of(logical_id_of_type(default, "AWS::SMSVOICE::ProtectConfiguration")),
        ],
    )


def test_only_the_sender_and_campaigns_create_schedules_and_only_in_the_schedule_group(default):
    roles = {default.logical_id(sender(default).function.role), default.logical_id(campaigns(default).function.role)}
    assert roles_granted(default, "scheduler:CreateSchedule") == roles
    for role in (sender(default).function.role, campaigns(default).function.role):
        (statement,) = granting(role_statements(default, role), "scheduler:CreateSchedule")
        assert as_list(statement["Action"]) == ["scheduler:CreateSchedule"]
        assert statement["Resource"] == schedules_of_the_group(default)


def test_the_scheduler_role_is_passed_only_to_eventbridge_scheduler(default):
    scheduler_role = arn_of(default.logical_id(campaigns(default).scheduler_role))
    for role in (sender(default).function.role, campaigns(default).function.role):
        (statement,) = granting(role_statements(default, role), "iam:PassRole")
        assert (statement["Resource"], statement["Condition"]) == (scheduler_role, PASSED_TO_SCHEDULER)


def test_scheduler_role_trusts_only_schedules_of_this_account_in_the_group(default):
    built = campaigns(default)
    (statement,) = props(default, built.scheduler_role)["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnEquals": {"aws:SourceArn": arn_of(default.logical_id(built.schedule_group))},
    }


def test_scheduler_role_may_only_invoke_the_campaigns_function_and_park_failures(default):
    built = campaigns(default)
    statements = role_statements(default, built.scheduler_role)
    by_action = {action: s["Resource"] for s in statements for action in as_list(s["Action"])}
    assert by_action == {
        "lambda:InvokeFunction": arn_of(default.logical_id(built.function)),
        "sqs:SendMessage": arn_of(default.logical_id(built.schedule_dead_letter_queue)),
        "kms:GenerateDataKey": arn_of(default.logical_id(default.stack.two_way_sms.outbound_key)),
        "kms:Decrypt": arn_of(default.logical_id(default.stack.two_way_sms.outbound_key)),
    }
    assert roles_granted(default, "lambda:InvokeFunction") == {default.logical_id(built.scheduler_role)}


def test_campaigns_function_reads_contacts_but_does_not_write_them(default):
    contacts = arn_of(default.logical_id(default.stack.two_way_sms.inbound_processor.contacts_table))
    statements = role_statements(default, campaigns(default).function.role)
    on_contacts = [s for s in statements if contacts in as_list(s["Resource"])]
    actions = {a for s in on_contacts for a in as_list(s["Action"])}
    assert "dynamodb:GetItem" in actions and "dynamodb:Query" in actions
    assert not actions & {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


def test_campaigns_function_only_reads_the_audience_bucket(default):
    bucket = arn_of(default.logical_id(campaigns(default).audience_bucket))
    statements = role_statements(default, campaigns(default).function.role)
    s3_actions = {a for s in statements for a in as_list(s["Action"]) if a.startswith("s3:")}
    assert s3_actions == {"s3:GetObject", "s3:ListBucket"}
    (get,) = granting(statements, "s3:GetObject")
    assert get["Resource"] == {"Fn::Join": ["", [bucket, "/*"]]}


def test_events_function_may_only_update_items_of_the_outbound_table(default):
    table = arn_of(default.logical_id(sender(default).table))
    statements = role_statements(default, default.stack.two_way_sms.delivery_events.function.role)
    on_table = [s for s in statements if table in as_list(s["Resource"])]
    assert {a for s in on_table for a in as_list(s["Action"])} == {"dynamodb:UpdateItem"}
    env = environment(default, default.stack.two_way_sms.delivery_events.function)
    assert env["OUTBOUND_TABLE"] == {"Ref": default.logical_id(sender(default).table)}


# -- the audience bucket ------------------------------------------------------------------------
def test_audience_bucket_is_kms_encrypted_versioned_private_and_kept(default):
    bucket_id = default.logical_id(campaigns(default).audience_bucket)
    bucket = default.resources[bucket_id]
    properties = bucket["Properties"]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": arn_of(default.logical_id(default.stack.two_way_sms.outbound_key)),
    }
    assert rule["BucketKeyEnabled"] is True
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_audience_bucket_accepts_https_only(default):
    bucket_ref = {"Ref": default.logical_id(campaigns(default).audience_bucket)}
    (policy,) = [
        p["Properties"]
        for p in default.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == bucket_ref
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["PolicyDocument"]["Statement"]
    )


def test_audiences_expire_after_90_days_and_log_access_next_to_the_archive(default):
    properties = props(default, campaigns(default).audience_bucket)
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert (rule["ExpirationInDays"], rule["NoncurrentVersionExpiration"], rule["Status"]) == (
        90,
        {"NoncurrentDays": 7},
        "Enabled",
    )
    assert properties["LoggingConfiguration"] == {
        "DestinationBucketName": {
            "Ref": default.logical_id(default.stack.two_way_sms.event_archive.access_logs_bucket)
        },
        "LogFilePrefix": "audiences/",
    }


# -- monitoring and outputs -----------------------------------------------------------------------
def test_new_dead_letter_queues_are_alarmed_and_functions_too_when_the_config_asks(default, toll_free_self_managed):
    alarms = default.stack.two_way_sms.monitoring.alarms
    assert {
        "dead-letters:outbound sending",
        "dead-letters:campaign invocations",
        "dead-letters:campaign schedules",
        "outbound-throttled",
    } <= set(alarms)
    assert not [name for name in alarms if name.startswith("function-errors:")]
    asked = toll_free_self_managed.stack.two_way_sms.monitoring.alarms
    assert {"function-errors:sender", "function-errors:campaigns"} <= set(asked)


def test_sustained_throttling_of_the_sender_raises_an_alarm(default):
    alarm = default.resources[default.logical_id(default.stack.two_way_sms.monitoring.alarms["outbound-throttled"])]
    properties = alarm["Properties"]
    (metric,) = properties["Metrics"]
    assert metric["MetricStat"]["Metric"]["MetricName"] == "OutboundThrottled"
    assert (metric["MetricStat"]["Stat"], metric["MetricStat"]["Period"]) == ("Sum", 300)
    assert (properties["Threshold"], properties["EvaluationPeriods"], properties["DatapointsToAlarm"]) == (1, 3, 3)


@pytest.mark.parametrize("name", OUTPUTS)
def test_stack_outputs_what_the_cli_reads(default, name):
    assert name in default.template.to_json()["Outputs"]


# -- the constructs on their own (no rule packs) ------------------------------------------------------
def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(context=FEATURE_FLAGS), "OutboundTest")


def test_settings_and_templates_too_big_for_the_environment_fail_naming_the_size():
    stack = _stack()
    settings = SenderSettings(origination_identity="placeholder", mps=1.0)
    templates = {f"t{i}": parse_template(f"t{i}", "x" * 400) for i in range(MAX_SETTINGS_BYTES // 400)}
    with pytest.raises(ValueError, match=rf"take \d+ bytes, more than the {MAX_SETTINGS_BYTES} that fit"):
        OutboundSender(
            stack,
            "Sender",
            number=SimpleNamespace(origination_arn="arn:aws:sms-voice:x"),
            configuration_set=None,
            contacts_table=None,
            ledger=None,
            settings=settings,
            templates=templates,
        )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"batch_size": 11}, "batch_size 11 must be 1-10"),
        ({"max_concurrency": 1}, "max_concurrency 1 must be 2-1,000"),
        ({"timeout": Duration.minutes(16)}, "timeout 16 minutes must be 1 second to 15 minutes"),
        ({"timeout": Duration.seconds(15)}, "timeout 15 seconds must be at least 20 seconds for batches of 10"),
        ({"monthly_budget_usd": 0}, "monthly_budget_usd 0 must be a positive number of dollars"),
        ({"monthly_budget_usd": float("inf")}, "monthly_budget_usd inf must be a positive number of dollars"),
        ({"monthly_budget_usd": None, "budget_hard_stop": True}, "budget_hard_stop needs a monthly_budget_usd"),
        ({"budget_hard_stop": "yes"}, "budget_hard_stop 'yes' must be true or false"),
    ],
)
def test_invalid_sender_props_fail_early_naming_the_value(props, message):
    stack = _stack()
    with pytest.raises(ValueError, match=re.escape(message)):
        OutboundSender(
            stack,
            "Sender",
            number=SimpleNamespace(origination_arn="arn"),
            configuration_set=None,
            contacts_table=None,
            ledger=None,
            settings=SenderSettings(origination_identity="placeholder", mps=1.0),
            **props,
        )


def _campaign_inputs(stack: cdk.Stack) -> dict[str, Any]:
    key = kms.Key(stack, "Key")
    table = dynamodb.Table(
        stack, "Table", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    )
    return {
        "outbound_queue": sqs.Queue(stack, "Queue"),
        "outbound_table": table,
        "contacts_table": table,
        "encryption_key": key,
    }


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"retry_attempts": 3}, "retry_attempts 3 must be 0-2"),
        ({"max_event_age": Duration.hours(7)}, "max_event_age 7 hours must be 1 minute to 6 hours"),
        (
            {"audience_retention": Duration.hours(36)},
            "audience_retention 1 day 12 hours must be a whole number of days",
        ),
        ({"budget_check_interval": Duration.seconds(30)}, "budget_check_interval 30 seconds must be whole minutes"),
        (
            {"budget_check_interval": Duration.days(2)},
            "budget_check_interval 2 days must be whole minutes from 1 minute",
        ),
    ],
)
def test_invalid_campaigns_props_fail_early_naming_the_value(props, message):
    stack = _stack()
    with pytest.raises(ValueError, match=re.escape(message)):
        Campaigns(stack, "Campaigns", **_campaign_inputs(stack), **props)


@pytest.mark.parametrize(
    ("interval", "rate"),
    [
        (Duration.minutes(1), "rate(1 minute)"),
        (Duration.hours(1), "rate(1 hour)"),
        (Duration.minutes(90), "rate(90 minutes)"),
        (Duration.days(1), "rate(1 day)"),
    ],
)
def test_the_budget_check_runs_at_the_interval_given(interval, rate):
    stack = _stack()
    Campaigns(stack, "Campaigns", **_campaign_inputs(stack), budget_check_interval=interval)
    (schedule,) = Template.from_stack(stack).find_resources("AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == rate


def test_the_senders_budget_is_optional_and_may_stop_transactional_texts_too():
    environments = {}
    for name, budget in (
        ("None", {"monthly_budget_usd": None}),
        ("Hard", {"monthly_budget_usd": 12.5, "budget_hard_stop": True}),
    ):
        stack = _stack()
        key = kms.Key(stack, "Key")
        table = dynamodb.Table(
            stack, "Table", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
        )
        from two_way_sms_cdk.constructs.message_ledger import (
            MessageLedger,  # noqa: PLC0415  (only this test builds one)
        )

        number = SimpleNamespace(
            origination_arn="arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-1",
            grant_send=lambda *args: None,
        )
        configuration_set = SimpleNamespace(
            configuration_set_name="replies", send_resource_arns=(), configuration_set_arn="arn"
        )
        built = OutboundSender(
            stack,
            "Sender",
            number=number,
            configuration_set=configuration_set,
            contacts_table=table,
            ledger=MessageLedger(stack, "Ledger"),
            encryption_key=key,
            settings=SenderSettings(origination_identity="placeholder", mps=1.0),
            **budget,
        )
        built.add_release_schedules(
            target=lambda_.Function.from_function_arn(
                stack, "Target", "arn:aws:lambda:us-east-1:123456789012:function:campaigns"
            ),
            schedule_group=scheduler.ScheduleGroup.from_schedule_group_name(stack, "Group", "group"),
            scheduler_role=iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/scheduler"),
            dead_letter_queue=sqs.Queue.from_queue_arn(stack, "Dlq", "arn:aws:sqs:us-east-1:123456789012:dlq"),
        )
        function = Template.from_stack(stack).to_json()["Resources"][
            stack.resolve(built.function.node.default_child.logical_id)
        ]
        environments[name] = function["Properties"]["Environment"]["Variables"]
    assert "MONTHLY_BUDGET_USD" not in environments["None"] and "BUDGET_HARD_STOP" not in environments["None"]
    assert (environments["Hard"]["MONTHLY_BUDGET_USD"], environments["Hard"]["BUDGET_HARD_STOP"]) == ("12.5", "true")


def test_an_existing_audience_bucket_takes_no_new_bucket_settings():
    stack = _stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Mine", "my-audiences")
    with pytest.raises(
        ValueError,
        match=r"existing_audience_bucket or the new bucket's settings \['audience_"
        r"retention'\], not both",
    ):
        Campaigns(
            stack,
            "Campaigns",
            **_campaign_inputs(stack),
            existing_audience_bucket=bucket,
            audience_retention=Duration.days(30),
        )


@pytest.fixture(scope="module")
def standalone() -> tuple[cdk.Stack, Campaigns, iam.Role]:
    """Campaigns with an existing audience bucket, and an application role granted what the client needs."""
    stack = _stack()
    built = Campaigns(
        stack,
        "Campaigns",
        **_campaign_inputs(stack),
        existing_audience_bucket=s3.Bucket.from_bucket_name(stack, "Mine", "my-audiences"),
    )
    application = iam.Role(stack, "Application", assumed_by=iam.AccountRootPrincipal())
    built.grant_schedule_campaigns(application)
    built.grant_upload_audiences(application)
    return stack, built, application


def test_an_existing_audience_bucket_is_read_and_no_bucket_is_created(standalone):
    stack, built, _ = standalone
    template = Template.from_stack(stack).to_json()["Resources"]
    assert not [r for r in template.values() if r["Type"] == "AWS::S3::Bucket"]
    assert built.audience_bucket.bucket_name == "my-audiences"


def test_grant_schedule_campaigns_lets_an_application_create_schedules_and_pass_the_role(standalone):
    stack, built, application = standalone
    resources = Template.from_stack(stack).to_json()["Resources"]
    role_ref = {"Ref": stack.resolve(application.node.default_child.logical_id)}
    statements = [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and role_ref in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert {"scheduler:CreateSchedule", "iam:PassRole", "s3:PutObject"} <= actions
    (pass_role,) = granting(statements, "iam:PassRole")
    assert pass_role["Resource"] == stack.resolve(built.scheduler_role.role_arn)
    assert pass_role["Condition"] == PASSED_TO_SCHEDULER


def test_campaigns_with_their_own_key_and_access_log_bucket_have_no_unacknowledged_finding(tmp_path):
    """The path the stack does not take (it shares the archive's access-log bucket and the outbound key)."""
    app = cdk.App(outdir=str(tmp_path), context={**FEATURE_FLAGS, FAIL_SYNTH_ON_VALIDATION_ERRORS: False})
    stack = cdk.Stack(app, "CampaignsAlone")
    inputs = {name: value for name, value in _campaign_inputs(stack).items() if name != "encryption_key"}
    built = Campaigns(stack, "Campaigns", **inputs)
    register_rule_packs(app)
    app.synth()
    mine = [f for f in read_findings(tmp_path) if f.construct_path.startswith("CampaignsAlone/Campaigns/")]
    assert not mine, "\n".join(map(str, mine))
    resources = Template.from_stack(stack).to_json()["Resources"]
    logs_bucket = resources[stack.resolve(built.access_logs_bucket.node.default_child.logical_id)]["Properties"]
    assert logs_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert resources[stack.resolve(built.encryption_key.node.default_child.logical_id)]["Type"] == "AWS::KMS::Key"


# -- config ---------------------------------------------------------------------------------------
def outbound(**changes: Any) -> dict[str, Any]:
    raw = config()
    raw["outbound"] = {**copy.deepcopy(raw.get("outbound", {})), **changes}
    return raw


def fails(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("origination", "mps"),
    [
        ({"new_number": {"number_type": "SIMULATOR"}}, 1.0),
        ({"new_number": {"number_type": "TOLL_FREE"}}, 3.0),
        ({"new_number": {"number_type": "TEN_DLC"}}, 1.0),
        ({"new_number": {"iso_country_code": "GB", "number_type": "LONG_CODE"}}, 10.0),
        ({"new_number": {"iso_country_code": "CA", "number_type": "LONG_CODE"}}, 1.0),
        ({"new_number": {"iso_country_code": "US", "number_type": "LONG_CODE"}}, 1.0),
        (
            {
                "existing": {
                    "origination_type": "phone-number",
                    "origination_id": "phone-0123456789abcdef0123456789abcdef",
                    "number_type": "LONG_CODE",
                }
            },
            1.0,
        ),
        (
            {
                "existing": {
                    "origination_type": "pool",
                    "origination_id": "pool-0123456789abcdef0123456789abcdef",
                    "number_type": "TOLL_FREE",
                }
            },
            3.0,
        ),
    ],
)
def test_mps_defaults_to_the_number_types_throughput(origination, mps):
    assert parse_config(config(origination=origination)).outbound.mps == mps


def test_configured_mps_wins_over_the_default():
    assert parse_config(outbound(mps=2.5)).outbound.mps == 2.5


@pytest.mark.parametrize("mps", [0, -1, "fast", True])
def test_mps_that_is_not_a_positive_number_is_rejected(mps):
    fails(outbound(mps=mps), f"outbound.mps {mps!r} must be a positive number")


@pytest.mark.parametrize("price", ["1", "0.0000001", "five cents"])
def test_max_price_that_is_not_a_price_string_is_rejected(price):
    fails(outbound(max_price_usd=price), f"outbound.max_price_usd {price!r} must look like")


def test_max_price_as_a_json_number_asks_for_the_string():
    fails(outbound(max_price_usd=0.05), 'outbound.max_price_usd 0.05 must be a string of dollars, such as "0.05"')


def test_max_price_as_text_is_kept():
    assert parse_config(outbound(max_price_usd="0.05")).outbound.max_price_usd == "0.05"


@pytest.mark.parametrize("seconds", [4, 259201, "60"])
def test_time_to_live_outside_5_to_259200_seconds_is_rejected(seconds):
    fails(outbound(time_to_live_seconds=seconds), f"outbound.time_to_live_seconds {seconds!r} must be an integer")


def test_replace_lookalikes_that_is_not_a_boolean_is_rejected():
    fails(outbound(replace_lookalikes="yes"), "outbound.replace_lookalikes 'yes' must be true or false")


@pytest.mark.parametrize("parts", [0, 11, 2.5])
def test_max_parts_outside_1_to_10_is_rejected(parts):
    fails(outbound(max_parts=parts), f"outbound.max_parts {parts!r} must be an integer from 1 to 10")


def test_promotional_daily_limit_below_one_is_rejected_and_null_means_unlimited():
    fails(
        outbound(promotional_daily_limit=0),
        "outbound.promotional_daily_limit 0 must be an integer of at least 1 or null",
    )
    assert parse_config(outbound(promotional_daily_limit=None)).outbound.promotional_daily_limit is None


@pytest.mark.parametrize("value", [1, 0, 1001, "2"])
def test_max_concurrency_outside_2_to_1000_is_rejected(value):
    fails(outbound(max_concurrency=value), f"outbound.max_concurrency {value!r} must be an integer from 2 to 1,000")


@pytest.mark.parametrize(
    ("quiet_hours", "message"),
    [
        ({"start": "8am"}, "outbound.quiet_hours.start '8am' must be a 24-hour time"),
        ({"end": "24:00"}, "outbound.quiet_hours.end '24:00' must be a 24-hour time"),
        ({"start": "21:00", "end": "08:00"}, "outbound.quiet_hours.end '08:00' must be later than start '21:00'"),
        ({"state_rules": "on"}, "outbound.quiet_hours.state_rules 'on' must be true or false"),
        ({"timezone": "UTC"}, "outbound.quiet_hours has unknown settings ['timezone']"),
    ],
)
def test_bad_quiet_hours_are_rejected_naming_the_value(quiet_hours, message):
    fails(outbound(quiet_hours=quiet_hours), message)


def test_quiet_hours_cannot_switch_the_state_rules_off():
    """The states' rules are law, not a preference: loosening one takes a named override (test_config_quiet_hours)."""
    fails(outbound(quiet_hours={"start": "09:00", "end": "20:00", "state_rules": False}), "state_rules")


@pytest.mark.parametrize(
    ("templates", "message"),
    [
        (
            {"reminder": {"body": "Hi {0}", "message_type": "TRANSACTIONAL"}},
            "outbound.templates.reminder: template reminder",
        ),
        ({"reminder": {"body": "Hi {name.first}"}}, "outbound.templates.reminder: template reminder"),
        (
            {"reminder": {"body": "Hi", "message_type": "MARKETING"}},
            "outbound.templates.reminder.message_type 'MARKETING' must be one of TRANSACTIONAL, PROMOTIONAL",
        ),
        ({"reminder": {"body": "   "}}, "outbound.templates.reminder.body '   ' must be non-empty text"),
        ({"reminder": {"body": "x" * 1601}}, "outbound.templates.reminder.body has 1601 characters, more than 1600"),
        ({"bad id": {"body": "Hi"}}, "outbound.templates.bad id: template id 'bad id' must be 1-64 characters"),
        (
            {"reminder": {"body": "Hi", "type": "PROMOTIONAL"}},
            "outbound.templates.reminder has unknown settings ['type']",
        ),
        ({"reminder": "Hi"}, "outbound.templates.reminder 'Hi' must be an object with body and message_type"),
        (["reminder"], "outbound.templates ['reminder'] must be an object"),
    ],
)
def test_bad_templates_are_rejected_naming_the_template(templates, message):
    fails(outbound(templates=templates), message)


def test_unknown_outbound_setting_is_rejected():
    fails(outbound(max_part=3), "outbound has unknown settings ['max_part']")


def test_outbound_that_is_not_an_object_is_rejected():
    fails(config(outbound=[]), "outbound [] must be an object")


# -- grants: the data key only through the service granted (issue 15: one data key) --------------------
def _granted_to_an_application(grant_name: str) -> tuple[cdk.Stack, list[dict[str, Any]]]:
    """The statements an application's role gets from ``OutboundSender.<grant_name>`` (on stand-ins of the
    queue, table and key it reads)."""
    stack = cdk.Stack(cdk.App(context=FEATURE_FLAGS), "Grants")
    key = kms.Key(stack, "DataKey", enable_key_rotation=True)
    queue = sqs.Queue(stack, "Queue", encryption=sqs.QueueEncryption.KMS, encryption_master_key=key)
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
    )
    role = iam.Role(stack, "Application", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    sender_parts = SimpleNamespace(queue=queue, table=table, encryption_key=key)
    getattr(OutboundSender, grant_name)(sender_parts, role)
    policies = [
        r for r in Template.from_stack(stack).to_json()["Resources"].values() if r["Type"] == "AWS::IAM::Policy"
    ]
    return stack, [s for p in policies for s in as_list(p["Properties"]["PolicyDocument"]["Statement"])]


@pytest.mark.parametrize(
    ("grant_name", "service", "key_actions"),
    [
        ("grant_enqueue", "sqs", ["kms:Decrypt", "kms:GenerateDataKey"]),
        ("grant_read_outcomes", "dynamodb", ["kms:Decrypt", "kms:DescribeKey"]),
    ],
)
def test_an_application_gets_the_data_key_only_through_the_service_it_is_granted(grant_name, service, key_actions):
    _, statements = _granted_to_an_application(grant_name)
    key_statements = [s for s in statements if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    assert [sorted(as_list(s["Action"])) for s in key_statements] == [key_actions]
    assert key_statements[0]["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {"Fn::Join": ["", [f"{service}.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
        }
    }
    others = {a for s in statements if s not in key_statements for a in as_list(s["Action"])}
    assert all(a.startswith(f"{service}:") for a in others), others
