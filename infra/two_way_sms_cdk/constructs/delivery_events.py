"""Delivery events: EventBridge -> Kinesis Data Stream -> events function -> message ledger."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from two_way_sms.settings.events import EventsSettings
from two_way_sms_cdk.constructs.encryption import allow_cloudwatch_logs, new_key
from two_way_sms_cdk.constructs.handler_function import FunctionSizing, handler_function
from two_way_sms_cdk.constructs.message_ledger import MessageLedger
from two_way_sms_cdk.constructs.policies import regional_arn, role_policy, source_conditions
from two_way_sms_cdk.constructs.queues import encrypted_queue
from two_way_sms_cdk.constructs.tables import grant_table_actions
from two_way_sms_cdk.nag import acknowledge, acknowledge_dead_letter_queue

EVENT_SOURCE = "aws.sms-voice"
DELIVERY_STATUS_DETAIL_TYPE = "Text Message Delivery Status Updated"
# Every event of one message lands on one shard, in order: the ledger sees them in sequence.
PARTITION_KEY_PATH = "$.detail.messageId"
EVENTS_PRINCIPAL = "events.amazonaws.com"
# The contacts-table actions the events function calls, and no others.
EVENTS_CONTACTS_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem")

# EventBridge's limits for a target: at most 185 retries within at most 24 hours.
RULE_MAX_RETRY_ATTEMPTS = 185
RULE_MAX_EVENT_AGE = Duration.hours(24)
DEAD_LETTER_RETENTION = Duration.days(14)  # the most SQS keeps a message

DEFAULT_STREAM_MODE = kinesis.StreamMode.PROVISIONED
DEFAULT_SHARD_COUNT = 1
DEFAULT_STREAM_RETENTION = Duration.hours(24)
# An on-demand stream starts with 4 shards and adds more under load; an existing stream's
# shard count is unknown here. Ten concurrent batches per parallelization step covers both.
UNKNOWN_SHARDS_CONCURRENCY_PER_FACTOR = 10

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_KEY_MARK = "_two_way_sms_allows_eventbridge_dead_letters"  # set on a key once its policy has the statement


class DeliveryEvents(Construct):
    """Keeps the message ledger up to date from End User Messaging's delivery events.

    Builds: an EventBridge rule on the default bus for ``source = aws.sms-voice``,
    ``detail-type = Text Message Delivery Status Updated`` (only the numbers in
    ``origination_numbers`` when given); its target, a KMS-encrypted Kinesis Data Stream
    partitioned by message id, so the events of one message stay in order on one shard.
    The target retries for up to 24 hours (185 attempts, the most EventBridge allows) and
    then puts the event in the rule's dead-letter queue. The events function reads the
    stream from its oldest record, splits a failing batch in two, reports partial
    failures by sequence number, gives up on a batch after ``retry_attempts`` or when its
    records are older than ``max_record_age``, and then sends the batch's shard and
    sequence numbers to the dead-letter queue (the handler also parks malformed records
    there, with the reason). It writes the ledger and records opt-outs that delivery
    events show in ``contacts_table``. Both queues keep messages 14 days, accept HTTPS
    only and, like the stream and the function's log group, use one customer-managed key.

    The stream is deleted with the stack: its records are a 24-hour buffer whose only
    reader (the function) goes with the stack, so a retained stream would just keep billing.

    :param ledger: the message ledger the function writes.
    :param contacts_table: the contacts table (partition ``phone_number``, sort ``record``)
        where the function records opt-outs that delivery events reveal (``PutItem`` and
        ``UpdateItem`` only).
    :param encryption_key: encrypts the stream, both queues, the log group and the
        function's environment. Default: a new key (yearly rotation, retained). An
        imported key's policy must already let ``events.amazonaws.com`` (GenerateDataKey,
        Decrypt) and CloudWatch Logs use it: CDK cannot edit it.
    :param existing_stream: put the events on this stream instead of a new one. Then
        ``stream_mode``, ``shard_count`` and ``stream_retention`` must be omitted.
    :param stream_mode: Default: provisioned. One provisioned shard (about $11 a month)
        takes 1,000 records a second, far above what any SMS number sends; on-demand costs
        a fixed ~$29 a month per stream plus data.
    :param shard_count: shards of a provisioned stream. Default: 1. Not with on-demand.
    :param stream_retention: how long the stream keeps records (24 hours to 365 days).
        Default: 24 hours, the least and cheapest; it must exceed ``max_record_age``.
    :param origination_numbers: the E.164 numbers whose events to take. Default: every
        number and pool in the account and region.
    :param batch_size: records per invocation, 1-10,000. Default: 100.
    :param max_batching_window: how long to gather a batch, up to 5 minutes. Default: 1 second.
    :param retry_attempts: retries of a failing batch (0-10,000) before it goes to the
        dead-letter queue. Default: 10. A record that can never succeed is parked by the
        function, not retried, so only failures that outlasted the AWS SDK's own retries come
        back; with 3, 5 % of such failures sent over 40 % of a 100-record batch to the
        dead-letter queue in the fault benchmark (``make bench`` section 16), with 10 none.
    :param max_record_age: records older than this go to the dead-letter queue unprocessed
        (60 seconds to 7 days). Default: 12 hours.
    :param parallelization_factor: concurrent batches per shard, 1-10. Default: 1 (records
        of one message stay in order either way: they share a partition key).
    :param memory_size: Default: 256 MB.
    :param timeout: Default: 60 seconds.
    :param reserved_concurrency: Default: as many concurrent invocations as the mapping can
        run, so it is never throttled: shards x parallelization factor (at least 2, room for
        one shard split) for a new provisioned stream; 10 x parallelization factor for an
        on-demand or existing stream, whose shard count is not fixed here.
    :param log_retention: Default: one year.
    :param outbound_table: the outbound sender's table (partition ``pk``, sort ``sk``): the
        function adds each campaign message's final status to its campaign run's
        ``delivered`` or ``failed`` count there (``dynamodb:UpdateItem`` only). Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ledger: MessageLedger,
        contacts_table: dynamodb.ITable,
        encryption_key: kms.IKey | None = None,
        existing_stream: kinesis.IStream | None = None,
        stream_mode: kinesis.StreamMode | None = None,
        shard_count: int | None = None,
        stream_retention: Duration | None = None,
        origination_numbers: Sequence[str] | None = None,
        batch_size: int = 100,
        max_batching_window: Duration = Duration.seconds(1),
        retry_attempts: int = 10,
        max_record_age: Duration = Duration.hours(12),
        parallelization_factor: int = 1,
        memory_size: int = 256,
        timeout: Duration = Duration.seconds(60),
        reserved_concurrency: int | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        outbound_table: dynamodb.ITable | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if existing_stream is not None:
            given = {
                name: value
                for name, value in (
                    ("stream_mode", stream_mode),
                    ("shard_count", shard_count),
                    ("stream_retention", stream_retention),
                )
                if value is not None
            }
            if given:
                raise ValueError(
                    f"pass existing_stream or the new stream's settings {sorted(given)}, not both: an existing "
                    "stream keeps its own mode, shards and retention"
                )
        else:
            stream_mode = stream_mode or DEFAULT_STREAM_MODE
            if stream_mode == kinesis.StreamMode.ON_DEMAND and shard_count is not None:
                raise ValueError(f"shard_count {shard_count} is only for a PROVISIONED stream, not ON_DEMAND")
            if stream_mode == kinesis.StreamMode.PROVISIONED and shard_count is None:
                shard_count = DEFAULT_SHARD_COUNT
            stream_retention = stream_retention or DEFAULT_STREAM_RETENTION
        _check_settings(
            shard_count=shard_count,
            stream_retention=stream_retention,
            origination_numbers=origination_numbers,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            parallelization_factor=parallelization_factor,
            memory_size=memory_size,
            timeout=timeout,
            reserved_concurrency=reserved_concurrency,
        )
        if reserved_concurrency is None:
            reserved_concurrency = _default_reserved_concurrency(
                stream_mode if existing_stream is None else None, shard_count, parallelization_factor
            )

        self.encryption_key: kms.IKey = encryption_key or new_key(
            self, "Key", "Encrypts the delivery event stream, its queues and logs"
        )
        allow_cloudwatch_logs(self.encryption_key)
        _allow_eventbridge_dead_letters(self.encryption_key)

        self.stream: kinesis.IStream = existing_stream or kinesis.Stream(
            self,
            "Stream",
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=self.encryption_key,
            stream_mode=stream_mode,
            shard_count=shard_count,
            retention_period=stream_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )

        self.rule_dead_letter_queue = encrypted_queue(
            self, "RuleDeadLetters", encryption_key=self.encryption_key, retention=DEAD_LETTER_RETENTION
        )
        self.rule = events.Rule(
            self,
            "Rule",
            description="End User Messaging SMS delivery events to the delivery event stream",
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE],
                detail_type=[DELIVERY_STATUS_DETAIL_TYPE],
                detail={"originationPhoneNumber": list(origination_numbers)} if origination_numbers else None,
            ),
        )
        self.rule.add_target(
            targets.KinesisStream(
                self.stream,
                partition_key_path=PARTITION_KEY_PATH,
                dead_letter_queue=self.rule_dead_letter_queue,
                max_event_age=RULE_MAX_EVENT_AGE,
                retry_attempts=RULE_MAX_RETRY_ATTEMPTS,
            )
        )
        # The Kinesis target, unlike the Lambda and SQS ones, leaves the dead-letter queue's policy to us.
        self.rule_dead_letter_queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowDeliveryEventRule",
                principals=[iam.ServicePrincipal(EVENTS_PRINCIPAL)],
                actions=["sqs:SendMessage"],
                resources=[self.rule_dead_letter_queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.rule.rule_arn}},
            )
        )

        self.dead_letter_queue = encrypted_queue(
            self, "DeadLetters", encryption_key=self.encryption_key, retention=DEAD_LETTER_RETENTION
        )
        environment = {
            "LEDGER_TABLE": ledger.table.table_name,
            "CONTACTS_TABLE": contacts_table.table_name,
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue.queue_url,
            "LEDGER_RETENTION_DAYS": str(ledger.retention_days),
            **({"OUTBOUND_TABLE": outbound_table.table_name} if outbound_table is not None else {}),
        }
        handler = handler_function(
            self,
            "events",
            "Applies SMS delivery events to the message ledger and records opt-outs they show",
            encryption_key=self.encryption_key,
            environment=environment,
            contract=EventsSettings,
            sizing=FunctionSizing(memory_size, timeout, reserved_concurrency, log_retention),
        )
        self.function, self.log_group = handler.function, handler.log_group
        self.event_source = event_sources.KinesisEventSource(
            self.stream,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            bisect_batch_on_error=True,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            parallelization_factor=parallelization_factor,
            report_batch_item_failures=True,
            on_failure=event_sources.SqsDlq(self.dead_letter_queue),  # also grants the function SendMessage
        )
        self.function.add_event_source(self.event_source)  # also grants the function read on the stream
        self.event_source_mapping: lambda_.EventSourceMapping = next(
            c for c in self.function.node.children if isinstance(c, lambda_.EventSourceMapping)
        )
        ledger.grant_record(self.function)
        # Recording an opt-out (two_way_sms.adapters.contacts.ContactsTable.record_consent): the
        # proof's conditional PutItem and the profile's conditional UpdateItem; nothing else.
        grant_table_actions(contacts_table, self.function, EVENTS_CONTACTS_ACTIONS, write=True)
        if outbound_table is not None:  # ADD to a campaign run's delivered/failed counters
            outbound_table.grant(self.function, "dynamodb:UpdateItem")
            if outbound_table.encryption_key is not None:
                outbound_table.encryption_key.grant_encrypt_decrypt(self.function)
        handler.acknowledge_findings(
            key_scope="the keys of this construct's stream, queues and tables",
            invoked_by="a Kinesis event source mapping; its on-failure destination sends failed batches to the "
            "dead-letter queue",
            calls="Kinesis, DynamoDB, SQS",
        )
        self._acknowledge_findings()

    def _acknowledge_findings(self) -> None:
        events_role = self.stream.node.try_find_child("EventsRole")  # the rule target's role (CDK names it)
        if isinstance(events_role, iam.Role):
            events_policy = role_policy(events_role)
            if self.stream.encryption_key is not None:
                for finding in (
                    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                    "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
                ):
                    acknowledge(
                        events_policy,
                        finding,
                        "Scoped to the stream's one key: EventBridge puts records on "
                        "the KMS-encrypted stream, and Kinesis needs a data key of it for each producer",
                    )
            for finding in ("HIPAA.Security-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
                acknowledge(
                    events_policy,
                    finding,
                    "CDK's policy for the role EventBridge assumes to write to this "
                    "one stream; no other principal uses it",
                )
        if isinstance(self.stream, kinesis.Stream):
            acknowledge(
                self.stream.node.default_child,
                "AwsSolutions-KDS3",
                "The stream shares the stack's data key, which the log groups need anyway (CloudWatch Logs takes "
                "only customer-managed keys): aws/kinesis would save no key, and Kinesis bills its KMS requests "
                "(about one per credential every five minutes) with either key. The key policy stays a second "
                "gate on delivery events, which carry phone numbers",
            )
        for queue in (self.dead_letter_queue, self.rule_dead_letter_queue):
            acknowledge_dead_letter_queue(queue)
        acknowledge(
            self.rule_dead_letter_queue.node.default_child,
            "AwsSolutions-SQS3",
            "This queue is the EventBridge rule target's dead-letter queue (the target's DeadLetterConfig)",
        )
        acknowledge(
            self.dead_letter_queue.node.default_child,
            "AwsSolutions-SQS3",
            "This queue is the Kinesis event source mapping's on-failure destination",
        )

    def metric_iterator_age(self, **kwargs) -> cloudwatch.Metric:
        """How far behind the stream the function is (``IteratorAge``, maximum, milliseconds).

        A growing age means delivery events wait: the ledger lags and records near
        ``max_record_age`` are about to go to the dead-letter queue unprocessed.
        """
        return self.function.metric("IteratorAge", **{"statistic": "Maximum", **kwargs})

    def grant_read_stream(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the delivery event stream (and decrypt it), e.g. for a second consumer."""
        return self.stream.grant_read(grantee)


def _allow_eventbridge_dead_letters(key: kms.IKey) -> None:
    """Lets EventBridge put undeliverable events in a queue encrypted with ``key`` (once per key).

    The condition names the account's rules, not this rule's ARN: the queue is encrypted
    with the key and the rule names the queue, so naming the rule in the key policy would
    be a circular dependency.
    """
    if not isinstance(key, kms.Key) or getattr(key, _KEY_MARK, False):
        return
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowEventBridgeDeadLetters",
            principals=[iam.ServicePrincipal(EVENTS_PRINCIPAL)],
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=["*"],  # in a key policy "*" means this key
            conditions=source_conditions(regional_arn("events", "rule/*")),
        )
    )
    setattr(key, _KEY_MARK, True)


def _default_reserved_concurrency(
    stream_mode: kinesis.StreamMode | None,
    shard_count: int | None,
    parallelization_factor: int,
) -> int:
    """Enough concurrent invocations for every batch the mapping can run at once."""
    if (
        stream_mode == kinesis.StreamMode.PROVISIONED
        and shard_count is not None
        and not Token.is_unresolved(shard_count)
        and not Token.is_unresolved(parallelization_factor)
    ):
        return max(2, shard_count * parallelization_factor)
    return UNKNOWN_SHARDS_CONCURRENCY_PER_FACTOR * parallelization_factor


def _check_settings(
    *,
    shard_count: int | None,
    stream_retention: Duration | None,
    origination_numbers: Sequence[str] | None,
    batch_size: int,
    max_batching_window: Duration,
    retry_attempts: int,
    max_record_age: Duration,
    parallelization_factor: int,
    memory_size: int,
    timeout: Duration,
    reserved_concurrency: int | None,
) -> None:
    """Fails early, naming the bad value; unresolved tokens are left to CloudFormation."""

    def check_range(name: str, value: int | None, low: int, high: int, why: str = "") -> None:
        if value is not None and not Token.is_unresolved(value) and not low <= value <= high:
            raise ValueError(f"{name} {value} must be {low:,}-{high:,}{why}")

    def check_duration(name: str, value: Duration | None, low: Duration, high: Duration) -> None:
        if (
            value is not None
            and not value.is_unresolved()
            and not low.to_seconds() <= value.to_seconds() <= high.to_seconds()
        ):
            raise ValueError(
                f"{name} {value.to_human_string()} must be {low.to_human_string()} to {high.to_human_string()}"
            )

    if shard_count is not None and not Token.is_unresolved(shard_count) and shard_count < 1:
        raise ValueError(f"shard_count {shard_count} must be at least 1")
    check_range("batch_size", batch_size, 1, 10_000)
    check_range(
        "retry_attempts",
        retry_attempts,
        0,
        10_000,
        " (a bounded number: -1, retrying forever, would let one bad record hold up its shard until it ages out)",
    )
    check_range("parallelization_factor", parallelization_factor, 1, 10)
    check_range("memory_size", memory_size, 128, 10_240)
    check_range("reserved_concurrency", reserved_concurrency, 1, 10_000)
    check_duration("max_batching_window", max_batching_window, Duration.seconds(0), Duration.seconds(300))
    check_duration("max_record_age", max_record_age, Duration.seconds(60), Duration.days(7))
    check_duration("timeout", timeout, Duration.seconds(1), Duration.seconds(900))
    check_duration("stream_retention", stream_retention, Duration.hours(24), Duration.days(365))
    if (
        stream_retention is not None
        and not stream_retention.is_unresolved()
        and not max_record_age.is_unresolved()
        and max_record_age.to_seconds() >= stream_retention.to_seconds()
    ):
        raise ValueError(
            f"max_record_age {max_record_age.to_human_string()} must be shorter than stream_retention "
            f"{stream_retention.to_human_string()}: the stream would drop records before they reach the "
            "dead-letter queue"
        )
    if origination_numbers is not None:
        if isinstance(origination_numbers, str) or not origination_numbers:
            raise ValueError(
                f"origination_numbers {origination_numbers!r} must be a non-empty list of numbers, "
                "or None for every number"
            )
        for number in origination_numbers:
            if not Token.is_unresolved(number) and not _E164.match(number):
                raise ValueError(f"origination_numbers entry {number!r} is not an E.164 number like +12065550100")
