"""The origination identity that answers: a new phone number, or one you already have."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from aws_cdk import Aws, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_smsvoice as smsvoice
from aws_cdk import aws_sns as sns
from aws_cdk import custom_resources as cr
from constructs import Construct

from two_way_sms.responder import ResponderSettings
from two_way_sms_cdk.constructs.encryption import allow_cloudwatch_logs, new_key
from two_way_sms_cdk.constructs.policies import (
    XRAY_WRITE_ACTIONS,
    add_active_tracing,
    added_policies,
    cfn_policy,
    default_policy,
    role_policy,
)
from two_way_sms_cdk.lambda_code import ARCHITECTURE, RUNTIME, custom_resource_code
from two_way_sms_cdk.nag import acknowledge


def sms_voice_arn(resource: str) -> str:
    return f"arn:{Aws.PARTITION}:sms-voice:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


ANY_PHONE_NUMBER = sms_voice_arn("phone-number/*")


class TwoWayNumber(Construct):
    """A two-way phone number (or pool) wired to the inbound topic, with its keywords.

    By default it requests a new number (``AWS::SMSVOICE::PhoneNumber``) of
    ``number_type`` in ``iso_country_code``. Pass ``existing_phone_number_id`` or
    ``existing_pool_id`` instead to configure an identity you already own: a custom
    resource sets two-way, opt-out handling and keywords in place and restores the
    previous settings when the stack is deleted. Either way the number gets the HELP and
    STOP replies and the compliance keywords of ``responder`` (``number_keywords()``).

    :param opt_out_list_name: an existing opt-out list to use. Default: a new list.
    :param deletion_protection: protect a new number from deletion. Default: off, so a
        test stack can be removed; turn it on for a production number.

    ``inbound_source_arns`` are the ``aws:SourceArn`` values End User Messaging publishes
    this identity's inbound texts with (the number, or the pool and its numbers), for the
    topic policy; ``inbound_key_source_arns`` the same for the topic key's policy, where a
    new number's own ARN would be a circular dependency (key -> number -> topic -> key), so
    any phone number of the account and region stands in for it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        responder: ResponderSettings,
        iso_country_code: str = "US",
        number_type: str = "SIMULATOR",
        capabilities: Sequence[str] = ("SMS",),
        existing_phone_number_id: str | None = None,
        existing_pool_id: str | None = None,
        opt_out_list_name: str | None = None,
        deletion_protection: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if existing_phone_number_id and existing_pool_id:
            raise ValueError(
                f"pass existing_phone_number_id ({existing_phone_number_id!r}) or existing_pool_id "
                f"({existing_pool_id!r}), not both"
            )
        # The number decides which keywords AWS answers (a toll-free STOP is the carrier's).
        responder = dataclasses.replace(responder, number_type=number_type)
        self.responder = responder

        if opt_out_list_name is None:
            opt_out_list = smsvoice.CfnOptOutList(self, "OptOutList")
            opt_out_list.apply_removal_policy(RemovalPolicy.RETAIN)  # the proof of who opted out outlives the stack
            self.opt_out_list_name: str = opt_out_list.ref
            self.opt_out_list_arn: str = opt_out_list.attr_arn
        else:
            self.opt_out_list_name = opt_out_list_name
            self.opt_out_list_arn = sms_voice_arn(f"opt-out-list/{opt_out_list_name}")

        keywords = responder.number_keywords()
        if existing_phone_number_id or existing_pool_id:
            origination_type = "pool" if existing_pool_id else "phone-number"
            origination_id = existing_pool_id or existing_phone_number_id
            settings = self._configure_existing(topic, origination_type, origination_id, keywords)
            self.origination_arn: str = settings.get_att_string("OriginationArn")
            # A pool replies from whichever of its numbers the customer texted.
            self.send_resource_arns: list[str] = (
                [self.origination_arn, ANY_PHONE_NUMBER] if existing_pool_id else [self.origination_arn]
            )
            self.phone_number_id: str | None = existing_phone_number_id
            self.phone_number: str | None = settings.get_att_string("PhoneNumber") if existing_phone_number_id else None
            self.pool_id: str | None = existing_pool_id
            identity_arn = sms_voice_arn(f"{origination_type}/{origination_id}")  # known at synth: no dependency
            self._pool_arn: str | None = identity_arn if existing_pool_id else None
            self.inbound_source_arns: list[str] = (
                [identity_arn, ANY_PHONE_NUMBER] if existing_pool_id else [identity_arn]
            )
            self.inbound_key_source_arns: list[str] = list(self.inbound_source_arns)
        else:
            help_rule, stop_rule = responder.mandatory_keywords()
            number = smsvoice.CfnPhoneNumber(
                self,
                "PhoneNumber",
                iso_country_code=iso_country_code,
                number_type=number_type,
                number_capabilities=list(capabilities),
                mandatory_keywords=smsvoice.CfnPhoneNumber.MandatoryKeywordsProperty(
                    help=smsvoice.CfnPhoneNumber.MandatoryKeywordProperty(message=help_rule.reply),
                    stop=smsvoice.CfnPhoneNumber.MandatoryKeywordProperty(message=stop_rule.reply),
                ),
                optional_keywords=[
                    smsvoice.CfnPhoneNumber.OptionalKeywordProperty(
                        keyword=k.keyword, message=k.reply, action=k.action.value
                    )
                    for k in keywords
                ],
                opt_out_list_name=self.opt_out_list_name,
                self_managed_opt_outs_enabled=responder.self_managed_opt_outs,
                deletion_protection_enabled=deletion_protection,
                two_way=smsvoice.CfnPhoneNumber.TwoWayProperty(enabled=True, channel_arn=topic.topic_arn),
            )
            # Releasing a number loses it for good: keep it unless the user deletes it.
            number.apply_removal_policy(RemovalPolicy.RETAIN if deletion_protection else RemovalPolicy.DESTROY)
            self.resource = number
            self.origination_arn = number.attr_arn
            self.send_resource_arns = [number.attr_arn]
            self.phone_number_id = number.attr_phone_number_id
            self.phone_number = number.attr_phone_number
            self.pool_id = None
            self._pool_arn = None
            self.inbound_source_arns = [number.attr_arn]
            self.inbound_key_source_arns = [ANY_PHONE_NUMBER]

    def grant_send(
        self,
        grantee: iam.IGrantable,
        configuration_set_arn: str,
        *protect_configuration_arns: str,
    ) -> iam.Grant:
        """``SendTextMessage`` from this identity through the given configuration set only (and the
        configuration set's protect configuration, which a send through it names implicitly)."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sms-voice:SendTextMessage"],
            resource_arns=[*self.send_resource_arns, configuration_set_arn, *protect_configuration_arns],
        )
        # The statement went to the role's default policy (a role of this stack): acknowledge it there.
        policy = default_policy(grantee.grant_principal)
        if ANY_PHONE_NUMBER in self.send_resource_arns and policy is not None:
            acknowledge(
                policy.node.default_child,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sms-voice:<AWS::Region>:<AWS::AccountId>:phone-number/*]",
                "A pool replies from the pool number the customer texted, and which numbers the pool holds is not "
                "known at synth and changes without a deploy; only sms-voice:SendTextMessage, in this account and "
                "region",
            )
        return grant

    def inbound_environment(self) -> dict[str, str]:
        """Which numbers answer: ``OUR_NUMBERS`` (E.164, comma-separated) when the number is known at
        deploy (a new number, an existing one); for a pool, whose numbers change without a deploy,
        ``ORIGINATION_POOL_ID``, for the handler to list them (``grant_describe_numbers``)."""
        if self.phone_number is not None:
            return {"OUR_NUMBERS": self.phone_number}
        assert self.pool_id is not None
        return {"ORIGINATION_POOL_ID": self.pool_id}

    def grant_describe_numbers(self, grantee: iam.IGrantable) -> iam.Grant | None:
        """Read-only: the pool's numbers (``DescribePools``, ``ListPoolOriginationIdentities``) on the
        pool only. None for a number, whose number is in ``inbound_environment`` already."""
        if self._pool_arn is None:
            return None
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sms-voice:DescribePools", "sms-voice:ListPoolOriginationIdentities"],
            resource_arns=[self._pool_arn],
        )

    def grant_manage_opt_outs(self, grantee: iam.IGrantable) -> iam.Grant:
        """Put numbers on, take them off and read this identity's opt-out list."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "sms-voice:PutOptedOutNumber",
                "sms-voice:DeleteOptedOutNumber",
                "sms-voice:DescribeOptedOutNumbers",
            ],
            resource_arns=[self.opt_out_list_arn],
        )

    # -- an identity we do not own ------------------------------------------------------------
    def _configure_existing(self, topic, origination_type: str, origination_id: str, keywords) -> CustomResource:
        stack = Stack.of(self)
        parameter_name = f"/two-way-sms/{stack.stack_name}/{self.node.addr}/previous-settings"
        # The custom resource's events carry the replies and keywords: its logs get a CMK too.
        logs_key = new_key(self, "SettingsLogsKey", "Encrypts the logs of the two-way number settings custom resource")
        allow_cloudwatch_logs(logs_key)
        log_group = logs.LogGroup(self, "SettingsLogs", retention=logs.RetentionDays.ONE_YEAR, encryption_key=logs_key)
        # Own roles, not AWSLambdaBasicExecutionRole: each may write to its own log group only.
        role = iam.Role(self, "SettingsFunctionRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)
        identity_arn = sms_voice_arn(f"{origination_type}/{origination_id}")
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "sms-voice:DescribePhoneNumbers"
                    if origination_type == "phone-number"
                    else "sms-voice:DescribePools",
                    "sms-voice:UpdatePhoneNumber" if origination_type == "phone-number" else "sms-voice:UpdatePool",
                    "sms-voice:DescribeKeywords",
                    "sms-voice:PutKeyword",
                    "sms-voice:DeleteKeyword",
                ],
                resources=[identity_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"],
                resources=[f"arn:{Aws.PARTITION}:ssm:{Aws.REGION}:{Aws.ACCOUNT_ID}:parameter{parameter_name}"],
            )
        )
        code, handler = custom_resource_code("number_settings")
        function = lambda_.Function(
            self,
            "SettingsFunction",
            role=role,
            description="Configures an existing number or pool for two-way SMS; restores it on delete",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=code,
            handler=handler,
            timeout=Duration.minutes(2),
            memory_size=256,
            # CloudFormation sends this stack's one custom resource one event at a time.
            reserved_concurrent_executions=1,
            log_group=log_group,
        )
        tracing_policy = add_active_tracing(function, role)  # one policy under any feature flags
        self.settings_function = function

        provider_log_group = logs.LogGroup(
            self,
            "SettingsProviderLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=logs_key,
        )
        provider_role = iam.Role(self, "SettingsProviderRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        provider_log_group.grant_write(provider_role)
        provider = cr.Provider(
            self,
            "SettingsProvider",
            on_event_handler=function,
            log_group=provider_log_group,
            framework_on_event_role=provider_role,
        )
        # The provider framework exposes neither memory, concurrency nor tracing: set them on its function.
        framework_function = provider.node.find_child("framework-onEvent").node.default_child
        framework_function.memory_size = 128
        framework_function.reserved_concurrent_executions = 1
        framework_function.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        provider_role.add_to_policy(iam.PolicyStatement(actions=list(XRAY_WRITE_ACTIONS), resources=["*"]))
        self._acknowledge_settings_findings(function, role, tracing_policy, provider, provider_role)
        return CustomResource(
            self,
            "Settings",
            service_token=provider.service_token,
            resource_type="Custom::TwoWaySmsOrigination",
            properties={
                "OriginationType": origination_type,
                "OriginationId": origination_id,
                "TwoWayChannelArn": topic.topic_arn,
                "SelfManagedOptOutsEnabled": str(self.responder.self_managed_opt_outs).lower(),
                "OptOutListName": self.opt_out_list_name,
                "Keywords": [
                    {"Keyword": k.keyword, "Message": k.reply, "Action": k.action.value}
                    for k in (*self.responder.mandatory_keywords(), *keywords)
                ],
                "SnapshotParameterName": parameter_name,
            },
        )

    def _acknowledge_settings_findings(
        self,
        function: lambda_.Function,
        role: iam.Role,
        tracing: iam.Policy,
        provider: cr.Provider,
        provider_role: iam.Role,
    ) -> None:
        function_l1 = function.node.default_child
        framework = provider.node.find_child("framework-onEvent")
        framework_function = framework.node.default_child
        for finding in ("Serverless-LambdaDLQ", "HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ"):
            acknowledge(
                function_l1,
                finding,
                "Invoked synchronously by the provider framework function, where a "
                "function DLQ never fires; an error goes back to CloudFormation, which fails the stack "
                "operation",
            )
        for finding in ("HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC"):
            acknowledge(
                function_l1,
                finding,
                "Calls only AWS service endpoints (End User Messaging, SSM) over TLS "
                "with IAM auth; a VPC would add NAT or interface endpoints and no control over the data",
            )
        for finding in ("HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ", "Serverless-LambdaDLQ"):
            acknowledge(
                framework_function,
                finding,
                "CDK provider framework function invoked by CloudFormation for "
                "this stack's one custom resource; a failure is reported to CloudFormation and fails the stack "
                "operation, and an event cannot be replayed later (its response URL expires)",
            )
        for finding in ("HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC"):
            acknowledge(
                framework_function,
                finding,
                "Calls only the Lambda API (the settings function) and "
                "CloudFormation's pre-signed S3 response URL, over TLS; it handles no message data",
            )

        stack = Stack.of(self)
        settings_arn = f"<{stack.get_logical_id(function_l1)}.Arn>"
        provider_policy = role_policy(provider_role)
        acknowledge(
            provider_policy,
            f"AwsSolutions-IAM5[Resource::{settings_arn}:*]",
            "lambda:InvokeFunction on the settings function's versions and aliases (CDK's grantInvoke); "
            "no other function",
        )
        acknowledge(
            provider_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions",
        )
        tracing_policy = cfn_policy(tracing)
        acknowledge(
            tracing_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions",
        )
        # The framework's lambda:GetFunction on the settings function (Function.addToRolePolicy): a policy
        # of its own under @aws-cdk/aws-lambda:createNewPoliciesWithAddToRolePolicy, else the provider
        # role's, acknowledged above. Found by type: CDK names it after a private counter.
        framework_policies = [
            (
                cfn_policy(policy),
                "The lambda:GetFunction policy the provider framework adds to its own role, "
                "on the settings function only",
            )
            for policy in added_policies(framework)
        ]
        for policy, reason in (
            (
                role_policy(role),
                "CDK grants write this role's own policy, used by no other principal; every statement names this "
                "number (or pool), its snapshot parameter or its log group",
            ),
            (tracing_policy, "The X-Ray write policy of the settings function's role only"),
            (
                provider_policy,
                "CDK grants write this role's own policy, used by no other principal: invoke (and, "
                "under some feature flags, get) the settings function, write its own log group, X-Ray",
            ),
            *framework_policies,
        ):
            for finding in ("HIPAA.Security-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
                acknowledge(policy, finding, reason)
