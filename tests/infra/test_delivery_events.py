"""The delivery event path (rule -> stream -> events function) and the message ledger.

Template tests use the session's synthesized variants (default: a new number; existing
pool). The constructs' other prop paths (an existing stream, an on-demand stream with
non-default settings) share one synth of a small stack for this module, with the cdk-nag
rule packs on. Validation tests construct without synthesizing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from tests.infra.synth import FAIL_SYNTH_ON_VALIDATION_ERRORS, FEATURE_FLAGS, Finding, Synthesized, read_findings
from tests.infra.test_template import arn_of, as_list, statements
from two_way_sms import metric_names
from two_way_sms_cdk import lambda_dependencies
from two_way_sms_cdk.constructs.delivery_events import DeliveryEvents
from two_way_sms_cdk.constructs.message_ledger import MessageLedger
from two_way_sms_cdk.nag import acknowledge, register_rule_packs

EVENTS = "events.amazonaws.com"
IMPORTED_STREAM_ARN = "arn:aws:kinesis:us-east-1:111122223333:stream/sms-delivery-events"
IMPORTED_STREAM_KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
RULE_PACKS = ("AwsSolutions", "Serverless", "HIPAA.Security", "NIST.800.53.R5")


# -- helpers ----------------------------------------------------------------------------------
def built(synth: Synthesized):
    return synth.stack.two_way_sms


def resource_id(synth: Synthesized, construct: Any) -> str:
    return synth.logical_id(construct)


def properties(synth: Synthesized, construct: Any) -> dict[str, Any]:
    return synth.resources[resource_id(synth, construct)]["Properties"]


def function_by_handler(resources: dict[str, dict[str, Any]], handler: str) -> dict[str, Any]:
    found = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == handler
    ]
    assert len(found) == 1, found
    return found[0]


def mapping_from(resources: dict[str, dict[str, Any]], source_arn: Any) -> dict[str, Any]:
    found = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping" and r["Properties"].get("EventSourceArn") == source_arn
    ]
    assert len(found) == 1, found
    return found[0]


def role_statements(resources: dict[str, dict[str, Any]], function: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of the identity policies attached to the function's role."""
    role = {"Ref": function["Role"]["Fn::GetAtt"][0]}
    return [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and role in r["Properties"]["Roles"]
        for s in statements(r["Properties"]["PolicyDocument"])
    ]


def grants(statement_list: list[dict[str, Any]], action: str, resource: Any) -> bool:
    return any(
        action in as_list(s["Action"]) and resource in as_list(s["Resource"]) and s["Effect"] == "Allow"
        for s in statement_list
    )


def events_function(synth: Synthesized) -> dict[str, Any]:
    return function_by_handler(synth.resources, "two_way_sms.handlers.events.handler")


def events_mapping(synth: Synthesized) -> dict[str, Any]:
    return mapping_from(synth.resources, arn_of(resource_id(synth, built(synth).delivery_events.stream)))


def events_key_arn(synth: Synthesized) -> dict[str, Any]:
    return arn_of(resource_id(synth, built(synth).events_key))


def only_target(rule: dict[str, Any]) -> dict[str, Any]:
    assert len(rule["Targets"]) == 1
    return rule["Targets"][0]


# -- the rule ---------------------------------------------------------------------------------
def test_rule_matches_delivery_status_events_of_end_user_messaging(default):
    pattern = properties(default, built(default).delivery_events.rule)["EventPattern"]
    assert pattern["source"] == ["aws.sms-voice"]
    assert pattern["detail-type"] == ["Text Message Delivery Status Updated"]


def test_rule_takes_only_the_new_numbers_events(default):
    pattern = properties(default, built(default).delivery_events.rule)["EventPattern"]
    number_id = resource_id(default, built(default).number.resource)
    assert pattern["detail"] == {"originationPhoneNumber": [{"Fn::GetAtt": [number_id, "PhoneNumber"]}]}


