"""Conversations: the table that keeps them, the flows they follow, the bus their business events go to."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from two_way_sms.adapters.business_events import SOURCE as BUSINESS_EVENT_SOURCE
from two_way_sms.conversations.flows import Flow, flows_digest, flows_to_json
from two_way_sms_cdk.constructs.tables import encrypted_table
from two_way_sms_cdk.lazy import lazy_list
from two_way_sms_cdk.nag import acknowledge

EVENTS_PRINCIPAL = "events.amazonaws.com"
# SSM parameter values: 4 KB in the standard tier, 8 KB in the advanced one (which costs a little a month).
STANDARD_PARAMETER_BYTES = 4096
ADVANCED_PARAMETER_BYTES = 8192
DEFAULT_ARCHIVE_RETENTION = Duration.days(30)
# The KMS actions CDK grants with a table's write access (grant_write_data) on its key.
_TABLE_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")


class Conversations(Construct):
    """What conversation flows need: a table, the flows, a bus for business events, a key for codes.

    Builds:

    - ``table``: conversations by customer (partition ``customer_number``, sort
      ``conversation_id``, strings; TTL on ``delete_at``), on demand, encrypted with
      ``encryption_key``, point-in-time recovery.
    - ``flows_parameter``: an SSM String parameter (generated name) holding the flows as
      JSON (``flows_to_json``), read by the functions at start-up: the flows do not fit in
      Lambda's 4 KB of environment variables beside the rest. Standard tier up to 4 KB,
      advanced up to 8 KB; larger flows fail the synth.
    - ``event_bus``: a custom bus encrypted with ``encryption_key`` (whose policy lets
      EventBridge use it for this bus only), with ``archive``, an archive of every event on
      it for ``archive_retention`` (encrypted with the same key) to replay from; or
      ``existing_event_bus`` as it is (no archive: it is yours to configure). The bus is
      built even with no flow: opt-outs, opt-ins and every other inbound message are
      published on it. The new bus's resource policy DENIES ``events:PutEvents`` of events
      with the package's source (``two-way-sms``) to every principal but the roles granted
      ``grant_converse`` or ``grant_publish``: nobody else can forge a customer's reply or
      consent on it. (An existing bus's policy is yours.)
    - ``codes_key``: when a flow takes a one-use code (``{code}``), an HMAC_256 KMS key
      (GenerateMac/VerifyMac) that derives each conversation's code; retained on delete.
      None otherwise. Its key policy DENIES ``kms:GenerateMac`` and ``kms:VerifyMac`` to
      every principal but the roles granted ``grant_converse``, ``grant_open`` or
      ``grant_codes`` (the inbound function and the sender: an administrator cannot mint or
      check codes).

    :param flows: the flows switched on (``ConversationsConfig.flows``); may be empty.
    :param encryption_key: encrypts the table, the new bus and its archive. The bus's and
        the archive's statements are added to its policy when it is a ``kms.Key`` of this
        app; an imported key's policy must already let ``events.amazonaws.com`` use it.
    :param existing_event_bus: publish business events on this bus instead of a new one.
    :param event_bus_props: properties of the new bus (not with ``existing_event_bus``).
        Default: a bus with a generated name, encrypted with ``encryption_key``.
    :param archive_retention: how long the new bus's archive keeps events. Default: 30
        days. None: no archive.
    :param deletion_protection: protect the table from deletion and keep it when the stack
        is deleted. Default: off, so the table (conversations in progress, expiring by TTL)
        goes with the stack.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        flows: Mapping[str, Flow],
        encryption_key: kms.IKey,
        existing_event_bus: events.IEventBus | None = None,
        event_bus_props: events.EventBusProps | None = None,
        archive_retention: Duration | None = DEFAULT_ARCHIVE_RETENTION,
        deletion_protection: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if existing_event_bus is not None and event_bus_props is not None:
            raise ValueError("existing_event_bus and event_bus_props are exclusive: give one or the other")
        if archive_retention is not None and archive_retention.to_hours() < 24:
            raise ValueError(
                f"archive_retention {archive_retention.to_human_string()} must be at least 1 day (None: no archive)"
            )
        self.flows: dict[str, Flow] = dict(flows)
        self.encryption_key = encryption_key
        self._publisher_arns: list[str] = []  # roles that may put events with the package's source
        self._code_user_arns: list[str] = []  # roles that may use the codes key

        self.table: dynamodb.Table = encrypted_table(
            self,
            "Table",
            encryption_key=encryption_key,
            partition_key="customer_number",
            sort_key="conversation_id",
            time_to_live_attribute="delete_at",
            kept=deletion_protection,
            backup_reason="Holds conversations in progress, which expire by TTL within weeks; their outcomes are "
            "business events (archived on the bus)",
        )

        flows_json = flows_to_json(self.flows)
        # The functions refuse a parameter that holds anything else (changed outside a deploy).
        self.flows_digest = flows_digest(flows_json)
        size = len(flows_json.encode())
        if size > ADVANCED_PARAMETER_BYTES:
            raise ValueError(
                f"the flows take {size} bytes of JSON, more than the {ADVANCED_PARAMETER_BYTES} an SSM "
                "parameter holds: shorten the prompts and replies or switch flows off"
            )
        self.flows_parameter = ssm.StringParameter(
            self,
            "Flows",
            description="Two-way SMS conversation flows (JSON), read by the inbound and sender functions",
            string_value=flows_json,
            tier=ssm.ParameterTier.STANDARD if size <= STANDARD_PARAMETER_BYTES else ssm.ParameterTier.ADVANCED,
        )

        self.archive: events.CfnArchive | None = None
        if existing_event_bus is not None:
            self.event_bus: events.IEventBus = existing_event_bus
        else:
            self.event_bus = self._new_event_bus(event_bus_props, archive_retention)

        self.codes_key: kms.Key | None = None
        if any(flow.needs_a_code for flow in self.flows.values()):
            self.codes_key = kms.Key(
                self,
                "CodesKey",
                description="Derives the one-use codes of two-way SMS conversations (HMAC)",
                key_spec=kms.KeySpec.HMAC_256,
                key_usage=kms.KeyUsage.GENERATE_VERIFY_MAC,
                removal_policy=RemovalPolicy.RETAIN,
            )
            for finding in (
                "AwsSolutions-KMS5",
                "HIPAA.Security-KMSBackingKeyRotationEnabled",
                "NIST.800.53.R5-KMSBackingKeyRotationEnabled",
            ):
                acknowledge(
                    self.codes_key.node.default_child,
                    finding,
                    "An HMAC KMS key cannot rotate automatically (KMS rotates symmetric encryption keys only); "
                    "it only derives short-lived one-use codes, and a new key can replace it at any time",
                )
            # The key's default statement lets any principal of the account that an IAM policy allows
            # use it: only the roles granted here may derive or check a code.
            self.codes_key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="DenyCodesButToTheirFunctions",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["kms:GenerateMac", "kms:VerifyMac"],
                    resources=["*"],  # in a key policy "*" means this key
                    conditions={
                        "ArnNotEquals": {
                            "aws:PrincipalArn": lazy_list(lambda: self._code_user_arns or [_account_root()])
                        }
                    },
                )
            )

    def _new_event_bus(self, props: events.EventBusProps | None, archive_retention: Duration | None) -> events.EventBus:
        key = (props.kms_key if props is not None else None) or self.encryption_key
        bus = events.EventBus(
            self,
            "EventBus",
            description=(props.description if props is not None else None)
            or "Two-way SMS business events: replies, opt-outs, opt-ins and conversation outcomes",
            event_bus_name=props.event_bus_name if props is not None else None,
            event_source_name=props.event_source_name if props is not None else None,
            dead_letter_queue=props.dead_letter_queue if props is not None else None,
            log_config=props.log_config if props is not None else None,
            kms_key=key,
        )  # with a kms.Key, CDK adds the statement that lets EventBridge use it for this bus
        # The bus's ARN from its name (a literal CDK generates), not GetAtt: the bus's own policy,
        # or the key's policy naming the bus that the key encrypts, would be a circular dependency.
        bus_arn = Stack.of(self).format_arn(
            service="events", resource="event-bus", resource_name=bus.node.default_child.name
        )
        # Only the stack's functions publish the package's events (their roles, added by the grants).
        # The bus's own Policy property, not an AWS::Events::EventBusPolicy: this construct owns the
        # new bus's whole policy (and cdk-nag's check of EventBusPolicy reads a deprecated property).
        bus.node.default_child.policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OnlyTheStackPublishesItsEvents",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "events:PutEvents",
                    "Resource": bus_arn,
                    "Condition": {
                        "StringEquals": {"events:source": BUSINESS_EVENT_SOURCE},
                        "ArnNotEquals": {
                            "aws:PrincipalArn": lazy_list(lambda: self._publisher_arns or [_account_root()])
                        },
                    },
                }
            ],
        }
        if archive_retention is None:
            return bus
        if isinstance(key, kms.Key):
            # As the archive documentation asks: the archive's data keys, bound to the bus.
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowEventBridgeArchive",
                    principals=[iam.ServicePrincipal(EVENTS_PRINCIPAL)],
                    actions=["kms:GenerateDataKey", "kms:Decrypt", "kms:ReEncrypt*"],
                    resources=["*"],  # in a key policy "*" means this key
                    conditions={"StringEquals": {"kms:EncryptionContext:aws:events:event-bus:arn": bus_arn}},
                )
            )
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowEventBridgeDescribeKey",
                    principals=[iam.ServicePrincipal(EVENTS_PRINCIPAL)],
                    actions=["kms:DescribeKey"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
                )
            )
        self.archive = events.CfnArchive(
            self,
            "Archive",
            source_arn=bus.event_bus_arn,
            description="Every event on the two-way SMS business event bus, to replay",
            retention_days=int(archive_retention.to_days()),
            kms_key_identifier=key.key_arn,
        )
        return bus

    # -- grants -------------------------------------------------------------------------------
    def grant_converse(self, grantee: iam.IGrantable) -> iam.Grant:
        """What the inbound function needs: read and write conversations, put events on the bus, read the
        flows and, when a flow takes a code, ``kms:GenerateMac`` with ``codes_key`` (to check an answer's code)."""
        grant = self.table.grant_read_write_data(grantee)
        grant = grant.combine(self.grant_publish(grantee))
        grant = grant.combine(self.flows_parameter.grant_read(grantee))
        codes = self.grant_codes(grantee)
        return grant.combine(codes) if codes is not None else grant

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """``events:PutEvents`` on the bus, with the package's source too (the new bus's policy names the role)."""
        self._publisher_arns.append(_role_arn(grantee, "publish business events"))
        return self.event_bus.grant_put_events_to(grantee)

    def grant_codes(self, grantee: iam.IGrantable) -> iam.Grant | None:
        """``kms:GenerateMac`` with ``codes_key`` (the key policy names the role). None without a codes key."""
        if self.codes_key is None:
            return None
        self._code_user_arns.append(_role_arn(grantee, "derive one-use codes"))
        return self.codes_key.grant(grantee, "kms:GenerateMac")

    def grant_open(self, grantee: iam.IGrantable) -> iam.Grant:
        """What the sender needs to open conversations: put new ones (conditional PutItem only), read the
        flows and, when a flow takes a code, ``kms:GenerateMac`` with ``codes_key``."""
        grant = self.table.grant(grantee, "dynamodb:PutItem")
        grant = grant.combine(self.encryption_key.grant(grantee, *_TABLE_KEY_ACTIONS))
        grant = grant.combine(self.flows_parameter.grant_read(grantee))
        codes = self.grant_codes(grantee)
        return grant.combine(codes) if codes is not None else grant

    # -- the handlers' settings ------------------------------------------------------------------
    def inbound_environment(self) -> dict[str, str]:
        """The inbound function's variables: ``FLOWS_PARAMETER``, ``CONVERSATIONS_TABLE``, ``EVENT_BUS_NAME``
        and, with a codes key, ``CODES_KEY_ID``."""
        environment = {
            "FLOWS_PARAMETER": self.flows_parameter.parameter_name,
            "FLOWS_DIGEST": self.flows_digest,
            "CONVERSATIONS_TABLE": self.table.table_name,
            "EVENT_BUS_NAME": self.event_bus.event_bus_name,
        }
        if self.codes_key is not None:
            environment["CODES_KEY_ID"] = self.codes_key.key_id
        return environment

    def sender_environment(self) -> dict[str, str]:
        """The sender's variables: ``FLOWS_PARAMETER``, ``CONVERSATIONS_TABLE`` and, with a codes key,
        ``CODES_KEY_ID``."""
        environment = {
            "FLOWS_PARAMETER": self.flows_parameter.parameter_name,
            "FLOWS_DIGEST": self.flows_digest,
            "CONVERSATIONS_TABLE": self.table.table_name,
        }
        if self.codes_key is not None:
            environment["CODES_KEY_ID"] = self.codes_key.key_id
        return environment


def _account_root() -> str:
    """Who is left when no role was granted: the account's root user alone."""
    return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:root"


def _role_arn(grantee: iam.IGrantable, what: str) -> str:
    role_arn = getattr(grantee.grant_principal, "role_arn", None)
    if role_arn is not None:
        return role_arn
    principal = grantee.grant_principal
    raise ValueError(f"only a role may {what} (the resource policy names it by aws:PrincipalArn), not {principal}")
