"""From the topic to a reply: queue, dead-letter queues, tables and the inbound function."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.reply_configuration_set import ReplyConfigurationSet
from infra.constructs.two_way_number import TwoWayNumber
from infra.nag import acknowledge
from infra.lambda_code import ARCHITECTURE, RUNTIME, dependencies_layer, function_code

# Lambda allows 4 KB of environment variables in all; the settings must fit with the rest.
MAX_SETTINGS_BYTES = 3500
SERVICE_NAME = "two-way-sms"


class InboundProcessor(Construct):
    """Consumes inbound texts from the topic and answers them.

    Builds: an SQS queue subscribed to the topic with raw message delivery (the
    subscription has its own dead-letter queue, so SNS never drops a message it could
    not deliver); a redrive dead-letter queue after ``max_receive_count`` failed tries;
    the inbound function on the queue with partial batch responses; DynamoDB tables for
    contacts and opt-outs (deletion-protected, retained) and idempotency records (TTL).
    Every queue, table and log group is encrypted with one customer-managed key.

    Defaults: 256 MB, 30 s timeout, 5 reserved concurrent executions (replies must not
    outrun the number's throughput), batches of 10, log retention of one year.

    :param existing_contacts_table: keep contacts in this table instead of a new one. It
        must have partition key ``phone_number`` and sort key ``record`` (strings).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        number: TwoWayNumber,
        configuration_set: ReplyConfigurationSet,
        message_type: str = "TRANSACTIONAL",
        encryption_key: kms.IKey | None = None,
        existing_contacts_table: dynamodb.ITable | None = None,
        memory_size: int = 256,
        timeout: Duration = Duration.seconds(30),
        reserved_concurrency: int = 5,
        batch_size: int = 10,
        max_receive_count: int = 5,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, construct_id)
        settings_json = number.responder.to_json()
        if len(settings_json.encode()) > MAX_SETTINGS_BYTES:
            raise ValueError(
                f"the replies and keywords take {len(settings_json.encode())} bytes, more than the "
                f"{MAX_SETTINGS_BYTES} that fit in the function's environment: shorten the replies"
            )
        if not 1 <= batch_size <= 10:
            raise ValueError(f"batch_size {batch_size} must be 1-10 (an SQS batch without a batching window)")

        self.encryption_key = encryption_key or kms.Key(
            self, "Key", description="Encrypts the inbound SMS queues, tables and logs", enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        region = Stack.of(self).region
        self.encryption_key.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowCloudWatchLogs",
            principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": Stack.of(self).format_arn(
                service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME)}},
        ))

        self.subscription_dead_letter_queue = self._queue("SubscriptionDeadLetters", Duration.days(14))
        self.dead_letter_queue = self._queue("DeadLetters", Duration.days(14))
        self.queue = self._queue(
            "Queue",
            Duration.days(4),
            # AWS's advice for SQS-triggered functions: at least six times the timeout.
            visibility_timeout=Duration.seconds(timeout.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=max_receive_count),
        )
        topic.add_subscription(subscriptions.SqsSubscription(
            self.queue, raw_message_delivery=True, dead_letter_queue=self.subscription_dead_letter_queue,
        ))

        self.contacts_table: dynamodb.ITable = existing_contacts_table or dynamodb.Table(
            self, "Contacts",
            partition_key=dynamodb.Attribute(name="phone_number", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="record", type=dynamodb.AttributeType.STRING),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.encryption_key,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.idempotency_table = dynamodb.Table(
            self, "Idempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.encryption_key,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            removal_policy=RemovalPolicy.DESTROY,
        )

        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, encryption_key=self.encryption_key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # An own role, not AWSLambdaBasicExecutionRole: it may write to its own log group only.
        role = iam.Role(self, "FunctionRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.log_group.grant_write(role)
        self.function = lambda_.Function(
            self, "Function",
            role=role,
            description="Answers inbound SMS: keywords, HELP, opt-outs and opt-ins",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=function_code("inbound"),
            handler="inbound.app.handler",
            layers=[dependencies_layer(self)],
            memory_size=memory_size,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment_encryption=self.encryption_key,
            environment={
                "RESPONDER_SETTINGS": settings_json,
                "CONTACTS_TABLE": self.contacts_table.table_name,
                "IDEMPOTENCY_TABLE": self.idempotency_table.table_name,
                "CONFIGURATION_SET": configuration_set.configuration_set_name,
                "OPT_OUT_LIST": number.opt_out_list_name,
                "MESSAGE_TYPE": message_type,
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": "TwoWaySms",
            },
        )
        self.function.add_event_source(event_sources.SqsEventSource(
            self.queue, batch_size=batch_size, report_batch_item_failures=True,
            # No more concurrent batches than the reserved concurrency (2 is the least the mapping
            # takes): a throttled batch goes back to the queue and its receives count towards the
            # redrive, so a burst would send messages to the dead-letter queue unprocessed.
            max_concurrency=max(2, reserved_concurrency),
        ))
        self.contacts_table.grant_read_write_data(self.function)
        self.idempotency_table.grant_read_write_data(self.function)
        number.grant_send(self.function, configuration_set.configuration_set_arn)
        number.grant_manage_opt_outs(self.function)
        self._acknowledge_findings(role)

    def _acknowledge_findings(self, role: iam.Role) -> None:
        policy = role.node.find_child("DefaultPolicy").node.default_child
        for finding in ("AwsSolutions-IAM5[Action::kms:GenerateDataKey*]", "AwsSolutions-IAM5[Action::kms:ReEncrypt*]"):
            acknowledge(policy, finding, "Scoped to this construct's one CMK; SQS and DynamoDB encryption need the "
                        "GenerateDataKey*/ReEncrypt* family of that key")
        for finding in ("HIPAA.Security-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
            acknowledge(policy, finding, "CDK grants write this role's own policy, used by no other principal; every "
                        "statement names this stack's resources")
        tracing_policy = self.function.node.find_child("inlinePolicyAddedToExecutionRole-0").node.default_child
        acknowledge(tracing_policy, "AwsSolutions-IAM5[Resource::*]",
                    "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions")
        for finding in ("HIPAA.Security-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
            acknowledge(tracing_policy, finding, "The X-Ray write policy that active tracing adds to this role only")
        function = self.function.node.default_child
        for finding in ("Serverless-LambdaDLQ", "HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ"):
            acknowledge(function, finding, "Invoked synchronously by an SQS event source mapping, where a function "
                        "DLQ never fires; failed messages go to the queue's redrive dead-letter queue")
        for finding in ("HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC"):
            acknowledge(function, finding, "Calls only AWS service endpoints (SQS, DynamoDB, End User Messaging) over "
                        "TLS with IAM auth; a VPC would add NAT or interface endpoints and no control over the data")
        mapping = next(c for c in self.function.node.children if isinstance(c, lambda_.EventSourceMapping))
        acknowledge(mapping.node.default_child, "Serverless-LambdaEventSourceMappingDestination",
                    "SQS event source mappings take no on-failure destination; the queue's redrive policy sends "
                    "failed messages to the dead-letter queue")
        for queue in (self.dead_letter_queue, self.subscription_dead_letter_queue):
            acknowledge(queue.node.default_child, "Serverless-SQSRedrivePolicy",
                        "This queue is itself a dead-letter queue; its messages are inspected and redriven by hand")
        acknowledge(self.subscription_dead_letter_queue.node.default_child, "AwsSolutions-SQS3",
                    "This queue is the SNS subscription's dead-letter queue (the subscription's RedrivePolicy)")
        for table, reason in (
            (self.contacts_table, "Point-in-time recovery (35 days), deletion protection and a retain policy protect "
                                  "it; add it to your organisation's AWS Backup plan by tag if you need longer"),
            (self.idempotency_table, "Holds short-lived idempotency records that expire by TTL; nothing to restore"),
        ):
            if isinstance(table, dynamodb.Table):
                for finding in ("HIPAA.Security-DynamoDBInBackupPlan", "NIST.800.53.R5-DynamoDBInBackupPlan"):
                    acknowledge(table.node.default_child, finding, reason)

    def _queue(self, construct_id: str, retention: Duration, **kwargs) -> sqs.Queue:
        return sqs.Queue(
            self, construct_id,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.encryption_key,
            enforce_ssl=True,
            retention_period=retention,
            **kwargs,
        )

    def grant_read_contacts(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read who opted out (an outbound sender must check before every send)."""
        return self.contacts_table.grant_read_data(grantee)

    def metric_dead_letters(self, **kwargs) -> cloudwatch.IMetric:
        """Messages waiting in either dead-letter queue: each one is a text nobody answered."""
        return cloudwatch.MathExpression(
            expression="subscription + processing",
            using_metrics={
                "subscription": self.subscription_dead_letter_queue.metric_approximate_number_of_messages_visible(),
                "processing": self.dead_letter_queue.metric_approximate_number_of_messages_visible(),
            },
            label="Inbound messages in dead-letter queues",
            **kwargs,
        )

