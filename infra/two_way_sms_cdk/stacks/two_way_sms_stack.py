"""The deployable stack: the two-way SMS path and its outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from two_way_sms_cdk.config import TwoWaySmsConfig
from two_way_sms_cdk.constructs.two_way_sms import TwoWaySms


class TwoWaySmsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: TwoWaySmsConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.two_way_sms = TwoWaySms(self, "TwoWaySms", config=config)
        built = self.two_way_sms
        outputs = {
            "OriginationArn": built.number.origination_arn,
            "PhoneNumber": built.number.phone_number,
            "InboundTopicArn": built.inbound_topic.topic.topic_arn,
            "ConfigurationSetName": built.configuration_set.configuration_set_name,
            "OptOutListName": built.number.opt_out_list_name,
            "ContactsTableName": built.inbound_processor.contacts_table.table_name,
            "InboundQueueUrl": built.inbound_processor.queue.queue_url,
            "InboundDeadLetterQueueUrl": built.inbound_processor.dead_letter_queue.queue_url,
            "InboundFunctionName": built.inbound_processor.function.function_name,
            "LedgerTableName": built.ledger.table.table_name,
            "DeliveryEventStreamName": built.delivery_events.stream.stream_name,
            "EventsFunctionName": built.delivery_events.function.function_name,
            "EventsDeadLetterQueueUrl": built.delivery_events.dead_letter_queue.queue_url,
            "DeliveryEventRuleDeadLetterQueueUrl": built.delivery_events.rule_dead_letter_queue.queue_url,
            "EventArchiveBucketName": built.event_archive.bucket.bucket_name,
            "OutboundQueueUrl": built.outbound_sender.queue.queue_url,
            "OutboundDeadLetterQueueUrl": built.outbound_sender.dead_letter_queue.queue_url,
            "OutboundTableName": built.outbound_sender.table.table_name,
            "SenderFunctionName": built.outbound_sender.function.function_name,
            "CampaignsFunctionArn": built.campaigns.function.function_arn,
            "ScheduleGroupName": built.campaigns.schedule_group.schedule_group_name,
            "SchedulerRoleArn": built.campaigns.scheduler_role.role_arn,
            "ScheduleDeadLetterQueueArn": built.campaigns.schedule_dead_letter_queue.queue_arn,
            "AudienceBucketName": built.campaigns.audience_bucket.bucket_name,
            "AlarmTopicArn": built.monitoring.alarm_topic.topic_arn,
            "DashboardName": built.monitoring.dashboard.dashboard_name,
            "ConversationsTableName": built.conversations.table.table_name,
            "EventBusName": built.conversations.event_bus.event_bus_name,
            "EventBusArn": built.conversations.event_bus.event_bus_arn,
        }
        for name, value in outputs.items():
            if value is not None:
                CfnOutput(self, name, value=value)
