"""The logical ids of the stateful resources stay what they are (default variant)."""

from __future__ import annotations

from collections import defaultdict

# CloudFormation knows a resource by its logical id: changing one of these (by renaming or
# moving a construct) REPLACES the resource on the next deploy (a new phone number, empty
# tables and queues, a new key) or, for the retained ones, ORPHANS the old one beside a new
# one. A change here must be deliberate, with a migration plan; never update it to make a
# refactoring pass.
STATEFUL_LOGICAL_IDS = {
    "phone number": ("AWS::SMSVOICE::PhoneNumber", "TwoWaySmsNumberPhoneNumber5FEBE3A7"),
    "opt-out list": ("AWS::SMSVOICE::OptOutList", "TwoWaySmsNumberOptOutList1FF63F0B"),
    "configuration set": ("AWS::SMSVOICE::ConfigurationSet", "TwoWaySmsReplyConfigurationSetFEAF6525"),
    # A replacement gets a new id, and the configuration set (and any account default) must follow it.
    "protect configuration": ("AWS::SMSVOICE::ProtectConfiguration", "TwoWaySmsProtectConfiguration852F73DD"),
    "inbound topic": ("AWS::SNS::Topic", "TwoWaySmsInboundTopicCEF1F000"),
    # The topic's own key (TwoWaySmsInboundTopicKeyAD023772) left the template on purpose (issue 15): the
    # topic moved to the data key in place (KmsMasterKeyId), which End User Messaging may use for SNS
    # topics' messages only. CloudFormation keeps the old key (Retain): schedule its deletion after the
    # deploy (README "Upgrading to one data key").
    "contacts table": ("AWS::DynamoDB::Table", "TwoWaySmsInboundProcessorContacts8B6FFE76"),
    # The idempotency table (TwoWaySmsInboundProcessorIdempotency9C9AB2DE) is gone (issue 12): it held
    # records that expire; the reply log in the contacts table and the send claims replace it.
    "inbound queue": ("AWS::SQS::Queue", "TwoWaySmsInboundProcessorQueueABFDBB3F"),
    "dead-letter queue": ("AWS::SQS::Queue", "TwoWaySmsInboundProcessorDeadLetters0370E2DC"),
    "subscription dead-letter queue": ("AWS::SQS::Queue", "TwoWaySmsInboundProcessorSubscriptionDeadLetters08E3DB67"),
    # The data key (issue 15: one key per trust boundary). It kept the events key's id, so the ledger,
    # stream, bus and archive stay on it; the inbound processor's (TwoWaySmsInboundProcessorKey52687865),
    # outbound (TwoWaySmsOutboundKeyB91CBA51) and alarm topic (TwoWaySmsMonitoringKeyA7F69271) keys left
    # the template on purpose. Their stores moved to this key in place (KMSMasterKeyId, KmsMasterKeyId,
    # KmsKeyId updates); CloudFormation keeps the old keys (Retain). Log events, audience objects and
    # queued messages written before still need them: schedule their deletion once the logs' retention
    # (1 year) has passed, not before. README "Upgrading to one data key".
    "data key": ("AWS::KMS::Key", "TwoWaySmsEventsKey0DCE80AB"),
    "ledger table": ("AWS::DynamoDB::Table", "TwoWaySmsLedgerTable956C5B14"),
    "delivery event stream": ("AWS::Kinesis::Stream", "TwoWaySmsDeliveryEventsStreamFD97918F"),
    "events dead-letter queue": ("AWS::SQS::Queue", "TwoWaySmsDeliveryEventsDeadLetters3CBA11B8"),
    "rule dead-letter queue": ("AWS::SQS::Queue", "TwoWaySmsDeliveryEventsRuleDeadLettersC0CF9968"),
    "event archive bucket": ("AWS::S3::Bucket", "TwoWaySmsEventArchiveBucket680DB552"),
    "archive access-log bucket": ("AWS::S3::Bucket", "TwoWaySmsEventArchiveAccessLogsA8137C23"),
    "alarm topic": ("AWS::SNS::Topic", "TwoWaySmsMonitoringAlarmTopic29F2C4E4"),
    "outbound table": ("AWS::DynamoDB::Table", "TwoWaySmsOutboundSenderTable61547621"),
    "outbound queue": ("AWS::SQS::Queue", "TwoWaySmsOutboundSenderQueueAF306BBD"),
    "outbound dead-letter queue": ("AWS::SQS::Queue", "TwoWaySmsOutboundSenderDeadLetters12587966"),
    "campaigns dead-letter queue": ("AWS::SQS::Queue", "TwoWaySmsCampaignsDeadLettersEE919B91"),
    "schedule dead-letter queue": ("AWS::SQS::Queue", "TwoWaySmsCampaignsScheduleDeadLettersA4F91A27"),
    # Replacing the group deletes the one-off schedules that release held requests.
    "schedule group": ("AWS::Scheduler::ScheduleGroup", "TwoWaySmsCampaignsScheduleGroupEF662520"),
    "audience bucket": ("AWS::S3::Bucket", "TwoWaySmsCampaignsAudiences370DDE8A"),
    "conversations table": ("AWS::DynamoDB::Table", "TwoWaySmsConversationsTable19F693B8"),
    # The bus's name is generated from its construct path: replacing it renames the bus, and
    # every rule that others put on it is lost with the old one.
    "business event bus": ("AWS::Events::EventBus", "TwoWaySmsConversationsEventBus39A4A369"),
    "business event archive": ("AWS::Events::Archive", "TwoWaySmsConversationsArchive12B12F28"),
}
# Only where a flow takes one-use codes (the default config has none): retained on delete, so a
# replacement would leave the old key behind, still billed.
CODES_KEY = ("AWS::KMS::Key", "TwoWaySmsConversationsCodesKey9DA9E3A5")


