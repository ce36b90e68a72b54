"""DynamoDB tables the way this package keeps them: on demand, CMK-encrypted, point-in-time recovery."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from two_way_sms_cdk.nag import acknowledge

# A record of consent or of delivery must outlive a mistaken `cdk destroy`.
KEPT_REASON = (
    "Point-in-time recovery (35 days), deletion protection and a retain policy protect it; add it to your "
    "organisation's AWS Backup plan by tag if you need longer"
)


def encrypted_table(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey,
    partition_key: str,
    sort_key: str | None = None,
    time_to_live_attribute: str | None = None,
    kept: bool = True,
    backup_reason: str = KEPT_REASON,
) -> dynamodb.Table:
    """A table with string keys. ``kept``: deletion protection and retained on stack delete;
    otherwise (short-lived records) it goes with the stack. ``dynamodb.Table``, not TableV2:
    TableV2 with a customer-managed key needs a region-bound stack.

    :param backup_reason: why the table is not in an AWS Backup plan (the HIPAA/NIST finding).
    """
    table = dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
        time_to_live_attribute=time_to_live_attribute,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=encryption_key,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=True if kept else None,
        removal_policy=RemovalPolicy.RETAIN if kept else RemovalPolicy.DESTROY,
    )
    for finding in ("HIPAA.Security-DynamoDBInBackupPlan", "NIST.800.53.R5-DynamoDBInBackupPlan"):
        acknowledge(table.node.default_child, finding, backup_reason)
    return table


# The key actions CDK's own table grants use: DynamoDB calls KMS on the caller's behalf.
TABLE_KEY_READ_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
TABLE_KEY_WRITE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")


def grant_table_actions(
    table: dynamodb.ITable, grantee: iam.IGrantable, actions: Sequence[str], *, write: bool
) -> iam.Grant:
    """Exactly ``actions`` on ``table`` (and its indexes), and the key actions DynamoDB needs of the
    caller: read ones, or with ``write`` those of a writer. Least privilege where
    ``grant_read_write_data`` would add scans, deletes and batch writes."""
    grant = table.grant(grantee, *actions)
    if table.encryption_key is not None:
        grant = grant.combine(
            table.encryption_key.grant(grantee, *(TABLE_KEY_WRITE_ACTIONS if write else TABLE_KEY_READ_ACTIONS))
        )
    return grant
