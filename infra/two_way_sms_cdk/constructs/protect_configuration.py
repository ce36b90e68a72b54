"""A protect configuration: texts go only to the countries the stack serves (SMS pumping guard)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_smsvoice as smsvoice
from aws_cdk import custom_resources as cr
from constructs import Construct

from two_way_sms_cdk.constructs.encryption import allow_cloudwatch_logs
from two_way_sms_cdk.constructs.policies import default_policy
from two_way_sms_cdk.nag import acknowledge
from two_way_sms_cdk.sms_countries import SMS_COUNTRY_CODES, blocked_countries

SMS_VOICE_SERVICE = "pinpoint-sms-voice-v2"  # the SDK client AwsCustomResource calls
ACCOUNT_DEFAULT_PHYSICAL_ID = "account-default-protect-configuration"
_AWS_CUSTOM_RESOURCE_FUNCTION_ID = "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")


class SmsProtectConfiguration(Construct):
    """An ``AWS::SMSVOICE::ProtectConfiguration`` whose SMS rules ALLOW ``allowed_countries`` and BLOCK the rest.

    A new protect configuration allows every country, and a country its rule set leaves out
    keeps that: so every other country End User Messaging may send to
    (``infra.sms_countries.SMS_COUNTRY_CODES``) is named with BLOCK. A text to a blocked
    country is refused before it is sent (a ``TEXT_PROTECT_BLOCKED`` event), which is what
    stops SMS pumping (artificially inflated traffic to premium numbers) from costing money.
    Only the SMS rules are set; MMS and voice keep the service's default.

    It protects the sends that name it: associate it with a configuration set
    (``ReplyConfigurationSet.protect_with``), or, with ``account_default``, make it the
    account's default protect configuration, which also covers every send of the account
    that names none (Amazon SNS and Amazon Cognito texts too). That takes an
    ``AwsCustomResource`` calling ``SetAccountDefaultProtectConfiguration`` on create and
    update and ``DeleteAccountDefaultProtectConfiguration`` on delete: it changes the whole
    account, so it is off by default, and deleting it removes whatever account default is
    set at that time.

    :param allowed_countries: ISO 3166-1 alpha-2 codes the sends may go to (at least one).
    :param deletion_protection: the service refuses to delete it; it is also retained when
        the stack is deleted. Default: off.
    :param account_default: make it the account default (see above). Default: off.
    :param log_encryption_key: encrypts the log group of the account-default custom
        resource's function (only with ``account_default``). Default: a new key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        allowed_countries: Sequence[str],
        deletion_protection: bool = False,
        account_default: bool = False,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if isinstance(allowed_countries, str) or not allowed_countries:
            raise ValueError(
                f"allowed_countries {allowed_countries!r} must name at least one country: an empty "
                "list would block every text"
            )
        for country in allowed_countries:
            if not Token.is_unresolved(country) and country not in SMS_COUNTRY_CODES:
                raise ValueError(
                    f"allowed_countries entry {country!r} is not an ISO 3166-1 alpha-2 code End User "
                    "Messaging sends to (such as 'US', 'CA' or 'GB')"
                )
        self.allowed_countries: tuple[str, ...] = tuple(dict.fromkeys(allowed_countries))
        self.blocked_countries: tuple[str, ...] = tuple(blocked_countries(self.allowed_countries))
        rules = [
            *(
                smsvoice.CfnProtectConfiguration.CountryRuleProperty(country_code=code, protect_status="ALLOW")
                for code in sorted(self.allowed_countries)
            ),
            *(
                smsvoice.CfnProtectConfiguration.CountryRuleProperty(country_code=code, protect_status="BLOCK")
                for code in self.blocked_countries
            ),
        ]
        self.resource = smsvoice.CfnProtectConfiguration(
            self,
            "Resource",
            country_rule_set=smsvoice.CfnProtectConfiguration.CountryRuleSetProperty(sms=rules),
            deletion_protection_enabled=deletion_protection,
        )
        # The service refuses to delete a protected one: keep it rather than fail the stack's deletion.
        self.resource.apply_removal_policy(RemovalPolicy.RETAIN if deletion_protection else RemovalPolicy.DESTROY)
        self.protect_configuration_id: str = self.resource.attr_protect_configuration_id
        self.protect_configuration_arn: str = self.resource.attr_arn
        self.account_default: cr.AwsCustomResource | None = (
            self._make_account_default(log_encryption_key) if account_default else None
        )

    def _make_account_default(self, log_encryption_key: kms.IKey | None) -> cr.AwsCustomResource:
        key = log_encryption_key or kms.Key(
            self,
            "AccountDefaultLogsKey",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
            description="Encrypts the logs of the account-default protect configuration custom resource",
        )
        allow_cloudwatch_logs(key)
        log_group = logs.LogGroup(
            self,
            "AccountDefaultLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Its own role, not AWSLambdaBasicExecutionRole: it may write to its own log group only.
        role = iam.Role(
            self,
            "AccountDefaultRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Sets this stack's protect configuration as the account default, and removes it",
        )
        log_group.grant_write(role)
        policy = cr.AwsCustomResourcePolicy.from_statements(
            [
                iam.PolicyStatement(
                    actions=["sms-voice:SetAccountDefaultProtectConfiguration"],
                    resources=[self.protect_configuration_arn],
                ),
                # Takes no parameter, so it names no resource.
                iam.PolicyStatement(actions=["sms-voice:DeleteAccountDefaultProtectConfiguration"], resources=["*"]),
                iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]),
            ]
        )
        set_default = cr.AwsSdkCall(
            service=SMS_VOICE_SERVICE,
            action="SetAccountDefaultProtectConfiguration",
            parameters={"ProtectConfigurationId": self.protect_configuration_id},
            physical_resource_id=cr.PhysicalResourceId.of(ACCOUNT_DEFAULT_PHYSICAL_ID),
        )
        resource = cr.AwsCustomResource(
            self,
            "AccountDefault",
            resource_type="Custom::SmsAccountDefaultProtectConfiguration",
            on_create=set_default,
            on_update=set_default,
            on_delete=cr.AwsSdkCall(
                service=SMS_VOICE_SERVICE,
                action="DeleteAccountDefaultProtectConfiguration",
                physical_resource_id=cr.PhysicalResourceId.of(ACCOUNT_DEFAULT_PHYSICAL_ID),
                ignore_error_codes_matching="ResourceNotFoundException",  # no default set any more
            ),
            role=role,
            policy=policy,
            install_latest_aws_sdk=False,  # the runtime's SDK has the pinpoint-sms-voice-v2 client
            log_group=log_group,
            memory_size=256,
            timeout=Duration.minutes(2),
        )
        self._harden_provider_function(resource, role)
        return resource

    def _harden_provider_function(self, resource: cr.AwsCustomResource, role: iam.Role) -> None:
        """The singleton function AwsCustomResource shares per stack exposes neither concurrency nor
        tracing: set them on its L1, and acknowledge what cannot apply to it."""
        stack = Stack.of(self)
        singleton = stack.node.try_find_child(_AWS_CUSTOM_RESOURCE_FUNCTION_ID)
        function = singleton.node.default_child if singleton is not None else None
        if isinstance(function, lambda_.CfnFunction):
            function.reserved_concurrent_executions = 1  # CloudFormation sends one event at a time
            function.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
            for finding in ("Serverless-LambdaDLQ", "HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ"):
                acknowledge(
                    function,
                    finding,
                    "CDK's AwsCustomResource function, invoked synchronously by "
                    "CloudFormation: a failure fails the stack operation, and a function DLQ never fires",
                )
            for finding in ("HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC"):
                acknowledge(
                    function,
                    finding,
                    "Calls only the End User Messaging API and CloudFormation's "
                    "pre-signed S3 response URL, over TLS with IAM auth; it handles no message data",
                )
        policy = resource.node.try_find_child("CustomResourcePolicy")
        if isinstance(policy, iam.Policy):
            cfn_policy = policy.node.default_child
            acknowledge(
                cfn_policy,
                "AwsSolutions-IAM5[Resource::*]",
                "sms-voice:DeleteAccountDefaultProtectConfiguration takes no parameter and names no "
                "resource; xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
                "permissions",
            )
            for finding in ("HIPAA.Security-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
                acknowledge(
                    cfn_policy,
                    finding,
                    "The policy AwsCustomResource attaches to this construct's own "
                    "role: the protect configuration's account-default calls and X-Ray",
                )
        role_policy = default_policy(role)
        if role_policy is not None:
            for finding in ("HIPAA.Security-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
                acknowledge(
                    role_policy.node.default_child,
                    finding,
                    "CDK grants write this role's own policy: its own log group only",
                )
