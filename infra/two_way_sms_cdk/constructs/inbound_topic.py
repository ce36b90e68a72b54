"""The SNS topic a two-way number publishes inbound texts to, encrypted with a CMK."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from two_way_sms_cdk.constructs.policies import regional_arn, source_conditions
from two_way_sms_cdk.lazy import lazy_list

SMS_VOICE_PRINCIPAL = "sms-voice.amazonaws.com"
# SNS encrypts each message under a data key made with this context (AWS's pattern for a service
# publishing to an encrypted topic: docs.aws.amazon.com/gamelift/latest/flexmatchguide/queue-notification-sns-sse.html).
SNS_TOPIC_CONTEXT = "kms:EncryptionContext:aws:sns:topicArn"


def any_sms_voice_resource() -> str:
    """Every End User Messaging resource of this account and region (AWS's documented condition)."""
    return regional_arn("sms-voice", "*")


def sms_voice_conditions(source_arns: Sequence[str] | str | None = None) -> dict[str, dict[str, object]]:
    """Confused-deputy guard: only End User Messaging acting for this account, for ``source_arns``
    (ARN patterns; default: any End User Messaging resource of this account and region)."""
    return source_conditions(source_arns if source_arns else any_sms_voice_resource())


class EncryptedInboundTopic(Construct):
    """A standard SNS topic that End User Messaging, and only End User Messaging, publishes inbound texts to.

    Defaults: a new customer-managed symmetric KMS key with yearly rotation, whose key
    policy lets ``sms-voice.amazonaws.com`` use it (``kms:GenerateDataKey*``,
    ``kms:Decrypt``) for SNS topics' messages only (their encryption context names a topic
    of this account and region: the key may be shared with stores it must not read); a
    topic policy that lets it publish; both limited to this account (``aws:SourceAccount``)
    and to the identity that answers (``aws:SourceArn``, see ``restrict_sources``; until
    then any End User Messaging resource of this account and region); HTTPS-only publishing.

    Only End User Messaging speaks for a customer: the topic policy also DENIES
    ``sns:Publish`` to every IAM principal of any account (which an identity policy such as
    an administrator's would otherwise allow), except ``test_publisher``, and to every
    service acting for another account or for another source. An imported topic's policy
    cannot be edited, so none of this applies to ``existing_topic``.

    FIFO topics are not supported by two-way SMS, so none is made.

    :param existing_key: encrypt a new topic with this key instead of creating one (its
        policy gets the statement above: ``TwoWaySms`` gives its data key). For an imported
        key CDK cannot edit the key policy: it must already grant the service.
    :param existing_topic: use this topic instead of creating one (``existing_key`` must
        then be omitted). For an imported topic CDK cannot edit its policy either.
    :param test_publisher: a role that may publish test messages too (it still needs
        ``sns:Publish`` and the key in its own policy). Default: none, nobody but End User
        Messaging may publish.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        existing_topic: sns.ITopic | None = None,
        existing_key: kms.IKey | None = None,
        topic_display_name: str | None = None,
        test_publisher: iam.IRole | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if existing_topic is not None and existing_key is not None:
            raise ValueError("pass existing_topic or existing_key, not both: an existing topic already has its key")
        self.test_publisher = test_publisher
        self._source_arns: list[str] = []
        self._key_source_arns: list[str] = []
        source_arns = lazy_list(lambda: self._source_arns or [any_sms_voice_resource()])
        key_source_arns = lazy_list(lambda: self._key_source_arns or self._source_arns or [any_sms_voice_resource()])

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
                    # Not this topic's own ARN: a Ref in its key's policy would be a circular dependency.
                    conditions=_for_sns_topics(sms_voice_conditions(key_source_arns)),
                )
            )
            self.topic = sns.Topic(
                self,
                "Topic",
                display_name=topic_display_name,
                master_key=self.encryption_key,
                enforce_ssl=True,
            )
        publish = {"actions": ["sns:Publish"], "resources": [self.topic.topic_arn]}
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEndUserMessagingToPublish",
                principals=[iam.ServicePrincipal(SMS_VOICE_PRINCIPAL)],
                conditions=sms_voice_conditions(source_arns),
                **publish,
            )
        )

        def deny_publishing(sid: str, conditions: dict[str, dict[str, Any]]) -> None:
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid, effect=iam.Effect.DENY, principals=[iam.AnyPrincipal()], conditions=conditions, **publish
                )
            )

        # IAM principals (people, roles, other accounts): none but the test publisher.
        deny_publishing(
            "DenyPublishingByPrincipals",
            {
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                **({"ArnNotEquals": {"aws:PrincipalArn": test_publisher.role_arn}} if test_publisher else {}),
            },
        )
        # Services: only for this account, and only for the identity that answers.
        deny_publishing(
            "DenyPublishingForOtherAccounts",
            {"Bool": {"aws:PrincipalIsAWSService": "true"}, "StringNotEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )
        deny_publishing(
            "DenyPublishingForOtherSources",
            {"Bool": {"aws:PrincipalIsAWSService": "true"}, "ArnNotLike": {"aws:SourceArn": source_arns}},
        )

    def restrict_sources(self, source_arns: Sequence[str], key_source_arns: Sequence[str] | None = None) -> None:
        """Only End User Messaging acting for ``source_arns`` (ARNs or ARN patterns: the number or
        pool that answers, ``TwoWayNumber.inbound_source_arns``) may publish, and use the key
        for ``key_source_arns`` (default: the same; ``TwoWayNumber.inbound_key_source_arns``
        where the exact ARN would be a circular dependency). Once."""
        if self._source_arns:
            raise ValueError(f"the sources of {self.node.path} are restricted already")
        if isinstance(source_arns, str) or not source_arns:
            raise ValueError(f"source_arns {source_arns!r} must name at least one End User Messaging ARN")
        self._source_arns = list(source_arns)
        self._key_source_arns = list(key_source_arns or source_arns)

    def metric_published(self, **kwargs: Any) -> cloudwatch.Metric:
        """Inbound messages End User Messaging published to the topic (Sum)."""
        return self.topic.metric_number_of_messages_published(**{"statistic": "Sum", **kwargs})

    def metric_deliveries_failed(self, **kwargs: Any) -> cloudwatch.Metric:
        """Deliveries from the topic to its subscriptions that failed (Sum): inbound texts not yet queued."""
        return self.topic.metric_number_of_notifications_failed(**{"statistic": "Sum", **kwargs})


def _for_sns_topics(conditions: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """``conditions``, and: for SNS topics of this account and region (the key may encrypt other stores)."""
    return {**conditions, "ArnLike": {**conditions.get("ArnLike", {}), SNS_TOPIC_CONTEXT: regional_arn("sns", "*")}}
