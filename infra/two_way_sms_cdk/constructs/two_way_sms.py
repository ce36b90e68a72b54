"""Everything that makes a number answer, wired together from one config."""

from __future__ import annotations

from aws_cdk import Annotations, Duration
from aws_cdk import aws_events as eventbridge
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from two_way_sms_cdk.config import ExistingOrigination, TwoWaySmsConfig
from two_way_sms_cdk.constructs.campaigns import Campaigns
from two_way_sms_cdk.constructs.conversations import Conversations
from two_way_sms_cdk.constructs.delivery_events import DeliveryEvents
from two_way_sms_cdk.constructs.encryption import limit_sns_to_this_accounts_topics, new_key
from two_way_sms_cdk.constructs.event_archive import EventArchive
from two_way_sms_cdk.constructs.inbound_processor import RESTRICT_SQS_DECRYPTION_FLAG, InboundProcessor
from two_way_sms_cdk.constructs.inbound_topic import EncryptedInboundTopic
from two_way_sms_cdk.constructs.message_ledger import MessageLedger
from two_way_sms_cdk.constructs.monitoring import Monitoring
from two_way_sms_cdk.constructs.outbound_sender import OutboundSender
from two_way_sms_cdk.constructs.protect_configuration import SmsProtectConfiguration
from two_way_sms_cdk.constructs.reply_configuration_set import ReplyConfigurationSet
from two_way_sms_cdk.constructs.two_way_number import TwoWayNumber
from two_way_sms_cdk.lambda_code import extensions_layer


