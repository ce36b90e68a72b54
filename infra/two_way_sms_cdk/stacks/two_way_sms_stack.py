"""The deployable stack: the two-way SMS path and its outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from two_way_sms_cdk.config import TwoWaySmsConfig
from two_way_sms_cdk.constructs.two_way_sms import TwoWaySms


class TwoWaySmsStack(Stack):
    """The ``TwoWaySms`` construct and an output (with its description) for every name an operator needs."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TwoWaySmsConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.two_way_sms = TwoWaySms(self, "TwoWaySms", config=config)
        built = self.two_way_sms
        outputs = {
            "OriginationArn": (
                built.number.origination_arn,
                "The number's (or pool's) ARN: the origination of every text",
            ),
            "PhoneNumber": (built.number.phone_number, "The number customers text, in E.164"),
            "InboundTopicArn": (
                built.inbound_topic.topic.topic_arn,
                "The SNS topic End User Messaging publishes inbound texts to",
            ),
            "ConfigurationSetName": (
                built.configuration_set.configuration_set_name,
                "The configuration set of replies and sends (delivery events)",
            ),
            "OptOutListName": (built.number.opt_out_list_name, "The number's opt-out list"),
            "ContactsTableName": (
                built.inbound_processor.contacts_table.table_name,
                "Contacts: consent with its proofs, reply logs (retained)",
            ),
            "InboundQueueUrl": (
                built.inbound_processor.queue.queue_url,
                "The queue of inbound texts the inbound function reads",
            ),
            "InboundDeadLetterQueueUrl": (
                built.inbound_processor.dead_letter_queue.queue_url,
                "Inbound texts that could not be processed, with their reason",
            ),
            "InboundFunctionName": (
                built.inbound_processor.function.function_name,
                "The function that answers inbound texts",
            ),
            "LedgerTableName": (
                built.ledger.table.table_name,
                "The message ledger: every text and its delivery status, the month's spend (retained)",
            ),
            "DeliveryEventStreamName": (
                built.delivery_events.stream.stream_name,
                "The Kinesis stream of delivery events",
            ),
            "EventsFunctionName": (
                built.delivery_events.function.function_name,
                "The function that records delivery events in the ledger",
            ),
            "EventsDeadLetterQueueUrl": (
                built.delivery_events.dead_letter_queue.queue_url,
                "Delivery events that could not be recorded, with their reason",
            ),
            "DeliveryEventRuleDeadLetterQueueUrl": (
                built.delivery_events.rule_dead_letter_queue.queue_url,
                "Delivery events EventBridge could not put on the stream",
            ),
            "EventArchiveBucketName": (
                built.event_archive.bucket.bucket_name,
                "Every delivery event, one JSON object per line (retained)",
            ),
            "OutboundQueueUrl": (built.outbound_sender.queue.queue_url, "Where applications put send requests"),
            "OutboundDeadLetterQueueUrl": (
                built.outbound_sender.dead_letter_queue.queue_url,
                "Send requests that could not be handled, with their reason",
            ),
            "OutboundTableName": (
                built.outbound_sender.table.table_name,
                "Send requests' outcomes, send claims and held texts (retained)",
            ),
            "SenderFunctionName": (built.outbound_sender.function.function_name, "The function that sends texts"),
            "CampaignsFunctionArn": (
                built.campaigns.function.function_arn,
                "The function that runs campaign pages (a schedule's target)",
            ),
            "ScheduleGroupName": (
                built.campaigns.schedule_group.schedule_group_name,
                "EventBridge Scheduler group of campaign runs and held texts",
            ),
            "SchedulerRoleArn": (
                built.campaigns.scheduler_role.role_arn,
                "The role EventBridge Scheduler assumes to start a campaign run",
            ),
            "ScheduleDeadLetterQueueArn": (
                built.campaigns.schedule_dead_letter_queue.queue_arn,
                "Schedules that could not reach their target",
            ),
            "AudienceBucketName": (built.campaigns.audience_bucket.bucket_name, "Campaign audiences (CSV) (retained)"),
            "AlarmTopicArn": (built.monitoring.alarm_topic.topic_arn, "The SNS topic alarms notify"),
            "DashboardName": (  # only with monitoring.dashboard on
                built.monitoring.dashboard.dashboard_name if built.monitoring.dashboard is not None else None,
                "The CloudWatch dashboard of the whole system",
            ),
            "ConversationsTableName": (built.conversations.table.table_name, "Open and closed conversations (flows)"),
            "EventBusName": (
                built.conversations.event_bus.event_bus_name,
                "The bus of business events (replies, opt-outs, conversation outcomes)",
            ),
            "EventBusArn": (built.conversations.event_bus.event_bus_arn, "The ARN of that bus"),
        }
        for name, (value, description) in outputs.items():
            if value is not None:
                CfnOutput(self, name, value=value, description=description)