def test_stateful_resources_keep_their_logical_ids(default):
    wrong = {
        name: logical_id
        for name, (resource_type, logical_id) in STATEFUL_LOGICAL_IDS.items()
        if default.resources.get(logical_id, {}).get("Type") != resource_type
    }
    assert not wrong, f"missing or of another type: {wrong}"


def test_no_other_resource_of_a_stateful_type_exists(default):
    """A renamed resource would show up here as a new logical id beside the missing old one."""
    expected = defaultdict(set)
    for resource_type, logical_id in STATEFUL_LOGICAL_IDS.values():
        expected[resource_type].add(logical_id)
    actual = {resource_type: set(default.of_type(resource_type)) for resource_type in expected}
    assert actual == dict(expected)


def test_the_stack_names_the_stateful_resources_by_these_constructs(default):
    """The ids above are the ones the stack's own attributes point at."""
    built = default.stack.two_way_sms
    processor = built.inbound_processor
    delivery_events = built.delivery_events
    ids = {
        "phone number": default.logical_id(built.number.resource),
        "configuration set": default.logical_id(built.configuration_set.resource),
        "inbound topic": default.logical_id(built.inbound_topic.topic),
        "contacts table": default.logical_id(processor.contacts_table),
        "protect configuration": default.logical_id(built.protect_configuration.resource),
        "inbound queue": default.logical_id(processor.queue),
        "dead-letter queue": default.logical_id(processor.dead_letter_queue),
        "subscription dead-letter queue": default.logical_id(processor.subscription_dead_letter_queue),
        "data key": default.logical_id(built.data_key),
        "ledger table": default.logical_id(built.ledger.table),
        "delivery event stream": default.logical_id(delivery_events.stream),
        "events dead-letter queue": default.logical_id(delivery_events.dead_letter_queue),
        "rule dead-letter queue": default.logical_id(delivery_events.rule_dead_letter_queue),
        "event archive bucket": default.logical_id(built.event_archive.bucket),
        "archive access-log bucket": default.logical_id(built.event_archive.access_logs_bucket),
        "alarm topic": default.logical_id(built.monitoring.alarm_topic),
        "outbound table": default.logical_id(built.outbound_sender.table),
        "outbound queue": default.logical_id(built.outbound_sender.queue),
        "outbound dead-letter queue": default.logical_id(built.outbound_sender.dead_letter_queue),
        "campaigns dead-letter queue": default.logical_id(built.campaigns.dead_letter_queue),
        "schedule dead-letter queue": default.logical_id(built.campaigns.schedule_dead_letter_queue),
        "schedule group": default.logical_id(built.campaigns.schedule_group),
        "audience bucket": default.logical_id(built.campaigns.audience_bucket),
        "conversations table": default.logical_id(built.conversations.table),
        "business event bus": default.logical_id(built.conversations.event_bus),
        "business event archive": default.logical_id(built.conversations.archive),
    }
    assert ids == {name: STATEFUL_LOGICAL_IDS[name][1] for name in ids}


def test_the_codes_key_keeps_its_logical_id_where_a_flow_takes_codes(default, toll_free_self_managed):
    assert default.stack.two_way_sms.conversations.codes_key is None
    resource_type, logical_id = CODES_KEY
    codes_key = toll_free_self_managed.stack.two_way_sms.conversations.codes_key
    assert toll_free_self_managed.logical_id(codes_key) == logical_id
    assert toll_free_self_managed.resources[logical_id]["Type"] == resource_type


def test_every_store_of_the_stack_and_the_inbound_topic_are_on_the_data_key(default, toll_free_self_managed):
    """One data key for what the stack stores and receives; the codes' HMAC key only where a flow takes codes."""
    built = default.stack.two_way_sms
    processor, sender = built.inbound_processor, built.outbound_sender
    owners = (processor, sender, built.campaigns, built.delivery_events, built.event_archive, built.monitoring)
    for owner in (*owners, built.inbound_topic):
        assert owner.encryption_key is built.data_key, owner.node.id
    assert built.events_key is built.outbound_key is built.data_key
    assert set(default.of_type("AWS::KMS::Key")) == {default.logical_id(built.data_key)}
    coded = toll_free_self_managed.stack.two_way_sms
    assert set(toll_free_self_managed.of_type("AWS::KMS::Key")) == {
        toll_free_self_managed.logical_id(coded.data_key),
        toll_free_self_managed.logical_id(coded.conversations.codes_key),
    }
