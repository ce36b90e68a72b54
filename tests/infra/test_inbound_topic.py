"""EncryptedInboundTopic on its own, its key shared with the queue it feeds (as ``TwoWaySms`` shares its data key)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint

from two_way_sms_cdk.constructs.inbound_processor import RESTRICT_SQS_DECRYPTION_FLAG
from two_way_sms_cdk.constructs.inbound_topic import SMS_VOICE_PRINCIPAL, SNS_TOPIC_CONTEXT, EncryptedInboundTopic


def shared_key_stack(*, subscribe_by_arn: bool) -> cdk.Stack:
    """A topic and a queue on one key; SNS may decrypt with it for that topic only (the flag names the topic)."""
    stack = cdk.Stack(cdk.App(context={RESTRICT_SQS_DECRYPTION_FLAG: True}), "Shared")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    inbound = EncryptedInboundTopic(stack, "Inbound", existing_key=key)
    queue = sqs.Queue(stack, "Queue", encryption_master_key=key, enforce_ssl=True)
    topic = inbound.topic_by_arn if subscribe_by_arn else inbound.topic
    topic.add_subscription(subscriptions.SqsSubscription(queue))
    if subscribe_by_arn:
        for child in stack.node.find_all():
            if isinstance(child, sns.Subscription):
                child.node.add_dependency(inbound.topic)
    return stack


def shared_key_template() -> dict[str, Any]:
    return Template.from_stack(shared_key_stack(subscribe_by_arn=True)).to_json()


def test_a_queue_on_the_topics_key_subscribes_by_arn_without_a_circular_dependency():
    template = shared_key_template()  # assertions' Template refuses a template with a dependency cycle
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    assert [m.message for m in matches if m.rule.id.startswith("E")] == []
    [topic_id] = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::SNS::Topic"]
    [subscription] = [r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Subscription"]
    assert topic_id in subscription["DependsOn"]  # known by its ARN only, the topic comes first


def test_subscribing_through_the_topic_itself_would_be_circular():
    """Why ``topic_by_arn``: the key's policy would name the topic by a Ref, and the topic needs the key."""
    with pytest.raises(RuntimeError, match="dependency cycle"):
        Template.from_stack(shared_key_stack(subscribe_by_arn=False))


def test_end_user_messaging_may_use_the_shared_key_for_the_topics_messages_only():
    template = shared_key_template()
    [topic] = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Topic"]
    [key] = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    [granted] = [s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": SMS_VOICE_PRINCIPAL}]
    context = granted["Condition"]["StringEquals"][SNS_TOPIC_CONTEXT]
    assert context["Fn::Join"][1][-1] == f":{topic['TopicName']}"
    assert topic["TopicName"].startswith("Shared-Inbound-")


def test_a_topic_name_given_is_the_one_its_arn_names():
    name = "clinic-inbound-sms"
    stack = cdk.Stack(cdk.App(), "Named")
    inbound = EncryptedInboundTopic(stack, "Inbound", topic_name=name)
    template = Template.from_stack(stack).to_json()
    [topic] = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Topic"]
    assert topic["TopicName"] == name
    assert stack.resolve(inbound.topic_by_arn.topic_arn)["Fn::Join"][1][-1] == f":{name}"
