"""Issue 12 in the template: pumping protection, price ceilings, who may speak for a customer, least privilege.

Against the session synths (tests/infra/synth.py): ``default`` (cdk.json), the existing
number and pool, and ``account_default_protection`` (three countries, the account default,
a test publisher role, no price ceiling). Construct checks build a small stack of their own.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from tests.infra.synth import EXISTING_POOL_ID, FEATURE_FLAGS, TEST_PUBLISHER_ROLE_ARN, Synthesized
from tests.infra.test_outbound import environment, granting, role_statements, settings_from
from tests.infra.test_template import (
    account_arn,
    arn_of,
    as_list,
    inbound_function,
    inbound_topic_policy,
    logical_id_of_type,
    queue_id,
    sms_voice_arn,
    statements,
)
from two_way_sms.settings import OPTIONAL, REQUIRED, InboundSettings
from two_way_sms_cdk.constructs.inbound_processor import (
    LAMBDA_ENVIRONMENT_BYTES,
    RESOLVED_NAME_BYTES,
    RESTRICT_SQS_DECRYPTION_FLAG,
    InboundProcessor,
)
from two_way_sms_cdk.constructs.protect_configuration import SmsProtectConfiguration
from two_way_sms_cdk.constructs.reply_configuration_set import ReplyConfigurationSet
from two_way_sms_cdk.constructs.two_way_number import TwoWayNumber
from two_way_sms_cdk.constructs.two_way_sms import TwoWaySms
from two_way_sms_cdk.sms_countries import NOT_ISO_3166_REGIONS, SMS_COUNTRY_CODES

CONTACTS_FORBIDDEN = {"dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:*"}


# -- helpers ----------------------------------------------------------------------------------
def built(synth: Synthesized):
    return synth.stack.two_way_sms


def protect_configuration(synth: Synthesized) -> dict[str, Any]:
    return synth.only("AWS::SMSVOICE::ProtectConfiguration")[1]


def sms_rules(synth: Synthesized) -> dict[str, str]:
    rules = protect_configuration(synth)["Properties"]["CountryRuleSet"]["SMS"]
    by_country = {rule["CountryCode"]: rule["ProtectStatus"] for rule in rules}
    assert len(by_country) == len(rules), "a country is named twice"
    return by_country


def topic_statement(synth: Synthesized, sid: str) -> dict[str, Any]:
    (found,) = [
        s for s in statements(inbound_topic_policy(synth)["Properties"]["PolicyDocument"]) if s.get("Sid") == sid
    ]
    return found


def queue_policy_statements(synth: Synthesized, queue_logical_id: str) -> list[dict[str, Any]]:
    [policy] = [
        p
        for p in synth.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_logical_id} in p["Properties"]["Queues"]
    ]
    return statements(policy["Properties"]["PolicyDocument"])


def key_policy(synth: Synthesized, key: Any) -> list[dict[str, Any]]:
    return synth.resources[synth.logical_id(key)]["Properties"]["KeyPolicy"]["Statement"]


def contacts_actions(synth: Synthesized, function: Any) -> set[str]:
    contacts = arn_of(synth.logical_id(built(synth).inbound_processor.contacts_table))
    return {
        action
        for s in role_statements(synth, function.role)
        if contacts in as_list(s["Resource"])
        for action in as_list(s["Action"])
    }


def resources_of(synth: Synthesized, function: Any) -> list[str]:
    return [
        json.dumps(r, sort_keys=True) for s in role_statements(synth, function.role) for r in as_list(s["Resource"])
    ]


# -- 1. the protect configuration ---------------------------------------------------------------
def test_the_country_list_is_every_iso_region_phonenumbers_knows():
    assert len(SMS_COUNTRY_CODES) > 200
    assert {"US", "CA", "GB", "MX", "SH"} <= SMS_COUNTRY_CODES
    assert not NOT_ISO_3166_REGIONS & SMS_COUNTRY_CODES
    assert all(len(code) == 2 and code.isupper() for code in SMS_COUNTRY_CODES)


def test_sms_rules_allow_only_the_numbers_country_and_block_every_other(default):
    rules = sms_rules(default)
    assert {code for code, status in rules.items() if status == "ALLOW"} == {"US"}
    assert set(rules) == SMS_COUNTRY_CODES  # a country left out would keep the service's default, ALLOW
    assert set(rules.values()) == {"ALLOW", "BLOCK"}
    assert len(rules) <= 300  # the service's limit on one rule set update


def test_only_the_sms_channel_has_rules(default):
    assert set(protect_configuration(default)["Properties"]["CountryRuleSet"]) == {"SMS"}


def test_configured_countries_are_allowed_and_the_rest_blocked(account_default_protection):
    rules = sms_rules(account_default_protection)
    assert {code for code, status in rules.items() if status == "ALLOW"} == {"US", "CA", "MX"}
    assert set(rules) == SMS_COUNTRY_CODES


def test_the_reply_configuration_set_carries_the_protect_configuration(default):
    configuration_set = default.only("AWS::SMSVOICE::ConfigurationSet")[1]["Properties"]
    assert configuration_set["ProtectConfigurationId"] == {
        "Fn::GetAtt": [logical_id_of_type(default, "AWS::SMSVOICE::ProtectConfiguration"), "ProtectConfigurationId"]
    }


def test_by_default_it_can_be_deleted_with_the_stack_and_is_not_the_account_default(default):
    resource = protect_configuration(default)
    assert resource["Properties"]["DeletionProtectionEnabled"] is False
    assert resource["DeletionPolicy"] == "Delete"
    assert default.of_type("Custom::SmsAccountDefaultProtectConfiguration") == {}
    assert built(default).protect_configuration.account_default is None


def test_deletion_protection_keeps_it_on_stack_deletion(account_default_protection):
    resource = protect_configuration(account_default_protection)
    assert resource["Properties"]["DeletionProtectionEnabled"] is True
    assert resource["DeletionPolicy"] == "Retain"


def test_the_account_default_is_set_on_create_and_update_and_removed_on_delete(account_default_protection):
    synth = account_default_protection
    protect_id = logical_id_of_type(synth, "AWS::SMSVOICE::ProtectConfiguration")
    custom = synth.only("Custom::SmsAccountDefaultProtectConfiguration")[1]["Properties"]

    def call(phase: str) -> tuple[dict[str, Any], list[Any]]:
        delimiter, parts = custom[phase]["Fn::Join"]
        text = delimiter.join(part if isinstance(part, str) else "FILLED_IN" for part in parts)
        return json.loads(text), [part for part in parts if not isinstance(part, str)]

    for phase in ("Create", "Update"):
        sdk_call, filled_in = call(phase)
        assert (sdk_call["service"], sdk_call["action"]) == (
            "pinpoint-sms-voice-v2",
            "SetAccountDefaultProtectConfiguration",
        )
        assert sdk_call["parameters"] == {"ProtectConfigurationId": "FILLED_IN"}
        assert filled_in == [{"Fn::GetAtt": [protect_id, "ProtectConfigurationId"]}]
    deleted = json.loads(custom["Delete"])
    assert (deleted["action"], deleted["ignoreErrorCodesMatching"]) == (
        "DeleteAccountDefaultProtectConfiguration",
        "ResourceNotFoundException",
    )
    assert custom["InstallLatestAwsSdk"] is False  # the runtime's own SDK: no download at deploy


def test_the_account_default_function_may_only_set_this_configuration_and_remove_the_default(
    account_default_protection,
):
    synth = account_default_protection
    resource = built(synth).protect_configuration.account_default
    (policy,) = [
        r
        for lid, r in synth.of_type("AWS::IAM::Policy").items()
        if lid.startswith(synth.logical_id(resource.node.find_child("CustomResourcePolicy")))
    ]
    granted = {
        (a, json.dumps(r, sort_keys=True))
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in as_list(s["Action"])
        for r in as_list(s["Resource"])
    }
    protect_arn = json.dumps(arn_of(logical_id_of_type(synth, "AWS::SMSVOICE::ProtectConfiguration")), sort_keys=True)
    assert granted == {
        ("sms-voice:SetAccountDefaultProtectConfiguration", protect_arn),
        ("sms-voice:DeleteAccountDefaultProtectConfiguration", '"*"'),
        ("xray:PutTraceSegments", '"*"'),
        ("xray:PutTelemetryRecords", '"*"'),
    }


def test_the_account_default_function_logs_to_its_own_encrypted_log_group_and_runs_one_at_a_time(
    account_default_protection,
):
    synth = account_default_protection
    (function,) = [
        f["Properties"]
        for lid, f in synth.of_type("AWS::Lambda::Function").items()
        if lid.startswith("AWS679f53fac002430cb0da5b7982bd2287")
    ]
    log_group = synth.resources[function["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
    assert log_group["KmsKeyId"] == arn_of(synth.logical_id(built(synth).events_key))
    assert (function["ReservedConcurrentExecutions"], function["TracingConfig"]) == (1, {"Mode": "Active"})


def test_both_functions_may_send_through_the_protect_configuration(default):
    protect_arn = json.dumps(arn_of(logical_id_of_type(default, "AWS::SMSVOICE::ProtectConfiguration")), sort_keys=True)
    for function in (built(default).inbound_processor.function, built(default).outbound_sender.function):
        (statement,) = granting(role_statements(default, function.role), "sms-voice:SendTextMessage")
        assert protect_arn in [json.dumps(r, sort_keys=True) for r in as_list(statement["Resource"])]


@pytest.mark.parametrize(
    "countries, message",
    [
        ([], "must name at least one country"),
        (["UK"], "'UK' is not an ISO 3166-1 alpha-2 code"),
        ("US", "must name at least one country"),
    ],
)
def test_the_construct_refuses_bad_countries_naming_them(countries, message):
    stack = cdk.Stack(cdk.App(context=FEATURE_FLAGS), "Protect")
    with pytest.raises(ValueError, match=message):
        SmsProtectConfiguration(stack, "Protect", allowed_countries=countries)


def test_a_configuration_set_takes_one_protect_configuration():
    stack = cdk.Stack(cdk.App(context=FEATURE_FLAGS), "Protect")
    configuration_set = ReplyConfigurationSet(stack, "Set")
    configuration_set.protect_with(SmsProtectConfiguration(stack, "One", allowed_countries=["US"]))
    with pytest.raises(ValueError, match="takes one protect configuration"):
        configuration_set.protect_with(SmsProtectConfiguration(stack, "Two", allowed_countries=["CA"]))


# -- 2. price ceiling and time to live -----------------------------------------------------------
def test_replies_get_the_price_ceiling_and_time_to_live(default):
    env = inbound_function(default)["Environment"]["Variables"]
    assert env["REPLY_MAX_PRICE"] == default.config.outbound.max_price_usd == "0.10"
    assert env["REPLY_TIME_TO_LIVE"] == str(default.config.outbound.time_to_live_seconds) == "259200"


def test_sends_get_the_same_price_ceiling(default):
    settings, _ = settings_from(environment(default, built(default).outbound_sender.function)["SENDER_SETTINGS"])
    assert settings.max_price_usd == "0.10"


def test_no_price_ceiling_set_on_purpose_leaves_the_variable_out(account_default_protection):
    synth = account_default_protection
    env = inbound_function(synth)["Environment"]["Variables"]
    assert "REPLY_MAX_PRICE" not in env
    assert env["REPLY_TIME_TO_LIVE"] == "259200"
    settings, _ = settings_from(environment(synth, built(synth).outbound_sender.function)["SENDER_SETTINGS"])
    assert settings.max_price_usd is None


# -- 3. the inbound subscription and what the inbound function knows ------------------------------
def test_max_receive_count_is_the_queues(default):
    env = inbound_function(default)["Environment"]["Variables"]
    queue = default.resources[queue_id(default, "queue")]["Properties"]
    assert env["MAX_RECEIVE_COUNT"] == str(queue["RedrivePolicy"]["maxReceiveCount"]) == "5"


def test_the_function_may_park_messages_in_the_redrive_dead_letter_queue(default):
    env = inbound_function(default)["Environment"]["Variables"]
    dead_letters = queue_id(default, "dead_letter_queue")
    assert env["DEAD_LETTER_QUEUE_URL"] == {"Ref": dead_letters}
    (statement,) = granting(role_statements(default, built(default).inbound_processor.function.role), "sqs:SendMessage")
    assert as_list(statement["Resource"]) == [arn_of(dead_letters)]


def test_our_numbers_is_the_new_numbers_phone_number(default):
    env = inbound_function(default)["Environment"]["Variables"]
    assert env["OUR_NUMBERS"] == {
        "Fn::GetAtt": [logical_id_of_type(default, "AWS::SMSVOICE::PhoneNumber"), "PhoneNumber"]
    }
    assert "ORIGINATION_POOL_ID" not in env


def test_our_numbers_is_the_existing_numbers_phone_number(existing_number):
    env = inbound_function(existing_number)["Environment"]["Variables"]
    settings = logical_id_of_type(existing_number, "Custom::TwoWaySmsOrigination")
    assert env["OUR_NUMBERS"] == {"Fn::GetAtt": [settings, "PhoneNumber"]}
    assert "ORIGINATION_POOL_ID" not in env


def test_a_pool_names_its_id_and_may_list_its_numbers_and_nothing_more(existing_pool):
    synth = existing_pool
    env = inbound_function(synth)["Environment"]["Variables"]
    assert env["ORIGINATION_POOL_ID"] == EXISTING_POOL_ID
    assert "OUR_NUMBERS" not in env
    role = built(synth).inbound_processor.function.role
    described = [
        s
        for s in role_statements(synth, role)
        if {"sms-voice:DescribePools", "sms-voice:ListPoolOriginationIdentities"} & set(as_list(s["Action"]))
    ]
    assert [(sorted(as_list(s["Action"])), as_list(s["Resource"])) for s in described] == [
        (
            ["sms-voice:DescribePools", "sms-voice:ListPoolOriginationIdentities"],
            [sms_voice_arn(f"pool/{EXISTING_POOL_ID}")],
        ),
    ]


def test_a_number_gets_no_describe_actions(default):
    role = built(default).inbound_processor.function.role
    assert not [
        s
        for s in role_statements(default, role)
        if any(
            a.startswith("sms-voice:Describe") and a != "sms-voice:DescribeOptedOutNumbers"
            for a in as_list(s["Action"])
        )
    ]


@pytest.mark.parametrize("variant", ["default", "existing_pool", "existing_bus_no_codes"])
def test_the_inbound_environment_fits_in_4_kb(synthesized, variant):
    """Every value CloudFormation fills in counted as a generated name (RESOLVED_NAME_BYTES)."""
    env = inbound_function(synthesized(variant))["Environment"]["Variables"]
    size = sum(
        len(name) + (len(value.encode()) if isinstance(value, str) else RESOLVED_NAME_BYTES)
        for name, value in env.items()
    )
    assert size <= LAMBDA_ENVIRONMENT_BYTES


# -- 4. only End User Messaging speaks for a customer ----------------------------------------------
def test_the_topic_denies_publishing_to_every_principal(default):
    statement = topic_statement(default, "DenyPublishingByPrincipals")
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", {"AWS": "*"}, "sns:Publish")
    assert statement["Condition"] == {"BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}


def test_the_topic_lets_the_test_publisher_role_publish_too(account_default_protection):
    statement = topic_statement(account_default_protection, "DenyPublishingByPrincipals")
    assert statement["Condition"] == {
        "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
        "ArnNotEquals": {"aws:PrincipalArn": TEST_PUBLISHER_ROLE_ARN},
    }


def test_the_topic_denies_services_acting_for_another_account_or_another_source(default):
    other_account = topic_statement(default, "DenyPublishingForOtherAccounts")
    assert other_account["Effect"] == "Deny"
    assert other_account["Condition"] == {
        "Bool": {"aws:PrincipalIsAWSService": "true"},
        "StringNotEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }
    other_source = topic_statement(default, "DenyPublishingForOtherSources")
    assert other_source["Condition"] == {
        "Bool": {"aws:PrincipalIsAWSService": "true"},
        "ArnNotLike": {"aws:SourceArn": [arn_of(logical_id_of_type(default, "AWS::SMSVOICE::PhoneNumber"))]},
    }


@pytest.mark.parametrize(
    "variant, sources",
    [
        ("existing_number", ["phone-number/phone-0123456789abcdef0123456789abcdef"]),
        ("existing_pool", [f"pool/{EXISTING_POOL_ID}", "phone-number/*"]),
    ],
)
def test_an_existing_identity_is_pinned_by_its_arn_in_the_topic_and_key_policies(synthesized, variant, sources):
    synth = synthesized(variant)
    expected = [sms_voice_arn(source) for source in sources]
    allowed = topic_statement(synth, "AllowEndUserMessagingToPublish")
    assert allowed["Condition"]["ArnLike"] == {"aws:SourceArn": expected}
    assert topic_statement(synth, "DenyPublishingForOtherSources")["Condition"]["ArnNotLike"] == {
        "aws:SourceArn": expected
    }
    (key_grant,) = [
        s
        for s in key_policy(synth, built(synth).inbound_topic.encryption_key)
        if s.get("Sid") == "AllowEndUserMessagingToEncrypt"
    ]
    assert key_grant["Condition"]["ArnLike"] == {
        "aws:SourceArn": expected,
        "kms:EncryptionContext:aws:sns:topicArn": account_arn("sns", "*"),
    }


def test_only_the_topic_may_send_to_the_inbound_queue(default):
    topic = {"Ref": default.logical_id(built(default).inbound_topic.topic)}
    dead_letters = arn_of(queue_id(default, "dead_letter_queue"))
    (deny,) = [
        s
        for s in queue_policy_statements(default, queue_id(default, "queue"))
        if s.get("Sid") == "DenySendingButFromTheTopic"
    ]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", {"AWS": "*"}, "sqs:SendMessage")
    assert deny["Condition"] == {"ArnNotEquals": {"aws:SourceArn": [topic, dead_letters]}}


def test_only_the_topic_may_send_to_the_subscription_dead_letter_queue(default):
    topic = {"Ref": default.logical_id(built(default).inbound_topic.topic)}
    (deny,) = [
        s
        for s in queue_policy_statements(default, queue_id(default, "subscription_dead_letter_queue"))
        if s.get("Sid") == "DenySendingButFromTheTopic"
    ]
    assert deny["Condition"] == {"ArnNotEquals": {"aws:SourceArn": [topic]}}


def test_sns_may_use_the_data_key_for_this_accounts_topics_only_and_the_queue_takes_the_inbound_topics(default):
    """The topic is on the data key too: naming it in the key's policy would be a circular dependency,
    so the key holds SNS to this account's topics, and the queue's policy to the inbound topic."""
    sns_statements = [
        s
        for s in key_policy(default, built(default).inbound_processor.encryption_key)
        if s.get("Principal") == {"Service": "sns.amazonaws.com"}
    ]
    assert [(s["Effect"], s.get("Condition")) for s in sns_statements] == [
        ("Allow", None),  # what CDK's SQS subscription adds without the restrictSqsDescryption flag
        ("Deny", {"ArnNotLike": {"aws:SourceArn": account_arn("sns", "*")}}),
    ]
    topic = {"Ref": default.logical_id(built(default).inbound_topic.topic)}
    (deny,) = [
        s
        for s in queue_policy_statements(default, queue_id(default, "queue"))
        if s.get("Sid") == "DenySendingButFromTheTopic"
    ]
    assert topic in deny["Condition"]["ArnNotEquals"]["aws:SourceArn"]


def test_with_a_topic_key_of_its_own_sns_may_use_the_data_key_for_the_inbound_topic_only():
    """An existing topic key passed to ``TwoWaySms``: the data key's statement names the topic."""
    stack = cdk.Stack(cdk.App(context=FEATURE_FLAGS), "OwnTopicKey")
    topic_key = kms.Key(stack, "TopicKey", enable_key_rotation=True)
    sms = TwoWaySms(stack, "Sms", config=_config(), existing_topic_key=topic_key)
    template = Template.from_stack(stack).to_json()
    data_key = template["Resources"][stack.get_logical_id(sms.data_key.node.default_child)]
    sns_statements = [
        s
        for s in data_key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "sns.amazonaws.com"}
    ]
    topic = {"Ref": stack.get_logical_id(sms.inbound_topic.topic.node.default_child)}
    assert [(s["Effect"], s["Condition"]) for s in sns_statements] == [
        ("Allow", {"ArnEquals": {"aws:SourceArn": topic}})
    ]


