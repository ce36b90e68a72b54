"""From the topic to a reply: queue, dead-letter queues, tables and the inbound function."""

from __future__ import annotations

from aws_cdk import Duration, FeatureFlags, Token
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

from two_way_sms.outbound.budget import budget_text
from two_way_sms.outbound.policy import MAX_PRICE_PATTERN, MAX_TIME_TO_LIVE_SECONDS, MIN_TIME_TO_LIVE_SECONDS
from two_way_sms.reply_log import ReplyLimits
from two_way_sms.settings import InboundSettings
from two_way_sms_cdk.config.environment_limits import INBOUND_SETTINGS_BYTES, LAMBDA_ENVIRONMENT_BYTES
from two_way_sms_cdk.constructs.conversations import Conversations
from two_way_sms_cdk.constructs.encryption import allow_cloudwatch_logs, new_key
from two_way_sms_cdk.constructs.handler_function import POWERTOOLS_ENVIRONMENT, FunctionSizing, handler_function
from two_way_sms_cdk.constructs.message_ledger import MessageLedger
from two_way_sms_cdk.constructs.queues import encrypted_queue
from two_way_sms_cdk.constructs.reply_configuration_set import ReplyConfigurationSet
from two_way_sms_cdk.constructs.tables import encrypted_table
from two_way_sms_cdk.constructs.two_way_number import TwoWayNumber
from two_way_sms_cdk.nag import acknowledge, acknowledge_dead_letter_queue, acknowledge_sqs_event_source

# Lambda allows 4 KB of environment variables in all; the settings must fit with the rest
# (about 1,450 bytes once resolved: the names of the tables, configuration set, opt-out list,
# the conversations' parameter, bus and codes key, the dead-letter queue's URL, our numbers,
# the reply's price ceiling and time to live, the extensions module). ``environment_size``
# then checks the whole environment.
MAX_SETTINGS_BYTES = INBOUND_SETTINGS_BYTES
# A generated name (table, parameter, bus, configuration set) is a token at synth: what it takes
# once resolved, about, for the size check (stack name, logical id and a random suffix).
RESOLVED_NAME_BYTES = 100
# With this flag CDK limits the SNS decryption statement an SQS subscription adds to the
# queue's key to the topic (aws:SourceArn); without it the construct adds a Deny that does the same.
RESTRICT_SQS_DECRYPTION_FLAG = "@aws-cdk/aws-sns-subscriptions:restrictSqsDescryption"
SNS_PRINCIPAL = "sns.amazonaws.com"


