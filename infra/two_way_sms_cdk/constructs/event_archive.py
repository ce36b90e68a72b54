"""The durable archive of every SMS delivery event: configuration set -> Firehose -> S3."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Size, SizeRoundingBehavior, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from two_way_sms_cdk.constructs.buckets import INCOMPLETE_UPLOADS_KEPT_FOR, access_logs_bucket, encrypted_bucket
from two_way_sms_cdk.constructs.encryption import allow_cloudwatch_logs, new_key
from two_way_sms_cdk.constructs.inbound_topic import SMS_VOICE_PRINCIPAL, sms_voice_conditions
from two_way_sms_cdk.constructs.reply_configuration_set import ReplyConfigurationSet
from two_way_sms_cdk.nag import acknowledge, nag_resource_name

EVENTS_PREFIX = "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
ERRORS_PREFIX = "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
EVENT_DESTINATION_NAME = "archive"
# Amazon Data Firehose limits for an S3 destination without dynamic partitioning or format conversion.
MIN_BUFFERING_INTERVAL = Duration.seconds(0)
MAX_BUFFERING_INTERVAL = Duration.seconds(900)
MIN_BUFFERING_SIZE = Size.mebibytes(1)
MAX_BUFFERING_SIZE = Size.mebibytes(128)
# S3 keeps an object at least 30 days in S3 Standard before a lifecycle rule may move it to Standard-IA.
MIN_INFREQUENT_ACCESS_AFTER = Duration.days(30)
NONCURRENT_VERSIONS_KEPT_FOR = Duration.days(30)
# S3 server access logging grants ``logging.s3.amazonaws.com`` by bucket policy (not the log-delivery ACL,
# which a bucket with ACLs disabled refuses) only with this feature flag; this construct sets it for itself.
_S3_ACCESS_LOGS_BY_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"
# Every DeliveryStream adds this mapping (Firehose's CIDR blocks, for ``connections`` to VPC destinations)
# to an environment-agnostic stack; an S3 destination never uses it, and unused it is a template warning.
_FIREHOSE_CIDR_MAPPING = "@aws-cdk--aws-kinesisfirehose.CidrBlocks"  # its construct id ("/" becomes "--")


def _seconds(duration: Duration) -> float:
    return duration.to_seconds(integral=False)


def _mebibytes(size: Size) -> float:
    return size.to_mebibytes(rounding=SizeRoundingBehavior.NONE)


class EventArchive(Construct):
    """Archives every SMS delivery event of a configuration set in S3, through Amazon Data Firehose.

    EventBridge delivers delivery events on a best-effort basis; this archive is the
    durable record. It adds an event destination named ``archive`` to the configuration
    set, matching ``TEXT_ALL``, that writes to a Direct PUT Firehose stream. End User
    Messaging writes with its own IAM role, which only ``sms-voice.amazonaws.com`` acting
    for this account and region may assume, and which may only ``firehose:PutRecord`` and
    ``firehose:PutRecordBatch`` on this stream.

    Events arrive one JSON object per line (the stream appends a newline to each record),
    with the same fields as the ``detail`` of the EventBridge event (``eventType``,
    ``messageId``, ``messageStatus``, ``eventTimestamp``, ...), in GZIP-compressed objects
    under ``events/year=YYYY/month=MM/day=DD/hour=HH/`` (UTC, by arrival time); records
    Firehose could not deliver land under ``errors/<error-output-type>/year=.../``. An
    event can arrive more than once and out of order: deduplicate by ``messageId`` and
    ``eventType``.

    Defaults, as behaviour:

    - One new customer-managed KMS key (yearly rotation, retained) encrypts the stream at
      rest, every archived object and the stream's error log group.
    - The archive bucket is versioned, SSE-KMS with an S3 Bucket Key, HTTPS-only (TLS 1.2
      or later), blocks all public access, has ACLs disabled (bucket owner enforced) and
      is retained when the stack is deleted. Objects move to S3 Standard-IA after 30 days
      and S3 Glacier Instant Retrieval after 90 days and are kept forever; overwritten or
      deleted versions are removed after 30 days, incomplete multipart uploads after 7.
    - Its server access logs go to a second bucket (SSE-S3, versioned, HTTPS-only, no
      public access, retained), where they expire after 365 days.
    - Firehose buffers up to 300 seconds or 5 MiB, whichever comes first, and logs
      delivery errors to a log group kept for one year.

    :param configuration_set: the configuration set whose delivery events are archived.
    :param encryption_key: use this key instead of a new one. CDK adds CloudWatch Logs to
        the policy of a key it manages; an imported key must already allow it.
    :param existing_bucket: archive into this bucket instead of a new one. Then no bucket
        and no access-log bucket are created and the lifecycle and access-log settings
        below do not apply (the bucket's own do); objects are still encrypted with
        ``encryption_key``, and Firehose gets write access to ``events/`` and ``errors/``
        only. For an imported bucket CDK cannot edit its policy: it must not deny the role.
    :param infrequent_access_after: move objects to S3 Standard-IA after this long (at least 30 days).
    :param glacier_instant_retrieval_after: move them to S3 Glacier Instant Retrieval after
        this long (later than ``infrequent_access_after``).
    :param expire_after: delete archived objects after this long (later than both
        transitions). Default: kept forever.
    :param buffering_interval: deliver at least this often (0-900 seconds).
    :param buffering_size: or whenever this much has arrived (1-128 MiB).
    :param access_log_retention: keep the archive bucket's server access logs this long.
    :param log_retention: keep Firehose's delivery error logs this long.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        configuration_set: ReplyConfigurationSet,
        encryption_key: kms.IKey | None = None,
        existing_bucket: s3.IBucket | None = None,
        infrequent_access_after: Duration = Duration.days(30),
        glacier_instant_retrieval_after: Duration = Duration.days(90),
        expire_after: Duration | None = None,
        buffering_interval: Duration = Duration.seconds(300),
        buffering_size: Size = Size.mebibytes(5),
        access_log_retention: Duration = Duration.days(365),
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, construct_id)
        self.node.set_context(_S3_ACCESS_LOGS_BY_BUCKET_POLICY, True)  # before any child exists
        _validate(
            infrequent_access_after=infrequent_access_after,
            glacier_instant_retrieval_after=glacier_instant_retrieval_after,
            expire_after=expire_after,
            buffering_interval=buffering_interval,
            buffering_size=buffering_size,
            access_log_retention=access_log_retention,
        )

        self.encryption_key: kms.IKey = encryption_key or new_key(
            self, "Key", "Encrypts the SMS delivery event archive: stream, objects and logs"
        )
        allow_cloudwatch_logs(self.encryption_key)

        self.access_logs_bucket: s3.Bucket | None = None
        if existing_bucket is not None:
            self.bucket: s3.IBucket = existing_bucket
        else:
            self.access_logs_bucket = access_logs_bucket(self, "AccessLogs", retention=access_log_retention)
            self.bucket = encrypted_bucket(
                self,
                "Bucket",
                encryption_key=self.encryption_key,
                access_logs=self.access_logs_bucket,
                access_logs_prefix="archive/",
                lifecycle_rule=s3.LifecycleRule(
                    id="TierAndExpire",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS, transition_after=infrequent_access_after
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=glacier_instant_retrieval_after,
                        ),
                    ],
                    expiration=expire_after,
                    noncurrent_version_expiration=NONCURRENT_VERSIONS_KEPT_FOR,
                    abort_incomplete_multipart_upload_after=INCOMPLETE_UPLOADS_KEPT_FOR,
                ),
            )

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention,
            encryption_key=self.encryption_key,
            removal_policy=RemovalPolicy.RETAIN,
        )

        # Firehose's role, with exactly the permissions below: CDK's grants would add s3:DeleteObject*
        # (a delivery role has no business deleting archived versions) and kms:ReEncrypt*/GenerateDataKey*.
        firehose_role = iam.Role(
            self,
            "FirehoseRole",
            assumed_by=iam.ServicePrincipal(
                "firehose.amazonaws.com", conditions={"StringEquals": {"sts:ExternalId": Aws.ACCOUNT_ID}}
            ),
            description="Lets Amazon Data Firehose write SMS delivery events to the archive bucket",
        )
        # CDK's grants to this view are dropped; a Direct PUT stream uses no stream role at all (Firehose
        # encrypts the stream through the KMS grant it creates when the stream is created).
        firehose_role_as_is = firehose_role.without_policy_updates()
        stack = Stack.of(self)
        mapping_existed = stack.node.try_find_child(_FIREHOSE_CIDR_MAPPING) is not None
        self.delivery_stream = firehose.DeliveryStream(
            self,
            "Stream",
            encryption=firehose.StreamEncryption.customer_managed_key(self.encryption_key),
            role=firehose_role_as_is,
            destination=firehose.S3Bucket(
                self.bucket,
                role=firehose_role_as_is,
                data_output_prefix=EVENTS_PREFIX,
                error_output_prefix=ERRORS_PREFIX,
                compression=firehose.Compression.GZIP,
                encryption_key=self.encryption_key,
                buffering_interval=buffering_interval,
                buffering_size=buffering_size,
                processors=[firehose.AppendDelimiterToRecordProcessor()],
                logging_config=firehose.EnableLogging(self.log_group),
            ),
        )
        if not mapping_existed:  # ours, and unused: this stream's connections are never used
            stack.node.try_remove_child(_FIREHOSE_CIDR_MAPPING)
        log_stream = self.log_group.node.try_find_child("S3Destination")
        log_stream_name = log_stream.log_stream_name if isinstance(log_stream, logs.LogStream) else "*"
        self._firehose_policy = iam.ManagedPolicy(
            self,
            "FirehosePolicy",
            description="Amazon Data Firehose: deliver SMS delivery events to the archive bucket",
            roles=[firehose_role],
            statements=[
                iam.PolicyStatement(
                    sid="ListArchiveBucket",
                    actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                    resources=[self.bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="WriteArchiveObjects",
                    actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                    resources=self._object_arns(),
                ),
                iam.PolicyStatement(
                    sid="EncryptArchiveObjects",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[self.encryption_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="LogDeliveryErrors",
                    actions=["logs:PutLogEvents"],
                    resources=[
                        stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name=f"{self.log_group.log_group_name}:log-stream:{log_stream_name}",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    ],
                ),
            ],
        )
        self.delivery_stream.node.add_dependency(self._firehose_policy)

        self.sms_voice_role = iam.Role(
            self,
            "SmsVoiceRole",
            # Configuration sets only (its own ARN would be a circular dependency: the set names this role).
            assumed_by=iam.ServicePrincipal(
                SMS_VOICE_PRINCIPAL,
                conditions=sms_voice_conditions(
                    [f"arn:{Aws.PARTITION}:sms-voice:{Aws.REGION}:{Aws.ACCOUNT_ID}:configuration-set/*"]
                ),
            ),
            description="Lets AWS End User Messaging put SMS delivery events on the archive stream",
        )
        self._sms_voice_policy = iam.ManagedPolicy(
            self,
            "SmsVoicePolicy",
            description="AWS End User Messaging: put SMS delivery events on the archive stream",
            roles=[self.sms_voice_role],
            statements=[
                iam.PolicyStatement(
                    sid="PutDeliveryEvents",
                    actions=["firehose:PutRecord", "firehose:PutRecordBatch"],
                    resources=[self.delivery_stream.delivery_stream_arn],
                )
            ],
        )
        configuration_set.add_event_destination(
            EVENT_DESTINATION_NAME,
            matching_event_types=["TEXT_ALL"],
            delivery_stream=self.delivery_stream,
            role=self.sms_voice_role,
        )
        # End User Messaging checks the role when the destination is created: its permissions come first.
        configuration_set.resource.node.add_dependency(self._sms_voice_policy)
        self._acknowledge_findings()

    def _object_arns(self) -> list[str]:
        return [self.bucket.arn_for_objects("events/*"), self.bucket.arn_for_objects("errors/*")]

    def _acknowledge_findings(self) -> None:
        stack = Stack.of(self)
        policy = self._firehose_policy.node.default_child
        for arn in self._object_arns():
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{nag_resource_name(stack.resolve(arn))}]",
                "Firehose writes a new object per delivery, so object-level S3 actions need an object "
                "wildcard; it is limited to the events/ and errors/ prefixes of the archive bucket",
            )
        if self.access_logs_bucket is None:  # an existing bucket: its settings are its owner's
            return
        for bucket, reason in (
            (
                self.bucket,
                "The archive is versioned, retained on stack deletion and encrypted with a retained key; "
                "a second-region copy is a disaster-recovery choice for the deployer (add an S3 "
                "replication rule or an AWS Backup plan), not a default",
            ),
            (
                self.access_logs_bucket,
                "Server access logs of the archive bucket, kept for a fixed retention; they "
                "are an audit trail of this account's own requests, not data to replicate",
            ),
        ):
            for finding in ("HIPAA.Security-S3BucketReplicationEnabled", "NIST.800.53.R5-S3BucketReplicationEnabled"):
                acknowledge(bucket.node.default_child, finding, reason)
        access_logs = self.access_logs_bucket.node.default_child
        for finding in ("HIPAA.Security-S3DefaultEncryptionKMS", "NIST.800.53.R5-S3DefaultEncryptionKMS"):
            acknowledge(
                access_logs,
                finding,
                "S3 server access logging delivers only to destination buckets "
                "with SSE-S3 default encryption, not SSE-KMS",
            )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the archived events (and decrypt them)."""
        grant = self.bucket.grant_read(grantee)  # a bucket made here also grants decrypt with its key
        if self.access_logs_bucket is None:  # an existing bucket: Firehose encrypted the objects with this key
            grant = grant.combine(self.encryption_key.grant_decrypt(grantee))
        return grant

    def metric_incoming_records(self, **kwargs: Any) -> cloudwatch.Metric:
        """Delivery events the configuration set put on the stream (Sum)."""
        return self.delivery_stream.metric_incoming_records(**{"statistic": "Sum", **kwargs})

    def metric_records_delivered(self, **kwargs: Any) -> cloudwatch.Metric:
        """Delivery events Firehose delivered to S3 (``DeliveryToS3.Records``, Sum)."""
        return self.delivery_stream.metric("DeliveryToS3.Records", **{"statistic": "Sum", **kwargs})

    def metric_data_freshness(self, **kwargs: Any) -> cloudwatch.Metric:
        """Age in seconds of the oldest record not yet delivered to S3 (Maximum): rising means delivery is stuck."""
        return self.delivery_stream.metric("DeliveryToS3.DataFreshness", **{"statistic": "Maximum", **kwargs})

    def metric_delivery_success(self, **kwargs: Any) -> cloudwatch.Metric:
        """Share of successful S3 deliveries (Average of 0/1): below 1 means Firehose is retrying or failing."""
        return self.delivery_stream.metric("DeliveryToS3.Success", **{"statistic": "Average", **kwargs})


def _validate(
    *,
    infrequent_access_after: Duration,
    glacier_instant_retrieval_after: Duration,
    expire_after: Duration | None,
    buffering_interval: Duration,
    buffering_size: Size,
    access_log_retention: Duration,
) -> None:
    """Fails early, naming the bad value; skips values that are unresolved tokens."""
    lifecycle = [
        ("infrequent_access_after", infrequent_access_after),
        ("glacier_instant_retrieval_after", glacier_instant_retrieval_after),
    ]
    if expire_after is not None:
        lifecycle.append(("expire_after", expire_after))
    resolved = [(name, d) for name, d in lifecycle if not d.is_unresolved()]
    for name, duration in [*resolved, ("access_log_retention", access_log_retention)]:
        if not duration.is_unresolved() and (_seconds(duration) <= 0 or _seconds(duration) % 86400):
            raise ValueError(f"{name} {duration.to_human_string()} must be a whole number of days, at least 1")
    if not infrequent_access_after.is_unresolved() and _seconds(infrequent_access_after) < _seconds(
        MIN_INFREQUENT_ACCESS_AFTER
    ):
        raise ValueError(
            f"infrequent_access_after {infrequent_access_after.to_human_string()} must be at least "
            f"30 days: S3 moves nothing to Standard-IA sooner"
        )
    for (earlier_name, earlier), (later_name, later) in zip(resolved, resolved[1:]):
        if _seconds(later) <= _seconds(earlier):
            raise ValueError(
                f"{later_name} {later.to_human_string()} must be later than {earlier_name} {earlier.to_human_string()}"
            )
    if not buffering_interval.is_unresolved() and not (
        _seconds(MIN_BUFFERING_INTERVAL) <= _seconds(buffering_interval) <= _seconds(MAX_BUFFERING_INTERVAL)
    ):
        raise ValueError(f"buffering_interval {buffering_interval.to_human_string()} must be 0-900 seconds")
    if not buffering_size.is_unresolved() and not (
        _mebibytes(MIN_BUFFERING_SIZE) <= _mebibytes(buffering_size) <= _mebibytes(MAX_BUFFERING_SIZE)
    ):
        raise ValueError(f"buffering_size {_mebibytes(buffering_size):g} MiB must be 1-128 MiB")