def _standalone_processor(flags: dict[str, Any]) -> Template:
    stack = cdk.Stack(cdk.App(context=flags), "Inbound")
    topic = sns.Topic(stack, "Topic", master_key=kms.Key(stack, "TopicKey"))
    number = TwoWayNumber(stack, "Number", topic=topic, responder=_responder())
    InboundProcessor(
        stack, "Processor", topic=topic, number=number, configuration_set=ReplyConfigurationSet(stack, "Set")
    )
    return Template.from_stack(stack)


def _config():
    from tests.infra.test_config import config
    from two_way_sms_cdk.config import parse_config

    return parse_config(config())


def _responder():
    return _config().responder


def test_without_the_feature_flag_a_deny_restricts_sns_to_the_topic_just_the_same():
    flags = {key: value for key, value in FEATURE_FLAGS.items() if key != RESTRICT_SQS_DECRYPTION_FLAG}
    template = _standalone_processor(flags)
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "DenySnsButForTheInboundTopic",
                            "Effect": "Deny",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                            "Resource": "*",
                            "Condition": {
                                "ArnNotEquals": {"aws:SourceArn": {"Ref": Match.string_like_regexp("^Topic")}}
                            },
                        }
                    ]
                )
            }
        },
    )


def test_with_the_feature_flag_no_deny_is_needed():
    template = _standalone_processor({**FEATURE_FLAGS, RESTRICT_SQS_DECRYPTION_FLAG: True})
    assert "DenySnsButForTheInboundTopic" not in json.dumps(template.to_json())


