"""Customer-managed keys shared by the constructs: creation and the statements services need.

What ``TwoWaySms`` builds: one data key for the inbound topic and everything the stack stores
(tables, queues, the stream, logs, buckets, the bus, the alarm topic), used by the stack's own
functions and by AWS services for their own data only (End User Messaging, acting for the
number, for SNS topics' messages; CloudWatch Logs for log groups; ...); and, where a
flow takes one-use codes, their HMAC key (another key spec). A principal outside the stack
gets the data key only through the service it was granted (``grant_key_via_service``).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from two_way_sms_cdk.constructs.policies import regional_arn

_LOGS_STATEMENT_ID = "AllowCloudWatchLogs"
_MARK = "_two_way_sms_allows_logs"  # set on a key object once its policy has the statement


def new_key(scope: Construct, construct_id: str, description: str) -> kms.Key:
    """A symmetric CMK with yearly rotation, kept when the stack is deleted (its data may outlive it)."""
    return kms.Key(
        scope, construct_id, description=description, enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN
    )


def grant_key_via_service(key: kms.IKey, grantee: iam.IGrantable, actions: Sequence[str], *, service: str) -> iam.Grant:
    """``actions`` on ``key`` for ``grantee``, only in requests ``service`` (``"sqs"``, ``"dynamodb"``)
    makes for it in this region (``kms:ViaService``).

    Why: the data key encrypts every store of the stack. An application allowed one queue or
    table gets the key only through that service, where IAM limits it to that queue or
    table: never ``kms:Decrypt`` of another store's ciphertext.
    """
    stack = Stack.of(key)
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=list(actions),
        resource_arns=[key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"{service}.{stack.region}.amazonaws.com"}},
    )


def allow_cloudwatch_logs(key: kms.IKey) -> None:
    """Lets CloudWatch Logs encrypt this account's log groups with ``key`` (once per key).

    For an imported key CDK cannot edit the key policy: it must already allow the service.
    """
    if not isinstance(key, kms.Key) or getattr(key, _MARK, False):
        return
    stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=_LOGS_STATEMENT_ID,
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],  # in a key policy "*" means this key
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
    setattr(key, _MARK, True)


def limit_sns_to_this_accounts_topics(key: kms.Key) -> None:
    """Denies ``sns.amazonaws.com`` the key but for deliveries from this account's topics (``aws:SourceArn``).

    For a key an SQS subscription's queue shares with its topic: the statement CDK adds for the
    subscription cannot name the topic there (a circular dependency), so it names none; this
    Deny keeps SNS acting for other accounts out. Which topic may send stays the queue policy's.
    """
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenySnsButForThisAccountsTopics",
            effect=iam.Effect.DENY,
            principals=[iam.ServicePrincipal("sns.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],  # in a key policy "*" means this key
            conditions={"ArnNotLike": {"aws:SourceArn": regional_arn("sns", "*")}},
        )
    )
