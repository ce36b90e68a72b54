"""The event archive: configuration set -> Firehose -> S3, and the configuration set's event destinations.

One small stack (a ``ReplyConfigurationSet`` and an ``EventArchive``) is synthesized once for
the module, with the four cdk-nag rule packs; the validation tests build constructs without
synthesizing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint

from tests.infra.synth import FAIL_SYNTH_ON_VALIDATION_ERRORS, FEATURE_FLAGS, Finding, read_findings
from two_way_sms_cdk.constructs.event_archive import ERRORS_PREFIX, EVENTS_PREFIX, EventArchive
from two_way_sms_cdk.constructs.reply_configuration_set import ReplyConfigurationSet
from two_way_sms_cdk.nag import register_rule_packs

RULE_PACKS = ("AwsSolutions", "Serverless", "HIPAA.Security", "NIST.800.53.R5")
STACK_NAME = "ArchiveTest"
# Configuration sets of this account and region (the user guide's condition, with a wildcard for the
# set's generated name: its ARN would be a circular dependency, since the set names the role).
SMS_VOICE_CONDITIONS = {
    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    "ArnLike": {
        "aws:SourceArn": [
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":sms-voice:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":configuration-set/*",
                    ],
                ]
            }
        ]
    },
}
STREAM_ARN = "arn:aws:firehose:us-east-1:111122223333:deliverystream/other"
ROLE_ARN = "arn:aws:iam::111122223333:role/other"


@dataclass(frozen=True)
class Archive:
    stack: cdk.Stack
    archive: EventArchive
    configuration_set: ReplyConfigurationSet
    template: dict[str, Any]
    template_text: str
    findings: tuple[Finding, ...]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]

    def id_of(self, construct: Any) -> str:
        element = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
        return self.stack.resolve(element.logical_id)

    def props_of(self, construct: Any) -> dict[str, Any]:
        return self.resources[self.id_of(construct)]["Properties"]

    def bucket_policy_of(self, bucket: s3.IBucket) -> list[dict[str, Any]]:
        bucket_ref = {"Ref": self.id_of(bucket)}
        policies = [
            r["Properties"]
            for r in self.resources.values()
            if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == bucket_ref
        ]
        assert len(policies) == 1
        return policies[0]["PolicyDocument"]["Statement"]

    def statements_of_role(self, role: iam.IRole) -> list[dict[str, Any]]:
        """Every identity-policy statement that applies to the role (inline, policies, managed policies)."""
        role_ref = {"Ref": self.id_of(role)}
        found = [
            s
            for p in self.resources[self.id_of(role)]["Properties"].get("Policies", [])
            for s in p["PolicyDocument"]["Statement"]
        ]
        for resource in self.resources.values():
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and role_ref in resource[
                "Properties"
            ].get("Roles", []):
                found += resource["Properties"]["PolicyDocument"]["Statement"]
        assert not self.resources[self.id_of(role)]["Properties"].get("ManagedPolicyArns"), "no other policies"
        return found


def arn_of(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def objects_under(bucket_id: str, prefix: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [arn_of(bucket_id), f"/{prefix}"]]}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    outdir: Path = tmp_path_factory.mktemp("cdk-event-archive")
    app = cdk.App(outdir=str(outdir), context={**FEATURE_FLAGS, FAIL_SYNTH_ON_VALIDATION_ERRORS: False})
    stack = cdk.Stack(app, STACK_NAME)
    configuration_set = ReplyConfigurationSet(stack, "ReplyConfigurationSet")
    archive = EventArchive(stack, "EventArchive", configuration_set=configuration_set)
    register_rule_packs(app)
    app.synth()
    template_text = (outdir / stack.template_file).read_text()
    return Archive(stack, archive, configuration_set, json.loads(template_text), template_text, read_findings(outdir))


def s3_destination(built: Archive) -> dict[str, Any]:
    return built.props_of(built.archive.delivery_stream)["ExtendedS3DestinationConfiguration"]


# -- the configuration set's event destination ---------------------------------------------------
def test_the_configuration_set_sends_every_text_event_to_the_archive_stream_as_the_sms_voice_role(built):
    destinations = built.props_of(built.configuration_set.resource)["EventDestinations"]
    assert destinations == [
        {
            "EventDestinationName": "archive",
            "Enabled": True,
            "MatchingEventTypes": ["TEXT_ALL"],
            "KinesisFirehoseDestination": {
                "DeliveryStreamArn": arn_of(built.id_of(built.archive.delivery_stream)),
                "IamRoleArn": arn_of(built.id_of(built.archive.sms_voice_role)),
            },
        }
    ]


def test_the_configuration_set_is_created_after_the_sms_voice_role_may_write_to_the_stream(built):
    configuration_set = built.resources[built.id_of(built.configuration_set.resource)]
    role_ref = {"Ref": built.id_of(built.archive.sms_voice_role)}
    policies = [
        logical_id
        for logical_id, r in built.resources.items()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and role_ref in r["Properties"]["Roles"]
    ]
    assert policies and set(policies) <= set(configuration_set.get("DependsOn", []))


# -- the role End User Messaging assumes -------------------------------------------------------
def test_only_end_user_messaging_for_this_accounts_configuration_sets_can_assume_the_sms_voice_role(built):
    trust = built.props_of(built.archive.sms_voice_role)["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "sms-voice.amazonaws.com"},
            "Condition": SMS_VOICE_CONDITIONS,
        }
    ]


def test_the_sms_voice_role_may_only_put_records_on_the_archive_stream(built):
    statements = built.statements_of_role(built.archive.sms_voice_role)
    assert [(s["Effect"], sorted(as_list(s["Action"])), as_list(s["Resource"])) for s in statements] == [
        (
            "Allow",
            ["firehose:PutRecord", "firehose:PutRecordBatch"],
            [arn_of(built.id_of(built.archive.delivery_stream))],
        ),
    ]
    assert all("Condition" not in s for s in statements)


# -- the delivery stream -------------------------------------------------------------------------
def test_the_stream_is_direct_put_and_encrypted_with_the_customer_managed_key(built):
    stream = built.props_of(built.archive.delivery_stream)
    assert stream["DeliveryStreamType"] == "DirectPut"
    assert stream["DeliveryStreamEncryptionConfigurationInput"] == {
        "KeyType": "CUSTOMER_MANAGED_CMK",
        "KeyARN": arn_of(built.id_of(built.archive.encryption_key)),
    }


def test_the_stream_delivers_into_the_archive_bucket_under_date_partitioned_prefixes(built):
    destination = s3_destination(built)
    assert destination["BucketARN"] == arn_of(built.id_of(built.archive.bucket))
    assert destination["Prefix"] == EVENTS_PREFIX
    assert destination["Prefix"].startswith("events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/")
    assert (
        destination["ErrorOutputPrefix"]
        == ERRORS_PREFIX
        == ("errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/")
    )


def test_the_stream_writes_gzip_objects_encrypted_with_the_key_one_event_per_line(built):
    destination = s3_destination(built)
    assert destination["CompressionFormat"] == "GZIP"
    assert destination["EncryptionConfiguration"] == {
        "KMSEncryptionConfig": {"AWSKMSKeyARN": arn_of(built.id_of(built.archive.encryption_key))}
    }
    processors = destination["ProcessingConfiguration"]
    assert processors["Enabled"] is True
    assert [p["Type"] for p in processors["Processors"]] == ["AppendDelimiterToRecord"]


def test_the_stream_buffers_for_at_most_five_minutes_or_five_mebibytes(built):
    assert s3_destination(built)["BufferingHints"] == {"IntervalInSeconds": 300, "SizeInMBs": 5}


def test_the_stream_logs_delivery_errors_to_an_encrypted_log_group_kept_a_year(built):
    logging = s3_destination(built)["CloudWatchLoggingOptions"]
    log_group_id = built.id_of(built.archive.log_group)
    assert logging["Enabled"] is True
    assert logging["LogGroupName"] == {"Ref": log_group_id}
    log_group = built.resources[log_group_id]["Properties"]
    assert log_group["KmsKeyId"] == arn_of(built.id_of(built.archive.encryption_key))
    assert log_group["RetentionInDays"] == 365


def test_the_key_rotates_lets_cloudwatch_logs_use_it_and_is_retained(built):
    key = built.resources[built.id_of(built.archive.encryption_key)]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    sids = {s.get("Sid") for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert "AllowCloudWatchLogs" in sids


def test_firehose_may_write_archive_objects_but_not_delete_them(built):
    role = built.resources[built.id_of(built.archive.delivery_stream)]["Properties"][
        "ExtendedS3DestinationConfiguration"
    ]["RoleARN"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in built.resources.values()
        if p["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert actions == {
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "s3:AbortMultipartUpload",
        "s3:GetObject",
        "s3:PutObject",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "logs:PutLogEvents",
    }
    bucket_id = built.id_of(built.archive.bucket)
    writes = next(s for s in statements if "s3:PutObject" in as_list(s["Action"]))
    assert sorted(map(json.dumps, writes["Resource"])) == sorted(
        json.dumps(objects_under(bucket_id, prefix)) for prefix in ("events/*", "errors/*")
    )
    trust = built.resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust[0]["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert trust[0]["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}}


# -- the buckets ---------------------------------------------------------------------------------
def test_the_archive_bucket_is_encrypted_with_the_key_and_an_s3_bucket_key(built):
    encryption = built.props_of(built.archive.bucket)["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption == [
        {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms",
                "KMSMasterKeyID": arn_of(built.id_of(built.archive.encryption_key)),
            },
        }
    ]


def test_the_access_log_bucket_is_encrypted_with_s3_managed_keys(built):
    encryption = built.props_of(built.archive.access_logs_bucket)["BucketEncryption"]
    assert encryption["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]


@pytest.mark.parametrize("attribute", ["bucket", "access_logs_bucket"])
def test_both_buckets_are_versioned_private_owner_enforced_and_retained(built, attribute):
    bucket = built.resources[built.id_of(getattr(built.archive, attribute))]
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "AccessControl" not in props
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("attribute", ["bucket", "access_logs_bucket"])
def test_both_bucket_policies_deny_requests_without_tls(built, attribute):
    bucket = getattr(built.archive, attribute)
    denied = [
        s
        for s in built.bucket_policy_of(bucket)
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denied) == 1
    assert denied[0]["Action"] == "s3:*"
    assert denied[0]["Principal"] == {"AWS": "*"}
    bucket_id = built.id_of(bucket)
    assert denied[0]["Resource"] == [arn_of(bucket_id), objects_under(bucket_id, "*")]


def test_the_archive_bucket_logs_access_to_the_access_log_bucket(built):
    logging = built.props_of(built.archive.bucket)["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": built.id_of(built.archive.access_logs_bucket)}
    assert logging["LogFilePrefix"] == "archive/"


def test_only_s3_log_delivery_for_the_archive_bucket_may_write_to_the_access_log_bucket(built):
    access_logs_id = built.id_of(built.archive.access_logs_bucket)
    allowed = [s for s in built.bucket_policy_of(built.archive.access_logs_bucket) if s["Effect"] == "Allow"]
    assert allowed == [
        {
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Resource": objects_under(access_logs_id, "archive/*"),
            "Condition": {
                "ArnLike": {"aws:SourceArn": arn_of(built.id_of(built.archive.bucket))},
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            },
        }
    ]


def test_archived_events_move_to_infrequent_access_then_glacier_instant_retrieval_and_are_kept(built):
    rules = built.props_of(built.archive.bucket)["LifecycleConfiguration"]["Rules"]
    assert len(rules) == 1
    rule = rules[0]
    assert rule["Status"] == "Enabled"
    assert rule["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
        {"StorageClass": "GLACIER_IR", "TransitionInDays": 90},
    ]
    assert "ExpirationInDays" not in rule
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_access_logs_expire_after_a_year(built):
    rules = built.props_of(built.archive.access_logs_bucket)["LifecycleConfiguration"]["Rules"]
    assert [(r["Status"], r["ExpirationInDays"]) for r in rules] == [("Enabled", 365)]


# -- metrics -------------------------------------------------------------------------------------
def test_metrics_watch_the_freshness_and_success_of_s3_deliveries(built):
    freshness = built.archive.metric_data_freshness()
    success = built.archive.metric_delivery_success(period=cdk.Duration.minutes(1))
    assert (freshness.namespace, freshness.metric_name, freshness.statistic) == (
        "AWS/Firehose",
        "DeliveryToS3.DataFreshness",
        "Maximum",
    )
    assert (success.namespace, success.metric_name, success.statistic) == (
        "AWS/Firehose",
        "DeliveryToS3.Success",
        "Average",
    )
    assert success.period.to_seconds() == 60
    assert built.stack.resolve(freshness.dimensions) == {
        "DeliveryStreamName": {"Ref": built.id_of(built.archive.delivery_stream)}
    }


# -- cdk-nag and cfn-lint -----------------------------------------------------------------------
def test_nothing_in_the_archive_has_an_unacknowledged_finding_from_the_rule_packs(built):
    ours = (f"{STACK_NAME}/EventArchive/", f"{STACK_NAME}/ReplyConfigurationSet/")
    findings = [f for f in built.findings if f.plugin in RULE_PACKS and f.construct_path.startswith(ours)]
    assert not findings, "\n".join(map(str, findings))


def test_the_stack_has_no_validation_finding_at_all(built):
    """Not even CDK's own template check (an unused Firehose CIDR mapping would be one)."""
    assert built.findings == (), "\n".join(map(str, built.findings))
    assert "Mappings" not in built.template