def test_the_stack_sets_the_feature_flag_off_for_a_topic_on_the_data_key_whatever_the_apps_flags(default):
    """On, CDK's statement would name the topic in the policy of the key the topic is on: a cycle."""
    assert not cdk.FeatureFlags.of(built(default).inbound_topic.topic).is_enabled(RESTRICT_SQS_DECRYPTION_FLAG)


def test_the_archive_role_trusts_end_user_messaging_for_configuration_sets_only(default):
    role = default.resources[default.logical_id(built(default).event_archive.sms_voice_role)]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": [sms_voice_arn("configuration-set/*")]}


# -- 5. least privilege --------------------------------------------------------------------------------
def test_the_events_function_may_only_record_opt_outs_in_the_contacts_table(default):
    assert contacts_actions(default, built(default).delivery_events.function) == {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }


def test_the_sender_may_only_read_and_write_contact_items(default):
    assert contacts_actions(default, built(default).outbound_sender.function) == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }


@pytest.mark.parametrize("function", ["delivery_events", "outbound_sender"])
def test_the_events_function_and_the_sender_may_not_scan_or_delete_contacts(default, function):
    assert not contacts_actions(default, getattr(built(default), function).function) & CONTACTS_FORBIDDEN


@pytest.mark.parametrize("function", ["inbound_processor", "outbound_sender", "delivery_events", "campaigns"])
def test_no_function_keeps_idempotency_records_that_expire(default, function):
    """The inbound reply log and the sender's send claims (in tables they own already) keep a send
    from going twice for as long as they are kept; an idempotency record's expiry would let it go again."""
    assert "IDEMPOTENCY_TABLE" not in environment(default, getattr(built(default), function).function)


# -- a budget that stops (variant d: 250 USD, hard stop) -----------------------------------------------
def test_a_hard_stop_budget_reaches_the_sender_and_the_inbound_function(toll_free_self_managed):
    sender_env = environment(toll_free_self_managed, built(toll_free_self_managed).outbound_sender.function)
    inbound_env = environment(toll_free_self_managed, built(toll_free_self_managed).inbound_processor.function)

    assert (sender_env["MONTHLY_BUDGET_USD"], sender_env["BUDGET_HARD_STOP"]) == ("250", "true")
    assert (inbound_env["MONTHLY_BUDGET_USD"], inbound_env["BUDGET_HARD_STOP"]) == ("250", "true")


def test_without_a_hard_stop_the_inbound_function_is_not_told_the_budget(default):
    inbound_env = environment(default, built(default).inbound_processor.function)

    assert "MONTHLY_BUDGET_USD" not in inbound_env and "BUDGET_HARD_STOP" not in inbound_env
    assert environment(default, built(default).outbound_sender.function)["BUDGET_HARD_STOP"] == "false"


# -- the inbound function's settings contract ---------------------------------------------------------
def test_every_variant_gives_the_inbound_function_an_environment_its_handler_accepts(any_variant):
    """What CloudFormation fills in (a Ref, a GetAtt) stands in as a placeholder name."""
    env = environment(any_variant, built(any_variant).inbound_processor.function)
    resolved = {name: value if isinstance(value, str) else "resolved-at-deploy" for name, value in env.items()}

    settings = InboundSettings.from_environment(resolved)

    allowed = set(REQUIRED) | set(OPTIONAL) | {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}
    assert set(env) <= allowed  # nothing the handler does not read
    assert settings.dead_letter_queue_url and settings.max_receive_count == 5
