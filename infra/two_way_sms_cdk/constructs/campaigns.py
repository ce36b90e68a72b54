"""Campaigns and held-request releases: EventBridge Scheduler -> campaigns function -> outbound queue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.outbound.templates import Template, templates_to_json
from two_way_sms.settings.campaigns import CampaignsSettings
from two_way_sms_cdk.config.environment_limits import CAMPAIGNS_SETTINGS_BYTES, settings_size
from two_way_sms_cdk.constructs.buckets import INCOMPLETE_UPLOADS_KEPT_FOR, encrypted_bucket
from two_way_sms_cdk.constructs.buckets import access_logs_bucket as new_access_logs_bucket
from two_way_sms_cdk.constructs.encryption import allow_cloudwatch_logs, new_key
from two_way_sms_cdk.constructs.handler_function import FunctionSizing, handler_function
from two_way_sms_cdk.constructs.outbound_sender import SCHEDULER_PRINCIPAL, grant_create_schedules
from two_way_sms_cdk.constructs.policies import role_policy
from two_way_sms_cdk.constructs.queues import encrypted_queue
from two_way_sms_cdk.nag import (
    acknowledge,
    acknowledge_dead_letter_queue,
    nag_resource_name,
)

DEAD_LETTER_RETENTION = Duration.days(14)  # the most SQS keeps a message
# Lambda's limits for asynchronous invocations.
MAX_RETRY_ATTEMPTS = 2
# The recurring budget check: once a quarter hour, a parked request goes back to the sender
# to try the budget. Its retries end before the next check is due.
BUDGET_CHECK_INTERVAL = Duration.minutes(15)
MIN_BUDGET_CHECK_INTERVAL, MAX_BUDGET_CHECK_INTERVAL = Duration.minutes(1), Duration.days(1)
BUDGET_CHECK_RETRY_ATTEMPTS = 2
MIN_EVENT_AGE, MAX_EVENT_AGE = Duration.seconds(60), Duration.hours(6)
NONCURRENT_AUDIENCES_KEPT_FOR = Duration.days(7)
ACCESS_LOG_RETENTION = Duration.days(365)
ACCESS_LOGS_PREFIX = "audiences/"
MAX_SETTINGS_BYTES = CAMPAIGNS_SETTINGS_BYTES  # of Lambda's 4 KB (config/environment_limits.py)
# See event_archive.py: server access logging by bucket policy, set on this construct's scope.
_S3_ACCESS_LOGS_BY_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


class Campaigns(Construct):
    """Fans campaigns out into the outbound queue and releases held requests, on EventBridge Scheduler.

    Builds: an EventBridge Scheduler schedule group (generated name) for the one-off
    schedules the sender, the campaigns function and your applications create; the
    scheduler's execution role, which only ``scheduler.amazonaws.com`` acting for this
    account and this group may assume, and which may only invoke the campaigns function
    and send to the schedule dead-letter queue; that queue (where a schedule's invocation
    goes when it fails every retry); the campaigns function; and an S3 bucket for audience
    CSV files.

    The campaigns function is invoked asynchronously by a schedule with
    ``{"kind": "campaign", "campaign": {...}, "runId": ...}`` (fan a campaign's audience
    out into ``outbound_queue``, creating continuation schedules for large audiences) or
    ``{"kind": "release", "minute": "YYYY-MM-DDTHH:MM"}`` (put the requests held for that
    minute back on the queue). A CSV audience over 2 MiB is read in up to 64 byte-range shards:
    the run's first invocation plans them and schedules one worker event per shard in the same
    group (``"shard": {...}``), so the fan-out needs no other resource and no permission beyond
    ``s3:GetObject`` (HeadObject, ranged GETs) and the schedules it already creates; at most
    ``reserved_concurrency`` workers run at once. Lambda retries a failed invocation ``retry_attempts`` times
    (default 2) within ``max_event_age`` (default 6 hours, the most Lambda allows) and then
    sends it, with the error, to the dead-letter queue (its on-failure destination). An
    event that can never run (malformed, a run id too long for the idempotency key, a
    template no longer deployed, an audience that cannot be read) is not retried: the
    function parks it in that queue at once with its reason (``DEAD_LETTER_QUEUE_URL``)
    and marks its run FAILED. The function's own ARN comes from its invocation context,
    not its environment.

    The monthly budget's holds: every ``budget_check_interval`` (15 minutes) a recurring
    schedule (``BudgetCheck``) invokes the function with ``{"kind": "check-budget"}``, which
    puts one request the sender parked for the budget back on the queue; when the sender
    finds the budget allows it (raised, or a new month), it schedules
    ``{"kind": "release-budget"}``, which puts all of them back. With nothing parked a
    check costs one DynamoDB query.

    Defaults, as behaviour:

    - One customer-managed key (``encryption_key``; default a new one, yearly rotation,
      retained) encrypts both queues, the function's logs and environment and the
      audience objects.
    - The audience bucket is SSE-KMS with an S3 Bucket Key, versioned, HTTPS-only (TLS 1.2
      or later), blocks all public access, has ACLs disabled and is retained when the
      stack is deleted. Audiences hold phone numbers: they expire ``audience_retention``
      (90 days) after upload, overwritten or deleted versions after 7 days, incomplete
      uploads after 7 days. Its server access logs go to ``access_logs_bucket`` under
      ``audiences/`` (default: a new SSE-S3 bucket that keeps them 365 days).
    - 512 MB, 5 minutes' timeout, 2 reserved concurrent executions, one year of logs.

    :param outbound_queue: where the function puts send requests.
    :param outbound_table: held requests and campaign run counters (partition ``pk``, sort ``sk``).
    :param contacts_table: read: audiences chosen by contact attributes, and each recipient's consent
        and promotional counts before queuing.
    :param templates: the templates a campaign may name (checked before it fans out).
    :param sender_settings: the sender's settings (``SENDER_SETTINGS``): recipients already
        at the promotional daily limit are skipped before they are queued. Default: none,
        the sender alone applies that limit. With the templates it must fit in
        ``MAX_SETTINGS_BYTES`` of the environment.
    :param budget_check_interval: how often parked budget holds are tried again, 1 minute
        to 1 day. Default: 15 minutes.
    :param existing_audience_bucket: read audiences from this bucket instead of a new one.
        Then ``audience_retention`` and ``access_logs_bucket`` must be omitted (the bucket's
        own settings apply). Import it with its key (``encryption_key=``) if it has one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        outbound_queue: sqs.IQueue,
        outbound_table: dynamodb.ITable,
        contacts_table: dynamodb.ITable,
        templates: Mapping[str, Template] | None = None,
        sender_settings: SenderSettings | None = None,
        encryption_key: kms.IKey | None = None,
        existing_audience_bucket: s3.IBucket | None = None,
        audience_retention: Duration | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        memory_size: int = 512,
        timeout: Duration = Duration.minutes(5),
        reserved_concurrency: int = 2,
        retry_attempts: int = MAX_RETRY_ATTEMPTS,
        max_event_age: Duration = MAX_EVENT_AGE,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        budget_check_interval: Duration = BUDGET_CHECK_INTERVAL,
    ) -> None:
        super().__init__(scope, construct_id)
        self.node.set_context(_S3_ACCESS_LOGS_BY_BUCKET_POLICY, True)  # before any child exists
        if existing_audience_bucket is not None:
            given = sorted(
                name
                for name, value in (
                    ("audience_retention", audience_retention),
                    ("access_logs_bucket", access_logs_bucket),
                )
                if value is not None
            )
            if given:
                raise ValueError(
                    f"pass existing_audience_bucket or the new bucket's settings {given}, not both: "
                    "an existing bucket keeps its own lifecycle and logging"
                )
        audience_retention = audience_retention or Duration.days(90)
        _check_settings(
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            audience_retention=audience_retention,
            reserved_concurrency=reserved_concurrency,
            budget_check_interval=budget_check_interval,
        )
        self.templates: dict[str, Template] = dict(templates or {})
        templates_json = templates_to_json(self.templates)
        settings_json = sender_settings.to_json() if sender_settings is not None else ""
        size = settings_size(templates_json, settings_json)
        if size > MAX_SETTINGS_BYTES:
            raise ValueError(
                f"the templates and sender settings take {size} bytes, more than the "
                f"{MAX_SETTINGS_BYTES} that fit in the function's environment: shorten or remove "
                "templates"
            )

        self.encryption_key: kms.IKey = encryption_key or new_key(
            self, "Key", "Encrypts the campaign queues, logs and audiences"
        )
        allow_cloudwatch_logs(self.encryption_key)

        self.schedule_group = scheduler.ScheduleGroup(self, "ScheduleGroup", removal_policy=RemovalPolicy.DESTROY)
        self.schedule_dead_letter_queue = encrypted_queue(
            self, "ScheduleDeadLetters", encryption_key=self.encryption_key, retention=DEAD_LETTER_RETENTION
        )
        self.dead_letter_queue = encrypted_queue(
            self, "DeadLetters", encryption_key=self.encryption_key, retention=DEAD_LETTER_RETENTION
        )
        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                SCHEDULER_PRINCIPAL,
                conditions={
                    # Confused-deputy guard: only schedules of this account, in this group.
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnEquals": {"aws:SourceArn": self.schedule_group.schedule_group_arn},
                },
            ),
            description="Lets EventBridge Scheduler invoke the campaigns function for one-off SMS schedules",
        )

        self.access_logs_bucket: s3.IBucket | None = None
        if existing_audience_bucket is not None:
            self.audience_bucket: s3.IBucket = existing_audience_bucket
        else:
            self.access_logs_bucket = access_logs_bucket or new_access_logs_bucket(
                self, "AccessLogs", retention=ACCESS_LOG_RETENTION
            )
            self.audience_bucket = encrypted_bucket(
                self,
                "Audiences",
                encryption_key=self.encryption_key,
                access_logs=self.access_logs_bucket,
                access_logs_prefix=ACCESS_LOGS_PREFIX,
                lifecycle_rule=s3.LifecycleRule(
                    id="ExpireAudiences",
                    expiration=audience_retention,
                    noncurrent_version_expiration=NONCURRENT_AUDIENCES_KEPT_FOR,
                    abort_incomplete_multipart_upload_after=INCOMPLETE_UPLOADS_KEPT_FOR,
                ),
            )

        environment = {
            "OUTBOUND_QUEUE_URL": outbound_queue.queue_url,
            "OUTBOUND_TABLE": outbound_table.table_name,
            "CONTACTS_TABLE": contacts_table.table_name,
            "TEMPLATES": templates_json,
            "SCHEDULE_GROUP": self.schedule_group.schedule_group_name,
            "SCHEDULER_ROLE_ARN": self.scheduler_role.role_arn,
            "SCHEDULE_DEAD_LETTER_QUEUE_ARN": self.schedule_dead_letter_queue.queue_arn,
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue.queue_url,  # events that can never run, parked
            **({"SENDER_SETTINGS": settings_json} if sender_settings is not None else {}),
        }
        handler = handler_function(
            self,
            "campaigns",
            "Fans SMS campaigns out into the outbound queue and releases held requests",
            encryption_key=self.encryption_key,
            environment=environment,
            contract=CampaignsSettings,
            sizing=FunctionSizing(memory_size, timeout, reserved_concurrency, log_retention),
        )
        self.function, self.log_group = handler.function, handler.log_group
        self.function.configure_async_invoke(
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),  # grants the function SendMessage
        )
        outbound_queue.grant_send_messages(self.function)
        outbound_table.grant_read_write_data(self.function)
        contacts_table.grant_read_data(self.function)
        self.grant_read_audiences(self.function)
        grant_create_schedules(self.function, self.schedule_group, self.scheduler_role)

        # The scheduler role's permissions, exactly: CDK's grants would add the function's
        # versions (":*") and the key's ReEncrypt*/GenerateDataKey* families.
        self._scheduler_policy = iam.ManagedPolicy(
            self,
            "SchedulerPolicy",
            description="EventBridge Scheduler: invoke the campaigns function, park failed invocations",
            roles=[self.scheduler_role],
            statements=[
                iam.PolicyStatement(
                    sid="InvokeCampaignsFunction",
                    actions=["lambda:InvokeFunction"],
                    resources=[self.function.function_arn],
                ),
                iam.PolicyStatement(
                    sid="SendToDeadLetterQueue",
                    actions=["sqs:SendMessage"],
                    resources=[self.schedule_dead_letter_queue.queue_arn],
                ),
                iam.PolicyStatement(
                    sid="EncryptDeadLetters",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[self.encryption_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"sqs.{Stack.of(self).region}.amazonaws.com"}},
                ),
            ],
        )
        self.budget_check = scheduler.CfnSchedule(
            self,
            "BudgetCheck",
            description="Tries one request parked for the monthly SMS budget again (released once the budget allows)",
            group_name=self.schedule_group.schedule_group_name,
            schedule_expression=f"rate({_rate(budget_check_interval)})",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.function.function_arn,
                role_arn=self.scheduler_role.role_arn,
                input='{"kind":"check-budget"}',
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=max(60, int(min(budget_check_interval.to_seconds(), 86400))),
                    maximum_retry_attempts=BUDGET_CHECK_RETRY_ATTEMPTS,
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.schedule_dead_letter_queue.queue_arn
                ),
            ),
        )
        # The group's name is known at synth (no reference): the schedule must still come after the group.
        self.budget_check.add_resource_dependency(self.schedule_group.node.default_child)
        handler.acknowledge_findings(
            key_scope="this construct's CMK and the keys of the outbound and contacts tables and queue",
            invoked_by="EventBridge Scheduler",
            calls="SQS, DynamoDB, S3, EventBridge Scheduler",
        )
        self._acknowledge_findings()

    def _acknowledge_findings(self) -> None:
        function = self.function.node.default_child
        # Overrides the reason handler.acknowledge_findings gave (the last acknowledgement wins).
        for finding in ("Serverless-LambdaDLQ", "HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ"):
            acknowledge(
                function,
                finding,
                "Invoked asynchronously by EventBridge Scheduler; its asynchronous "
                "invocation config sends failed events to an SQS on-failure destination, which records the "
                "error with the event (a function DLQ would keep the event only)",
            )
        for queue, role in (
            (self.dead_letter_queue, "the campaigns function's on-failure destination"),
            (self.schedule_dead_letter_queue, "the dead-letter queue of every schedule in the group"),
        ):
            acknowledge_dead_letter_queue(queue)
            acknowledge(
                queue.node.default_child,
                "AwsSolutions-SQS3",
                f"This queue is {role} (set on each schedule at run time, or the function's "
                "EventInvokeConfig), not a source queue",
            )
        policy = role_policy(self.function.role)
        stack = Stack.of(self)
        audiences = nag_resource_name(stack.resolve(self._audience_objects()))
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{audiences}]",
            "Audience CSVs have names chosen per campaign; read-only (s3:GetObject) on the audience bucket",
        )
        if self.access_logs_bucket is None:  # an existing bucket: its settings are its owner's
            return
        acknowledge(
            self.audience_bucket.node.default_child, "HIPAA.Security-S3BucketReplicationEnabled", _NO_REPLICATION
        )
        acknowledge(
            self.audience_bucket.node.default_child, "NIST.800.53.R5-S3BucketReplicationEnabled", _NO_REPLICATION
        )
        if isinstance(self.access_logs_bucket, s3.Bucket) and self.access_logs_bucket.node.scope is self:
            logs_bucket = self.access_logs_bucket.node.default_child
            for finding in ("HIPAA.Security-S3BucketReplicationEnabled", "NIST.800.53.R5-S3BucketReplicationEnabled"):
                acknowledge(
                    logs_bucket,
                    finding,
                    "Server access logs of the audience bucket, kept for a fixed "
                    "retention; an audit trail of this account's own requests, not data to replicate",
                )
            for finding in ("HIPAA.Security-S3DefaultEncryptionKMS", "NIST.800.53.R5-S3DefaultEncryptionKMS"):
                acknowledge(
                    logs_bucket,
                    finding,
                    "S3 server access logging delivers only to destination buckets "
                    "with SSE-S3 default encryption, not SSE-KMS",
                )

    def _audience_objects(self) -> str:
        return self.audience_bucket.arn_for_objects("*")

    # -- grants -------------------------------------------------------------------------------
    def grant_read_audiences(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read audience CSVs: ``s3:GetObject`` on the bucket's objects, ``s3:ListBucket`` (a missing
        key then reads as NoSuchKey, not AccessDenied) and decrypt with the bucket's key."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:GetObject"], resource_arns=[self._audience_objects()]
        )
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee, actions=["s3:ListBucket"], resource_arns=[self.audience_bucket.bucket_arn]
            )
        )
        if self.audience_bucket.encryption_key is not None:
            grant = grant.combine(self.audience_bucket.encryption_key.grant_decrypt(grantee))
        return grant

    def grant_upload_audiences(self, grantee: iam.IGrantable) -> iam.Grant:
        """Upload audience CSVs (``s3:PutObject`` and the key's encrypt actions)."""
        return self.audience_bucket.grant_put(grantee)

    def grant_schedule_campaigns(self, grantee: iam.IGrantable) -> iam.Grant:
        """Schedule campaign runs: ``scheduler:CreateSchedule`` in the group and ``iam:PassRole`` on
        the scheduler role (to EventBridge Scheduler only), as the client of an application does."""
        return grant_create_schedules(grantee, self.schedule_group, self.scheduler_role)

    # -- metrics ------------------------------------------------------------------------------
    def metric_dead_letters(self, **kwargs: Any) -> cloudwatch.IMetric:
        """Failed invocations waiting in either dead-letter queue (schedule and on-failure destination)."""
        return cloudwatch.MathExpression(
            expression="schedules + invocations",
            using_metrics={
                "schedules": self.schedule_dead_letter_queue.metric_approximate_number_of_messages_visible(),
                "invocations": self.dead_letter_queue.metric_approximate_number_of_messages_visible(),
            },
            label="Campaign invocations in dead-letter queues",
            **kwargs,
        )

    def metric_schedule_target_errors(self, **kwargs: Any) -> cloudwatch.Metric:
        """Schedules of the group whose invocation of the campaigns function failed (Sum)."""
        return self.schedule_group.metric_target_errors(**{"statistic": "Sum", **kwargs})