def test_rule_takes_only_the_existing_numbers_events(existing_number):
    pattern = properties(existing_number, built(existing_number).delivery_events.rule)["EventPattern"]
    settings_id = existing_number.only("Custom::TwoWaySmsOrigination")[0]
    assert pattern["detail"] == {"originationPhoneNumber": [{"Fn::GetAtt": [settings_id, "PhoneNumber"]}]}


def test_rule_for_a_pool_takes_every_numbers_events(existing_pool):
    pattern = properties(existing_pool, built(existing_pool).delivery_events.rule)["EventPattern"]
    assert "detail" not in pattern
    assert pattern["source"] == ["aws.sms-voice"]


def test_rule_target_is_the_stream_partitioned_by_message_id(default):
    target = only_target(properties(default, built(default).delivery_events.rule))
    assert target["Arn"] == arn_of(resource_id(default, built(default).delivery_events.stream))
    assert target["KinesisParameters"] == {"PartitionKeyPath": "$.detail.messageId"}


def test_rule_target_retries_for_a_day_then_uses_its_dead_letter_queue(default):
    delivery_events = built(default).delivery_events
    target = only_target(properties(default, delivery_events.rule))
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"] == {"Arn": arn_of(resource_id(default, delivery_events.rule_dead_letter_queue))}


def test_rule_dead_letter_queue_lets_only_this_rule_send(default):
    delivery_events = built(default).delivery_events
    queue_id = resource_id(default, delivery_events.rule_dead_letter_queue)
    policy = next(
        p["Properties"]
        for p in default.of_type("AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    )
    allowed = [s for s in statements(policy["PolicyDocument"]) if s.get("Principal") == {"Service": EVENTS}]
    assert len(allowed) == 1
    assert as_list(allowed[0]["Action"]) == ["sqs:SendMessage"]
    assert allowed[0]["Resource"] == arn_of(queue_id)
    assert allowed[0]["Condition"] == {
        "ArnEquals": {"aws:SourceArn": arn_of(resource_id(default, delivery_events.rule))}
    }


def test_events_key_lets_eventbridge_encrypt_dead_letters_for_this_accounts_rules_only(default):
    key = default.resources[resource_id(default, built(default).events_key)]["Properties"]
    # The key also encrypts the business event bus and its archive (test_conversations.py).
    allowed = [
        s
        for s in statements(key["KeyPolicy"])
        if s.get("Principal") == {"Service": EVENTS} and ":rule/*" in json.dumps(s.get("Condition"))
    ]
    assert len(allowed) == 1
    assert sorted(as_list(allowed[0]["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert allowed[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {
            "aws:SourceArn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":events:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":rule/*",
                    ],
                ]
            }
        },
    }


# -- the stream -------------------------------------------------------------------------------
def test_stream_is_encrypted_with_the_events_key(default):
    stream = properties(default, built(default).delivery_events.stream)
    assert stream["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": events_key_arn(default)}