def test_the_template_is_cfn_lint_clean(built):
    matches = lint(built.template_text, config=ManualArgs(regions=["us-east-1", "us-west-2"]))
    assert not matches, "\n".join(f"{m.rule.id} {m.message} at {m.path}" for m in matches)


# -- without synth: an existing bucket -----------------------------------------------------------
def new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(context=FEATURE_FLAGS), "Fast")


def template_of(stack: cdk.Stack) -> dict[str, Any]:
    """This one stack's template, without the rule packs."""
    return Template.from_stack(stack).to_json()


def configuration_set_props(configuration_set: ReplyConfigurationSet) -> dict[str, Any]:
    stack = cdk.Stack.of(configuration_set)
    return template_of(stack)["Resources"][stack.resolve(configuration_set.resource.logical_id)].get("Properties", {})


def test_an_existing_bucket_receives_the_events_and_no_bucket_is_created():
    stack = new_stack()
    existing = s3.Bucket.from_bucket_name(stack, "Existing", "my-sms-archive")
    archive = EventArchive(
        stack, "EventArchive", configuration_set=ReplyConfigurationSet(stack, "Set"), existing_bucket=existing
    )
    assert archive.bucket is existing
    assert archive.access_logs_bucket is None
    assert not [c for c in archive.node.find_all() if isinstance(c, (s3.Bucket, s3.CfnBucket))]
    stream = stack.resolve(archive.delivery_stream.node.default_child.extended_s3_destination_configuration)
    assert stream["bucketArn"] == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::my-sms-archive"]]}