_NO_REPLICATION = (
    "Audience CSVs are short-lived inputs (they expire after the audience retention) that the uploader "
    "keeps; versioned and retained, encrypted with a retained key: a second-region copy of phone "
    "lists would widen their exposure for no recovery need"
)


def _rate(interval: Duration) -> str:
    """A Scheduler rate: ``15 minutes``, ``1 hour``, ``2 days`` (the largest whole unit)."""
    minutes = int(interval.to_minutes())
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    raise AssertionError("every whole number of minutes has a unit")  # pragma: no cover


def _check_settings(
    *,
    retry_attempts: int,
    max_event_age: Duration,
    audience_retention: Duration,
    reserved_concurrency: int,
    budget_check_interval: Duration,
) -> None:
    """Fails early, naming the bad value; unresolved tokens are left to CloudFormation."""
    if not Token.is_unresolved(retry_attempts) and not 0 <= retry_attempts <= MAX_RETRY_ATTEMPTS:
        raise ValueError(
            f"retry_attempts {retry_attempts} must be 0-{MAX_RETRY_ATTEMPTS} (Lambda's asynchronous retries)"
        )
    if not max_event_age.is_unresolved() and not (
        MIN_EVENT_AGE.to_seconds() <= max_event_age.to_seconds() <= MAX_EVENT_AGE.to_seconds()
    ):
        raise ValueError(f"max_event_age {max_event_age.to_human_string()} must be 1 minute to 6 hours")
    if not audience_retention.is_unresolved():
        days = audience_retention.to_days(integral=False)
        if days < 1 or days != int(days):
            raise ValueError(
                f"audience_retention {audience_retention.to_human_string()} must be a whole number of days, at least 1"
            )
    if not Token.is_unresolved(reserved_concurrency) and reserved_concurrency < 1:
        raise ValueError(f"reserved_concurrency {reserved_concurrency} must be at least 1")
    if budget_check_interval.is_unresolved():
        raise ValueError("budget_check_interval must be a concrete duration: it becomes a schedule's rate")
    seconds = budget_check_interval.to_seconds()
    if seconds % 60 or not MIN_BUDGET_CHECK_INTERVAL.to_seconds() <= seconds <= MAX_BUDGET_CHECK_INTERVAL.to_seconds():
        raise ValueError(
            f"budget_check_interval {budget_check_interval.to_human_string()} must be whole minutes "
            "from 1 minute to 1 day"
        )
