"""The message ledger: one DynamoDB item per outbound message, and what became of it."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from two_way_sms_cdk.constructs.encryption import new_key
from two_way_sms_cdk.constructs.tables import encrypted_table

BY_DESTINATION_INDEX = "ByDestination"
# What the handlers do to a ledger item (two_way_sms.adapters.ledger): conditional updates,
# transactions of updates (IAM authorises each item's UpdateItem) and reads by message id.
_RECORD_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")
_READ_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:DescribeTable",
    "dynamodb:ConditionCheckItem",
)
# The key actions CDK's own table grants use: DynamoDB calls KMS on the caller's behalf.
_KEY_READ_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
_KEY_WRITE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")


class MessageLedger(Construct):
    """Where every outbound message's fate is kept: requested, sent, delivered or failed, and its price.

    Builds a DynamoDB table keyed by ``message_id`` (string), with a global secondary
    index ``ByDestination`` (``destination_number``, ``requested_at``; all attributes) to
    list what was sent to one customer, newest last. Items expire by TTL on ``expires_at``.
    The table is on-demand, encrypted with a customer-managed key, has point-in-time
    recovery and deletion protection, and is retained when the stack is deleted: it is
    the record of what was sent to whom and what it cost.

    :param encryption_key: encrypt a new table with this key. Default: a new key (yearly
        rotation, retained).
    :param existing_table: keep the ledger in this table instead of a new one. It must
        have partition key ``message_id`` (string), TTL on ``expires_at``, and the
        ``ByDestination`` index if you query by customer. Import it with its key
        (``Table.from_table_attributes(encryption_key=...)``) so the grants include the key;
        ``encryption_key`` must then be omitted.
    :param retention: how long ledger items live: each expires (TTL) this long after its
        message was requested. Default: 400 days, a year of history plus a month to reconcile
        the bills. Whole days, at least one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey | None = None,
        existing_table: dynamodb.ITable | None = None,
        retention: Duration = Duration.days(400),
    ) -> None:
        super().__init__(scope, construct_id)
        if existing_table is not None and encryption_key is not None:
            raise ValueError(
                f"pass encryption_key ({encryption_key}) only for a new table: an existing table is encrypted "
                "already (import it with Table.from_table_attributes(encryption_key=...) to grant its key)"
            )
        if retention.is_unresolved():
            raise ValueError("retention must be a concrete duration: the handlers get it as a number of days")
        retention_days = retention.to_days(integral=False)
        if retention_days < 1 or retention_days != int(retention_days):
            raise ValueError(f"retention {retention.to_human_string()} must be a whole number of days, at least 1")
        self.retention_days: int = int(retention_days)

        if existing_table is not None:
            self.table: dynamodb.ITable = existing_table
            self.encryption_key: kms.IKey | None = existing_table.encryption_key
            return

        self.encryption_key = encryption_key or new_key(self, "Key", "Encrypts the message ledger")
        table = encrypted_table(
            self,
            "Table",
            encryption_key=self.encryption_key,
            partition_key="message_id",
            time_to_live_attribute="expires_at",
        )
        table.add_global_secondary_index(
            index_name=BY_DESTINATION_INDEX,
            partition_key=dynamodb.Attribute(name="destination_number", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="requested_at", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.table = table

    def grant_record(self, grantee: iam.IGrantable) -> iam.Grant:
        """Write what happened to a message: read an item and update items (also in transactions).

        On the table only, not its indexes (writers never query them), and the key's
        encrypt/decrypt actions that DynamoDB needs of the caller.
        """
        return self._grant(grantee, _RECORD_ACTIONS, _KEY_WRITE_ACTIONS, [self.table.table_arn])

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the ledger: items by message id, scans, and queries of the ``ByDestination`` index."""
        return self._grant(
            grantee,
            _READ_ACTIONS,
            _KEY_READ_ACTIONS,
            [self.table.table_arn, f"{self.table.table_arn}/index/{BY_DESTINATION_INDEX}"],
        )

    def _grant(
        self, grantee: iam.IGrantable, actions: tuple[str, ...], key_actions: tuple[str, ...], resource_arns: list[str]
    ) -> iam.Grant:
        # Named resources rather than ``Table.grant``, which adds every index (``index/*``).
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=resource_arns)
        if self.table.encryption_key is not None:
            grant = grant.combine(self.table.encryption_key.grant(grantee, *key_actions))
        return grant