def test_reading_an_existing_bucket_also_grants_decrypting_with_the_archive_key():
    stack = new_stack()
    archive = EventArchive(
        stack,
        "EventArchive",
        configuration_set=ReplyConfigurationSet(stack, "Set"),
        existing_bucket=s3.Bucket.from_bucket_name(stack, "Existing", "my-sms-archive"),
    )
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    archive.grant_read(reader)
    document = stack.resolve(reader.node.find_child("DefaultPolicy").document.to_json())
    key_arn = stack.resolve(archive.encryption_key.key_arn)
    decrypts = [s for s in document["Statement"] if "kms:Decrypt" in as_list(s["Action"])]
    assert [s["Resource"] for s in decrypts] == [key_arn]
    assert any("s3:GetObject*" in as_list(s["Action"]) for s in document["Statement"])


# -- without synth: validation -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"infrequent_access_after": cdk.Duration.days(10)},
            "infrequent_access_after 10 days must be at least 30 days",
        ),
        (
            {"glacier_instant_retrieval_after": cdk.Duration.days(30)},
            "glacier_instant_retrieval_after 30 days must be later than infrequent_access_after 30 days",
        ),
        (
            {"expire_after": cdk.Duration.days(60)},
            "expire_after 60 days must be later than glacier_instant_retrieval_after 90 days",
        ),
        ({"expire_after": cdk.Duration.hours(36)}, "expire_after 1 day 12 hours must be a whole number of days"),
        (
            {"access_log_retention": cdk.Duration.days(0)},
            "access_log_retention 0 days must be a whole number of days, at least 1",
        ),
        (
            {"buffering_interval": cdk.Duration.seconds(901)},
            "buffering_interval 15 minutes 1 second must be 0-900 seconds",
        ),
        ({"buffering_size": cdk.Size.mebibytes(129)}, "buffering_size 129 MiB must be 1-128 MiB"),
        ({"buffering_size": cdk.Size.kibibytes(512)}, "buffering_size 0.5 MiB must be 1-128 MiB"),
    ],
)
def test_out_of_range_archive_settings_fail_early_naming_the_value(props, message):
    stack = new_stack()
    with pytest.raises(ValueError) as raised:
        EventArchive(stack, "EventArchive", configuration_set=ReplyConfigurationSet(stack, "Set"), **props)
    assert message in str(raised.value)
    assert str(raised.value) == str(raised.value)[0].lower() + str(raised.value)[1:]