class InboundProcessor(Construct):
    """Consumes inbound texts from the topic and answers them.

    Builds: an SQS queue subscribed to the topic, each message in its SNS envelope (whose
    ``MessageId`` and ``Timestamp`` stay the same across SNS redeliveries; the subscription
    has its own dead-letter queue, so SNS never drops a message it could not deliver); a
    redrive dead-letter queue after ``max_receive_count`` failed tries; the inbound function
    on the queue with partial batch responses; DynamoDB tables for contacts and opt-outs
    (deletion-protected, retained; they also hold each customer's reply log, which keeps every
    reply to at most one send). Every queue, table and
    log group is encrypted with one customer-managed key. The queue and the subscription's
    dead-letter queue take messages from the topic only (a Deny of ``sqs:SendMessage`` with
    any other ``aws:SourceArn``), and SNS may use the key for this topic only.

    The function's environment also says how its replies are sent and what it answers:
    ``REPLY_MAX_PRICE`` (``SendTextMessage`` MaxPrice, absent for none), ``REPLY_TIME_TO_LIVE``
    (seconds), ``MAX_RECEIVE_COUNT`` (the queue's), ``DEAD_LETTER_QUEUE_URL`` (the redrive
    dead-letter queue, where the function parks a message that can never be answered, with
    the reason), and ``OUR_NUMBERS`` (the number, E.164) or, for a pool,
    ``ORIGINATION_POOL_ID`` (with the read-only actions to list its numbers).

    Defaults: 256 MB, 30 s timeout, 5 reserved concurrent executions (replies must not
    outrun the number's throughput), batches of 10, log retention of one year.

    :param existing_contacts_table: keep contacts in this table instead of a new one. It
        must have partition key ``phone_number`` and sort key ``record`` (strings).
    :param ledger: record every reply sent (status ``SENT``) in this message ledger.
        Default: none, replies are not recorded.
    :param conversations: run these conversation flows and publish business events on
        their bus (``FLOWS_PARAMETER``, ``CONVERSATIONS_TABLE`` and ``EVENT_BUS_NAME``, and
        ``Conversations.grant_converse``). Default: none, the function answers keywords,
        HELP and opt-outs only.
    :param reply_max_price_usd: the most a reply may cost (``SendTextMessage`` MaxPrice), as
        text like ``"0.10"``. Default: None, no ceiling (``REPLY_MAX_PRICE`` absent).
    :param reply_time_to_live_seconds: how long End User Messaging tries to deliver a reply,
        5-259,200. Default: 259,200 (72 hours, the service's default).
    :param hard_stop_budget_usd: once the month's counted spend (the ``ledger``'s) reaches this many
        US dollars, hold every reply but consent confirmations and HELP (``MONTHLY_BUDGET_USD`` and
        ``BUDGET_HARD_STOP``). Needs ``ledger``. Default: None, replies go on whatever the spend.
    :param reply_limits: the automatic replies one customer number can get (``REPLY_LIMITS``;
        consent confirmations are exempt). Default: 5 in 10 minutes, 20 a day, the same text
        not twice within 5 minutes.
    :param extensions: a layer with your own handlers (``two_way_sms.conversations.router``)
        under ``python/``; with ``extensions_module``, the module the function imports when it
        starts (``EXTENSIONS_MODULE``). Default: none.
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
        ledger: MessageLedger | None = None,
        conversations: Conversations | None = None,
        extensions: lambda_.ILayerVersion | None = None,
        extensions_module: str | None = None,
        memory_size: int = 256,
        timeout: Duration = Duration.seconds(30),
        reserved_concurrency: int = 5,
        batch_size: int = 10,
        max_receive_count: int = 5,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        reply_max_price_usd: str | None = None,
        reply_time_to_live_seconds: int = MAX_TIME_TO_LIVE_SECONDS,
        hard_stop_budget_usd: float | None = None,
        reply_limits: ReplyLimits = ReplyLimits(),
    ) -> None:
        super().__init__(scope, construct_id)
        if (
            reply_max_price_usd is not None
            and not Token.is_unresolved(reply_max_price_usd)
            and (not isinstance(reply_max_price_usd, str) or not MAX_PRICE_PATTERN.fullmatch(reply_max_price_usd))
        ):
            raise ValueError(
                f"reply_max_price_usd {reply_max_price_usd!r} must look like \"0.10\" (up to 2 digits, '.', 1-5 digits)"
            )
        if not Token.is_unresolved(reply_time_to_live_seconds) and (
            isinstance(reply_time_to_live_seconds, bool)
            or not isinstance(reply_time_to_live_seconds, int)
            or not MIN_TIME_TO_LIVE_SECONDS <= reply_time_to_live_seconds <= MAX_TIME_TO_LIVE_SECONDS
        ):
            raise ValueError(
                f"reply_time_to_live_seconds {reply_time_to_live_seconds!r} must be a whole number from "
                f"{MIN_TIME_TO_LIVE_SECONDS} to {MAX_TIME_TO_LIVE_SECONDS:,}"
            )
        if not Token.is_unresolved(max_receive_count) and not 1 <= max_receive_count <= 1000:
            raise ValueError(f"max_receive_count {max_receive_count} must be 1-1,000")
        if hard_stop_budget_usd is not None and ledger is None:
            raise ValueError(
                f"hard_stop_budget_usd {hard_stop_budget_usd!r} needs a ledger: the spend is counted there"
            )
        settings_json = number.responder.to_json()
        if len(settings_json.encode()) > MAX_SETTINGS_BYTES:
            raise ValueError(
                f"the replies and keywords take {len(settings_json.encode())} bytes, more than the "
                f"{MAX_SETTINGS_BYTES} that fit in the function's environment: shorten the replies"
            )
        if not 1 <= batch_size <= 10:
            raise ValueError(f"batch_size {batch_size} must be 1-10 (an SQS batch without a batching window)")
        if (extensions is None) != (extensions_module is None):
            raise ValueError(
                f"extensions and extensions_module {extensions_module!r} go together: the layer "
                "holds the module the function imports"
            )

        own_key = encryption_key is None
        self.encryption_key = encryption_key or new_key(self, "Key", "Encrypts the inbound SMS queues, tables and logs")
        allow_cloudwatch_logs(self.encryption_key)
        self.max_receive_count = max_receive_count

        self.subscription_dead_letter_queue = encrypted_queue(
            self, "SubscriptionDeadLetters", encryption_key=self.encryption_key, retention=Duration.days(14)
        )
        self.dead_letter_queue = encrypted_queue(
            self, "DeadLetters", encryption_key=self.encryption_key, retention=Duration.days(14)
        )
        self.queue = encrypted_queue(
            self,
            "Queue",
            encryption_key=self.encryption_key,
            retention=Duration.days(4),
            # AWS's advice for SQS-triggered functions: at least six times the timeout.
            visibility_timeout=Duration.seconds(timeout.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=max_receive_count),
        )
        # The SNS envelope, not raw delivery: its MessageId and Timestamp are the same on every SNS
        # redelivery (SQS's SentTimestamp is not); the handler takes the inbound JSON out of it.
        topic.add_subscription(
            subscriptions.SqsSubscription(
                self.queue,
                raw_message_delivery=False,
                dead_letter_queue=self.subscription_dead_letter_queue,
            )
        )
        self._accept_only_the_topic(topic, restrict_key=own_key)

        self.contacts_table: dynamodb.ITable = existing_contacts_table or encrypted_table(
            self,
            "Contacts",
            encryption_key=self.encryption_key,
            partition_key="phone_number",
            sort_key="record",
        )

        environment = {
            "RESPONDER_SETTINGS": settings_json,
            "CONTACTS_TABLE": self.contacts_table.table_name,
            "CONFIGURATION_SET": configuration_set.configuration_set_name,
            "OPT_OUT_LIST": number.opt_out_list_name,
            "MESSAGE_TYPE": message_type,
            "MAX_RECEIVE_COUNT": str(max_receive_count),
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue.queue_url,
            "REPLY_TIME_TO_LIVE": str(reply_time_to_live_seconds),
            "REPLY_LIMITS": reply_limits.to_text(),
            **({"REPLY_MAX_PRICE": reply_max_price_usd} if reply_max_price_usd is not None else {}),
            **(
                {"MONTHLY_BUDGET_USD": budget_text(hard_stop_budget_usd), "BUDGET_HARD_STOP": "true"}
                if hard_stop_budget_usd is not None
                else {}
            ),
            **number.inbound_environment(),
            **(
                {"LEDGER_TABLE": ledger.table.table_name, "LEDGER_RETENTION_DAYS": str(ledger.retention_days)}
                if ledger is not None
                else {}
            ),
            **(conversations.inbound_environment() if conversations is not None else {}),
            **({"EXTENSIONS_MODULE": extensions_module} if extensions_module else {}),
        }
        size = environment_size({**POWERTOOLS_ENVIRONMENT, **environment})
        if size > LAMBDA_ENVIRONMENT_BYTES:
            raise ValueError(
                f"the function's environment would take about {size} bytes once deployed, more than Lambda's "
                f"{LAMBDA_ENVIRONMENT_BYTES}: shorten the replies and keywords ({len(settings_json.encode())} bytes)"
            )
        handler = handler_function(
            self,
            "inbound",
            "Answers inbound SMS: keywords, HELP, opt-outs, opt-ins and conversations",
            encryption_key=self.encryption_key,
            environment=environment,
            contract=InboundSettings,
            sizing=FunctionSizing(memory_size, timeout, reserved_concurrency, log_retention),
        )
        if extensions is not None:
            handler.function.add_layers(extensions)
        self.function, self.log_group = handler.function, handler.log_group
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=batch_size,
                report_batch_item_failures=True,
                # No more concurrent batches than the reserved concurrency (2 is the least the mapping
                # takes): a throttled batch goes back to the queue and its receives count towards the
                # redrive, so a burst would send messages to the dead-letter queue unprocessed.
                max_concurrency=max(2, reserved_concurrency),
            )
        )
        self.contacts_table.grant_read_write_data(self.function)
        self.dead_letter_queue.grant_send_messages(self.function)  # parks what can never be answered, with why
        if ledger is not None:
            ledger.grant_record(self.function)
        if conversations is not None:
            conversations.grant_converse(self.function)
        number.grant_send(self.function, *configuration_set.send_resource_arns)
        number.grant_manage_opt_outs(self.function)
        number.grant_describe_numbers(self.function)  # a pool: its numbers, once at start-up
        handler.acknowledge_findings(
            key_scope="this construct's CMK (and the message ledger's and the conversations', when given)",
            invoked_by="an SQS event source mapping; failed messages go to the queue's redrive dead-letter queue",
            calls="SQS, DynamoDB, End User Messaging" + (", EventBridge, Systems Manager" if conversations else ""),
        )
        self._acknowledge_findings()

    def _accept_only_the_topic(self, topic: sns.ITopic, *, restrict_key: bool) -> None:
        """Only the topic may put messages on the queue and the subscription's dead-letter queue
        (a direct SendMessage has no aws:SourceArn, so it is denied too), and SNS may use the key
        for this topic only (the restrictSqsDescryption flag, or the same as a Deny without it)."""
        # The redrive dead-letter queue stands in the inbound queue's list in case a message move task
        # (a redrive back to the queue) sends with the dead-letter queue as its source.
        for queue, sources in (
            (self.queue, [topic.topic_arn, self.dead_letter_queue.queue_arn]),
            (self.subscription_dead_letter_queue, [topic.topic_arn]),
        ):
            queue.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="DenySendingButFromTheTopic",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["sqs:SendMessage"],
                    resources=[queue.queue_arn],
                    conditions={"ArnNotEquals": {"aws:SourceArn": sources}},
                )
            )
        # A key given to the construct may serve other SNS topics: its policy is its owner's.
        if restrict_key and not FeatureFlags.of(topic).is_enabled(RESTRICT_SQS_DECRYPTION_FLAG):
            self.encryption_key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="DenySnsButForTheInboundTopic",
                    effect=iam.Effect.DENY,
                    principals=[iam.ServicePrincipal(SNS_PRINCIPAL)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],  # in a key policy "*" means this key
                    conditions={"ArnNotEquals": {"aws:SourceArn": topic.topic_arn}},
                )
            )

    def _acknowledge_findings(self) -> None:
        mapping = next(c for c in self.function.node.children if isinstance(c, lambda_.EventSourceMapping))
        acknowledge_sqs_event_source(mapping)
        for queue in (self.dead_letter_queue, self.subscription_dead_letter_queue):
            acknowledge_dead_letter_queue(queue)
        acknowledge(
            self.subscription_dead_letter_queue.node.default_child,
            "AwsSolutions-SQS3",
            "This queue is the SNS subscription's dead-letter queue (the subscription's RedrivePolicy)",
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


def environment_size(environment: dict[str, str]) -> int:
    """Bytes ``environment`` takes in Lambda (names and values), each token counted as a generated name."""
    return sum(
        len(name.encode()) + len(value.encode()) + RESOLVED_NAME_BYTES * value.count("${Token[")
        for name, value in environment.items()
    )