class TwoWaySms(Construct):
    """The two-way path and its delivery events, around one message ledger.

    Keys: one data key (``data_key``) for the inbound topic and everything the stack stores —
    tables, queues, the stream, logs, buckets, the business bus, the alarm topic — which End
    User Messaging may use for SNS topics' messages only (their encryption context), never to
    read a store, and, when a flow takes one-use codes, their HMAC key
    (``conversations.codes_key``). Applications granted a queue or a table
    (``outbound_sender.grant_enqueue``, ``grant_read_outcomes``) get the data key only through
    SQS or DynamoDB (``kms:ViaService``), so only for what IAM gives them.
    ``events_key`` and ``outbound_key`` name the data key too (they were keys of their own).

    Inbound: number -> encrypted topic -> queue -> inbound function, which records every
    reply it sends in the ledger. Delivery events: EventBridge -> Kinesis stream -> events
    function, which brings each ledger item up to date.

    Outbound: your application (``outbound_sender.grant_enqueue``) or a campaign puts send
    requests on the outbound queue; the sender function checks consent, quiet hours and
    limits, paces sends to the number's throughput and records them in the ledger; the
    events function counts each campaign message's final status on its run. Campaign runs
    and the release of held requests are one-off EventBridge Scheduler schedules that
    invoke the campaigns function.

    Conversations (``conversations``): the flows switched on in the config, a table of
    conversations in progress and an event bus (encrypted with the data key, archived)
    where the inbound function publishes business events: every inbound message, opt-out
    and opt-in, and the flows' outcomes. The bus exists even with no flow on. The sender
    opens conversations (with a one-use code from an HMAC key when a flow takes one), the
    inbound function moves them on.

    Protection (``protect_configuration``): the reply configuration set, which every reply
    and every send goes through, carries a protect configuration that allows only the
    configured countries (SMS pumping guard; optionally the account default too). Only End
    User Messaging, for this number or pool, may publish to the inbound topic (and the
    configured test role); only the topic may feed the inbound queue; only the inbound
    function may put the package's events on the business bus; only the sender and the
    inbound function may derive one-use codes.

    Every delivery event is also archived to S3 by the configuration set's Firehose
    destination (``event_archive``: EventBridge is best effort, the archive is not), and
    ``monitoring`` alarms on every dead-letter queue, the delivery failure rate, the
    stream's iterator age and the month's spend; with ``monitoring.dashboard`` on, one
    dashboard shows the whole system.

    :param config: the validated configuration (``TwoWaySmsConfig.from_config`` or ``load_config``).
    :param existing_topic: publish inbound messages to this topic instead of a new one.
    :param existing_topic_key: encrypt the new topic with this key instead of the data key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TwoWaySmsConfig,
        existing_topic: sns.ITopic | None = None,
        existing_topic_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Before any child exists. A topic on a key of its own: the SQS subscription's decryption
        # statement on the data key names the topic, whatever the app's flags. A topic on the data
        # key: that Ref would be a circular dependency (key -> topic -> key), so SNS is held to this
        # account's topics by a Deny (``limit_sns_to_this_accounts_topics``), and the queue's policy
        # still takes this topic's messages only.
        topic_on_data_key = existing_topic is None and existing_topic_key is None
        self.node.set_context(RESTRICT_SQS_DECRYPTION_FLAG, not topic_on_data_key)
        self.config = config
        test_publisher = (
            iam.Role.from_role_arn(
                self,
                "TestPublisher",
                config.inbound.test_publisher_role_arn,
                mutable=False,
            )
            if config.inbound.test_publisher_role_arn
            else None
        )
        # One key for everything the stack stores and the inbound topic: a key costs $1 a month
        # (+$2 after two rotations), and separate keys drew no line that IAM and the key policy's
        # conditions do not draw already (End User Messaging may use it for SNS topics' messages
        # only, never a store's). "EventsKey" is the id it always had: the ledger, stream and bus
        # stay on it, the others moved to it.
        self.data_key = new_key(
            self,
            "EventsKey",
            "Encrypts what the two-way SMS stack stores and receives: the inbound topic, tables, queues, the "
            "delivery event stream, logs, buckets, the business event bus and the alarm topic",
        )
        self.events_key = self.outbound_key = self.data_key
        self.inbound_topic = EncryptedInboundTopic(
            self,
            "InboundTopic",
            existing_topic=existing_topic,
            existing_key=self.data_key if topic_on_data_key else existing_topic_key,
            test_publisher=test_publisher,
        )
        origination = config.origination
        if isinstance(origination, ExistingOrigination):
            where = {
                "existing_pool_id"
                if origination.origination_type == "pool"
                else "existing_phone_number_id": origination.origination_id,
            }
        else:
            where = {"iso_country_code": origination.iso_country_code, "capabilities": origination.capabilities}
        self.number = TwoWayNumber(
            self,
            "Number",
            topic=self.inbound_topic.topic,
            responder=config.responder,
            number_type=origination.number_type,
            opt_out_list_name=config.opt_out_list_name,
            deletion_protection=config.deletion_protection,
            **where,
        )
        # Only End User Messaging acting for this number (or pool) publishes to the topic.
        self.inbound_topic.restrict_sources(self.number.inbound_source_arns, self.number.inbound_key_source_arns)
        self.configuration_set = ReplyConfigurationSet(self, "ReplyConfigurationSet")
        delivery = config.delivery_events
        protect = config.protect
        self.protect_configuration = SmsProtectConfiguration(
            self,
            "ProtectConfiguration",
            allowed_countries=protect.allowed_countries,
            deletion_protection=protect.deletion_protection,
            account_default=protect.account_default,
            log_encryption_key=self.data_key,
        )
        self.configuration_set.protect_with(self.protect_configuration)
        for warning in config.warnings:
            Annotations.of(self).add_warning_v2(warning.id, warning.message)
        self.ledger = MessageLedger(
            self,
            "Ledger",
            encryption_key=self.data_key,
            retention=Duration.days(delivery.ledger_retention_days),
        )
        conversations = config.conversations
        self.conversations = Conversations(
            self,
            "Conversations",
            flows=conversations.flows,
            encryption_key=self.data_key,
            existing_event_bus=eventbridge.EventBus.from_event_bus_name(
                self, "ExistingEventBus", conversations.event_bus_name
            )
            if conversations.event_bus_name
            else None,
            deletion_protection=config.deletion_protection,
        )
        extensions = conversations.extensions
        self.extensions = (
            extensions_layer(
                self,
                "Extensions",
                directory=extensions.directory,
                module=extensions.module,
            )
            if extensions is not None
            else None
        )
        self.inbound_processor = InboundProcessor(
            self,
            "InboundProcessor",
            topic=self.inbound_topic.topic,
            number=self.number,
            configuration_set=self.configuration_set,
            message_type=config.message_type,
            ledger=self.ledger,
            encryption_key=self.data_key,
            conversations=self.conversations,
            extensions=self.extensions,
            extensions_module=extensions.module if extensions is not None else None,
            reply_max_price_usd=config.outbound.max_price_usd,
            reply_time_to_live_seconds=config.outbound.time_to_live_seconds,
            hard_stop_budget_usd=config.monitoring.monthly_budget_usd if config.monitoring.hard_stop else None,
            reply_limits=config.inbound.reply_limits,
        )
        if topic_on_data_key:
            limit_sns_to_this_accounts_topics(self.data_key)
        outbound = config.outbound
        self.outbound_sender = OutboundSender(
            self,
            "OutboundSender",
            number=self.number,
            configuration_set=self.configuration_set,
            contacts_table=self.inbound_processor.contacts_table,
            ledger=self.ledger,
            settings=outbound.sender_settings(self.number.origination_arn),
            templates=outbound.templates,
            encryption_key=self.data_key,
            max_concurrency=outbound.max_concurrency,
            conversations=self.conversations,
            monthly_budget_usd=config.monitoring.monthly_budget_usd,
            budget_hard_stop=config.monitoring.hard_stop,
        )
        promotional = sorted(t.template_id for t in outbound.templates.values() if t.message_type == "PROMOTIONAL")
        if origination.number_type == "SIMULATOR" and promotional:
            Annotations.of(self.outbound_sender).add_warning_v2(
                "two-way-sms:simulator-sends-transactional-only",
                f"templates {', '.join(promotional)} are PROMOTIONAL, and a SIMULATOR number sends TRANSACTIONAL "
                "texts only: their sends are refused (REJECTED) until the stack uses a real number",
            )
        self.delivery_events = DeliveryEvents(
            self,
            "DeliveryEvents",
            ledger=self.ledger,
            contacts_table=self.inbound_processor.contacts_table,
            encryption_key=self.data_key,
            stream_mode=kinesis.StreamMode[delivery.stream_mode],
            shard_count=delivery.shard_count,
            # A pool's numbers are not known at synth: then every number's events are taken.
            origination_numbers=[self.number.phone_number] if self.number.phone_number is not None else None,
            outbound_table=self.outbound_sender.table,
        )
        archive = config.archive
        self.event_archive = EventArchive(
            self,
            "EventArchive",
            configuration_set=self.configuration_set,
            encryption_key=self.data_key,
            infrequent_access_after=Duration.days(archive.infrequent_access_after_days),
            glacier_instant_retrieval_after=Duration.days(archive.glacier_instant_retrieval_after_days),
            expire_after=Duration.days(archive.expire_after_days) if archive.expire_after_days else None,
        )
        # Built after the sender (it needs its queue and table); the sender's held requests are
        # then released by schedules that invoke the campaigns function.
        self.campaigns = Campaigns(
            self,
            "Campaigns",
            outbound_queue=self.outbound_sender.queue,
            outbound_table=self.outbound_sender.table,
            contacts_table=self.inbound_processor.contacts_table,
            templates=outbound.templates,
            sender_settings=self.outbound_sender.settings,  # to skip recipients at the daily limit early
            encryption_key=self.data_key,
            access_logs_bucket=self.event_archive.access_logs_bucket,
        )
        self.outbound_sender.add_release_schedules(
            target=self.campaigns.function,
            schedule_group=self.campaigns.schedule_group,
            scheduler_role=self.campaigns.scheduler_role,
            dead_letter_queue=self.campaigns.schedule_dead_letter_queue,
        )
        monitoring = config.monitoring
        processor, events = self.inbound_processor, self.delivery_events
        sender, campaigns = self.outbound_sender, self.campaigns
        topic, event_archive = self.inbound_topic, self.event_archive
        alarm_period = Duration.minutes(5)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            dead_letter_queues={
                "inbound subscription": processor.subscription_dead_letter_queue,
                "inbound processing": processor.dead_letter_queue,
                "delivery event rule": events.rule_dead_letter_queue,
                "delivery event processing": events.dead_letter_queue,
                "outbound sending": sender.dead_letter_queue,
                "campaign invocations": campaigns.dead_letter_queue,
                "campaign schedules": campaigns.schedule_dead_letter_queue,
            },
            functions={
                "inbound": processor.function,
                "events": events.function,
                "sender": sender.function,
                "campaigns": campaigns.function,
            },
            iterator_age=events.metric_iterator_age(period=alarm_period, label="Oldest event read (ms)"),
            archive_freshness=event_archive.metric_data_freshness(
                period=alarm_period, label="Oldest event not in S3 (s)"
            ),
            archive_records=[
                event_archive.metric_incoming_records(label="Records in"),
                event_archive.metric_records_delivered(label="Records delivered to S3"),
            ],
            inbound_topic_metrics=[
                topic.metric_published(label="Published to the inbound topic"),
                topic.metric_deliveries_failed(label="Topic deliveries failed"),
            ],
            outbound=True,
            conversations=self.conversations is not None,
            alarm_topic=sns.Topic.from_topic_arn(self, "AlarmTopic", monitoring.alarm_topic_arn)
            if monitoring.alarm_topic_arn
            else None,
            alarm_emails=monitoring.alarm_emails,
            encryption_key=self.data_key,
            dashboard=monitoring.dashboard,
            alarm_on_function_errors=monitoring.function_error_alarms,
            monthly_budget_usd=monitoring.monthly_budget_usd,
            delivery_failure_rate_percent=monitoring.delivery_failure_rate_percent,
        )
