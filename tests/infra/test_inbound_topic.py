"""EncryptedInboundTopic on its own, its key shared with the queue it feeds (as ``TwoWaySms`` shares its data key)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint

from tests.infra.test_template import account_arn
from two_way_sms_cdk.constructs.encryption import limit_sns_to_this_accounts_topics
from two_way_sms_cdk.constructs.inbound_processor import RESTRICT_SQS_DECRYPTION_FLAG
from two_way_sms_cdk.constructs.inbound_topic import SMS_VOICE_PRINCIPAL, SNS_TOPIC_CONTEXT, EncryptedInboundTopic


def shared_key_stack(*, restrict_sqs_decryption: bool) -> cdk.Stack:
    """A topic and the queue subscribed to it, both on one key."""
    stack = cdk.Stack(cdk.App(context={RESTRICT_SQS_DECRYPTION_FLAG: restrict_sqs_decryption}), "Shared")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    inbound = EncryptedInboundTopic(stack, "Inbound", existing_key=key)
    queue = sqs.Queue(stack, "Queue", encryption_master_key=key, enforce_ssl=True)
    inbound.topic.add_subscription(subscriptions.SqsSubscription(queue))
    limit_sns_to_this_accounts_topics(key)
    return stack


def key_statements(template: dict[str, Any], principal: str) -> list[dict[str, Any]]:
    [key] = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    return [s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": principal}]


def test_a_queue_on_the_topics_key_subscribes_without_a_circular_dependency():
    template = Template.from_stack(shared_key_stack(restrict_sqs_decryption=False)).to_json()  # refuses a cycle
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    assert [m.message for m in matches if m.rule.id.startswith("E")] == []


def test_with_cdks_flag_on_the_subscription_would_name_the_topic_in_its_own_keys_policy_a_cycle():
    """Why ``TwoWaySms`` turns restrictSqsDescryption off for a topic on its data key."""
    with pytest.raises(RuntimeError, match="dependency cycle"):
        Template.from_stack(shared_key_stack(restrict_sqs_decryption=True))


def test_end_user_messaging_may_use_the_key_for_sns_topics_messages_only():
    template = Template.from_stack(shared_key_stack(restrict_sqs_decryption=False)).to_json()
    [granted] = key_statements(template, SMS_VOICE_PRINCIPAL)
    assert granted["Condition"]["ArnLike"][SNS_TOPIC_CONTEXT] == account_arn("sns", "*")
    assert sorted(granted["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_sns_may_use_the_key_for_this_accounts_topics_only():
    template = Template.from_stack(shared_key_stack(restrict_sqs_decryption=False)).to_json()
    denied = [s for s in key_statements(template, "sns.amazonaws.com") if s["Effect"] == "Deny"]
    assert [s["Condition"] for s in denied] == [{"ArnNotLike": {"aws:SourceArn": account_arn("sns", "*")}}]
