"""What a reviewer checks in the synthesized template, one property per test.

Against the default variant (cdk.json: a new SIMULATOR number) unless a test names another.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match

from tests.infra.synth import EXISTING_PHONE_NUMBER_ID, Synthesized
from two_way_sms.responder import ResponderSettings

SMS_VOICE = "sms-voice.amazonaws.com"
OPT_OUT_ACTIONS = {"sms-voice:PutOptedOutNumber", "sms-voice:DeleteOptedOutNumber", "sms-voice:DescribeOptedOutNumbers"}
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
DELETE_ACCOUNT_DEFAULT = "sms-voice:DeleteAccountDefaultProtectConfiguration"


# -- helpers ----------------------------------------------------------------------------------
def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def arn_of(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def account_arn(service: str, resource: str) -> dict[str, Any]:
    """``arn:<partition>:<service>:<region>:<account>:<resource>`` as the template writes it."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":{service}:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":{resource}",
            ],
        ]
    }


def sms_voice_arn(resource: str) -> dict[str, Any]:
    return account_arn("sms-voice", resource)


def statements(policy_document: dict[str, Any]) -> list[dict[str, Any]]:
    return policy_document["Statement"]


def identity_policy_statements(synth: Synthesized) -> list[dict[str, Any]]:
    """Every statement of every IAM identity policy: policies, managed policies, roles' inline ones."""
    found = []
    for resource in synth.resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            found += statements(props["PolicyDocument"])
        elif resource["Type"] == "AWS::IAM::Role":
            for inline in props.get("Policies", []):
                found += statements(inline["PolicyDocument"])
    return found


def statements_granting(synth: Synthesized, actions: set[str]) -> list[dict[str, Any]]:
    return [s for s in identity_policy_statements(synth) if actions & set(as_list(s["Action"]))]


def logical_id_of_type(synth: Synthesized, resource_type: str) -> str:
    return synth.only(resource_type)[0]


def inbound_topic(synth: Synthesized) -> dict[str, Any]:
    """The inbound topic (the stack also has the monitoring's alarm topic)."""
    return synth.resources[synth.logical_id(synth.stack.two_way_sms.inbound_topic.topic)]


def inbound_topic_policy(synth: Synthesized) -> dict[str, Any]:
    topic_id = synth.logical_id(synth.stack.two_way_sms.inbound_topic.topic)
    [policy] = [
        p for p in synth.of_type("AWS::SNS::TopicPolicy").values() if p["Properties"]["Topics"] == [{"Ref": topic_id}]
    ]
    return policy