def test_settings_within_the_limits_are_accepted():
    stack = new_stack()
    archive = EventArchive(
        stack,
        "EventArchive",
        configuration_set=ReplyConfigurationSet(stack, "Set"),
        infrequent_access_after=cdk.Duration.days(30),
        glacier_instant_retrieval_after=cdk.Duration.days(31),
        expire_after=cdk.Duration.days(3650),
        buffering_interval=cdk.Duration.seconds(0),
        buffering_size=cdk.Size.mebibytes(128),
    )
    bucket = template_of(stack)["Resources"][stack.resolve(archive.bucket.node.default_child.logical_id)]
    assert bucket["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 3650


def test_unresolved_tokens_are_not_validated():
    stack = new_stack()
    days = cdk.Token.as_number(cdk.CfnParameter(stack, "Days", type="Number"))
    EventArchive(
        stack,
        "EventArchive",
        configuration_set=ReplyConfigurationSet(stack, "Set"),
        buffering_interval=cdk.Duration.seconds(days),
    )


# -- without synth: the configuration set's event destinations -----------------------------------
def stream(stack: cdk.Stack, construct_id: str = "Stream") -> firehose.IDeliveryStream:
    return firehose.DeliveryStream.from_delivery_stream_arn(stack, construct_id, STREAM_ARN)


def role(stack: cdk.Stack, construct_id: str = "Role") -> iam.IRole:
    return iam.Role.from_role_arn(stack, construct_id, ROLE_ARN)


def test_several_constructs_can_add_destinations_to_one_configuration_set():
    stack = new_stack()
    configuration_set = ReplyConfigurationSet(stack, "Set")
    configuration_set.add_event_destination(
        "archive", matching_event_types=["TEXT_ALL"], delivery_stream=stream(stack), role=role(stack)
    )
    topic = sns.Topic.from_topic_arn(stack, "Topic", "arn:aws:sns:us-east-1:111122223333:failures")
    configuration_set.add_event_destination(
        "failures", matching_event_types=["TEXT_BLOCKED", "TEXT_SPAM"], topic=topic, enabled=False
    )
    assert configuration_set_props(configuration_set)["EventDestinations"] == [
        {
            "EventDestinationName": "archive",
            "Enabled": True,
            "MatchingEventTypes": ["TEXT_ALL"],
            "KinesisFirehoseDestination": {"DeliveryStreamArn": STREAM_ARN, "IamRoleArn": ROLE_ARN},
        },
        {
            "EventDestinationName": "failures",
            "Enabled": False,
            "MatchingEventTypes": ["TEXT_BLOCKED", "TEXT_SPAM"],
            "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:111122223333:failures"},
        },
    ]


