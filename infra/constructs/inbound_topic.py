"""The SNS topic a two-way number publishes inbound texts to, encrypted with a CMK."""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

SMS_VOICE_PRINCIPAL = "sms-voice.amazonaws.com"


def sms_voice_conditions() -> dict[str, dict[str, str]]:
    """Confused-deputy guard: only End User Messaging acting for this account and region."""
    return {
        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:sms-voice:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"},
    }


class EncryptedInboundTopic(Construct):
    """A standard SNS topic that End User Messaging can publish inbound messages to.

    Defaults: a new customer-managed symmetric KMS key with yearly rotation, whose key
    policy lets ``sms-voice.amazonaws.com`` use it (``kms:GenerateDataKey*``,
    ``kms:Decrypt``); a topic policy that lets it publish; both limited to this account
    and region (``aws:SourceAccount``, ``aws:SourceArn``); HTTPS-only publishing.
    FIFO topics are not supported by two-way SMS, so none is made.

    :param existing_key: encrypt a new topic with this key instead of creating one. For
        an imported key CDK cannot edit the key policy: it must already grant the service.
    :param existing_topic: use this topic instead of creating one (``existing_key`` must
        then be omitted). For an imported topic CDK cannot edit its policy either.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        existing_topic: sns.ITopic | None = None,
        existing_key: kms.IKey | None = None,
        topic_display_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if existing_topic is not None and existing_key is not None:
            raise ValueError("pass existing_topic or existing_key, not both: an existing topic already has its key")

        self.encryption_key: kms.IKey | None = None
        if existing_topic is not None:
            self.topic: sns.ITopic = existing_topic
        else:
            self.encryption_key = existing_key or kms.Key(
                self,
                "Key",
                description="Encrypts inbound SMS on the two-way topic",
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.RETAIN,
            )
            self.encryption_key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowEndUserMessagingToEncrypt",
                    principals=[iam.ServicePrincipal(SMS_VOICE_PRINCIPAL)],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],  # in a key policy "*" means this key
                    conditions=sms_voice_conditions(),
                )
            )
            self.topic = sns.Topic(
                self,
                "Topic",
                display_name=topic_display_name,
                master_key=self.encryption_key,
                enforce_ssl=True,
            )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEndUserMessagingToPublish",
                principals=[iam.ServicePrincipal(SMS_VOICE_PRINCIPAL)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=sms_voice_conditions(),
            )
        )

    def metric_published(self, **kwargs):
        """Inbound messages End User Messaging published to the topic."""
        return self.topic.metric_number_of_messages_published(**kwargs)