def test_stream_is_one_provisioned_shard_keeping_records_a_day(default):
    stream = properties(default, built(default).delivery_events.stream)
    assert stream["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert stream["ShardCount"] == 1
    assert stream["RetentionPeriodHours"] == 24


def test_stream_is_deleted_with_the_stack(default):
    stream = default.resources[resource_id(default, built(default).delivery_events.stream)]
    assert stream["DeletionPolicy"] == "Delete"


# -- the event source mapping ------------------------------------------------------------------
def test_mapping_reads_the_stream_from_its_oldest_record_in_batches(default):
    mapping = events_mapping(default)
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumBatchingWindowInSeconds"] == 1
    assert mapping["ParallelizationFactor"] == 1


def test_mapping_bisects_retries_a_bounded_number_of_times_and_ages_records_out(default):
    mapping = events_mapping(default)
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 10
    assert mapping["MaximumRecordAgeInSeconds"] == 12 * 3600


def test_mapping_reports_batch_item_failures_and_sends_failed_batches_to_the_dead_letter_queue(default):
    mapping = events_mapping(default)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    dead_letter_queue = resource_id(default, built(default).delivery_events.dead_letter_queue)
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": arn_of(dead_letter_queue)}}


def test_records_age_out_before_the_stream_drops_them(default):
    stream = properties(default, built(default).delivery_events.stream)
    assert events_mapping(default)["MaximumRecordAgeInSeconds"] < stream["RetentionPeriodHours"] * 3600


# -- the events function -----------------------------------------------------------------------
def test_events_function_environment_names_the_tables_queue_retention_and_metrics(default):
    two_way_sms = built(default)
    env = events_function(default)["Environment"]["Variables"]
    assert env == {
        "LEDGER_TABLE": {"Ref": resource_id(default, two_way_sms.ledger.table)},
        "CONTACTS_TABLE": {"Ref": resource_id(default, two_way_sms.inbound_processor.contacts_table)},
        "DEAD_LETTER_QUEUE_URL": {"Ref": resource_id(default, two_way_sms.delivery_events.dead_letter_queue)},
        "LEDGER_RETENTION_DAYS": "400",
        "POWERTOOLS_SERVICE_NAME": metric_names.SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": metric_names.NAMESPACE,
        "OUTBOUND_TABLE": {"Ref": resource_id(default, two_way_sms.outbound_sender.table)},
    }


def test_events_function_environment_is_encrypted_with_the_events_key(default):
    assert events_function(default)["KmsKeyArn"] == events_key_arn(default)


def test_events_function_has_active_tracing_and_explicit_memory_and_timeout(default):
    function = events_function(default)
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["MemorySize"] == 256
    assert function["Timeout"] == 60
    assert (function["Runtime"], function["Architectures"]) == ("python3.14", ["arm64"])


def test_events_function_reserves_a_concurrent_execution_for_every_batch_the_mapping_runs(default):
    function = events_function(default)
    stream = properties(default, built(default).delivery_events.stream)
    batches_at_once = stream["ShardCount"] * events_mapping(default)["ParallelizationFactor"]
    assert function["ReservedConcurrentExecutions"] >= batches_at_once
    assert function["ReservedConcurrentExecutions"] == 2


def test_events_function_logs_to_its_own_encrypted_log_group(default):
    log_group_id = events_function(default)["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = default.resources[log_group_id]
    assert log_group["Properties"]["KmsKeyId"] == events_key_arn(default)
    assert log_group["Properties"]["RetentionInDays"] == 365
    writes = [
        s
        for s in role_statements(default.resources, events_function(default))
        if "logs:PutLogEvents" in as_list(s["Action"])
    ]
    assert [s["Resource"] for s in writes] == [arn_of(log_group_id)]


def test_events_function_can_update_the_ledger_and_contacts_and_send_to_its_dead_letter_queue(default):
    two_way_sms = built(default)
    granted = role_statements(default.resources, events_function(default))
    assert grants(granted, "dynamodb:UpdateItem", arn_of(resource_id(default, two_way_sms.ledger.table)))
    assert grants(granted, "dynamodb:GetItem", arn_of(resource_id(default, two_way_sms.ledger.table)))
    assert grants(
        granted, "dynamodb:PutItem", arn_of(resource_id(default, two_way_sms.inbound_processor.contacts_table))
    )
    assert grants(
        granted, "sqs:SendMessage", arn_of(resource_id(default, two_way_sms.delivery_events.dead_letter_queue))
    )
    assert grants(granted, "kinesis:GetRecords", arn_of(resource_id(default, two_way_sms.delivery_events.stream)))


def test_ledger_grant_covers_the_table_not_its_indexes(default):
    ledger_arn = arn_of(resource_id(default, built(default).ledger.table))
    granted = role_statements(default.resources, events_function(default))
    ledger_statements = [s for s in granted if ledger_arn in as_list(s["Resource"])]
    assert [sorted(as_list(s["Action"])) for s in ledger_statements] == [["dynamodb:GetItem", "dynamodb:UpdateItem"]]
    assert as_list(ledger_statements[0]["Resource"]) == [ledger_arn]


def test_every_delivery_events_queue_is_encrypted_with_the_events_key_and_keeps_messages_14_days(default):
    delivery_events = built(default).delivery_events
    for queue in (delivery_events.dead_letter_queue, delivery_events.rule_dead_letter_queue):
        props = properties(default, queue)
        assert props["KmsMasterKeyId"] == events_key_arn(default)
        assert props["MessageRetentionPeriod"] == 14 * 86400


# -- the inbound function and the ledger ----------------------------------------------------------
def test_inbound_function_records_its_replies_in_the_ledger(default):
    inbound = function_by_handler(default.resources, "two_way_sms.handlers.inbound.handler")
    ledger_id = resource_id(default, built(default).ledger.table)
    env = inbound["Environment"]["Variables"]
    assert env["LEDGER_TABLE"] == {"Ref": ledger_id}
    assert env["LEDGER_RETENTION_DAYS"] == "400"
    assert grants(role_statements(default.resources, inbound), "dynamodb:UpdateItem", arn_of(ledger_id))


# -- the ledger table -------------------------------------------------------------------------
def test_ledger_is_keyed_by_message_id_and_expires_items_on_expires_at(default):
    table = properties(default, built(default).ledger.table)
    assert table["KeySchema"] == [{"AttributeName": "message_id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_ledger_lists_messages_by_destination_in_request_order(default):
    table = properties(default, built(default).ledger.table)
    assert table["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "ByDestination",
            "KeySchema": [
                {"AttributeName": "destination_number", "KeyType": "HASH"},
                {"AttributeName": "requested_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]


def test_ledger_is_on_demand_encrypted_with_the_events_key_and_recoverable(default):
    table = properties(default, built(default).ledger.table)
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {
        "KMSMasterKeyId": events_key_arn(default),
        "SSEEnabled": True,
        "SSEType": "KMS",
    }
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_ledger_is_deletion_protected_and_retained(default):
    table = default.resources[resource_id(default, built(default).ledger.table)]
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_events_key_rotates_and_is_retained(default):
    key = default.resources[resource_id(default, built(default).events_key)]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"


def test_stack_outputs_name_the_delivery_event_resources(default):
    outputs = default.template.to_json()["Outputs"]
    delivery_events = built(default).delivery_events
    assert outputs["LedgerTableName"]["Value"] == {"Ref": resource_id(default, built(default).ledger.table)}
    assert outputs["DeliveryEventStreamName"]["Value"] == {"Ref": resource_id(default, delivery_events.stream)}
    assert outputs["EventsFunctionName"]["Value"] == {"Ref": resource_id(default, delivery_events.function)}
    assert outputs["EventsDeadLetterQueueUrl"]["Value"] == {
        "Ref": resource_id(default, delivery_events.dead_letter_queue)
    }
    assert outputs["DeliveryEventRuleDeadLetterQueueUrl"]["Value"] == {
        "Ref": resource_id(default, delivery_events.rule_dead_letter_queue)
    }


# -- other prop paths: one synth of a small stack -------------------------------------------------
@dataclass(frozen=True)
class Standalone:
    stack: cdk.Stack
    ledger: MessageLedger
    on_existing_stream: DeliveryEvents
    on_demand: DeliveryEvents
    template: Template
    findings: tuple[Finding, ...]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.to_json()["Resources"]

    def properties(self, construct: Any) -> dict[str, Any]:
        return self.resources[self.stack.resolve(construct.node.default_child.logical_id)]["Properties"]

    def function(self, delivery_events: DeliveryEvents) -> dict[str, Any]:
        return self.properties(delivery_events.function)


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Standalone:
    lambda_dependencies.build(lambda_dependencies.layer_dir())  # a no-op once `make deps` has run
    outdir = tmp_path_factory.mktemp("cdk-delivery-events")
    app = cdk.App(outdir=str(outdir), context={**FEATURE_FLAGS, FAIL_SYNTH_ON_VALIDATION_ERRORS: False})
    stack = cdk.Stack(app, "DeliveryEventsPropPaths")
    contacts = dynamodb.Table.from_table_name(stack, "Contacts", "contacts")
    ledger = MessageLedger(stack, "Ledger", retention=Duration.days(30))
    imported_stream = kinesis.Stream.from_stream_attributes(
        stack,
        "ImportedStream",
        stream_arn=IMPORTED_STREAM_ARN,
        encryption_key=kms.Key.from_key_arn(stack, "ImportedStreamKey", IMPORTED_STREAM_KEY_ARN),
    )
    on_existing_stream = DeliveryEvents(
        stack, "OnExistingStream", ledger=ledger, contacts_table=contacts, existing_stream=imported_stream
    )
    on_demand = DeliveryEvents(
        stack,
        "OnDemand",
        ledger=ledger,
        contacts_table=contacts,
        stream_mode=kinesis.StreamMode.ON_DEMAND,
        stream_retention=Duration.hours(48),
        origination_numbers=["+12065550100", "+12065550101"],
        batch_size=500,
        max_batching_window=Duration.seconds(5),
        retry_attempts=20,
        max_record_age=Duration.hours(6),
        parallelization_factor=2,
        memory_size=512,
        timeout=Duration.seconds(120),
    )
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    on_demand.grant_read_stream(reader)
    ledger.grant_read(reader)
    for finding in ("HIPAA.Security-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
        acknowledge(reader.node.find_child("DefaultPolicy").node.default_child, finding, "test: a grantee")
    register_rule_packs(app)
    app.synth()
    return Standalone(stack, ledger, on_existing_stream, on_demand, Template.from_stack(stack), read_findings(outdir))


def test_other_prop_paths_have_no_unacknowledged_finding_from_the_rule_packs(standalone):
    findings = [f for f in standalone.findings if f.plugin in RULE_PACKS]
    assert not findings, "\n".join(map(str, findings))


def test_an_existing_stream_is_used_instead_of_a_new_one(standalone):
    streams = [r for r in standalone.resources.values() if r["Type"] == "AWS::Kinesis::Stream"]
    assert len(streams) == 1  # the on-demand construct's only
    assert standalone.on_existing_stream.stream.stream_arn == IMPORTED_STREAM_ARN
    target = only_target(standalone.properties(standalone.on_existing_stream.rule))
    assert target["Arn"] == IMPORTED_STREAM_ARN
    assert mapping_from(standalone.resources, IMPORTED_STREAM_ARN)["StartingPosition"] == "TRIM_HORIZON"


def test_an_existing_streams_function_reserves_ten_executions(standalone):
    assert standalone.function(standalone.on_existing_stream)["ReservedConcurrentExecutions"] == 10


def test_an_on_demand_stream_has_no_shard_count_and_the_given_retention(standalone):
    stream = standalone.properties(standalone.on_demand.stream)
    assert stream["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert "ShardCount" not in stream
    assert stream["RetentionPeriodHours"] == 48


def test_an_on_demand_streams_function_reserves_ten_executions_per_parallelization_factor(standalone):
    assert standalone.function(standalone.on_demand)["ReservedConcurrentExecutions"] == 20


def test_given_mapping_settings_reach_the_template(standalone):
    mapping = mapping_from(
        standalone.resources,
        arn_of(standalone.stack.resolve(standalone.on_demand.stream.node.default_child.logical_id)),
    )
    assert {
        key: mapping[key]
        for key in (
            "BatchSize",
            "MaximumBatchingWindowInSeconds",
            "MaximumRetryAttempts",
            "MaximumRecordAgeInSeconds",
            "ParallelizationFactor",
        )
    } == {
        "BatchSize": 500,
        "MaximumBatchingWindowInSeconds": 5,
        "MaximumRetryAttempts": 20,
        "MaximumRecordAgeInSeconds": 6 * 3600,
        "ParallelizationFactor": 2,
    }


def test_given_memory_and_timeout_reach_the_function(standalone):
    function = standalone.function(standalone.on_demand)
    assert (function["MemorySize"], function["Timeout"]) == (512, 120)


def test_rule_takes_only_the_given_numbers(standalone):
    pattern = standalone.properties(standalone.on_demand.rule)["EventPattern"]
    assert pattern["detail"] == {"originationPhoneNumber": ["+12065550100", "+12065550101"]}


def test_ledger_retention_reaches_the_events_function(standalone):
    env = standalone.function(standalone.on_demand)["Environment"]["Variables"]
    assert env["LEDGER_RETENTION_DAYS"] == "30"


def test_without_a_key_each_construct_makes_its_own(standalone):
    keys = [r for r in standalone.resources.values() if r["Type"] == "AWS::KMS::Key"]
    assert len(keys) == 3  # the ledger's and one per DeliveryEvents


def test_grant_read_stream_and_ledger_grant_read_let_a_reader_read(standalone):
    reader = next(
        r["Properties"]
        for r in standalone.resources.values()
        if r["Type"] == "AWS::IAM::Policy" and any("Reader" in ref["Ref"] for ref in r["Properties"]["Roles"])
    )
    granted = statements(reader["PolicyDocument"])
    stream_arn = arn_of(standalone.stack.resolve(standalone.on_demand.stream.node.default_child.logical_id))
    ledger_arn = arn_of(standalone.stack.resolve(standalone.ledger.table.node.default_child.logical_id))
    assert grants(granted, "kinesis:GetRecords", stream_arn)
    assert grants(granted, "dynamodb:Query", {"Fn::Join": ["", [ledger_arn, "/index/ByDestination"]]})
    assert not any("dynamodb:UpdateItem" in as_list(s["Action"]) for s in granted)


def test_metric_iterator_age_is_the_functions_maximum_iterator_age(standalone):
    metric = standalone.on_demand.metric_iterator_age(period=Duration.minutes(1))
    assert (metric.metric_name, metric.namespace, metric.statistic) == ("IteratorAge", "AWS/Lambda", "Maximum")
    function_id = standalone.stack.resolve(standalone.on_demand.function.node.default_child.logical_id)
    assert standalone.stack.resolve(metric.dimensions) == {"FunctionName": {"Ref": function_id}}


# -- validation: fails at construction, naming the bad value ---------------------------------------
@pytest.fixture
def fresh_scope():
    """A stack in a new app, with a ledger and a contacts table to pass."""
    stack = cdk.Stack(cdk.App(), "Validation")
    return stack, MessageLedger(stack, "Ledger"), dynamodb.Table.from_table_name(stack, "Contacts", "contacts")


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"batch_size": 0}, r"batch_size 0 must be 1-10,000"),
        ({"batch_size": 10_001}, r"batch_size 10001 must be 1-10,000"),
        (
            {"max_batching_window": Duration.seconds(301)},
            r"max_batching_window 5 minutes 1 second must be 0 seconds to 5 minutes",
        ),
        ({"retry_attempts": -1}, r"retry_attempts -1 must be 0-10,000 \(a bounded number"),
        ({"retry_attempts": 10_001}, r"retry_attempts 10001 must be 0-10,000"),
        ({"max_record_age": Duration.seconds(59)}, r"max_record_age 59 seconds must be 1 minute to 7 days"),
        ({"max_record_age": Duration.days(8)}, r"max_record_age 8 days must be 1 minute to 7 days"),
        ({"max_record_age": Duration.hours(24)}, r"max_record_age 1 day must be shorter than stream_retention 1 day"),
        ({"parallelization_factor": 0}, r"parallelization_factor 0 must be 1-10"),
        ({"parallelization_factor": 11}, r"parallelization_factor 11 must be 1-10"),
        ({"memory_size": 64}, r"memory_size 64 must be 128-10,240"),
        ({"timeout": Duration.seconds(901)}, r"timeout 15 minutes 1 second must be 1 second to 15 minutes"),
        ({"reserved_concurrency": 0}, r"reserved_concurrency 0 must be 1-10,000"),
        ({"stream_retention": Duration.hours(23)}, r"stream_retention 23 hours must be 1 day to 365 days"),
        ({"stream_retention": Duration.days(366)}, r"stream_retention 366 days must be 1 day to 365 days"),
        ({"shard_count": 0}, r"shard_count 0 must be at least 1"),
        (
            {"stream_mode": kinesis.StreamMode.ON_DEMAND, "shard_count": 2},
            r"shard_count 2 is only for a PROVISIONED stream, not ON_DEMAND",
        ),
        ({"origination_numbers": []}, r"origination_numbers \[\] must be a non-empty list"),
        ({"origination_numbers": "+12065550100"}, r"origination_numbers '\+12065550100' must be a non-empty list"),
        ({"origination_numbers": ["2065550100"]}, r"origination_numbers entry '2065550100' is not an E.164 number"),
    ],
)
def test_invalid_delivery_events_settings_are_rejected(fresh_scope, settings, message):
    stack, ledger, contacts = fresh_scope
    with pytest.raises(ValueError, match=message):
        DeliveryEvents(stack, "DeliveryEvents", ledger=ledger, contacts_table=contacts, **settings)


@pytest.mark.parametrize(
    "settings",
    [
        {"stream_mode": kinesis.StreamMode.PROVISIONED},
        {"shard_count": 2},
        {"stream_retention": Duration.hours(48)},
    ],
)
def test_an_existing_stream_with_new_stream_settings_is_rejected(fresh_scope, settings):
    stack, ledger, contacts = fresh_scope
    stream = kinesis.Stream.from_stream_arn(stack, "Imported", IMPORTED_STREAM_ARN)
    with pytest.raises(
        ValueError,
        match=rf"pass existing_stream or the new stream's settings "
        rf"\['{next(iter(settings))}'\]",
    ):
        DeliveryEvents(
            stack, "DeliveryEvents", ledger=ledger, contacts_table=contacts, existing_stream=stream, **settings
        )


@pytest.mark.parametrize(
    "retention, message",
    [
        (Duration.hours(12), r"retention 12 hours must be a whole number of days, at least 1"),
        (Duration.hours(36), r"retention 1 day 12 hours must be a whole number of days"),
        (Duration.days(0), r"retention 0 days must be a whole number of days, at least 1"),
    ],
)
def test_invalid_ledger_retention_is_rejected(retention, message):
    with pytest.raises(ValueError, match=message):
        MessageLedger(cdk.Stack(cdk.App(), "Validation"), "Ledger", retention=retention)


def test_an_existing_ledger_table_with_a_key_to_encrypt_it_is_rejected():
    stack = cdk.Stack(cdk.App(), "Validation")
    table = dynamodb.Table.from_table_name(stack, "Existing", "ledger")
    with pytest.raises(ValueError, match=r"pass encryption_key \(.*\) only for a new table"):
        MessageLedger(stack, "Ledger", existing_table=table, encryption_key=kms.Key(stack, "Key"))


def test_an_existing_ledger_table_is_used_with_its_own_key():
    stack = cdk.Stack(cdk.App(), "Validation")
    key = kms.Key.from_key_arn(stack, "ExistingKey", IMPORTED_STREAM_KEY_ARN)
    table = dynamodb.Table.from_table_attributes(stack, "Existing", table_name="ledger", encryption_key=key)
    ledger = MessageLedger(stack, "Ledger", existing_table=table, retention=Duration.days(90))
    assert ledger.table is table
    assert ledger.encryption_key is not None and ledger.encryption_key.key_arn == IMPORTED_STREAM_KEY_ARN
    assert ledger.retention_days == 90
    assert not [c for c in ledger.node.children]  # nothing new: no table, no key