def test_a_configuration_set_without_destinations_renders_none():
    stack = new_stack()
    configuration_set = ReplyConfigurationSet(stack, "Set")
    assert "EventDestinations" not in configuration_set_props(configuration_set)


def test_a_sixth_event_destination_is_refused():
    stack = new_stack()
    configuration_set = ReplyConfigurationSet(stack, "Set")
    for n in range(5):
        configuration_set.add_event_destination(
            f"d{n}",
            matching_event_types=["TEXT_ALL"],
            delivery_stream=stream(stack, f"S{n}"),
            role=role(stack, f"R{n}"),
        )
    with pytest.raises(ValueError, match="cannot add event destination 'd5': a configuration set takes at most 5"):
        configuration_set.add_event_destination(
            "d5", matching_event_types=["TEXT_ALL"], delivery_stream=stream(stack), role=role(stack)
        )


def test_a_duplicate_event_destination_name_is_refused():
    stack = new_stack()
    configuration_set = ReplyConfigurationSet(stack, "Set")
    configuration_set.add_event_destination(
        "archive", matching_event_types=["TEXT_ALL"], delivery_stream=stream(stack), role=role(stack)
    )
    with pytest.raises(ValueError, match="event destination name 'archive' is already used"):
        configuration_set.add_event_destination(
            "archive",
            matching_event_types=["TEXT_DELIVERED"],
            delivery_stream=stream(stack, "S2"),
            role=role(stack, "R2"),
        )