def topic_key_id(synth: Synthesized) -> str:
    return inbound_topic(synth)["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]


def inbound_function(synth: Synthesized) -> dict[str, Any]:
    functions = [
        f
        for f in synth.of_type("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "two_way_sms.handlers.inbound.handler"
    ]
    assert len(functions) == 1
    return functions[0]["Properties"]


def inbound_mapping(synth: Synthesized) -> dict[str, Any]:
    """The event source mapping from the inbound queue (the delivery event stream has one too)."""
    queue_arn = arn_of(queue_id(synth, "queue"))
    mappings = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"].get("EventSourceArn") == queue_arn
    ]
    assert len(mappings) == 1
    return mappings[0]


def processor(synth: Synthesized):
    return synth.stack.two_way_sms.inbound_processor


def queue_id(synth: Synthesized, attribute: str) -> str:
    """The logical id of the InboundProcessor's ``queue``, ``dead_letter_queue`` or
    ``subscription_dead_letter_queue``."""
    return synth.logical_id(getattr(processor(synth), attribute))


def table_id(synth: Synthesized, attribute: str) -> str:
    """The logical id of the InboundProcessor's ``contacts_table``."""
    return synth.logical_id(getattr(processor(synth), attribute))


def same_items(actual: list[Any], expected: list[Any]) -> bool:
    """The same elements in any order (CloudFormation lists of ARNs have no meaningful order)."""

    def key(item: Any) -> str:
        return json.dumps(item, sort_keys=True)

    return sorted(map(key, actual)) == sorted(map(key, expected))


def keywords_by_word(keywords: list[dict[str, Any]], word: str = "Keyword") -> dict[str, tuple[str, str]]:
    return {k[word]: (k["Action"], k["Message"]) for k in keywords}


# -- the topic's KMS key -----------------------------------------------------------------------
def test_the_default_config_synthesizes_with_no_warning(default):
    """A new user's first `make synth` is clean: no annotation to acknowledge, no reply to fix."""
    assert Annotations.from_stack(default.stack).find_warning("*", Match.any_value()) == []
    assert [reply.name for reply in default.config.reply_reports if reply.warning] == []


def test_topic_key_rotates(default):
    key = default.resources[topic_key_id(default)]
    assert key["Properties"]["EnableKeyRotation"] is True


def test_topic_key_lets_end_user_messaging_encrypt_topic_messages_for_this_accounts_numbers_only(default):
    """Any phone number of the account and region: the new number's own ARN would be a circular
    dependency (key -> topic -> number -> key)."""
    key = default.resources[topic_key_id(default)]
    granted = [s for s in statements(key["Properties"]["KeyPolicy"]) if s.get("Principal") == {"Service": SMS_VOICE}]
    assert len(granted) == 1
    assert granted[0]["Effect"] == "Allow"
    assert sorted(as_list(granted[0]["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert granted[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {
            "aws:SourceArn": [sms_voice_arn("phone-number/*")],
            # SNS topics' messages only: the key is the data key of every store too.
            "kms:EncryptionContext:aws:sns:topicArn": account_arn("sns", "*"),
        },
    }


# -- the SNS topic -----------------------------------------------------------------------------
def test_topic_is_a_standard_topic(default):
    topic = inbound_topic(default)["Properties"]
    assert not topic.get("FifoTopic", False)
    assert not topic.get("TopicName", "").endswith(".fifo")


def test_topic_is_encrypted_with_its_customer_managed_key(default):
    topic = inbound_topic(default)["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert topic["KmsMasterKeyId"] == arn_of(key_id)
    assert default.resources[key_id]["Type"] == "AWS::KMS::Key"


def test_topic_policy_lets_end_user_messaging_publish_for_this_account_and_number_only(default):
    topic_id = default.logical_id(default.stack.two_way_sms.inbound_topic.topic)
    policy = inbound_topic_policy(default)["Properties"]
    assert policy["Topics"] == [{"Ref": topic_id}]
    allowed = [s for s in statements(policy["PolicyDocument"]) if s.get("Principal") == {"Service": SMS_VOICE}]
    assert len(allowed) == 1
    assert allowed[0]["Effect"] == "Allow"
    assert as_list(allowed[0]["Action"]) == ["sns:Publish"]
    assert allowed[0]["Resource"] == {"Ref": topic_id}
    assert allowed[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": [arn_of(logical_id_of_type(default, "AWS::SMSVOICE::PhoneNumber"))]},
    }


def test_topic_policy_denies_publishing_without_tls(default):
    policy = inbound_topic_policy(default)["Properties"]
    denied = [s for s in statements(policy["PolicyDocument"]) if s["Effect"] == "Deny"]
    assert any(
        "sns:Publish" in as_list(s["Action"])
        and s["Principal"] in ("*", {"AWS": "*"})
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in denied
    ), denied


# -- the phone number --------------------------------------------------------------------------
def test_number_is_a_us_simulator_number(default):
    number = default.only("AWS::SMSVOICE::PhoneNumber")[1]["Properties"]
    assert number["NumberType"] == "SIMULATOR"
    assert number["IsoCountryCode"] == "US"


def test_number_sends_inbound_texts_to_the_topic(default):
    number = default.only("AWS::SMSVOICE::PhoneNumber")[1]["Properties"]
    assert number["TwoWay"] == {
        "Enabled": True,
        "ChannelArn": {"Ref": default.logical_id(default.stack.two_way_sms.inbound_topic.topic)},
    }


def test_number_answers_help_and_stop_with_the_configured_replies(default):
    number = default.only("AWS::SMSVOICE::PhoneNumber")[1]["Properties"]
    responder = default.config.responder
    assert number["MandatoryKeywords"] == {
        "HELP": {"Message": responder.help_reply},
        "STOP": {"Message": responder.stop_reply},
    }


def test_number_registers_the_compliance_keywords(default):
    keywords = keywords_by_word(default.only("AWS::SMSVOICE::PhoneNumber")[1]["Properties"]["OptionalKeywords"])
    responder = default.config.responder
    expected = {
        "STOPALL": ("OPT_OUT", responder.stop_reply),
        "REVOKE": ("OPT_OUT", responder.stop_reply),
        "START": ("OPT_IN", responder.opt_in_reply),
        "UNSTOP": ("OPT_IN", responder.opt_in_reply),
        "INFO": ("AUTOMATIC_RESPONSE", responder.help_reply),
    }
    assert {word: keywords.get(word) for word in expected} == expected


def test_number_uses_the_created_opt_out_list_with_aws_managed_opt_outs(default):
    number = default.only("AWS::SMSVOICE::PhoneNumber")[1]["Properties"]
    assert number["OptOutListName"] == {"Ref": logical_id_of_type(default, "AWS::SMSVOICE::OptOutList")}
    assert number["SelfManagedOptOutsEnabled"] is False


def test_toll_free_number_with_self_managed_opt_outs_registers_only_the_opt_in_words(toll_free_self_managed):
    number = toll_free_self_managed.only("AWS::SMSVOICE::PhoneNumber")[1]["Properties"]
    opt_in_reply = toll_free_self_managed.config.responder.opt_in_reply
    assert number["NumberType"] == "TOLL_FREE"
    assert number["SelfManagedOptOutsEnabled"] is True
    assert keywords_by_word(number["OptionalKeywords"]) == {
        "START": ("OPT_IN", opt_in_reply),
        "UNSTOP": ("OPT_IN", opt_in_reply),
    }


# -- the subscription and the queues ----------------------------------------------------------
def test_subscription_delivers_sns_envelopes_to_the_inbound_queue(default):
    """Not raw delivery: the envelope's MessageId and Timestamp stay the same on every SNS redelivery."""
    subscription = default.only("AWS::SNS::Subscription")[1]["Properties"]
    assert subscription["Protocol"] == "sqs"
    assert subscription.get("RawMessageDelivery", False) is False
    assert subscription["Endpoint"] == arn_of(queue_id(default, "queue"))
    assert subscription["TopicArn"] == {"Ref": default.logical_id(default.stack.two_way_sms.inbound_topic.topic)}


def test_subscription_sends_undeliverable_messages_to_its_dead_letter_queue(default):
    subscription = default.only("AWS::SNS::Subscription")[1]["Properties"]
    dead_letter_queue = queue_id(default, "subscription_dead_letter_queue")
    assert subscription["RedrivePolicy"] == {"deadLetterTargetArn": arn_of(dead_letter_queue)}


def test_every_queue_is_encrypted_with_a_customer_managed_key(default):
    queues = default.of_type("AWS::SQS::Queue")
    # inbound and its two dead-letter queues, the delivery events' two, outbound and its
    # dead-letter queue, the campaigns' two (on-failure destination, schedules)
    assert len(queues) == 9
    for logical_id, queue in queues.items():
        key = queue["Properties"].get("KmsMasterKeyId")
        assert key not in (None, "alias/aws/sqs"), logical_id
        assert queue["Properties"].get("SqsManagedSseEnabled") is not True, logical_id
        key_id = key["Fn::GetAtt"][0]
        assert default.resources[key_id]["Type"] == "AWS::KMS::Key", logical_id


def test_inbound_queue_redrives_failed_messages_to_the_dead_letter_queue(default):
    queue = default.resources[queue_id(default, "queue")]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == arn_of(queue_id(default, "dead_letter_queue"))
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 1


def test_inbound_queue_visibility_timeout_is_at_least_six_times_the_function_timeout(default):
    queue = default.resources[queue_id(default, "queue")]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * inbound_function(default)["Timeout"]


def test_every_queue_policy_denies_insecure_transport(default):
    queues = set(default.of_type("AWS::SQS::Queue"))
    protected = set()
    for policy in default.of_type("AWS::SQS::QueuePolicy").values():
        props = policy["Properties"]
        if any(
            s["Effect"] == "Deny"
            and "sqs:*" in as_list(s["Action"])
            and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements(props["PolicyDocument"])
        ):
            protected |= {ref["Ref"] for ref in props["Queues"]}
    assert protected == queues


# -- the inbound function ------------------------------------------------------------------------
def test_event_source_mapping_reports_batch_item_failures(default):
    mapping = inbound_mapping(default)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_event_source_mapping_runs_no_more_batches_than_the_reserved_concurrency(default):
    mapping = inbound_mapping(default)
    assert mapping["ScalingConfig"]["MaximumConcurrency"] <= inbound_function(default)["ReservedConcurrentExecutions"]


def test_inbound_function_runs_python_3_14_on_arm64(default):
    function = inbound_function(default)
    assert function["Runtime"] == "python3.14"
    assert function["Architectures"] == ["arm64"]


def test_inbound_function_sets_memory_and_timeout_explicitly(default):
    function = inbound_function(default)
    assert isinstance(function["MemorySize"], int) and function["MemorySize"] > 0
    assert isinstance(function["Timeout"], int) and function["Timeout"] > 0


def test_inbound_function_has_active_tracing(default):
    assert inbound_function(default)["TracingConfig"] == {"Mode": "Active"}


def test_inbound_function_has_reserved_concurrency(default):
    reserved = inbound_function(default)["ReservedConcurrentExecutions"]
    assert isinstance(reserved, int) and reserved > 0


def test_inbound_function_logs_to_a_log_group_with_retention(default):
    log_group_ref = inbound_function(default)["LoggingConfig"]["LogGroup"]
    log_group = default.resources[log_group_ref["Ref"]]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] > 0


def test_inbound_function_environment_names_its_tables_configuration_set_and_opt_out_list(default):
    env = inbound_function(default)["Environment"]["Variables"]
    assert env["CONTACTS_TABLE"] == {"Ref": table_id(default, "contacts_table")}
    assert env["CONFIGURATION_SET"] == {"Ref": logical_id_of_type(default, "AWS::SMSVOICE::ConfigurationSet")}
    assert env["OPT_OUT_LIST"] == {"Ref": logical_id_of_type(default, "AWS::SMSVOICE::OptOutList")}
    assert env["MESSAGE_TYPE"] == "TRANSACTIONAL"
    assert env["REPLY_LIMITS"] == "5/600/20/300"  # per window, window (s), per day, same text (s)


def test_inbound_function_responder_settings_read_back_as_the_configured_settings(default):
    settings = inbound_function(default)["Environment"]["Variables"]["RESPONDER_SETTINGS"]
    json.loads(settings)  # valid JSON first: the handler reads it at cold start
    assert ResponderSettings.from_json(settings) == default.config.responder


# -- the tables ----------------------------------------------------------------------------------
def test_every_table_is_on_demand_with_point_in_time_recovery_and_a_customer_managed_key(default):
    tables = default.of_type("AWS::DynamoDB::Table")
    assert len(tables) == 4  # contacts (with the reply logs), message ledger, outbound, conversations
    for logical_id, table in tables.items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, logical_id
        sse = props["SSESpecification"]
        assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS", logical_id
        assert default.resources[sse["KMSMasterKeyId"]["Fn::GetAtt"][0]]["Type"] == "AWS::KMS::Key", logical_id


def test_contacts_table_is_deletion_protected_and_retained(default):
    table = default.resources[table_id(default, "contacts_table")]
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


# -- IAM -----------------------------------------------------------------------------------------
def test_no_identity_policy_allows_every_resource_but_for_xray(any_variant):
    """Key policies are left out on purpose: there "*" means the key the policy is on. The one other
    action is DeleteAccountDefaultProtectConfiguration, which names no resource (account default only)."""
    wildcards = [s for s in identity_policy_statements(any_variant) if "*" in as_list(s["Resource"])]
    assert wildcards, "the X-Ray statement of active tracing is expected"
    account_default = any_variant.config.protect.account_default
    for statement in wildcards:
        actions = set(as_list(statement["Action"]))
        assert actions - XRAY_ACTIONS <= ({DELETE_ACCOUNT_DEFAULT} if account_default else set()), statement


def test_send_text_message_is_granted_only_on_the_number_the_configuration_set_and_its_protection(default):
    granted = statements_granting(default, {"sms-voice:SendTextMessage"})
    assert len(granted) == 2  # the inbound function's replies, the outbound sender's texts
    for statement in granted:
        assert as_list(statement["Action"]) == ["sms-voice:SendTextMessage"]
        assert same_items(
            statement["Resource"],
            [
                arn_of(logical_id_of_type(default, "AWS::SMSVOICE::PhoneNumber")),
                arn_of(logical_id_of_type(default, "AWS::SMSVOICE::ConfigurationSet")),
                arn_of(logical_id_of_type(default, "AWS::SMSVOICE::ProtectConfiguration")),
            ],
        )


def test_opt_out_list_actions_are_granted_only_on_the_opt_out_list(default):
    granted = statements_granting(default, OPT_OUT_ACTIONS)
    assert len(granted) == 1
    assert set(as_list(granted[0]["Action"])) == OPT_OUT_ACTIONS
    assert granted[0]["Resource"] == arn_of(logical_id_of_type(default, "AWS::SMSVOICE::OptOutList"))


def test_pool_replies_are_granted_on_the_pool_and_its_phone_numbers(existing_pool):
    granted = statements_granting(existing_pool, {"sms-voice:SendTextMessage"})
    assert len(granted) == 2  # the inbound function's replies, the outbound sender's texts
    settings_id = logical_id_of_type(existing_pool, "Custom::TwoWaySmsOrigination")
    for statement in granted:
        assert as_list(statement["Action"]) == ["sms-voice:SendTextMessage"]
        assert same_items(
            statement["Resource"],
            [
                {"Fn::GetAtt": [settings_id, "OriginationArn"]},
                sms_voice_arn("phone-number/*"),
                arn_of(logical_id_of_type(existing_pool, "AWS::SMSVOICE::ConfigurationSet")),
                arn_of(logical_id_of_type(existing_pool, "AWS::SMSVOICE::ProtectConfiguration")),
            ],
        )


# -- an existing number ----------------------------------------------------------------------------
def test_existing_number_is_configured_by_the_custom_resource_not_created(existing_number):
    existing_number.template.resource_count_is("AWS::SMSVOICE::PhoneNumber", 0)
    settings = existing_number.only("Custom::TwoWaySmsOrigination")[1]["Properties"]
    assert settings["OriginationType"] == "phone-number"
    assert settings["OriginationId"] == EXISTING_PHONE_NUMBER_ID
    assert settings["TwoWayChannelArn"] == {
        "Ref": existing_number.logical_id(existing_number.stack.two_way_sms.inbound_topic.topic)
    }


def test_existing_number_gets_help_stop_and_the_compliance_keywords(existing_number):
    settings = existing_number.only("Custom::TwoWaySmsOrigination")[1]["Properties"]
    responder = existing_number.config.responder
    assert keywords_by_word(settings["Keywords"]) == {
        "HELP": ("AUTOMATIC_RESPONSE", responder.help_reply),
        "STOP": ("OPT_OUT", responder.stop_reply),
        "INFO": ("AUTOMATIC_RESPONSE", responder.help_reply),
        "START": ("OPT_IN", responder.opt_in_reply),
        "UNSTOP": ("OPT_IN", responder.opt_in_reply),
        "STOPALL": ("OPT_OUT", responder.stop_reply),
        "REVOKE": ("OPT_OUT", responder.stop_reply),
    }


@pytest.mark.parametrize("variant", ["existing_number", "existing_pool"])
def test_settings_custom_resource_logs_are_encrypted_and_kept(synthesized, variant):
    synth = synthesized(variant)
    log_groups = synth.of_type("AWS::Logs::LogGroup")
    assert log_groups
    for logical_id, log_group in log_groups.items():
        assert log_group["Properties"]["RetentionInDays"] > 0, logical_id
        assert synth.resources[log_group["Properties"]["KmsKeyId"]["Fn::GetAtt"][0]]["Type"] == "AWS::KMS::Key"