def test_a_second_archive_on_the_same_configuration_set_is_refused_by_its_name():
    stack = new_stack()
    configuration_set = ReplyConfigurationSet(stack, "Set")
    EventArchive(stack, "First", configuration_set=configuration_set)
    with pytest.raises(ValueError, match="'archive' is already used"):
        EventArchive(stack, "Second", configuration_set=configuration_set)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        (
            "archive",
            {"matching_event_types": ["TEXT_SENT"]},
            "event type 'TEXT_SENT' (destination 'archive') is not supported",
        ),
        (
            "archive",
            {"matching_event_types": ["VOICE_ALL"]},
            "event type 'VOICE_ALL' (destination 'archive') is not one of",
        ),
        ("archive", {"matching_event_types": []}, "event destination 'archive' needs at least one matching event type"),
        ("archive", {"matching_event_types": ["TEXT_ALL", "TEXT_ALL"]}, "name one type twice"),
        (
            "my archive",
            {"matching_event_types": ["TEXT_ALL"]},
            "event destination name 'my archive' must be 1-64 letters",
        ),
        ("x" * 65, {"matching_event_types": ["TEXT_ALL"]}, "must be 1-64 letters"),
    ],
)
def test_bad_event_destinations_are_refused_naming_the_value(name, kwargs, message):
    stack = new_stack()
    configuration_set = ReplyConfigurationSet(stack, "Set")
    with pytest.raises(ValueError) as raised:
        configuration_set.add_event_destination(name, delivery_stream=stream(stack), role=role(stack), **kwargs)
    assert message in str(raised.value)
    assert configuration_set.event_destination_names == []


def test_an_event_destination_needs_exactly_one_target_and_a_role_only_for_firehose():
    stack = new_stack()
    configuration_set = ReplyConfigurationSet(stack, "Set")
    topic = sns.Topic.from_topic_arn(stack, "Topic", "arn:aws:sns:us-east-1:111122223333:t")
    with pytest.raises(ValueError, match="needs exactly one of delivery_stream and topic"):
        configuration_set.add_event_destination("a", matching_event_types=["TEXT_ALL"])
    with pytest.raises(ValueError, match="needs exactly one of delivery_stream and topic"):
        configuration_set.add_event_destination(
            "a", matching_event_types=["TEXT_ALL"], topic=topic, delivery_stream=stream(stack), role=role(stack)
        )
    with pytest.raises(ValueError, match="a Firehose destination needs a role"):
        configuration_set.add_event_destination(
            "a", matching_event_types=["TEXT_ALL"], delivery_stream=stream(stack, "S2")
        )
    with pytest.raises(ValueError, match="an SNS destination takes no role"):
        configuration_set.add_event_destination(
            "a", matching_event_types=["TEXT_ALL"], topic=topic, role=role(stack, "R2")
        )
